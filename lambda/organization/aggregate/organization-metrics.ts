// The organization metrics of a run (namespace IrsaAuditor), and their publishing exactly once per run: the
// runs/<runId>/metrics.json marker says which batches CloudWatch accepted, so a retry sends only the missing ones
// (CloudWatch adds up what it is sent twice).

import type { MetricDatum } from '@aws-sdk/client-cloudwatch';
import { namedFirstLineOf } from '../../core/error-text';
import { type Finding, SEVERITIES, type Severity } from '../../core/model/finding';
import { countDatum, MetricsPublishError, metricBatches, publishMetrics } from '../../sinks/metrics';
import type { ReportStore } from '../../sinks/report-store';
import { type ClusterResultRecord, type DiscoveryDocument, metricsMarkerKey } from '../run-objects';
import type { AggregateDependencies } from './aggregate-dependencies';
import { writeMarker } from './run-markers';

/**
 * The organization metrics (namespace IrsaAuditor): Findings {Account, Severity} and {Severity}; ClustersAudited
 * {Account} and {}; AuditErrors {Account} and {} (failed targets, clusters without a result, unreachable or failed
 * clusters); AuditDurationMs {}. Every discovered account gets every series, zeros included, so alarms resolve.
 */
export function organizationMetricData(
  discovery: DiscoveryDocument,
  records: readonly ClusterResultRecord[],
  targetFindings: readonly Finding[],
  durationMs: number,
  timestamp: Date,
): MetricDatum[] {
  const accounts = [...new Set([...discovery.accounts, ...records.map((record) => record.account)])].sort();
  const perAccount = new Map(
    accounts.map((account) => [
      account,
      {
        findings: { critical: 0, high: 0, medium: 0, low: 0, info: 0 } as Record<Severity, number>,
        clusters: 0,
        errors: 0,
      },
    ]),
  );
  const of = (account: string) => {
    let entry = perAccount.get(account);
    if (entry === undefined) {
      entry = { findings: { critical: 0, high: 0, medium: 0, low: 0, info: 0 }, clusters: 0, errors: 0 };
      perAccount.set(account, entry);
    }
    return entry;
  };
  for (const record of records) {
    const entry = of(record.account);
    entry.clusters += 1;
    if (record.auditError) entry.errors += 1;
    for (const severity of SEVERITIES) entry.findings[severity] += record.summary[severity];
  }
  for (const finding of targetFindings) {
    const account = finding.evidence.account;
    if (typeof account !== 'string') continue;
    const entry = of(account);
    entry.errors += 1;
    entry.findings[finding.severity] += 1;
  }
  const data: MetricDatum[] = [];
  const count = (name: string, value: number, dimensions: Readonly<Record<string, string>> = {}) =>
    data.push(countDatum(name, value, dimensions, timestamp));
  for (const [account, entry] of perAccount) {
    for (const severity of SEVERITIES)
      count('Findings', entry.findings[severity], { Account: account, Severity: severity });
    count('ClustersAudited', entry.clusters, { Account: account });
    count('AuditErrors', entry.errors, { Account: account });
  }
  const entries = [...perAccount.values()];
  for (const severity of SEVERITIES)
    count(
      'Findings',
      entries.reduce((sum, entry) => sum + entry.findings[severity], 0),
      { Severity: severity },
    );
  count('ClustersAudited', records.length);
  count(
    'AuditErrors',
    entries.reduce((sum, entry) => sum + entry.errors, 0),
  );
  data.push({
    MetricName: 'AuditDurationMs',
    Dimensions: [],
    Value: durationMs,
    Unit: 'Milliseconds',
    Timestamp: timestamp,
  });
  return data;
}

/**
 * Publishes the run's metrics, or the batches of them an earlier attempt did not get accepted (its marker says
 * which; CloudWatch adds up what it is sent twice). The marker is written once all are accepted, and after a
 * partial failure too, naming the accepted batches. Returns whether every batch is published.
 */
