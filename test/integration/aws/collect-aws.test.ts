import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CreateClusterCommand } from '@aws-sdk/client-eks';
import { CreateRoleCommand } from '@aws-sdk/client-iam';
import { describe, expect, it } from 'vitest';
import { DEFAULT_OPTIONS } from '../../../lambda/core/analysis/context';
import { auditCluster } from '../../../lambda/core/engine/audit-cluster';
import { MOTO_ACCOUNT_ID, motoClients, recordRequests } from '../../../lambda/emulators/moto';
import { seedMotoWithExample } from '../../../lambda/emulators/seed-moto';
import {
  type AwsCollection,
  AwsCollectionError,
  AwsRunCache,
  collectAws,
  listClusterNames,
} from '../../../lambda/sources/aws/collect-aws';
import { parseCluster, parseOidcProvider, parseRole } from '../../../lambda/sources/parse/aws-objects';
import { stateFromSnapshot } from '../../../lambda/sources/snapshot/snapshot';
import { EXAMPLES, exampleItems } from '../../support/snapshot-dir';
import { useMoto } from '../../support/use-moto';

const BLOG_INCIDENT = join(EXAMPLES, 'blog-incident');
const ACCOUNT = MOTO_ACCOUNT_ID;
const role = (name: string) => `arn:aws:iam::${ACCOUNT}:role/${name}`;
const EC2_TRUST = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }],
});

/** The role ARNs the example's ServiceAccounts are annotated with, as the Kubernetes source would pass them. */
async function annotatedRoleArns(): Promise<string[]> {
  const serviceAccounts = await exampleItems('blog-incident', 'serviceaccounts.json');
  return serviceAccounts.flatMap((serviceAccount) => {
    const metadata = serviceAccount.metadata as { annotations?: Record<string, string> };
    const arn = metadata.annotations?.['eks.amazonaws.com/role-arn'];
    return arn === undefined ? [] : [arn];
  });
}

async function exampleFile(file: string): Promise<unknown> {
  return JSON.parse(await readFile(join(BLOG_INCIDENT, file), 'utf8'));
}

function roleNames(collection: AwsCollection): string[] {
  return collection.roles.map((raw, index) => parseRole(raw, `$.Roles[${index}]`).name).sort();
}

