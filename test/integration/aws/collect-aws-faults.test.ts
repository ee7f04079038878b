// Faults and the operations moto lacks (EKS Pod Identity) are injected with aws-sdk-client-mock (SPEC §9);
// every other call still goes through the real SDK client to moto_server.

import { join } from 'node:path';
import { DescribeInstancesCommand } from '@aws-sdk/client-ec2';
import {
  DescribeAddonCommand,
  DescribeClusterCommand,
  DescribePodIdentityAssociationCommand,
  EKSServiceException,
  ListClustersCommand,
  ListPodIdentityAssociationsCommand,
} from '@aws-sdk/client-eks';
import {
  GetAccountSummaryCommand,
  GetOpenIDConnectProviderCommand,
  GetRoleCommand,
  IAMServiceException,
  ListOpenIDConnectProvidersCommand,
  ListRolesCommand,
} from '@aws-sdk/client-iam';
import { type AwsStub, mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import {
  MOTO_ACCOUNT_ID,
  MOTO_CREDENTIALS,
  motoClients,
  recordRequests,
} from '../../../lambda/emulators/moto';
import { seedMotoWithExample } from '../../../lambda/emulators/seed-moto';
import { createAwsClients } from '../../../lambda/sources/aws/aws-clients';
import { collectAws } from '../../../lambda/sources/aws/collect-aws';
import { parsePodIdentityAssociation, parseRole } from '../../../lambda/sources/parse/aws-objects';
import { mockEksPassingThrough, mockIamPassingThrough } from '../../support/aws-mocks';
import { EXAMPLES } from '../../support/snapshot-dir';
import { useMoto } from '../../support/use-moto';

const BLOG_INCIDENT = join(EXAMPLES, 'blog-incident');
const ACCOUNT = MOTO_ACCOUNT_ID;
const role = (name: string) => `arn:aws:iam::${ACCOUNT}:role/${name}`;

// What the SDK throws once its retries are spent: IAM's throttling code, EKS's access-denied exception.
const throttled = () =>
  new IAMServiceException({
    name: 'Throttling',
    $fault: 'client',
    $metadata: { httpStatusCode: 400, attempts: 5 },
    message: 'Rate exceeded',
  });
const iamDenied = (action: string) =>
  new IAMServiceException({
    name: 'AccessDenied',
    $fault: 'client',
    $metadata: { httpStatusCode: 403 },
    message: `User: arn:aws:sts::${ACCOUNT}:assumed-role/irsa-auditor/run is not authorized to perform: ${action}`,
  });
const eksDenied = (action: string) =>
  new EKSServiceException({
    name: 'AccessDeniedException',
    $fault: 'client',
    $metadata: { httpStatusCode: 403 },
    message: `User is not authorized to perform: ${action}`,
  });

// biome-ignore lint/suspicious/noExplicitAny: aws-sdk-client-mock's stubs are typed for any client.
const mocks: AwsStub<any, any, any>[] = [];
afterEach(() => {
  for (const mock of mocks.splice(0)) mock.restore();
});

describe('collectAws with faults injected by aws-sdk-client-mock over moto_server', () => {
  const moto = useMoto();

  const mockIam = (clients: ReturnType<typeof motoClients>) => mockIamPassingThrough(clients, mocks);
  // moto has no EKS Pod Identity: a cluster without associations, unless a test says otherwise.
  const mockEks = (clients: ReturnType<typeof motoClients>) => mockEksPassingThrough(clients, mocks);

  it.each([
    {
      api: 'ListRoles',
      roleArns: [role('orders-api'), role('invoice-worker')],
      inject: (mock: ReturnType<typeof mockIam>) => mock.on(ListRolesCommand).rejects(throttled()),
    },
    {
      api: 'GetRole',
      roleArns: [role('orders-api')],
      inject: (mock: ReturnType<typeof mockIam>) => mock.on(GetRoleCommand).rejects(throttled()),
    },
  ])(
    'records roles as throttled and still collects the providers when $api keeps throttling',
    async ({ roleArns, inject }) => {
      const clients = motoClients(moto.endpoint);
      const seeded = await seedMotoWithExample(clients, BLOG_INCIDENT);
      inject(mockIam(clients));

      const collection = await collectAws(clients, { clusterName: 'platform-prod', roleArns });

      expect(collection.errors).toEqual([
        { resource: 'roles', reason: 'throttled', message: 'Throttling: Rate exceeded (HTTP 400)' },
      ]);
      expect(collection.oidcProviders).toHaveLength(seeded.providerUrls.length);
      expect(collection.accountClusters).toHaveLength(1 + seeded.otherClusters.length);
    },
  );

  it('records OIDC providers as forbidden when ListOpenIDConnectProviders is denied, and still collects the roles', async () => {
    const clients = motoClients(moto.endpoint);
    await seedMotoWithExample(clients, BLOG_INCIDENT);
    mockIam(clients)
      .on(ListOpenIDConnectProvidersCommand)
      .rejects(iamDenied('iam:ListOpenIDConnectProviders'));

    const collection = await collectAws(clients, {
      clusterName: 'platform-prod',
      roleArns: [role('orders-api'), role('invoice-worker')],
    });

    expect(collection.errors).toHaveLength(1);
    expect(collection.errors[0]).toMatchObject({ resource: 'oidcProviders', reason: 'forbidden' });
    expect(collection.errors[0]?.message).toMatch(
      /^AccessDenied: .*iam:ListOpenIDConnectProviders \(HTTP 403\)$/,
    );
    expect(collection.oidcProviders).toEqual([]);
    expect(collection.roles).toHaveLength(2);
  });

  it('reads the account summary from moto, and records the quotas as forbidden when GetAccountSummary is denied', async () => {
    const clients = motoClients(moto.endpoint);
    await seedMotoWithExample(clients, BLOG_INCIDENT);
    const allowed = await collectAws(clients, {
      clusterName: 'platform-prod',
      roleArns: [role('orders-api')],
    });
    mockIam(clients).on(GetAccountSummaryCommand).rejects(iamDenied('iam:GetAccountSummary'));

    const denied = await collectAws(clients, {
      clusterName: 'platform-prod',
      roleArns: [role('orders-api')],
    });

    // IAM's default, which moto reports as AWS does for an account that never raised it.
    expect(allowed.accountSummary).toMatchObject({ SummaryMap: { AssumeRolePolicySizeQuota: 2048 } });
    expect(allowed.requestCounts['iam:GetAccountSummary']).toBe(1);
    expect(denied.accountSummary).toBeUndefined();
    expect(denied.errors).toEqual([
      expect.objectContaining({ resource: 'accountQuotas', reason: 'forbidden' }),
    ]);
    expect(denied.roles).toHaveLength(1);
  });

  it('reads the eks-pod-identity-agent add-on, which moto lacks, and records one that is not installed', async () => {
    const clients = motoClients(moto.endpoint);
    await seedMotoWithExample(clients, BLOG_INCIDENT);
    const viaMoto = await collectAws(clients, { clusterName: 'platform-prod', roleArns: [] });
    // DescribeAddon's documented output (EKS API reference, Addon), as EKS answers for a degraded add-on.
    const degraded = {
      addonName: 'eks-pod-identity-agent',
      clusterName: 'platform-prod',
      status: 'DEGRADED' as const,
      addonVersion: 'v1.3.4-eksbuild.1',
      health: {
        issues: [
          { code: 'InsufficientNumberOfReplicas' as const, message: 'not enough replicas', resourceIds: [] },
        ],
      },
    };
    mockEks(clients).on(DescribeAddonCommand).resolves({ addon: degraded });
    const installed = await collectAws(clients, { clusterName: 'platform-prod', roleArns: [] });
    for (const mock of mocks.splice(0)) mock.restore();
    mockEks(clients)
      .on(DescribeAddonCommand)
      .rejects(
        new EKSServiceException({
          name: 'ResourceNotFoundException',
          $fault: 'client',
          $metadata: { httpStatusCode: 404 },
          message: 'No addon: eks-pod-identity-agent found in cluster: platform-prod',
        }),
      );
    const absent = await collectAws(clients, { clusterName: 'platform-prod', roleArns: [] });

    // moto does not implement add-ons: unknown, as a snapshot without the file, and no error.
    expect(viaMoto.podIdentityAgentAddon).toBeUndefined();
    expect(viaMoto.errors).toEqual([]);
    expect(installed.podIdentityAgentAddon).toEqual({
      addon: expect.objectContaining({ status: 'DEGRADED' }),
    });
    expect(absent.podIdentityAgentAddon).toEqual({ addon: null });
    expect(absent.errors).toEqual([]);
  });

  it('counts every failed GetOpenIDConnectProvider in one error for the providers', async () => {
    const clients = motoClients(moto.endpoint);
    const seeded = await seedMotoWithExample(clients, BLOG_INCIDENT);
    mockIam(clients).on(GetOpenIDConnectProviderCommand).rejects(throttled());

    const collection = await collectAws(clients, { clusterName: 'platform-prod', roleArns: [] });

    expect(collection.errors).toEqual([
      {
        resource: 'oidcProviders',
        reason: 'throttled',
        message: `Throttling: Rate exceeded (HTTP 400) (and ${seeded.providerUrls.length - 1} more failed calls)`,
      },
    ]);
  });

  it('falls back to GetRole per role when ListRoles is denied but GetRole is allowed', async () => {
    const clients = motoClients(moto.endpoint);
    await seedMotoWithExample(clients, BLOG_INCIDENT);
    mockIam(clients).on(ListRolesCommand).rejects(iamDenied('iam:ListRoles'));

    const collection = await collectAws(clients, {
      clusterName: 'platform-prod',
      roleArns: [role('orders-api'), role('invoice-worker'), role('deleted-role')],
    });

    expect(collection.errors).toEqual([]);
    expect(collection.roles.map((raw) => parseRole(raw, '$').name).sort()).toEqual([
      'invoice-worker',
      'orders-api',
    ]);
    expect(collection.requestCounts).toMatchObject({ 'iam:ListRoles': 1, 'iam:GetRole': 3 });
  });

  it('collects every page of Pod Identity associations and the roles they name', async () => {
    const clients = motoClients(moto.endpoint);
    await seedMotoWithExample(clients, BLOG_INCIDENT);
    const requests = recordRequests(clients);
    const association = (id: string, namespace: string, serviceAccount: string, roleArn: string) => ({
      clusterName: 'platform-prod',
      namespace,
      serviceAccount,
      roleArn,
      associationArn: `arn:aws:eks:eu-west-1:${ACCOUNT}:podidentityassociation/platform-prod/${id}`,
      associationId: id,
      tags: {},
      createdAt: new Date('2026-10-01T09:00:00Z'),
      modifiedAt: new Date('2026-10-01T09:00:00Z'),
    });
    const associations = [
      association('a-1111', 'payments', 'orders-api', role('orders-api')),
      association('a-2222', 'data', 'etl-runner', role('team-data/etl-runner')),
      association('a-3333', 'shared', 'reporter', 'arn:aws:iam::999988887777:role/reporter'),
    ];
    const eks = mockEks(clients);
    eks
      .on(ListPodIdentityAssociationsCommand)
      .resolvesOnce({ associations: associations.slice(0, 2), nextToken: 'page-2' })
      .resolvesOnce({ associations: associations.slice(2) });
    for (const item of associations) {
      eks
        .on(DescribePodIdentityAssociationCommand, {
          clusterName: 'platform-prod',
          associationId: item.associationId,
        })
        .resolves({ association: item });
    }

    const collection = await collectAws(clients, { clusterName: 'platform-prod', roleArns: [] });

    expect(collection.errors).toEqual([]);
    expect(eks.commandCalls(ListPodIdentityAssociationsCommand)[1]?.args[0].input).toMatchObject({
      clusterName: 'platform-prod',
      nextToken: 'page-2',
    });
    const parsed = (collection.podIdentityAssociations ?? []).map((raw) =>
      parsePodIdentityAssociation(raw, '$'),
    );
    expect(parsed.map((item) => `${item.namespace}/${item.serviceAccount} ${item.roleArn}`)).toEqual([
      `payments/orders-api ${role('orders-api')}`,
      `data/etl-runner ${role('team-data/etl-runner')}`,
      'shared/reporter arn:aws:iam::999988887777:role/reporter',
    ]);
    expect(collection.podIdentityAssociations?.[0]).toMatchObject({ createdAt: '2026-10-01T09:00:00.000Z' });
    // The association roles are audited too (S13); the other account's role is not read.
    expect(collection.roles.map((raw) => parseRole(raw, '$').arn).sort()).toEqual([
      role('orders-api'),
      role('team-data/etl-runner'),
    ]);
    expect(requests.counts().ListRoles).toBe(1);
  });

  it('records Pod Identity associations as forbidden and leaves them unknown when AWS denies the list', async () => {
    const clients = motoClients(moto.endpoint);
    await seedMotoWithExample(clients, BLOG_INCIDENT);
    mockEks(clients)
      .on(ListPodIdentityAssociationsCommand)
      .rejects(eksDenied('eks:ListPodIdentityAssociations'));

    const collection = await collectAws(clients, {
      clusterName: 'platform-prod',
      roleArns: [role('orders-api')],
    });

    expect(collection.podIdentityAssociations).toBeUndefined();
    expect(collection.errors).toEqual([
      {
        resource: 'podIdentityAssociations',
        reason: 'forbidden',
        message:
          'AccessDeniedException: User is not authorized to perform: eks:ListPodIdentityAssociations (HTTP 403)',
      },
    ]);
    expect(collection.roles).toHaveLength(1);
  });

  it('leaves the region’s clusters unknown rather than partial when one of them cannot be described', async () => {
    const clients = motoClients(moto.endpoint);
    await seedMotoWithExample(clients, BLOG_INCIDENT);
    mockEks(clients)
      .on(DescribeClusterCommand, { name: 'platform-staging' })
      .rejects(eksDenied('eks:DescribeCluster'));

    const collection = await collectAws(clients, { clusterName: 'platform-prod', roleArns: [] });

    // A partial list would make the staging cluster's provider look stale (IRSA-A01).
    expect(collection.accountClusters).toBeUndefined();
    expect(collection.errors).toEqual([
      expect.objectContaining({ resource: 'accountClusters', reason: 'forbidden' }),
    ]);
  });

  it('reports an endpoint that does not implement Pod Identity as an error against AWS itself', async () => {
    // No endpoint override: the real AWS endpoint, where a non-AWS 404 means something is wrong.
    const clients = createAwsClients({ region: 'eu-west-1', credentials: MOTO_CREDENTIALS });
    const eks = mockClient(clients.eks);
    const iam = mockClient(clients.iam);
    const ec2 = mockClient(clients.ec2);
    mocks.push(eks, iam, ec2);
    ec2.on(DescribeInstancesCommand).resolves({ Reservations: [] });
    eks
      .on(DescribeClusterCommand)
      .resolves({
        cluster: { name: 'platform-prod', arn: `arn:aws:eks:eu-west-1:${ACCOUNT}:cluster/platform-prod` },
      })
      .on(ListClustersCommand)
      .resolves({ clusters: ['platform-prod'] })
      .on(DescribeAddonCommand)
      .resolves({ addon: { addonName: 'eks-pod-identity-agent', status: 'ACTIVE' } })
      .on(ListPodIdentityAssociationsCommand)
      .rejects(Object.assign(new SyntaxError('Unexpected token <'), { $metadata: { httpStatusCode: 404 } }));
    iam
      .on(ListOpenIDConnectProvidersCommand)
      .resolves({ OpenIDConnectProviderList: [] })
      .on(GetAccountSummaryCommand)
      .resolves({ SummaryMap: { AssumeRolePolicySizeQuota: 2048 } });

    const collection = await collectAws(clients, { clusterName: 'platform-prod', roleArns: [] });

    expect(collection.podIdentityAssociations).toBeUndefined();
    expect(collection.errors).toEqual([
      {
        resource: 'podIdentityAssociations',
        reason: 'error',
        message: 'SyntaxError: Unexpected token < (HTTP 404)',
      },
    ]);
  });
});