export async function publishMetricsOnce(
  deps: AggregateDependencies,
  run: { readonly runId: string },
  errors: string[],
  durationMs: number,
  data: (durationMs: number) => MetricDatum[],
): Promise<boolean> {
  const key = metricsMarkerKey(run.runId);
  let marker: Awaited<ReturnType<ReportStore['getJson']>>;
  try {
    marker = await deps.store.getJson(key);
  } catch (error) {
    errors.push(
      `metrics: whether an earlier attempt of this run sent them is unknown, so they are not sent (CloudWatch would count them twice): ${namedFirstLineOf(error)}`,
    );
    return false;
  }
  const earlier = marker === undefined ? undefined : metricsProgressOf(marker.value);
  if (earlier === COMPLETE) return true;
  if (earlier === MALFORMED) {
    errors.push(
      `metrics: ${deps.store.objectUri(key)} does not say which metric batches an earlier attempt of this run sent, so none are sent (CloudWatch would count them twice)`,
    );
    return false;
  }
  // The data as the earlier attempt built it: same records, same AuditDurationMs, so the same batches.
  const datapoints = data(earlier?.durationMs ?? durationMs);
  const batches = metricBatches(datapoints).length;
  if (earlier !== undefined && (earlier.batches !== batches || earlier.datums !== datapoints.length)) {
    errors.push(
      `metrics: an earlier attempt of this run sent part of ${earlier.datums} datums in ${earlier.batches} batch(es), but the run's metric data is now ${datapoints.length} datums in ${batches} batch(es), so the missing ones cannot be told apart and none are sent`,
    );
    return false;
  }
  const acceptedBefore = earlier?.acceptedBatches ?? [];
  const accepted = new Set(acceptedBefore);
  let complete = true;
  try {
    const sent = await publishMetrics(deps.cloudwatch, datapoints, { skipBatches: acceptedBefore });
    for (const index of sent.acceptedBatches) accepted.add(index);
    deps.log('info', 'metrics published', {
      runId: run.runId,
      datapoints: datapoints.length,
      calls: sent.calls,
      ...(earlier === undefined ? {} : { batchesSentBefore: acceptedBefore.length }),
    });
  } catch (error) {
    if (error instanceof MetricsPublishError) for (const index of error.acceptedBatches) accepted.add(index);
    errors.push(`metrics: ${namedFirstLineOf(error)}`);
    complete = false;
  }
  // Nothing new accepted: the marker (or its absence) already says what CloudWatch has.
  if (!complete && accepted.size === acceptedBefore.length) return false;
  const progress: MetricsMarker = {
    runId: run.runId,
    complete,
    batches,
    datums: datapoints.length,
    durationMs: earlier?.durationMs ?? durationMs,
    acceptedBatches: [...accepted].sort((a, b) => a - b),
  };
  await writeMarker(
    deps.store,
    key,
    progress,
    complete
      ? 'the metrics marker was not written, so a retry of this run sends the metrics again'
      : `the metrics marker was not written, so a retry of this run sends again the ${accepted.size} metric batch(es) CloudWatch accepted`,
    errors,
  );
  return complete;
}

/** runs/<runId>/metrics.json: which batches (metricBatches of the run's metric data) CloudWatch accepted. */
interface MetricsMarker {
  readonly runId: string;
  /** Every batch accepted. A marker without this field is complete (written only once all were). */
  readonly complete: boolean;
  readonly batches: number;
  readonly datums: number;
  /** The AuditDurationMs first sent: a retry rebuilds the same data with it. */
  readonly durationMs: number;
  readonly acceptedBatches: readonly number[];
}

const COMPLETE = 'complete';
const MALFORMED = 'malformed';

/** The progress a metrics marker records: complete, partial (which batches), or not readable as either. */
function metricsProgressOf(value: unknown): typeof COMPLETE | typeof MALFORMED | MetricsMarker {
  if (typeof value !== 'object' || value === null) return MALFORMED;
  const marker = value as Partial<Record<keyof MetricsMarker, unknown>>;
  if (marker.complete === undefined || marker.complete === true) return COMPLETE;
  const { runId, batches, datums, durationMs, acceptedBatches } = marker;
  const count = (candidate: unknown): candidate is number =>
    typeof candidate === 'number' && Number.isSafeInteger(candidate) && candidate >= 0;
  if (
    marker.complete !== false ||
    typeof runId !== 'string' ||
    !count(batches) ||
    !count(datums) ||
    !count(durationMs) ||
    !Array.isArray(acceptedBatches) ||
    !acceptedBatches.every((index) => count(index) && index < batches)
  )
    return MALFORMED;
  return { runId, complete: false, batches, datums, durationMs, acceptedBatches };
}
