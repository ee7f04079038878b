// What makes a run's publishing idempotent in both modes: markers in the reports bucket under runs/<runId>/,
// written right after something was published and read by a retry of the same run (a Lambda retry of the
// scheduled event, a redriven aggregate), so that it neither alerts twice nor makes CloudWatch count twice
// (CloudWatch adds up what it is sent twice). runs/ expires (README "S3 layout").

import type { CloudWatchClient, MetricDatum } from '@aws-sdk/client-cloudwatch';
import { errorText } from '../core/error-text';
import type { StructuredLog } from '../pipeline/structured-log';
import { MetricsPublishError, metricBatches, publishMetrics } from './metrics';
import type { ReportStore } from './report-store';

/** Where a run's working files live; the run ID is validated as an S3 key part by the caller's run ID rules. */
const RUNS_PREFIX = 'runs/';

/** `runs/<runId>/metrics.json`: which batches of the run's metrics CloudWatch accepted (all, or some after a failure). */
export function metricsMarkerKey(runId: string): string {
  return `${RUNS_PREFIX}${runId}/metrics.json`;
}

/** Whether every batch of the run's metrics is now published, and the PutMetricData calls this attempt made. */
export interface MetricsOutcome {
  readonly published: boolean;
  readonly calls: number;
}

export interface MetricsOnceDependencies {
  readonly cloudwatch: CloudWatchClient;
  readonly store: ReportStore;
  readonly log: StructuredLog;
}

/**
 * Publishes the run's metrics, or the batches of them an earlier attempt did not get accepted (its marker says
 * which; CloudWatch adds up what it is sent twice). The marker is written once all are accepted, and after a
 * partial failure too, naming the accepted batches.
 */
export async function publishMetricsOnce(
  deps: MetricsOnceDependencies,
  run: { readonly runId: string },
  errors: string[],
  durationMs: number,
  data: (durationMs: number) => MetricDatum[],
): Promise<MetricsOutcome> {
  const key = metricsMarkerKey(run.runId);
  let marker: Awaited<ReturnType<ReportStore['getJson']>>;
  try {
    marker = await deps.store.getJson(key);
  } catch (error) {
    errors.push(
      `metrics: whether an earlier attempt of this run sent them is unknown, so they are not sent (CloudWatch would count them twice): ${errorText(error, { named: true })}`,
    );
    return { published: false, calls: 0 };
  }
  const earlier = marker === undefined ? undefined : metricsProgressOf(marker.value);
  if (earlier === COMPLETE) return { published: true, calls: 0 };
  if (earlier === MALFORMED) {
    errors.push(
      `metrics: ${deps.store.objectUri(key)} does not say which metric batches an earlier attempt of this run sent, so none are sent (CloudWatch would count them twice)`,
    );
    return { published: false, calls: 0 };
  }
  // The data as the earlier attempt built it: same records, same AuditDurationMs, so the same batches.
  const datapoints = data(earlier?.durationMs ?? durationMs);
  const batches = metricBatches(datapoints).length;
  if (earlier !== undefined && (earlier.batches !== batches || earlier.datums !== datapoints.length)) {
    errors.push(
      `metrics: an earlier attempt of this run sent part of ${earlier.datums} datums in ${earlier.batches} batch(es), but the run's metric data is now ${datapoints.length} datums in ${batches} batch(es), so the missing ones cannot be told apart and none are sent`,
    );
    return { published: false, calls: 0 };
  }
  const acceptedBefore = earlier?.acceptedBatches ?? [];
  const accepted = new Set(acceptedBefore);
  let complete = true;
  let calls = 0;
  try {
    const sent = await publishMetrics(deps.cloudwatch, datapoints, { skipBatches: acceptedBefore });
    calls = sent.calls;
    for (const index of sent.acceptedBatches) accepted.add(index);
    deps.log('info', 'metrics published', {
      runId: run.runId,
      datapoints: datapoints.length,
      calls: sent.calls,
      ...(earlier === undefined ? {} : { batchesSentBefore: acceptedBefore.length }),
    });
  } catch (error) {
    if (error instanceof MetricsPublishError) {
      calls = error.calls;
      for (const index of error.acceptedBatches) accepted.add(index);
    }
    errors.push(`metrics: ${errorText(error, { named: true })}`);
    complete = false;
  }
  // Nothing new accepted: the marker (or its absence) already says what CloudWatch has.
  if (!complete && accepted.size === acceptedBefore.length) return { published: false, calls };
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
  return { published: complete, calls };
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

/** Whether a marker object exists; a marker that cannot be read counts as absent, and the problem as an error. */
export async function markerWritten(store: ReportStore, key: string, errors: string[]): Promise<boolean> {
  try {
    return (await store.getJson(key)) !== undefined;
  } catch (error) {
    // Alerting twice is better than missing a change.
    errors.push(
      `${store.objectUri(key)} could not be read, so the alert is published even if an earlier attempt did: ${errorText(error, { named: true })}`,
    );
    return false;
  }
}

/** Writes a marker; on failure, `consequence` and the problem go to `errors` (what was published stays published). */
export async function writeMarker(
  store: ReportStore,
  key: string,
  value: object,
  consequence: string,
  errors: string[],
): Promise<void> {
  try {
    await store.putJson(key, value, (value as { runId?: string }).runId);
  } catch (error) {
    errors.push(`${consequence}: ${errorText(error, { named: true })}`);
  }
}
