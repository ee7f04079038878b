// The discover step against moto_server with several member accounts (moto's AssumeRole admits any role, and
// its credentials act in the role's account): accounts from the configuration or from AWS Organizations, the
// clusters of each account × region as items, and targets that fail (a denied member role) recorded, not fatal.

import { CreateClusterCommand } from '@aws-sdk/client-eks';
import {
  CloseAccountCommand,
  CreateAccountCommand,
  CreateOrganizationCommand,
  OrganizationsClient,
} from '@aws-sdk/client-organizations';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { beforeEach, describe, expect, it } from 'vitest';
import { createDiscoverHandler } from '../../../lambda/organization/discover';
import type { DiscoveryDocument, TargetItem } from '../../../lambda/organization/run-objects';
import type { AwsClients } from '../../../lambda/sources/aws/aws-clients';
import {
  accountClients,
  assumeRoleFaults,
  MOTO_CREDENTIALS,
  MOTO_DEFAULT_ACCOUNT_ID,
  stsError,
} from '../../support/moto';
import { useMoto } from '../../support/use-moto';
import { type AlertSinks, createAlertSinks } from '../handler/emulated-account';

// Without MOTO_ACCOUNT_ID, the auditor's own credentials act in moto's default account.
const AUDITOR = MOTO_DEFAULT_ACCOUNT_ID;
const PAYMENTS = '111122223333';
const SEARCH = '222233334444';
const DENIED = '333344445555';
const EXTERNAL_ID = 'irsa-auditor-test-external-id';
const REGIONS = ['eu-west-1', 'us-east-1'];

const moto = useMoto({ multiAccount: true });
let sinks: AlertSinks;

beforeEach(async () => {
  sinks = await createAlertSinks(moto.endpoint, 'irsa-org-discover');
});

async function createClusters(clients: AwsClients, names: readonly string[]): Promise<void> {
  for (const name of names) {
    await clients.eks.send(
      new CreateClusterCommand({
        name,
        roleArn: 'arn:aws:iam::111122223333:role/cluster-role',
        resourcesVpcConfig: { subnetIds: ['subnet-0179024df634511da'] },
      }),
    );
  }
}

function discoverWith(env: Record<string, string>, denied: ReadonlySet<string> = new Set()) {
  const assumed: { roleArn: string; externalId?: string; sessionName?: string }[] = [];
  const handler = createDiscoverHandler(
    {
      AWS_REGION: 'eu-west-1',
      AWS_ENDPOINT_URL: moto.endpoint,
      REPORTS_BUCKET: sinks.bucket,
      EXTERNAL_ID,
      REGIONS: REGIONS.join(','),
      ...env,
    },
    {
      credentials: MOTO_CREDENTIALS,
      log: () => undefined,
      stsPlugins: [
        assumeRoleFaults(
          (roleArn) =>
            denied.has(roleArn.split(':')[4] ?? '')
              ? stsError(
                  'AccessDenied',
                  `User is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`,
                  403,
                )
              : undefined,
          assumed,
        ),
      ],
    },
  );
  return { handler, assumed };
}

async function readJson<T>(key: string): Promise<T> {
  const object = await sinks.s3.send(new GetObjectCommand({ Bucket: sinks.bucket, Key: key }));
  return JSON.parse((await object.Body?.transformToString('utf-8')) ?? '') as T;
}

const run = (runId: string) => ({ runId, generatedAt: new Date().toISOString() });

