// The scheduled handler over three EKS clusters in moto: two served by fake API servers, one whose endpoint
// accepts TCP connections and never answers (a black-holed private endpoint). The run must report the two,
// give the third an IRSA-X01 at its deadline, publish AuditErrors 1, and finish inside the invocation.

import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { CreateClusterCommand } from '@aws-sdk/client-eks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeKubeApi, startFakeKubeApi } from '../../../lambda/emulators/fake-kube-api';
import {
  MOTO_ACCOUNT_ID,
  MOTO_CREDENTIALS,
  type MotoServer,
  motoClients,
  startMoto,
} from '../../../lambda/emulators/moto';
import { exampleEksIdentities, seedMotoWithExample } from '../../../lambda/emulators/seed-moto';
import type { ScheduledAuditSummary } from '../../../lambda/pipeline/run-scheduled-audit';
import { createHandler } from '../../../lambda/pipeline/scheduled-handler';
import { EXAMPLES } from '../../support/snapshot-dir';
import {
  type AlertSinks,
  createAlertSinks,
  listedSeries,
  metricSum,
  objectKeys,
  REGION,
  readReportObject,
  receiveAlerts,
  rollUpSum,
} from './emulated-account';

const BLOG_INCIDENT = join(EXAMPLES, 'blog-incident');
const HEALTHY = join(EXAMPLES, 'healthy');
const PREFIX = `reports/${MOTO_ACCOUNT_ID}/${REGION}`;
const HANGING = 'platform-dr';
// What the test gives the invocation: the hanging cluster's deadline is what remains of it, less the publishing reserve.
const INVOCATION_MS = 6_000;

/** A TCP server that accepts connections and never sends a byte: the TLS handshake never completes. */
interface BlackHole {
  readonly url: string;
  readonly connections: () => number;
  stop(): Promise<void>;
}

