// A single-mode run over ten clusters of one account reads AWS at the lower bound: one ListClusters, one
// DescribeCluster per cluster, and the account's OIDC providers and roles once, however many clusters share them.
// Each cluster is served by its own fake API server holding examples/healthy, whose ServiceAccounts name six
// roles of the account; the run is the deployed handler's, with its collection clients observed.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CreateClusterCommand } from '@aws-sdk/client-eks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeKubeApi, startFakeKubeApi } from '../../../lambda/emulators/fake-kube-api';
import {
  MOTO_ACCOUNT_ID,
  MOTO_CREDENTIALS,
  type MotoServer,
  motoClients,
  recordRequests,
  startMoto,
} from '../../../lambda/emulators/moto';
import { exampleEksIdentities, seedMotoWithExample } from '../../../lambda/emulators/seed-moto';
import type { ScheduledAuditSummary } from '../../../lambda/pipeline/run-scheduled-audit';
import { createHandler } from '../../../lambda/pipeline/scheduled-handler';
import { EXAMPLES } from '../../support/snapshot-dir';
import { createAlertSinks, REGION } from './emulated-account';

const HEALTHY = join(EXAMPLES, 'healthy');
// The example's own cluster (seeded with it) and nine more with the same issuer, each with its own API server.
const CLUSTERS = [
  'platform-prod',
  ...Array.from({ length: 9 }, (_, index) => `platform-${String(index + 1).padStart(2, '0')}`),
];

let servers: FakeKubeApi[] = [];
let moto: MotoServer;

beforeAll(async () => {
  servers = await Promise.all(
    CLUSTERS.map((clusterName) =>
      startFakeKubeApi({ snapshotDirectory: HEALTHY, eks: { clusterName, credentials: MOTO_CREDENTIALS } }),
    ),
  );
  const example = (await exampleEksIdentities(HEALTHY))['platform-prod'];
  moto = await startMoto({
    eksClusters: Object.fromEntries(
      CLUSTERS.map((name, index) => [
        name,
        { ...example, endpoint: servers[index]?.url ?? '', caData: servers[index]?.caData ?? '' },
      ]),
    ),
  });
  const clients = motoClients(moto.endpoint, REGION);
  await seedMotoWithExample(clients, HEALTHY);
  for (const name of CLUSTERS.slice(1)) {
    await clients.eks.send(
      new CreateClusterCommand({
        name,
        roleArn: `arn:aws:iam::${MOTO_ACCOUNT_ID}:role/${name}-cluster-role`,
        resourcesVpcConfig: { subnetIds: ['subnet-0179024df634511da'] },
      }),
    );
  }
}, 180_000);

afterAll(async () => {
  await Promise.all(servers.map((server) => server.stop()));
  await moto?.stop();
});

describe('a scheduled run over ten clusters of one account', () => {
  let summary: ScheduledAuditSummary;
  let counts: Record<string, number>;

  beforeAll(async () => {
    const sinks = await createAlertSinks(moto.endpoint, 'irsa-run-cache');
    const collection = motoClients(moto.endpoint, REGION);
    const requests = recordRequests(collection);
    const handler = createHandler(
      {
        AWS_REGION: REGION,
        AWS_ENDPOINT_URL: moto.endpoint,
        TOPIC_ARN: sinks.topicArn,
        REPORTS_BUCKET: sinks.bucket,
        CLUSTER_CONCURRENCY: '4',
      },
      { credentials: MOTO_CREDENTIALS, collectionClients: collection, log: () => undefined },
    );
    summary = await handler({ id: 'run-cache-1' }, { getRemainingTimeInMillis: () => 120_000 });
    counts = requests.counts();
  }, 180_000);

  it('audits all ten clusters in full', () => {
    expect(summary.clusters.map((cluster) => cluster.cluster).sort()).toEqual([...CLUSTERS].sort());
    expect(summary.clusters.map((cluster) => cluster.status)).toEqual(CLUSTERS.map(() => 'audited'));
    expect(summary.auditErrors).toBe(0);
  });

  it('lists the clusters once and describes each once', () => {
    expect(counts.ListClusters).toBe(1);
    expect(counts.DescribeCluster).toBe(10);
  });

  it('reads the account’s OIDC providers and roles once for all ten clusters', async () => {
    const providers = JSON.parse(await readFile(join(HEALTHY, 'oidc-providers.json'), 'utf8')) as {
      OpenIDConnectProviders: unknown[];
    };
    expect(counts.ListOpenIDConnectProviders).toBe(1);
    expect(counts.GetOpenIDConnectProvider).toBe(providers.OpenIDConnectProviders.length);
    // The six roles the ServiceAccounts name are all on the first ListRoles page of the account.
    expect(counts.ListRoles).toBe(1);
    expect(counts.GetRole).toBeUndefined();
  });
});
