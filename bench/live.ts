// npm run bench — the live audit of a large synthetic cluster and account (SPEC §10): Kubernetes from the
// fake API server, AWS from moto behind a delaying, counting proxy, both with a per-request latency. Prints
// wall time, peak RSS and the requests per API against the lower bound. Three processes: the servers
// (bench/live-servers.ts), the audit (bench/live-audit.ts, bundled as the Lambda is and run on Node 22, so the
// peak RSS printed is what the function pays) and this one, which builds the bundle and counts.
//
// Options (env): BENCH_PODS (20000), BENCH_SERVICE_ACCOUNTS (2000), BENCH_ROLES_USED (500),
// BENCH_ACCOUNT_ROLES (1500), BENCH_LATENCY_MS (10). `--curve`: one line per size (5k/20k/50k/100k pods),
// each audit in a fresh process, so one size's peak RSS does not carry over to the next.

import { fork } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { runOnNode22 } from '../test/support/node22';
import { LAMBDA_BUILD_OPTIONS } from './lambda-build';
import type { AuditMeasurement } from './live-audit';
import {
  type CountsMessage,
  envNumber,
  KUBE_PAGE,
  LIST_ROLES_PAGE,
  type LiveBenchSize,
  nextMessage,
  type ReadyMessage,
  requestLine,
} from './live-protocol';

/** What one run measured: the audit process's figures, the size and the requests the servers counted. */
interface LiveBenchResult extends AuditMeasurement {
  readonly size: LiveBenchSize;
  readonly seedMs: number;
  readonly rows: readonly RequestRow[];
}

interface RequestRow {
  readonly api: string;
  readonly requests: number;
  readonly lowerBound: number;
}

const CURVE = [5_000, 20_000, 50_000, 100_000];
const WITHIN = 1.1;
// A 100,000-pod audit takes seconds; minutes mean something is stuck.
const AUDIT_TIMEOUT_MS = 600_000;

const sizeFromEnv = (): LiveBenchSize => ({
  pods: envNumber('BENCH_PODS', 20_000),
  serviceAccounts: envNumber('BENCH_SERVICE_ACCOUNTS', 2_000),
  rolesUsed: envNumber('BENCH_ROLES_USED', 500),
  accountRoles: envNumber('BENCH_ACCOUNT_ROLES', 1_500),
  latencyMs: envNumber('BENCH_LATENCY_MS', 10),
});

const pages = (objects: number) => Math.max(1, Math.ceil(objects / KUBE_PAGE));

/** Bundles bench/live-audit.ts into `directory` as the Lambda's bundle is built; returns the file. */
async function buildAuditBundle(directory: string): Promise<string> {
  const outfile = join(directory, 'live-audit.mjs');
  await build({
    ...LAMBDA_BUILD_OPTIONS,
    entryPoints: [join(import.meta.dirname, 'live-audit.ts')],
    outfile,
  });
  return outfile;
}

/** Runs the audit bundle on Node 22 against the servers at `endpoint`; its JSON line, or the reason it failed. */
async function runAudit(bundle: string, endpoint: string): Promise<AuditMeasurement> {
  const result = await runOnNode22(
    `await import(${JSON.stringify(pathToFileURL(bundle).href)});`,
    [],
    {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      BENCH_ENDPOINT: endpoint,
      AWS_EC2_METADATA_DISABLED: 'true',
    },
    { nodeOptions: ['--expose-gc'], timeoutMs: AUDIT_TIMEOUT_MS },
  );
  const line = result.stdout.trim().split('\n').at(-1) ?? '';
  if (result.code === 0 && line.startsWith('{')) return JSON.parse(line) as AuditMeasurement;
  throw new Error(
    `the audit process failed (exit ${result.code}): ${result.stderr.trim().split('\n').slice(-3).join(' | ')}`,
  );
}

async function runOnce(size: LiveBenchSize, auditBundle: string): Promise<LiveBenchResult> {
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
    const audit = await runAudit(auditBundle, ready.endpoint);
    for (const error of audit.collectionErrors) console.error(`collection error: ${error}`);

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
    return { ...audit, size, seedMs: ready.seedMs, rows };
  } finally {
    const exited = new Promise((resolve) => servers.once('exit', resolve));
    if (servers.connected) servers.send({ kind: 'stop' });
    else servers.kill('SIGTERM');
    await exited;
    process.off('exit', stopOnExit);
  }
}

function printResult(result: LiveBenchResult): boolean {
  const { size } = result;
  console.log(
    `live: ${size.pods} pods, ${size.serviceAccounts} annotated ServiceAccounts, ${size.rolesUsed} roles used of ${size.accountRoles}; ${size.latencyMs} ms per request`,
  );
  console.log(
    `live: wall ${result.wallMs.toFixed(0)} ms (collect + audit), peak RSS ${result.peakRssMb.toFixed(0)} MB of the audit process on Node 22 (${result.rssBeforeMb.toFixed(0)} MB before the audit, ${result.collectedRssMb.toFixed(0)} MB when the collection ended, ${rssPerPodKb(result).toFixed(2)} KB per pod; state retains ${result.retainedMb.toFixed(0)} MB of heap after GC, ${((result.retainedMb * 1048576) / result.size.pods / 1024).toFixed(2)} KB per pod), ${result.findings} findings (seeding moto took ${(result.seedMs / 1000).toFixed(1)} s, not timed)`,
  );
  console.log('live: requests per API (lower bound; target ≤ 1.1×):');
  for (const row of result.rows) {
    console.log(requestLine(row.api, row.requests, row.lowerBound, WITHIN));
  }
  return result.rows.every((row) => row.requests <= WITHIN * row.lowerBound);
}

/** The audit's own RSS per pod: peak against the process before the audit (Node 22 and the bundle), in KB. */
const rssPerPodKb = (result: LiveBenchResult) =>
  ((result.peakRssMb - result.rssBeforeMb) * 1024) / result.size.pods;

async function main(): Promise<void> {
  const directory = await mkdtemp(join(tmpdir(), 'irsa-bench-live-'));
  try {
    const bundle = await buildAuditBundle(directory);
    if (!process.argv.includes('--curve')) {
      if (!printResult(await runOnce(sizeFromEnv(), bundle))) process.exitCode = 1;
      return;
    }
    console.log(
      'live curve: pods, wall ms, peak RSS MB of the audit process (Node 22, the bundle), before the audit, its growth per pod, heap retained, Kubernetes and AWS requests',
    );
    for (const pods of CURVE) {
      const result = await runOnce({ ...sizeFromEnv(), pods }, bundle).catch((error: Error) => error);
      if (result instanceof Error) {
        console.log(`  ${pods}: failed: ${result.message}`);
        process.exitCode = 1;
        continue;
      }
      const requests = (kube: boolean) =>
        result.rows
          .filter((row) => row.api.startsWith('k8s') === kube)
          .reduce((sum, row) => sum + row.requests, 0);
      const over = result.rows.filter((row) => row.requests > WITHIN * row.lowerBound).map((row) => row.api);
      console.log(
        `  ${String(pods).padStart(6)} pods: ${result.wallMs.toFixed(0).padStart(6)} ms, ${result.peakRssMb.toFixed(0).padStart(4)} MB peak (${result.rssBeforeMb.toFixed(0)} MB before the audit, ${rssPerPodKb(result).toFixed(2)} KB per pod, ${result.retainedMb.toFixed(0)} MB retained), k8s ${requests(true)}, aws ${requests(false)}${over.length === 0 ? '' : `, over bound: ${over.join(', ')}`}`,
      );
    }
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}

await main();
