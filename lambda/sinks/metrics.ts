// CloudWatch metrics of one run (SPEC §7): built as plain data, then published in batches CloudWatch accepts.

import { type CloudWatchClient, type MetricDatum, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { CHECKS } from '../core/checks/registry';
import { errorText } from '../core/error-text';
import { type ClusterReport, SEVERITIES } from '../core/model/finding';

/** The CloudWatch namespace every metric of the auditor is published in. */
export const METRIC_NAMESPACE = 'IrsaAuditor';

/** PutMetricData accepts at most 1,000 datums per call. */
export const MAX_DATUMS_PER_CALL = 1000;

/** PutMetricData rejects a request body over 1 MB; the estimate below leaves room for the request envelope. */
export const MAX_REQUEST_BYTES = 1_000_000;

// The request's own fields (namespace, JSON framing) on top of its datums, with room to spare.
const REQUEST_OVERHEAD_BYTES = 4096;

/** One cluster's outcome in a run, as the handler hands it to the sinks. */
export interface ClusterRunResult {
  readonly report: ClusterReport;
  readonly serviceAccountsAudited: number;
  readonly podsAudited: number;
  /** The cluster could not be audited (IRSA-X01) or its audit failed. */
  readonly auditError: boolean;
}

/** Some PutMetricData calls failed; the others were still made, so only these datums are missing. */
export class MetricsPublishError extends Error {
  override readonly name = 'MetricsPublishError';
  constructor(
    readonly failedCalls: number,
    readonly calls: number,
    readonly datumsNotPublished: number,
    override readonly cause: unknown,
    /** The indexes (in metricBatches order) of the batches CloudWatch accepted in this call. */
    readonly acceptedBatches: readonly number[] = [],
  ) {
    super(
      `${failedCalls} of ${calls} PutMetricData calls to namespace ${METRIC_NAMESPACE} failed (${datumsNotPublished} datums not published): ${errorText(cause, { named: true })}`,
    );
  }
}

/** What publishMetrics sent: the calls it made, and which of the data's batches CloudWatch accepted. */
export interface MetricsPublished {
  readonly calls: number;
  /** How many batches metricBatches makes of the data, the skipped ones included. */
  readonly batches: number;
  /** The indexes (in metricBatches order) of the batches accepted by this call; skipped ones are not listed. */
  readonly acceptedBatches: readonly number[];
}

/** How publishMetrics is to resume an earlier, partly failed publication of the same data. */
export interface PublishMetricsOptions {
  /** Indexes (in metricBatches order) of batches CloudWatch already accepted: not sent again. */
  readonly skipBatches?: Iterable<number>;
}

/** One count of the auditor's metrics, with its dimensions (none: the account-wide or organization-wide figure). */
export function countDatum(
  name: string,
  value: number,
  dimensions: Readonly<Record<string, string>>,
  timestamp: Date,
): MetricDatum {
  return {
    MetricName: name,
    Dimensions: Object.entries(dimensions).map(([Name, Value]) => ({ Name, Value })),
    Value: value,
    Unit: 'Count',
    Timestamp: timestamp,
  };
}

/**
 * Builds the §7 metric data: Findings {Cluster, Severity} and {Severity}; FindingsByCheck {Cluster, Check};
 * ServiceAccountsAudited, PodsAudited {Cluster}; ClustersAudited {}; AuditErrors {Cluster} and {};
 * AuditDurationMs {}. Zeros are included (every severity and every registered check for every cluster) so that
 * alarms and dashboards see a resolved state instead of missing data.
 */
export function metricData(
  results: readonly ClusterRunResult[],
  durationMs: number,
  timestamp: Date,
): MetricDatum[] {
  const data: MetricDatum[] = [];
  const count = (name: string, value: number, dimensions: Readonly<Record<string, string>> = {}) =>
    data.push(countDatum(name, value, dimensions, timestamp));
  const registered = CHECKS.map((check) => check.id);
  for (const { report, serviceAccountsAudited, podsAudited, auditError } of results) {
    const cluster = report.name;
    for (const severity of SEVERITIES) {
      count('Findings', report.findings.filter((finding) => finding.severity === severity).length, {
        Cluster: cluster,
        Severity: severity,
      });
    }
    const byCheck = new Map<string, number>(registered.map((id) => [id, 0]));
    for (const finding of report.findings) byCheck.set(finding.check, (byCheck.get(finding.check) ?? 0) + 1);
    for (const [check, value] of byCheck) count('FindingsByCheck', value, { Cluster: cluster, Check: check });
    count('ServiceAccountsAudited', serviceAccountsAudited, { Cluster: cluster });
    count('PodsAudited', podsAudited, { Cluster: cluster });
    count('AuditErrors', auditError ? 1 : 0, { Cluster: cluster });
  }
  for (const severity of SEVERITIES) {
    const total = results.reduce(
      (sum, { report }) => sum + report.findings.filter((finding) => finding.severity === severity).length,
      0,
    );
    count('Findings', total, { Severity: severity });
  }
  count('ClustersAudited', results.length);
  count('AuditErrors', results.filter((result) => result.auditError).length);
  data.push({
    MetricName: 'AuditDurationMs',
    Dimensions: [],
    Value: durationMs,
    Unit: 'Milliseconds',
    Timestamp: timestamp,
  });
  return data;
}

/** Splits datums into PutMetricData batches within CloudWatch's per-call limits (count and request size). */
export function metricBatches(data: readonly MetricDatum[]): MetricDatum[][] {
  const batches: MetricDatum[][] = [];
  let batch: MetricDatum[] = [];
  let bytes = REQUEST_OVERHEAD_BYTES;
  for (const datum of data) {
    // JSON (the SDK's awsJson1_0 wire format) with the timestamp as an ISO string: an overestimate of the body.
    const size = Buffer.byteLength(JSON.stringify(datum)) + 1;
    if (batch.length > 0 && (batch.length === MAX_DATUMS_PER_CALL || bytes + size > MAX_REQUEST_BYTES)) {
      batches.push(batch);
      batch = [];
      bytes = REQUEST_OVERHEAD_BYTES;
    }
    batch.push(datum);
    bytes += size;
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
}

/**
 * PutMetricData in batches within CloudWatch's limits (≤ 1000 datums and ≤ 1 MB per call), namespace IrsaAuditor.
 * Every batch is attempted even when one fails; then MetricsPublishError says how much is missing and which
 * batches were accepted, so that a retry can skip them (`skipBatches`): CloudWatch adds up a datum sent twice.
 */
export async function publishMetrics(
  cloudwatch: CloudWatchClient,
  data: readonly MetricDatum[],
  options: PublishMetricsOptions = {},
): Promise<MetricsPublished> {
  const batches = metricBatches(data);
  const skipped = new Set(options.skipBatches ?? []);
  const acceptedBatches: number[] = [];
  let calls = 0;
  let failedCalls = 0;
  let datumsNotPublished = 0;
  let firstCause: unknown;
  for (const [index, batch] of batches.entries()) {
    if (skipped.has(index)) continue;
    calls += 1;
    try {
      await cloudwatch.send(new PutMetricDataCommand({ Namespace: METRIC_NAMESPACE, MetricData: batch }));
      acceptedBatches.push(index);
    } catch (error) {
      failedCalls += 1;
      datumsNotPublished += batch.length;
      firstCause ??= error;
    }
  }
  if (failedCalls > 0)
    throw new MetricsPublishError(failedCalls, calls, datumsNotPublished, firstCause, acceptedBatches);
  return { calls, batches: batches.length, acceptedBatches };
}
