// npm run bench — the live audit of a large synthetic cluster and account (SPEC §10): Kubernetes from the
// fake API server, AWS from moto behind a delaying, counting proxy, both with a per-request latency. Prints
// wall time, peak RSS and the requests per API against the lower bound. The servers run in a child process
// (bench/live-servers.ts), so the peak RSS printed is the audit's own.
//
// Options (env): BENCH_PODS (20000), BENCH_SERVICE_ACCOUNTS (2000), BENCH_ROLES_USED (500),
// BENCH_ACCOUNT_ROLES (1500), BENCH_LATENCY_MS (10). `--curve`: one line per size (5k/20k/50k/100k pods),
// each measured in a fresh child process so one size's peak RSS does not carry over to the next.

import { fork, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { auditCluster } from '../lambda/core/engine/audit-cluster';
import { MOTO_CREDENTIALS } from '../lambda/emulators/moto';
import { liveClusterSource } from '../lambda/sources/live/live-source';
import {
  CLUSTER,
  type CountsMessage,
  envNumber,
  type LiveBenchSize,
  nextMessage,
  REGION,
  type ReadyMessage,
} from './live-protocol';

/** What one run measured; printed, and passed from a `--curve` child to its parent as one JSON line. */
interface LiveBenchResult {
  readonly size: LiveBenchSize;
  readonly wallMs: number;
  readonly seedMs: number;
  readonly peakRssMb: number;
  /** Peak RSS before the audit started: tsx, the SDK and client-node loaded (the servers run in a child process). */
  readonly rssBeforeMb: number;
  /** Heap the collected state (and report) keeps after a full GC. */
  readonly retainedMb: number;
  /** Peak RSS when the collection ended, before the engine ran. */
  readonly collectedRssMb: number;
  readonly findings: number;
  readonly rows: readonly RequestRow[];
}

interface RequestRow {
  readonly api: string;
  readonly requests: number;
  readonly lowerBound: number;
}

const KUBE_PAGE = 500;
const LIST_ROLES_PAGE = 1000;
const CURVE = [5_000, 20_000, 50_000, 100_000];
const WITHIN = 1.1;

const sizeFromEnv = (): LiveBenchSize => ({
  pods: envNumber('BENCH_PODS', 20_000),
  serviceAccounts: envNumber('BENCH_SERVICE_ACCOUNTS', 2_000),
  rolesUsed: envNumber('BENCH_ROLES_USED', 500),
  accountRoles: envNumber('BENCH_ACCOUNT_ROLES', 1_500),
  latencyMs: envNumber('BENCH_LATENCY_MS', 10),
});

// A full GC before measuring what the state retains; tsx starts node without --expose-gc, hence the flag here.
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

const pages = (objects: number) => Math.max(1, Math.ceil(objects / KUBE_PAGE));

async function runOnce(size: LiveBenchSize): Promise<LiveBenchResult> {
  const servers = fork(join(import.meta.dirname, 'live-servers.ts'), [], {
    env: {
      ...process.env,
      NODE_OPTIONS: process.env.BENCH_SERVERS_NODE_OPTIONS ?? '',
      BENCH_SIZE: JSON.stringify(size),
    },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const stopOnExit = () => servers.kill('SIGKILL');
  process.once('exit', stopOnExit);
  try {
    const ready = await nextMessage<ReadyMessage>(servers, 'ready');
    const rssBeforeMb = process.resourceUsage().maxRSS / 1024;
    collectGarbage();
    const heapBefore = process.memoryUsage().heapUsed;
    const started = performance.now();
    const source = liveClusterSource({
      clusterName: CLUSTER,
      region: REGION,
      endpoint: ready.endpoint,
      credentials: MOTO_CREDENTIALS,
    });
    const state = await source.collect();
    const collectedRssMb = process.resourceUsage().maxRSS / 1024;
    const report = auditCluster(state, { now: new Date(), webhookName: 'iam-for-pods.amazonaws.com' }).report;
    const wallMs = performance.now() - started;
    const peakRssMb = process.resourceUsage().maxRSS / 1024;
    // What the collected state keeps alive after a full GC (against the heap before the audit): whether
    // pods are reduced to the model as pages arrive, or raw objects stay referenced.
    collectGarbage();
    const retainedMb = (process.memoryUsage().heapUsed - heapBefore) / 1048576;
    for (const error of state.collectionErrors)
      console.error(`collection error: ${error.resource} ${error.reason}`);

    const counted = nextMessage<CountsMessage>(servers, 'counts');
    servers.send({ kind: 'count' });
    const counts = await counted;
    const rows: RequestRow[] = Object.entries(counts.kube).map(([resource, { requests, objects }]) => ({
      api: `k8s list ${resource}`,
      requests,
      lowerBound: pages(objects),
    }));
    const count = (operation: string) => counts.aws[operation] ?? 0;
    // IAM roles: the fewer of one GetRole per distinct role and the ListRoles pages of the whole account.
    const roleBound = Math.min(counts.distinctRoles, Math.ceil(size.accountRoles / LIST_ROLES_PAGE));
    const known = new Set([
      'eks:DescribeCluster',
      'eks:ListClusters',
      'eks:ListPodIdentityAssociations',
      'GetCallerIdentity',
      'ListOpenIDConnectProviders',
      'GetOpenIDConnectProvider',
      'ListRoles',
      'GetRole',
      'eks:DescribeAddon',
      'DescribeInstances',
      'GetAccountSummary',
    ]);
    rows.push(
      { api: 'eks:DescribeCluster', requests: count('eks:DescribeCluster'), lowerBound: 1 },
      { api: 'eks:ListClusters', requests: count('eks:ListClusters'), lowerBound: 1 },
      {
        api: 'eks:ListPodIdentityAssociations',
        requests: count('eks:ListPodIdentityAssociations'),
        lowerBound: 1,
      },
      // The account is in the cluster ARN DescribeCluster returns.
      { api: 'sts:GetCallerIdentity', requests: count('GetCallerIdentity'), lowerBound: 0 },
      { api: 'iam:ListOpenIDConnectProviders', requests: count('ListOpenIDConnectProviders'), lowerBound: 1 },
      { api: 'iam:GetOpenIDConnectProvider', requests: count('GetOpenIDConnectProvider'), lowerBound: 1 },
      {
        api: 'iam:ListRoles+GetRole',
        requests: count('ListRoles') + count('GetRole'),
        lowerBound: roleBound,
      },
      // The Pod Identity agent add-on, the cluster's EC2 nodes (one page), the account's IAM quotas.
      { api: 'eks:DescribeAddon', requests: count('eks:DescribeAddon'), lowerBound: 1 },
      { api: 'ec2:DescribeInstances', requests: count('DescribeInstances'), lowerBound: 1 },
      { api: 'iam:GetAccountSummary', requests: count('GetAccountSummary'), lowerBound: 1 },
    );
    for (const [operation, requests] of Object.entries(counts.aws)) {
      if (!known.has(operation)) rows.push({ api: `aws ${operation}`, requests, lowerBound: 0 });
    }
    return {
      size,
      wallMs,
      seedMs: ready.seedMs,
      peakRssMb,
      rssBeforeMb,
      retainedMb,
      collectedRssMb,
      findings: report.findings.length,
      rows,
    };
  } finally {
    const exited = new Promise((resolve) => servers.once('exit', resolve));
    if (servers.connected) servers.send({ kind: 'stop' });
    else servers.kill('SIGTERM');
    await exited;
    process.off('exit', stopOnExit);
  }
}

const verdict = (row: RequestRow) =>
  row.requests <= WITHIN * row.lowerBound
    ? 'ok'
    : `OVER (${(row.requests / Math.max(1, row.lowerBound)).toFixed(2)}×)`;

function printResult(result: LiveBenchResult): boolean {
  const { size } = result;
  console.log(
    `live: ${size.pods} pods, ${size.serviceAccounts} annotated ServiceAccounts, ${size.rolesUsed} roles used of ${size.accountRoles}; ${size.latencyMs} ms per request`,
  );
  console.log(
    `live: wall ${result.wallMs.toFixed(0)} ms (collect + audit), peak RSS ${result.peakRssMb.toFixed(0)} MB (${result.rssBeforeMb.toFixed(0)} MB before it, ${result.collectedRssMb.toFixed(0)} MB when the collection ended; the servers run in another process; state retains ${result.retainedMb.toFixed(0)} MB of heap after GC, ${((result.retainedMb * 1048576) / result.size.pods / 1024).toFixed(2)} KB per pod), ${result.findings} findings (seeding moto took ${(result.seedMs / 1000).toFixed(1)} s, not timed)`,
  );
  console.log('live: requests per API (lower bound; target ≤ 1.1×):');
  for (const row of result.rows) {
    console.log(
      `  ${row.api.padEnd(40)} ${String(row.requests).padStart(6)}  bound ${String(row.lowerBound).padStart(5)}  ${verdict(row)}`,
    );
  }
  return result.rows.every((row) => row.requests <= WITHIN * row.lowerBound);
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args.includes('--json')) {
    console.log(JSON.stringify(await runOnce(sizeFromEnv())));
    return;
  }
  if (!args.includes('--curve')) {
    if (!printResult(await runOnce(sizeFromEnv()))) process.exitCode = 1;
    return;
  }
  console.log(
    'live curve: pods, wall ms, peak RSS MB (and before the audit), Kubernetes list requests, AWS requests (each size in a fresh process)',
  );
  for (const pods of CURVE) {
    const child = spawnSync(process.execPath, [...process.execArgv, import.meta.filename, '--json'], {
      env: { ...process.env, BENCH_PODS: String(pods) },
      encoding: 'utf8',
      maxBuffer: 16 * 1024 * 1024,
    });
    const line = child.stdout.trim().split('\n').at(-1) ?? '';
    if (child.status !== 0 || !line.startsWith('{')) {
      console.log(
        `  ${pods}: failed (exit ${child.status}): ${child.stderr.trim().split('\n').slice(-3).join(' | ')}`,
      );
      process.exitCode = 1;
      continue;
    }
    const result = JSON.parse(line) as LiveBenchResult;
    const kubeRequests = result.rows
      .filter((row) => row.api.startsWith('k8s'))
      .reduce((sum, row) => sum + row.requests, 0);
    const awsRequests = result.rows
      .filter((row) => !row.api.startsWith('k8s'))
      .reduce((sum, row) => sum + row.requests, 0);
    const over = result.rows.filter((row) => row.requests > WITHIN * row.lowerBound).map((row) => row.api);
    console.log(
      `  ${String(pods).padStart(6)} pods: ${result.wallMs.toFixed(0).padStart(6)} ms, ${result.peakRssMb.toFixed(0).padStart(5)} MB peak (${result.rssBeforeMb.toFixed(0)} MB before the audit, ${result.retainedMb.toFixed(0)} MB retained), k8s ${kubeRequests}, aws ${awsRequests}${over.length === 0 ? '' : `, over bound: ${over.join(', ')}`}`,
    );
  }
}

await main();