describe('discover with listed accounts', () => {
  it('writes one item per cluster of every account × region, and assumes each member role once', async () => {
    await createClusters(await accountClients(moto.endpoint, PAYMENTS, 'eu-west-1'), [
      'payments-prod',
      'payments-dr',
    ]);
    await createClusters(await accountClients(moto.endpoint, SEARCH, 'us-east-1'), ['search-prod']);
    const { handler, assumed } = discoverWith({ ACCOUNTS: `${PAYMENTS},${SEARCH}` });

    const output = await handler(run('run-listed'));

    const items = await readJson<TargetItem[]>(output.itemsKey);
    expect(items).toEqual([
      { account: PAYMENTS, region: 'eu-west-1', cluster: 'payments-dr' },
      { account: PAYMENTS, region: 'eu-west-1', cluster: 'payments-prod' },
      { account: SEARCH, region: 'us-east-1', cluster: 'search-prod' },
    ]);
    expect(output).toMatchObject({
      runId: 'run-listed',
      itemsBucket: sinks.bucket,
      itemsKey: 'runs/run-listed/items.json',
      clusters: 3,
      targets: 4,
      failedTargets: 0,
    });
    const discovery = await readJson<DiscoveryDocument>('runs/run-listed/discovery.json');
    expect(discovery.targets).toEqual([
      { account: PAYMENTS, region: 'eu-west-1', clusters: ['payments-dr', 'payments-prod'] },
      { account: PAYMENTS, region: 'us-east-1', clusters: [] },
      { account: SEARCH, region: 'eu-west-1', clusters: [] },
      { account: SEARCH, region: 'us-east-1', clusters: ['search-prod'] },
    ]);
    expect(assumed).toEqual([
      {
        roleArn: `arn:aws:iam::${PAYMENTS}:role/IrsaAuditorMember`,
        externalId: EXTERNAL_ID,
        sessionName: 'irsa-auditor-discover',
      },
      {
        roleArn: `arn:aws:iam::${SEARCH}:role/IrsaAuditorMember`,
        externalId: EXTERNAL_ID,
        sessionName: 'irsa-auditor-discover',
      },
    ]);
  });

  it('records a denied member role as failed targets and still lists the other accounts', async () => {
    await createClusters(await accountClients(moto.endpoint, PAYMENTS, 'eu-west-1'), ['payments-prod']);
    await createClusters(await accountClients(moto.endpoint, DENIED, 'eu-west-1'), ['hidden-prod']);
    const { handler } = discoverWith(
      { ACCOUNTS: `${PAYMENTS},${DENIED}`, MEMBER_ROLE_NAME: 'AuditReader' },
      new Set([DENIED]),
    );

    const output = await handler(run('run-denied'));

    expect(await readJson<TargetItem[]>(output.itemsKey)).toEqual([
      { account: PAYMENTS, region: 'eu-west-1', cluster: 'payments-prod' },
    ]);
    expect(output.failedTargets).toBe(2);
    const discovery = await readJson<DiscoveryDocument>('runs/run-denied/discovery.json');
    const failed = discovery.targets.filter((target) => 'error' in target);
    expect(failed.map((target) => `${target.account} ${target.region}`)).toEqual([
      `${DENIED} eu-west-1`,
      `${DENIED} us-east-1`,
    ]);
    for (const target of failed) {
      if (!('error' in target)) continue;
      expect(target.error.reason).toBe('access-denied');
      expect(target.error.message).toContain(`arn:aws:iam::${DENIED}:role/AuditReader`);
      expect(target.error.message).toContain(`deploy MemberAccountStack in account ${DENIED}`);
    }
  });

  it('follows ListClusters past its first page of 100 clusters', async () => {
    const names = Array.from({ length: 103 }, (_, index) => `cluster-${String(index).padStart(3, '0')}`);
    await createClusters(await accountClients(moto.endpoint, SEARCH, 'us-east-1'), names);
    const { handler } = discoverWith({ ACCOUNTS: SEARCH, REGIONS: 'us-east-1' });

    const output = await handler(run('run-many'));

    const items = await readJson<TargetItem[]>(output.itemsKey);
    expect(items.map((item) => item.cluster)).toEqual(names);
    expect(output.clusters).toBe(103);
  }, 60_000);

  it('refuses an event without a run ID, naming the field', async () => {
    const { handler } = discoverWith({ ACCOUNTS: PAYMENTS });

    await expect(handler({ generatedAt: new Date().toISOString() })).rejects.toThrow(
      /the event\.runId is not a non-empty string/,
    );
  });
});

describe('discover with ACCOUNTS=all', () => {
  it('lists every ACTIVE account of the organization, across ListAccounts pages', async () => {
    const organizations = new OrganizationsClient({
      region: 'us-east-1',
      endpoint: moto.endpoint,
      credentials: MOTO_CREDENTIALS,
    });
    await organizations.send(new CreateOrganizationCommand({ FeatureSet: 'ALL' }));
    const created: string[] = [];
    for (let index = 0; index < 23; index += 1) {
      const { CreateAccountStatus: status } = await organizations.send(
        new CreateAccountCommand({ AccountName: `member-${index}`, Email: `member-${index}@example.com` }),
      );
      created.push(status?.AccountId ?? '');
    }
    const [closed, withCluster] = created;
    await organizations.send(new CloseAccountCommand({ AccountId: closed }));
    await createClusters(await accountClients(moto.endpoint, withCluster ?? '', 'eu-west-1'), [
      'member-prod',
    ]);
    const { handler } = discoverWith({ ACCOUNTS: 'all', REGIONS: 'eu-west-1' });

    const output = await handler(run('run-all'));

    const discovery = await readJson<DiscoveryDocument>('runs/run-all/discovery.json');
    // The management account (the auditor's, here) is a member too; the closed account is SUSPENDED.
    expect(discovery.accounts).toEqual([AUDITOR, ...created.filter((id) => id !== closed)].sort());
    expect(await readJson<TargetItem[]>(output.itemsKey)).toEqual([
      { account: withCluster, region: 'eu-west-1', cluster: 'member-prod' },
    ]);
    expect(output).toMatchObject({ targets: 23, failedTargets: 0, clusters: 1 });
  }, 60_000);
});
