// The audit side of bench/live.ts, bundled the way the Lambda is (bench/lambda-build.ts) and run on Node 22 in a
// process of its own, so the peak RSS it reports is what the function pays: the bundle, the collection and the
// engine, without tsx, the bench's own modules or the servers (bench/live-servers.ts, another process).
// Input: BENCH_ENDPOINT (AWS, through the servers' counting proxy). Output: one JSON line on stdout.
// Run with --expose-gc: the heap the state retains is measured after a full GC.

import { performance } from 'node:perf_hooks';
import { auditCluster } from '../lambda/core/engine/audit-cluster';
import { MOTO_CREDENTIALS } from '../lambda/emulators/moto';
import { liveClusterSource } from '../lambda/sources/live/live-source';
import { CLUSTER, REGION } from './live-protocol';

/** What the audit process measured. */
export interface AuditMeasurement {
  readonly wallMs: number;
  /** Peak RSS before the audit started: Node 22 and the bundle loaded. */
  readonly rssBeforeMb: number;
  /** Peak RSS when the collection ended, before the engine ran. */
  readonly collectedRssMb: number;
  readonly peakRssMb: number;
  /** Heap the collected state (and report) keeps after a full GC, against the heap before the audit. */
  readonly retainedMb: number;
  readonly findings: number;
  readonly collectionErrors: readonly string[];
}

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('bench/live-audit runs with node --expose-gc');
const endpoint = process.env.BENCH_ENDPOINT;
if (endpoint === undefined) throw new Error('BENCH_ENDPOINT is not set');
const peakRssMb = () => process.resourceUsage().maxRSS / 1024;

const rssBeforeMb = peakRssMb();
gc();
const heapBefore = process.memoryUsage().heapUsed;
const started = performance.now();
const state = await liveClusterSource({
  clusterName: CLUSTER,
  region: REGION,
  endpoint,
  credentials: MOTO_CREDENTIALS,
}).collect();
const collectedRssMb = peakRssMb();
const report = auditCluster(state, { now: new Date(), webhookName: 'iam-for-pods.amazonaws.com' }).report;
const wallMs = performance.now() - started;
const peak = peakRssMb();
gc();
// `state` and `report` are module bindings, alive through this GC.
const retainedMb = (process.memoryUsage().heapUsed - heapBefore) / 1048576;
const measurement: AuditMeasurement = {
  wallMs,
  rssBeforeMb,
  collectedRssMb,
  peakRssMb: peak,
  retainedMb,
  findings: report.findings.length,
  collectionErrors: state.collectionErrors.map((error) => `${error.resource} ${error.reason}`),
};
console.log(JSON.stringify(measurement));