async function startBlackHole(): Promise<BlackHole> {
  const sockets = new Set<Socket>();
  let connections = 0;
  const server: Server = createServer((socket) => {
    connections += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    url: `https://127.0.0.1:${port}`,
    connections: () => connections,
    async stop() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

let prod: FakeKubeApi;
let staging: FakeKubeApi;
let blackHole: BlackHole;
let moto: MotoServer;
let sinks: AlertSinks;

beforeAll(async () => {
  prod = await startFakeKubeApi({
    snapshotDirectory: BLOG_INCIDENT,
    eks: { clusterName: 'platform-prod', credentials: MOTO_CREDENTIALS },
  });
  staging = await startFakeKubeApi({
    snapshotDirectory: HEALTHY,
    eks: { clusterName: 'platform-staging', credentials: MOTO_CREDENTIALS },
  });
  blackHole = await startBlackHole();
  const identities = await exampleEksIdentities(BLOG_INCIDENT);
  moto = await startMoto({
    eksClusters: {
      ...identities,
      'platform-prod': { ...identities['platform-prod'], endpoint: prod.url, caData: prod.caData },
      'platform-staging': {
        ...identities['platform-staging'],
        endpoint: staging.url,
        caData: staging.caData,
      },
      [HANGING]: {
        issuer: 'https://oidc.eks.eu-west-1.amazonaws.com/id/0DDC0FFEE0DDC0FFEE0DDC0FFEE0DDC0',
        endpoint: blackHole.url,
        caData: prod.caData,
      },
    },
  });
  console.info(`multi-cluster: moto_server at ${moto.endpoint}, fake APIs ${prod.url} ${staging.url}`);
  const clients = motoClients(moto.endpoint, REGION);
  await seedMotoWithExample(clients, BLOG_INCIDENT);
  await clients.eks.send(
    new CreateClusterCommand({
      name: HANGING,
      roleArn: `arn:aws:iam::${MOTO_ACCOUNT_ID}:role/${HANGING}-cluster-role`,
      resourcesVpcConfig: { subnetIds: ['subnet-0179024df634511da'] },
    }),
  );
  sinks = await createAlertSinks(moto.endpoint, 'irsa-multi-cluster');
}, 120_000);

afterAll(async () => {
  await blackHole?.stop();
  await staging?.stop();
  await prod?.stop();
  await moto?.stop();
});

describe('a scheduled run over three clusters, one of which never answers', () => {
  let summary: ScheduledAuditSummary;
  let elapsedMs: number;
  const logLines: string[] = [];

  beforeAll(async () => {
    const handler = createHandler(
      {
        AWS_REGION: REGION,
        AWS_ENDPOINT_URL: moto.endpoint,
        TOPIC_ARN: sinks.topicArn,
        REPORTS_BUCKET: sinks.bucket,
        CLUSTER_CONCURRENCY: '3',
      },
      {
        credentials: MOTO_CREDENTIALS,
        log: (level, message, fields) => logLines.push(JSON.stringify({ level, message, ...fields })),
      },
    );
    const started = Date.now();
    summary = await handler(
      { id: 'a6f1c3e2-0d4b-4f5e-9a7b-multi-cluster', time: new Date(started).toISOString() },
      { awsRequestId: 'request-1', getRemainingTimeInMillis: () => started + INVOCATION_MS - Date.now() },
    );
    elapsedMs = Date.now() - started;
  }, 30_000);

  it('audits every cluster ListClusters returns and finishes inside the invocation', () => {
    expect(summary.clusters.map((cluster) => `${cluster.cluster} ${cluster.status}`).sort()).toEqual([
      'platform-dr timed-out',
      'platform-prod audited',
      'platform-staging audited',
    ]);
    expect(blackHole.connections()).toBeGreaterThan(0);
    expect(elapsedMs).toBeLessThan(INVOCATION_MS);
    expect(summary.errors).toEqual([]);
  });

  it('stores the reports of the two reachable clusters, with their findings and no IRSA-X01', async () => {
    const keys = await objectKeys(sinks, PREFIX);
    const prodReport = (await readReportObject(sinks, `${PREFIX}/platform-prod/latest.json`)).report;
    const stagingReport = (await readReportObject(sinks, `${PREFIX}/platform-staging/latest.json`)).report;

    expect(keys).toEqual(
      expect.arrayContaining([
        `${PREFIX}/platform-prod/latest.json`,
        `${PREFIX}/platform-staging/latest.json`,
        expect.stringMatching(new RegExp(`^${PREFIX}/platform-prod/history/.+\\.json$`)),
        expect.stringMatching(new RegExp(`^${PREFIX}/platform-staging/history/.+\\.json$`)),
      ]),
    );
    const prodChecks = prodReport.clusters[0]?.findings.map((finding) => finding.check) ?? [];
    expect(prodChecks).toEqual(expect.arrayContaining(['IRSA-W02', 'IRSA-P01', 'IRSA-S07', 'IRSA-S05']));
    expect(prodChecks).not.toContain('IRSA-X01');
    expect(stagingReport.clusters[0]?.name).toBe('platform-staging');
    expect(stagingReport.clusters[0]?.findings.map((finding) => finding.check)).not.toContain('IRSA-X01');
  });

  it('reports the hanging cluster as IRSA-X01 timed out after its deadline', async () => {
    const { report } = await readReportObject(sinks, `${PREFIX}/${HANGING}/latest.json`);

    const findings = report.clusters[0]?.findings ?? [];
    expect(findings.map((finding) => finding.check)).toEqual(['IRSA-X01']);
    expect(findings[0]?.evidence.reason).toBe('timeout');
    expect(findings[0]?.message).toMatch(/timed out after \d+ ms/);
  });

  it('publishes AuditErrors 1 for the account and for the hanging cluster, 0 for the others', async () => {
    const clusters = ['platform-prod', 'platform-staging', HANGING].map((name) => ({ Cluster: name }));

    const series = await listedSeries(sinks);

    expect(series).toEqual(
      expect.arrayContaining([
        'AuditErrors{}',
        'AuditErrors{Cluster=platform-dr}',
        'AuditErrors{Cluster=platform-prod}',
        'AuditErrors{Cluster=platform-staging}',
        'ClustersAudited{}',
      ]),
    );
    expect(await rollUpSum(sinks, 'AuditErrors', clusters)).toBe(1);
    expect(await metricSum(sinks, 'AuditErrors', { Cluster: HANGING })).toBe(1);
    expect(await metricSum(sinks, 'AuditErrors', { Cluster: 'platform-prod' })).toBe(0);
    expect(await metricSum(sinks, 'AuditErrors', { Cluster: 'platform-staging' })).toBe(0);
    expect(await metricSum(sinks, 'ClustersAudited', {})).toBe(3);
  });

  it('alerts once per cluster on this first run, the hanging one with its new high finding', async () => {
    const alerts = await receiveAlerts(sinks);

    expect(alerts).toHaveLength(3);
    expect(alerts.map((alert) => alert.subject)).toContain(`[IRSA] ${HANGING}: 1 new high`);
  });

  it('logs one line per step without tokens, keys or whole objects', () => {
    const text = logLines.join('\n');

    expect(logLines.filter((line) => line.includes('"cluster audited"'))).toHaveLength(3);
    expect(text).not.toContain('k8s-aws-v1.');
    expect(text).not.toContain(MOTO_CREDENTIALS.secretAccessKey);
    expect(text).not.toContain(MOTO_CREDENTIALS.accessKeyId);
    expect(text).not.toContain('"spec"');
  });
});
