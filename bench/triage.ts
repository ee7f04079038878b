// npm run bench (triage) — the audit side by side with the manual triage of the seed incident (bench/triage.sh:
// kubectl, the aws CLI and jq, as an engineer would), against the same fake API server and moto behind the same
// 10 ms per request, for 20, 200 and 2,000 annotated ServiceAccounts (two pods each). The synthetic cluster has
// the incident's faults: the webhook's caBundle is another cluster's CA (IRSA-W02), and as bench/live-servers.ts
// generates it, ServiceAccounts left out of their role's trust (S07), naming a deleted role (S02), pods that
// were not mutated (P01). Prints both wall times, their ratio, and which faults each found.
//
// Needs kubectl, the aws CLI and jq on PATH. BENCH_TRIAGE_SIZES (20,200,2000) and BENCH_LATENCY_MS change it; the
// script makes one `aws iam get-role` per ServiceAccount (about half a second each), so 2,000 take minutes.

import { execFile, fork } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { auditCluster } from '../lambda/core/engine/audit-cluster';
import { MOTO_CREDENTIALS } from '../lambda/emulators/moto';
import { liveClusterSource } from '../lambda/sources/live/live-source';
import { CLUSTER, type LiveBenchSize, nextMessage, REGION, type ReadyMessage } from './live-protocol';

const SIZES = (process.env.BENCH_TRIAGE_SIZES ?? '20,200,2000').split(',').map(Number);
const LATENCY_MS = Number(process.env.BENCH_LATENCY_MS ?? 10);
const SCRIPT = join(import.meta.dirname, 'triage.sh');

/** The script's fault kinds as the checks that report the same fault. */
const SCRIPT_FAULTS: Readonly<Record<string, string>> = {
  'role-missing': 'IRSA-S02',
  'trust-subject': 'IRSA-S07',
  'pod-not-mutated': 'IRSA-P01',
  'no-oidc-provider': 'IRSA-C02',
  'no-webhook': 'IRSA-W01',
};
/** The incident's faults, by the check that names each. */
const INCIDENT = ['IRSA-W02', 'IRSA-S02', 'IRSA-S07', 'IRSA-P01'];

const tally = (checks: readonly string[]) => {
  const counts = new Map<string, number>();
  for (const check of checks) counts.set(check, (counts.get(check) ?? 0) + 1);
  return counts;
};

function runScript(env: NodeJS.ProcessEnv): Promise<{ stdout: string; stderr: string; code: number }> {
  return new Promise((resolve) => {
    execFile('bash', [SCRIPT], { env, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) =>
      resolve({ stdout, stderr, code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1 }),
    );
  });
}

async function compare(serviceAccounts: number): Promise<void> {
  const scratch = await mkdtemp(join(tmpdir(), 'irsa-bench-triage-'));
  const kubeconfig = join(scratch, 'kubeconfig');
  const size: LiveBenchSize = {
    pods: serviceAccounts * 2,
    serviceAccounts,
    rolesUsed: Math.max(1, Math.min(500, Math.ceil(serviceAccounts / 4))),
    accountRoles: Math.max(20, serviceAccounts),
    latencyMs: LATENCY_MS,
  };
  const servers = fork(join(import.meta.dirname, 'live-servers.ts'), [], {
    env: {
      ...process.env,
      NODE_OPTIONS: '',
      BENCH_SIZE: JSON.stringify(size),
      BENCH_WRONG_CA_BUNDLE: '1',
      BENCH_KUBECONFIG: kubeconfig,
    },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  try {
    const ready = await nextMessage<ReadyMessage>(servers, 'ready');
    const started = performance.now();
    const state = await liveClusterSource({
      clusterName: CLUSTER,
      region: REGION,
      endpoint: ready.endpoint,
      credentials: MOTO_CREDENTIALS,
    }).collect();
    const ours = auditCluster(state, { now: new Date(), webhookName: 'iam-for-pods.amazonaws.com' }).report;
    const oursMs = performance.now() - started;

    const scriptStarted = performance.now();
    const script = await runScript({
      PATH: process.env.PATH,
      HOME: scratch,
      KUBECONFIG: kubeconfig,
      CLUSTER,
      REGION,
      AWS_ENDPOINT_URL: ready.endpoint,
      AWS_ACCESS_KEY_ID: MOTO_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: MOTO_CREDENTIALS.secretAccessKey,
      AWS_CONFIG_FILE: join(scratch, 'no-aws-config'),
    });
    const scriptMs = performance.now() - scriptStarted;
    if (script.code !== 0)
      throw new Error(`bench/triage.sh failed (exit ${script.code}): ${script.stderr.slice(-500)}`);

    const found = tally(
      script.stdout
        .split('\n')
        .filter((line) => line.startsWith('FAULT '))
        .map((line) => SCRIPT_FAULTS[line.split(' ')[1] ?? ''] ?? 'unknown'),
    );
    const audited = tally(ours.findings.map((finding) => finding.check));
    const describe = (counts: ReadonlyMap<string, number>) =>
      INCIDENT.map((check) => `${check} ${counts.get(check) ?? 0}`).join(', ');
    const missed = INCIDENT.filter((check) => (found.get(check) ?? 0) < (audited.get(check) ?? 0));
    console.log(
      `triage: ${String(serviceAccounts).padStart(5)} ServiceAccounts (${size.pods} pods): irsa-auditor ${oursMs.toFixed(0)} ms, manual script ${(scriptMs / 1000).toFixed(1)} s, ${(scriptMs / oursMs).toFixed(0)}× faster`,
    );
    console.log(`  irsa-auditor found ${describe(audited)} (${ours.findings.length} findings in all)`);
    console.log(
      `  the script found  ${describe(found)}${missed.length === 0 ? '' : `; it misses ${missed.join(', ')}`}`,
    );
  } finally {
    servers.send({ kind: 'stop' });
    await rm(scratch, { recursive: true, force: true });
  }
}

for (const serviceAccounts of SIZES) await compare(serviceAccounts);
