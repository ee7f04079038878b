// npm run bench:engine — how long the pure engine takes to audit a large generated cluster (SPEC §10).

import { performance } from 'node:perf_hooks';
import { auditCluster } from '../lambda/engine/audit-cluster';
import { syntheticState } from './synthetic-state';

const size = {
  pods: Number(process.env.BENCH_PODS ?? 100_000),
  serviceAccounts: Number(process.env.BENCH_SERVICE_ACCOUNTS ?? 10_000),
  roles: Number(process.env.BENCH_ROLES ?? 2_000),
};
const runs = Number(process.env.BENCH_RUNS ?? 5);
const options = { now: new Date(), webhookName: 'iam-for-pods.amazonaws.com' };

const built = performance.now();
const state = syntheticState(size);
console.log(
  `engine: generated ${size.pods} pods, ${size.serviceAccounts} ServiceAccounts, ${size.roles} roles in ${(performance.now() - built).toFixed(0)} ms`,
);

// The first run warms the JIT; the figures are the median and best of the rest.
auditCluster(state, options);
const times: number[] = [];
let findings = 0;
for (let run = 0; run < runs; run += 1) {
  const started = performance.now();
  findings = auditCluster(state, options).findings.length;
  times.push(performance.now() - started);
}
times.sort((a, b) => a - b);
const median = times[Math.floor(times.length / 2)] ?? 0;
console.log(
  `engine: audit ${median.toFixed(0)} ms median, ${(times[0] ?? 0).toFixed(0)} ms best of ${runs} runs; ${findings} findings`,
);
console.log(`engine: target < 1000 ms: ${median < 1000 ? 'met' : 'NOT met'}`);