describe('collectAws against moto_server', () => {
  const moto = useMoto();

  it('collects the blog incident cluster, its OIDC providers and the annotated roles as objects the snapshot parsers read', async () => {
    const clients = motoClients(moto.endpoint);
    const seeded = await seedMotoWithExample(clients, BLOG_INCIDENT);
    const roleArns = await annotatedRoleArns();

    const collection = await collectAws(clients, { clusterName: 'platform-prod', roleArns });

    expect(collection.errors).toEqual([]);
    expect(collection.accountId).toBe(ACCOUNT);
    // The collection is written to the §3 files as is: it must survive JSON unchanged (Dates as ISO strings).
    expect(JSON.parse(JSON.stringify(collection))).toEqual(collection);
    const cluster = parseCluster(collection.cluster, '$.cluster');
    expect(cluster).toMatchObject({
      name: 'platform-prod',
      arn: `arn:aws:eks:eu-west-1:${ACCOUNT}:cluster/platform-prod`,
      region: 'eu-west-1',
      accountId: ACCOUNT,
      oidcIssuer: seeded.issuer,
    });
    const providers = collection.oidcProviders.map((raw, index) => parseOidcProvider(raw, `$[${index}]`));
    expect(providers.map((provider) => provider.url).sort()).toEqual([...seeded.providerUrls].sort());
    const issuerHostPath = seeded.issuer.replace('https://', '');
    expect(providers).toContainEqual({
      arn: `arn:aws:iam::${ACCOUNT}:oidc-provider/${issuerHostPath}`,
      url: issuerHostPath,
      clientIds: ['sts.amazonaws.com'],
      thumbprints: ['9e99a48a9960b14926bb7f3b02e22da2b0ab7280'],
    });
    expect(roleNames(collection)).toEqual([
      'KarpenterControllerRole-platform-prod',
      'cloudwatch-agent',
      'etl-runner',
      'invoice-worker',
      'orders-api',
      'platform-prod-aws-load-balancer-controller',
    ]);
  });

  it('keeps each trust policy readable, including the one that trusts the deleted cluster’s provider', async () => {
    const clients = motoClients(moto.endpoint);
    const seeded = await seedMotoWithExample(clients, BLOG_INCIDENT);
    const stale = 'oidc.eks.eu-west-1.amazonaws.com/id/B51A9A8EA9E64DC08D5013C64D7C5325';

    const collection = await collectAws(clients, {
      clusterName: 'platform-prod',
      roleArns: [role('cloudwatch-agent'), role('team-data/etl-runner')],
    });

    const roles = collection.roles.map((raw, index) => parseRole(raw, `$[${index}]`));
    const cloudwatch = roles.find((candidate) => candidate.name === 'cloudwatch-agent');
    expect(cloudwatch?.trustPolicyError).toBeUndefined();
    expect(cloudwatch?.trustPolicy?.statements).toEqual([
      {
        index: 0,
        effect: 'Allow',
        principal: { any: false, byType: { Federated: [`arn:aws:iam::${ACCOUNT}:oidc-provider/${stale}`] } },
        action: ['sts:AssumeRoleWithWebIdentity'],
        conditions: [
          { operator: 'StringEquals', key: `${stale}:aud`, values: ['sts.amazonaws.com'] },
          {
            operator: 'StringEquals',
            key: `${stale}:sub`,
            values: [
              'system:serviceaccount:monitoring:cloudwatch-agent',
              'system:serviceaccount:monitoring:fluent-bit',
            ],
          },
        ],
      },
    ]);
    const etl = roles.find((candidate) => candidate.name === 'etl-runner');
    expect(etl).toMatchObject({ arn: role('team-data/etl-runner'), path: '/team-data/', accountId: ACCOUNT });
    expect(etl?.trustPolicy?.statements[0]?.conditions).toContainEqual({
      operator: 'StringEquals',
      key: `${seeded.issuer.replace('https://', '')}:sub`,
      values: ['system:serviceaccount:data:etl-runner'],
    });
  });

  it('yields the trust and provider findings of the blog incident when the collection is audited', async () => {
    const clients = motoClients(moto.endpoint);
    await seedMotoWithExample(clients, BLOG_INCIDENT);
    const collection = await collectAws(clients, {
      clusterName: 'platform-prod',
      roleArns: await annotatedRoleArns(),
    });

    const state = stateFromSnapshot({
      cluster: { cluster: collection.cluster },
      oidcProviders: { OpenIDConnectProviders: collection.oidcProviders },
      roles: { Roles: collection.roles },
      accountClusters: { clusters: collection.accountClusters },
      serviceAccounts: await exampleFile('serviceaccounts.json'),
      pods: await exampleFile('pods.json'),
      mutatingWebhookConfigurations: await exampleFile('mutatingwebhookconfigurations.json'),
      namespaces: await exampleFile('namespaces.json'),
    });
    const report = auditCluster(state, { ...DEFAULT_OPTIONS, now: new Date('2026-11-28T16:05:00Z') }).report;

    expect(state.malformedObjects).toEqual([]);
    // The README's IAM-side findings: S05 (old provider), S07 (namespace typo), A01 (stale provider); no C/S02.
    const iamSide = report.findings
      .filter((finding) => /^IRSA-[ACS]\d/.test(finding.check))
      .map((finding) => `${finding.check} ${finding.resource.namespace ?? ''}/${finding.resource.name}`)
      .sort();
    expect(iamSide).toEqual([
      `IRSA-A01 /arn:aws:iam::${ACCOUNT}:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/B51A9A8EA9E64DC08D5013C64D7C5325`,
      'IRSA-S05 monitoring/cloudwatch-agent',
      'IRSA-S07 payments/invoice-worker',
    ]);
  });

  it('reads several roles of an account under 1000 roles with a single ListRoles page', async () => {
    const clients = motoClients(moto.endpoint);
    await seedMotoWithExample(clients, BLOG_INCIDENT);
    const requests = recordRequests(clients);

    const collection = await collectAws(clients, {
      clusterName: 'platform-prod',
      roleArns: [role('orders-api'), role('invoice-worker'), role('cloudwatch-agent')],
    });

    expect(roleNames(collection)).toEqual(['cloudwatch-agent', 'invoice-worker', 'orders-api']);
    expect(requests.counts().ListRoles).toBe(1);
    expect(requests.counts().GetRole).toBeUndefined();
    expect(collection.requestCounts['iam:ListRoles']).toBe(1);
  });

  it('reads one role once with GetRole, whatever the duplicates and paths of the ARNs naming it', async () => {
    const clients = motoClients(moto.endpoint);
    await seedMotoWithExample(clients, BLOG_INCIDENT);
    const requests = recordRequests(clients);

    const collection = await collectAws(clients, {
      clusterName: 'platform-prod',
      roleArns: [
        role('orders-api'),
        role('orders-api'),
        // A wrong path names the same role: IAM role names are unique in an account whatever the path (S03).
        role('payments/orders-api'),
        // Another account's role cannot be read by the auditor (S04) and is not asked for.
        'arn:aws:iam::999988887777:role/orders-api-reader',
        'not-an-arn',
      ],
    });

    expect(requests.counts().GetRole).toBe(1);
    expect(requests.counts().ListRoles).toBeUndefined();
    expect(collection.requestCounts).toMatchObject({ 'iam:GetRole': 1 });
    expect(collection.roles.map((raw) => parseRole(raw, '$').arn)).toEqual([role('orders-api')]);
    expect(collection.errors).toEqual([]);
  });

  it('leaves out a role that does not exist, without an error', async () => {
    const clients = motoClients(moto.endpoint);
    await seedMotoWithExample(clients, BLOG_INCIDENT);

    const alone = await collectAws(clients, {
      clusterName: 'platform-prod',
      roleArns: [role('deleted-role')],
    });
    const withOthers = await collectAws(clients, {
      clusterName: 'platform-prod',
      roleArns: [role('deleted-role'), role('orders-api')],
    });

    expect(alone.roles).toEqual([]);
    expect(alone.errors).toEqual([]);
    expect(roleNames(withOthers)).toEqual(['orders-api']);
    expect(withOthers.errors).toEqual([]);
  });

  it('throws an AwsCollectionError naming a cluster that does not exist', async () => {
    const clients = motoClients(moto.endpoint);

    const error = await collectAws(clients, { clusterName: 'no-such-cluster', roleArns: [] }).catch(
      (caught: unknown) => caught,
    );

    expect(error).toBeInstanceOf(AwsCollectionError);
    expect(error).toMatchObject({ clusterName: 'no-such-cluster', region: 'eu-west-1', reason: 'not-found' });
    expect((error as Error).message).toMatch(/^cannot describe EKS cluster no-such-cluster in eu-west-1: /);
  });

  it('describes every other cluster of the region and the audited one only once', async () => {
    const clients = motoClients(moto.endpoint);
    const seeded = await seedMotoWithExample(clients, BLOG_INCIDENT);
    const requests = recordRequests(clients);

    const collection = await collectAws(clients, { clusterName: 'platform-prod', roleArns: [] });

    const names = (collection.accountClusters ?? []).map((raw) => parseCluster(raw, '$').name).sort();
    expect(names).toEqual(['platform-prod', ...seeded.otherClusters].sort());
    expect(requests.counts()).toMatchObject({
      ListClusters: 1,
      DescribeCluster: 1 + seeded.otherClusters.length,
    });
  });

  it('reuses a cluster object the caller already described instead of describing it again', async () => {
    const clients = motoClients(moto.endpoint);
    await seedMotoWithExample(clients, BLOG_INCIDENT);
    const cluster = ((await exampleFile('cluster.json')) as { cluster: Record<string, unknown> }).cluster;
    const requests = recordRequests(clients);

    const collection = await collectAws(clients, {
      clusterName: 'platform-prod',
      cluster: { ...cluster, arn: undefined, createdAt: new Date('2025-02-18T08:03:51.402Z') },
      roleArns: [role('orders-api')],
    });

    // Without an ARN the account comes from STS, which moto answers with the account it was started for.
    expect(collection.accountId).toBe(ACCOUNT);
    expect(requests.counts().GetCallerIdentity).toBe(1);
    expect(parseCluster(collection.cluster, '$').oidcIssuer).toBe(
      'https://oidc.eks.eu-west-1.amazonaws.com/id/D85DF75396F066BE223B7360E633C47F',
    );
    expect((collection.cluster as { createdAt: unknown }).createdAt).toBe('2025-02-18T08:03:51.402Z');
    expect(requests.counts().DescribeCluster).toBe(1);
  });

  it('leaves Pod Identity associations unknown, without an error, where the emulator does not implement them', async () => {
    const clients = motoClients(moto.endpoint);
    await seedMotoWithExample(clients, BLOG_INCIDENT);
    const requests = recordRequests(clients);

    const collection = await collectAws(clients, { clusterName: 'platform-prod', roleArns: [] });

    expect(requests.counts().ListPodIdentityAssociations).toBe(1);
    expect(collection.podIdentityAssociations).toBeUndefined();
    expect(collection.errors).toEqual([]);
  });

  it('keeps no more SDK calls in flight than the concurrency allows', async () => {
    const clients = motoClients(moto.endpoint);
    await seedMotoWithExample(clients, BLOG_INCIDENT);
    // Three GetOpenIDConnectProvider, ListRoles, ListClusters and the other cluster's DescribeCluster could all
    // start at once.
    const requests = recordRequests(clients);

    const collection = await collectAws(clients, {
      clusterName: 'platform-prod',
      roleArns: await annotatedRoleArns(),
      concurrency: 2,
    });

    expect(collection.errors).toEqual([]);
    expect(requests.maxInFlight()).toBe(2);
  });

  it('reads IAM and the region’s clusters once for the clusters of one account that share a run cache', async () => {
    const clients = motoClients(moto.endpoint);
    await seedMotoWithExample(clients, BLOG_INCIDENT);
    const cache = new AwsRunCache();
    await collectAws(clients, { clusterName: 'platform-prod', roleArns: [role('orders-api')], cache });
    const requests = recordRequests(clients);

    const second = await collectAws(clients, {
      clusterName: 'platform-staging',
      roleArns: [role('orders-api')],
      cache,
    });

    // platform-staging was described once already, as one of the region's clusters of the first collection;
    // what is its own (its associations, its agent add-on) is read for it.
    expect(requests.counts()).toEqual({ ListPodIdentityAssociations: 1, DescribeAddon: 1 });
    expect(second.oidcProviders.length).toBeGreaterThan(0);
    expect(roleNames(second)).toEqual(['orders-api']);
    expect((second.accountClusters ?? []).length).toBe(2);
  });

  it('lists every cluster of the region across ListClusters pages of 100', { timeout: 90_000 }, async () => {
    const clients = motoClients(moto.endpoint);
    const names = Array.from({ length: 101 }, (_, index) => `cluster-${String(index).padStart(3, '0')}`);
    for (let start = 0; start < names.length; start += 20) {
      await Promise.all(
        names.slice(start, start + 20).map((name) =>
          clients.eks.send(
            new CreateClusterCommand({
              name,
              roleArn: role('cluster-role'),
              resourcesVpcConfig: { subnetIds: ['subnet-0179024df634511da'] },
            }),
          ),
        ),
      );
    }
    const requests = recordRequests(clients);

    const listed = await listClusterNames(clients);

    expect([...listed].sort()).toEqual(names);
    expect(requests.counts().ListClusters).toBe(2);
  });

  it('records no error when an account has no OIDC providers and no wanted roles', async () => {
    const clients = motoClients(moto.endpoint);
    await clients.eks.send(
      new CreateClusterCommand({
        name: 'bare',
        roleArn: role('cluster-role'),
        resourcesVpcConfig: { subnetIds: ['subnet-0179024df634511da'] },
      }),
    );
    await clients.iam.send(
      new CreateRoleCommand({ RoleName: 'node-role', AssumeRolePolicyDocument: EC2_TRUST }),
    );

    const collection = await collectAws(clients, { clusterName: 'bare', roleArns: [] });

    expect(collection).toMatchObject({ oidcProviders: [], roles: [], errors: [] });
    expect(collection.requestCounts['iam:ListRoles']).toBeUndefined();
    expect(collection.requestCounts['iam:GetRole']).toBeUndefined();
  });
});
