// npm run bench:engine — how long the pure engine takes to audit a large generated cluster (SPEC §10).
//
// Each timed run audits a freshly generated ClusterState, so nothing computed for one run's pods
// (by the engine or a cache keyed on them) is reused by the next: the figures are what a Lambda
// run pays. The first run of the process is reported apart: it also pays for JIT warm-up.

import { performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { auditCluster } from '../lambda/core/engine/audit-cluster';
import { type SyntheticSize, syntheticState } from './synthetic-state';

interface BenchCase {
  readonly name: string;
  readonly description: string;
  readonly size: SyntheticSize;
  /** Whether missing the target fails the benchmark (SPEC §10's case) or is only reported. */
  readonly gating: boolean;
}

const base = {
  pods: Number(process.env.BENCH_PODS ?? 100_000),
  serviceAccounts: Number(process.env.BENCH_SERVICE_ACCOUNTS ?? 10_000),
  roles: Number(process.env.BENCH_ROLES ?? 2_000),
};
const runs = Number(process.env.BENCH_RUNS ?? 5);
const only = process.env.BENCH_CASE;
const options = { now: new Date(), webhookName: 'iam-for-pods.amazonaws.com' };

const cases: readonly BenchCase[] = [
  { name: 'default', description: 'one pod in 1000 unmutated', size: base, gating: true },
  {
    name: 'unmutated',
    description: 'every pod unmutated (the wrong-caBundle incident: one P01 per pod)',
    size: { ...base, unmutatedEvery: 1 },
    gating: false,
  },
];

// Collect the previous run's state and the generator's garbage before timing, so that one run does
// not pay for another's; `npm run bench:engine` starts node without --expose-gc, hence the flag here.
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

const ms = (value: number) => `${value.toFixed(0)} ms`;
let gatingMet = true;

for (const benchCase of cases.filter((candidate) => only === undefined || candidate.name === only)) {
  const { size } = benchCase;
  console.log(
    `engine[${benchCase.name}]: ${size.pods} pods, ${size.serviceAccounts} ServiceAccounts, ${size.roles} roles; ${benchCase.description}`,
  );
  const times: number[] = [];
  let findings = 0;
  let generation = 0;
  // A first run, reported apart (cold JIT for the first case), then `runs` runs, each on a fresh state.
  for (let run = 0; run <= runs; run += 1) {
    const built = performance.now();
    const state = syntheticState(size);
    generation += performance.now() - built;
    collectGarbage();
    const started = performance.now();
    findings = auditCluster(state, options).report.findings.length;
    times.push(performance.now() - started);
  }
  const [first = 0, ...rest] = times;
  rest.sort((a, b) => a - b);
  const median = rest[Math.floor(rest.length / 2)] ?? first;
  const met = median < 1000;
  if (benchCase.gating) gatingMet &&= met;
  console.log(
    `engine[${benchCase.name}]: first run ${ms(first)}; then ${ms(median)} median, ${ms(rest[0] ?? first)} best, ${ms(rest.at(-1) ?? first)} worst of ${rest.length} fresh states; ${findings} findings (state generation ${ms(generation / times.length)} each, not timed)`,
  );
  console.log(
    `engine[${benchCase.name}]: target median < 1000 ms: ${met ? 'met' : 'NOT met'}${benchCase.gating ? '' : ' (reported, not gating)'}`,
  );
}
if (!gatingMet) process.exitCode = 1;
