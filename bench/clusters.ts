// npm run bench (many clusters) — one single-mode scheduled run over BENCH_CLUSTERS clusters (default 20) of
// BENCH_PODS pods each (default 2,000), every cluster its own fake API server, AWS from moto behind the
// delaying, counting proxy of bench/live-servers.ts. The run lists the clusters itself (no CLUSTERS), audits
// CLUSTER_CONCURRENCY of them at once (the function's default unless set), and publishes to S3, SNS and
// CloudWatch as deployed. Prints wall time, peak RSS and the requests per API against the lower bound: one
// ListClusters, one DescribeCluster per cluster, IAM once for the account, and one page per 500 objects.

import { fork } from 'node:child_process';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { CreateTopicCommand } from '@aws-sdk/client-sns';
import { MOTO_CREDENTIALS, motoSinkClients } from '../lambda/emulators/moto';
import { DEFAULT_CLUSTER_CONCURRENCY } from '../lambda/pipeline/config';
import { createHandler } from '../lambda/pipeline/scheduled-handler';
import {
  type CountsMessage,
  envNumber,
  KUBE_PAGE,
  LIST_ROLES_PAGE,
  type LiveBenchSize,
  nextMessage,
  REGION,
  type ReadyMessage,
  requestLine,
} from './live-protocol';

const CLUSTERS = envNumber('BENCH_CLUSTERS', 20);
const CONCURRENCY = envNumber('CLUSTER_CONCURRENCY', DEFAULT_CLUSTER_CONCURRENCY);
const SINK = 'irsa-bench-clusters';
const size: LiveBenchSize = {
  pods: envNumber('BENCH_PODS', 2_000),
  serviceAccounts: envNumber('BENCH_SERVICE_ACCOUNTS', 200),
  rolesUsed: envNumber('BENCH_ROLES_USED', 50),
  accountRoles: envNumber('BENCH_ACCOUNT_ROLES', 300),
  latencyMs: envNumber('BENCH_LATENCY_MS', 10),
};

const servers = fork(join(import.meta.dirname, 'live-servers.ts'), [], {
  env: {
    ...process.env,
    NODE_OPTIONS: '',
    BENCH_SIZE: JSON.stringify(size),
    BENCH_CLUSTERS: String(CLUSTERS),
  },
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
});
process.once('exit', () => servers.kill('SIGKILL'));
try {
  const ready = await nextMessage<ReadyMessage>(servers, 'ready');
  // The sinks go straight to moto's port through the proxy too; created before the counting starts.
  const sinks = motoSinkClients(ready.endpoint, REGION);
  await sinks.s3.send(
    new CreateBucketCommand({ Bucket: SINK, CreateBucketConfiguration: { LocationConstraint: REGION } }),
  );
  const topicArn = (await sinks.sns.send(new CreateTopicCommand({ Name: SINK }))).TopicArn ?? '';
  const reset = nextMessage<CountsMessage>(servers, 'counts');
  servers.send({ kind: 'count' });
  const before = (await reset).aws;
  const rssBeforeMb = process.resourceUsage().maxRSS / 1024;
  const handler = createHandler(
    {
      AWS_REGION: REGION,
      AWS_ENDPOINT_URL: ready.endpoint,
      TOPIC_ARN: topicArn,
      REPORTS_BUCKET: SINK,
      CLUSTER_CONCURRENCY: String(CONCURRENCY),
    },
    { credentials: MOTO_CREDENTIALS, log: () => undefined },
  );
  const started = performance.now();
  const summary = await handler(
    { id: `bench-clusters-${Date.now()}`, time: new Date().toISOString() },
    { awsRequestId: 'bench', getRemainingTimeInMillis: () => 900_000 },
  );
  const wallMs = performance.now() - started;
  const peakRssMb = process.resourceUsage().maxRSS / 1024;
  const counted = nextMessage<CountsMessage>(servers, 'counts');
  servers.send({ kind: 'count' });
  const counts = await counted;
  const aws = (operation: string) => (counts.aws[operation] ?? 0) - (before[operation] ?? 0);
  const audited = summary.clusters.filter((cluster) => cluster.status === 'audited').length;
  console.log(
    `clusters: ${CLUSTERS} × ${size.pods} pods (${size.serviceAccounts} annotated ServiceAccounts each), ${size.latencyMs} ms per request, ${CONCURRENCY} at once: wall ${wallMs.toFixed(0)} ms for the run (collect, audit, publish), ${audited} of ${summary.clusters.length} audited, peak RSS ${peakRssMb.toFixed(0)} MB (${rssBeforeMb.toFixed(0)} MB before it)`,
  );
  const rows: [string, number, number][] = [
    ['eks:ListClusters', aws('eks:ListClusters'), 1],
    ['eks:DescribeCluster', aws('eks:DescribeCluster'), CLUSTERS],
    ['eks:ListPodIdentityAssociations', aws('eks:ListPodIdentityAssociations'), CLUSTERS],
    ['eks:DescribeAddon', aws('eks:DescribeAddon'), CLUSTERS],
    ['ec2:DescribeInstances', aws('DescribeInstances'), CLUSTERS],
    ['iam:ListOpenIDConnectProviders', aws('ListOpenIDConnectProviders'), 1],
    ['iam:GetOpenIDConnectProvider', aws('GetOpenIDConnectProvider'), 1],
    [
      'iam:ListRoles+GetRole',
      aws('ListRoles') + aws('GetRole'),
      Math.min(size.rolesUsed, Math.ceil(size.accountRoles / LIST_ROLES_PAGE)),
    ],
    ['iam:GetAccountSummary', aws('GetAccountSummary'), 1],
    ['sts:GetCallerIdentity', aws('GetCallerIdentity'), 0],
    ...Object.entries(counts.kube).map(([resource, { requests, objects }]): [string, number, number] => [
      `k8s list ${resource}`,
      requests,
      CLUSTERS * Math.max(1, Math.ceil(objects / CLUSTERS / KUBE_PAGE)),
    ]),
  ];
  console.log('clusters: requests per API of the whole run (lower bound):');
  for (const [api, requests, bound] of rows) console.log(requestLine(api, requests, bound, 1));
} finally {
  servers.send({ kind: 'stop' });
}
