// The aggregate step of an organization run: reads what discover and every audit-target wrote, turns each failed
// target and each cluster without a result (its map iteration failed) into a target-level IRSA-X01, computes the
// run's drift (per-cluster drift from the records, target-level drift against reports/organization/latest.json
// within this run's accounts × regions), publishes ONE summary alert, and only then advances every baseline (§7's
// rule at organization level; never over a newer run's). It writes the full summary and publishes the organization
// metrics whatever happened, then reports publishing problems. Markers written right after the alert
// (runs/<runId>/alerted.json) and the metrics (runs/<runId>/metrics.json, which says which batches CloudWatch
// accepted, also after a partial failure) were accepted make a retried or redriven aggregate of the same run send
// neither twice: a retry sends only the metric batches that are missing.

import { CloudWatchClient, type MetricDatum } from '@aws-sdk/client-cloudwatch';
import { SNSClient } from '@aws-sdk/client-sns';
import { x01ClusterUnreachable } from '../core/checks/x01-cluster-unreachable';
import { driftOf, hasDrift } from '../core/drift/drift';
import { fingerprint, sortFindings, summarize } from '../core/engine/audit-cluster';
import { errorText } from '../core/error-text';
import {
  type AuditReport,
  type ClusterReport,
  type Finding,
  SEVERITIES,
  type Severity,
  type SeveritySummary,
  severityRank,
} from '../core/model/finding';
import type { Environment } from '../pipeline/config';
import { jsonLineLog, type StructuredLog } from '../pipeline/structured-log';
import { publishAlert } from '../sinks/alerts';
import { countDatum, MetricsPublishError, metricBatches, publishMetrics } from '../sinks/metrics';
import { parseStoredReport, type ReportStore, ReportStoreError } from '../sinks/report-store';
import { createConcurrencyLimit } from '../sources/aws/concurrency-limit';
import type { TargetFailureReason } from './member-session';
import { buildOrganizationAlert, type ChangeGroup } from './organization-alert';
import { type AggregateConfig, loadAggregateConfig } from './organization-config';
import {
  alertedMarkerKey,
  type ClusterResultRecord,
  type DiscoveryDocument,
  discoveryKey,
  itemsKey,
  metricsMarkerKey,
  ORGANIZATION_LATEST_KEY,
  ORGANIZATION_REPORT_NAME,
  organizationHistoryKey,
  parseDiscovery,
  parseItems,
  parseResultRecord,
  parseRunEvent,
  resultKey,
  type TargetFailure,
  type TargetItem,
} from './run-objects';
import {
  atColdStart,
  auditorCredentials,
  homeClientConfig,
  reportStoreFor,
  type StepOptions,
} from './step-runtime';

/** What the aggregate step returns (and logs): small, whatever the size of the organization. */
export interface OrganizationSummaryOutput {
  readonly runId: string;
  readonly generatedAt: string;
  readonly accounts: number;
  readonly targets: number;
  readonly clustersAudited: number;
  readonly auditErrors: number;
  readonly failedTargets: number;
  readonly findings: SeveritySummary;
  readonly alerted: boolean;
  readonly newFindings: number;
  readonly resolvedFindings: number;
  readonly summaryKey?: string;
  readonly errors: readonly string[];
}

/** What the step needs, built once per container or by a test. */
export interface AggregateDependencies {
  readonly config: AggregateConfig;
  readonly store: ReportStore;
  readonly sns: SNSClient;
  readonly cloudwatch: CloudWatchClient;
  readonly log: StructuredLog;
  readonly now?: () => Date;
}

/** The run cannot be aggregated at all: its discovery or items are missing or malformed. */
export class AggregateInputError extends Error {
  override readonly name = 'AggregateInputError';
}

// The problems a thrown OrganizationPublishError names; Step Functions keeps 32,768 characters of a cause (with
// the error's JSON around the message), and the log line of the run has them all.
const PUBLISH_ERRORS_SHOWN = 20;
const PUBLISH_ERROR_MESSAGE_LIMIT = 30_000;

/**
 * Some of the alert, baselines, summary or metrics were not published; everything else was (see `summary`). The
 * message names the first problems only: Step Functions cuts an error's cause at 32,768 characters.
 */
export class OrganizationPublishError extends Error {
  override readonly name = 'OrganizationPublishError';

  constructor(readonly summary: OrganizationSummaryOutput) {
    const { errors } = summary;
    const shown = errors.slice(0, PUBLISH_ERRORS_SHOWN).join('; ');
    const more =
      errors.length > PUBLISH_ERRORS_SHOWN ? `; … and ${errors.length - PUBLISH_ERRORS_SHOWN} more` : '';
    const where = summary.summaryKey === undefined ? '' : ` (the summary ${summary.summaryKey} has them all)`;
    const message = `run ${summary.runId}: ${errors.length} publishing problem(s)${where}: ${shown}${more}`;
    super(
      message.length > PUBLISH_ERROR_MESSAGE_LIMIT
        ? `${message.slice(0, PUBLISH_ERROR_MESSAGE_LIMIT - 1)}…`
        : message,
    );
  }
}

// Result records are small; S3 serves far more GETs per prefix than this, Lambda's sockets are the limit.
const READ_CONCURRENCY = 16;
const CLUSTER_KIND = 'Cluster';
const TARGET_KIND = 'Target';

/** One summary of the run, and everything it publishes (see the file comment). */
export async function aggregateRun(
  deps: AggregateDependencies,
  event: unknown,
): Promise<OrganizationSummaryOutput> {
  const run = parseRunEvent(event);
  const mapFailed = (event as { mapFailed?: unknown }).mapFailed === true;
  const { config, store, log } = deps;
  const threshold = config.alertSeverity;
  const now = deps.now ?? (() => new Date());
  const errors: string[] = [];

  const discovery = await readDiscovery(store, run.runId);
  const items = await readItems(store, run.runId);
  const limit = createConcurrencyLimit(READ_CONCURRENCY);
  const outcomes = await Promise.all(
    items.map((item) => limit.run(() => readRecord(store, run.runId, item))),
  );
  const records = outcomes.flatMap((outcome) => ('record' in outcome ? [outcome.record] : []));
  const missing = outcomes.flatMap((outcome) => ('missing' in outcome ? [outcome] : []));
  const unread = outcomes.flatMap((outcome) => ('unread' in outcome ? [outcome] : []));
  for (const { item, unread: problem } of unread)
    errors.push(
      `${placeOf(item)}: the result record could not be read, so this cluster is left out of the run and keeps its baseline: ${problem}`,
    );
  // What went wrong in an audit step without stopping it (an unreadable baseline): as single mode, an error.
  for (const record of records)
    for (const problem of record.errors) errors.push(`${record.account}/${record.region}: ${problem}`);

  const targetFindings = sortFindings([
    ...discovery.targets.flatMap((target) => ('error' in target ? [failedTargetFinding(target)] : [])),
    ...missing.map((outcome) => missingResultFinding(outcome.item, outcome.missing, mapFailed)),
  ]);
  const organization: ClusterReport = {
    name: ORGANIZATION_REPORT_NAME,
    summary: summarize(targetFindings),
    findings: targetFindings,
  };

  const notes = comparisonNotes(records, unread, mapFailed, threshold);
  let previous: OrganizationBaseline = {};
  try {
    previous = await readOrganizationBaseline(store);
  } catch (error) {
    errors.push(
      `the organization baseline could not be read, so every target-level finding counts as new: ${errorText(error, { named: true })}`,
    );
    notes.push('The previous organization baseline could not be read: every failed target is listed as new.');
  }
  const baseline = scopedBaseline(previous.report, discovery, unread);
  // reports/organization/latest.json is written last and carries the run: this run already alerted.
  const alreadyPublished = previous.runId === run.runId;
  const targetDrift = driftOf(baseline.compared, organization, threshold);
  const groups = changeGroups(records, targetDrift, threshold);
  const newFindings = groups.reduce(
    (sum, group) => sum + SEVERITIES.reduce((total, severity) => total + group.newBySeverity[severity], 0),
    0,
  );
  const resolvedFindings = groups.reduce((sum, group) => sum + group.resolvedCount, 0);
  const findings = totalFindings(records, targetFindings);
  const summaryKey = organizationHistoryKey(run.at);

  let alerted = false;
  // An earlier attempt of this run published the alert but stopped before latest.json: do not alert twice.
  const alertedBefore =
    alreadyPublished ||
    (groups.length > 0 && (await markerWritten(store, alertedMarkerKey(run.runId), errors)));
  let advance = alertedBefore || groups.length === 0;
  if (!alertedBefore && groups.length > 0) {
    const alert = buildOrganizationAlert({
      runId: run.runId,
      runAt: run.at,
      summaryUri: store.objectUri(summaryKey),
      findings,
      groups,
      notes,
    });
    try {
      await publishAlert(deps.sns, config.topicArn, alert);
      alerted = true;
      advance = true;
    } catch (error) {
      errors.push(
        `the summary alert was not published, so no baseline advances and the next run alerts again: ${errorText(error, { named: true })}`,
      );
    }
    if (alerted)
      await writeMarker(
        store,
        alertedMarkerKey(run.runId),
        { runId: run.runId, subject: alert.subject, publishedAt: now().toISOString() },
        'the alert marker was not written, so a retry of this run alerts again',
        errors,
      );
  }

  let newerBaselinesKept = 0;
  if (advance) {
    const copies = await Promise.all(
      records.map((record) => limit.run(() => advanceBaseline(store, record, run))),
    );
    newerBaselinesKept = copies.filter((copy) => copy === NEWER_KEPT).length;
    errors.push(...copies.flatMap((copy) => (typeof copy === 'object' ? [copy.error] : [])));
    const newerOrganization = previous.generatedAt !== undefined && isLater(previous.generatedAt, run.at);
    if (!alreadyPublished && !newerOrganization) {
      try {
        await store.putJson(
          ORGANIZATION_LATEST_KEY,
          asAuditReport(withCarried(organization, baseline.carried), run.generatedAt),
          run.runId,
        );
      } catch (error) {
        errors.push(
          `the organization baseline was not advanced, so the next run repeats this alert: ${errorText(error, { named: true })}`,
        );
      }
    }
  }

  const durationMs = Math.max(0, now().getTime() - run.at.getTime());
  const failedTargets = discovery.targets.filter((target) => 'error' in target).length;
  const auditErrors = failedTargets + missing.length + records.filter((record) => record.auditError).length;
  const metricsPublished = await publishMetricsOnce(deps, run, errors, durationMs, (sentDurationMs) =>
    organizationMetricData(discovery, records, targetFindings, sentDurationMs, run.at),
  );

  let writtenSummaryKey: string | undefined;
  try {
    await store.putJson(
      summaryKey,
      summaryDocument({
        run,
        mapFailed,
        discovery,
        records,
        missing,
        unread: unread.map(({ item }) => item),
        targetFindings,
        findings,
        alerted,
        alreadyPublished: alertedBefore,
        metricsPublished,
        newFindings,
        resolvedFindings,
        noLongerAudited: baseline.dropped,
        newerBaselinesKept,
        auditErrors,
        durationMs,
        threshold,
        errors,
      }),
      run.runId,
    );
    writtenSummaryKey = summaryKey;
  } catch (error) {
    errors.push(`the organization summary was not saved: ${errorText(error, { named: true })}`);
  }

  const output: OrganizationSummaryOutput = {
    runId: run.runId,
    generatedAt: run.generatedAt,
    accounts: discovery.accounts.length,
    targets: discovery.targets.length,
    clustersAudited: records.length,
    auditErrors,
    failedTargets,
    findings,
    alerted,
    newFindings,
    resolvedFindings,
    ...(writtenSummaryKey === undefined ? {} : { summaryKey: writtenSummaryKey }),
    errors,
  };
  log(errors.length === 0 ? 'info' : 'error', 'organization run aggregated', {
    ...output,
    findings: { ...findings },
    errors: [...errors],
    mapFailed,
    missingResults: missing.length,
    unreadResults: unread.length,
    noLongerAudited: baseline.dropped,
    newerBaselinesKept,
    alreadyPublished: alertedBefore,
  });
  return output;
}

/** Lines that qualify the comparison, shown first in the alert (as single mode's notes). */
function comparisonNotes(
  records: readonly ClusterResultRecord[],
  unread: readonly { readonly item: TargetItem }[],
  mapFailed: boolean,
  threshold: Severity,
): string[] {
  const notes: string[] = [];
  if (mapFailed)
    notes.push(
      'The map of this run exceeded its tolerated failures: the clusters without a result are listed as IRSA-X01.',
    );
  const firstAudits = records.filter((record) => record.firstAudit);
  if (firstAudits.length > 0)
    notes.push(
      `First audit of ${firstAudits.length} cluster(s) (${namesOf(firstAudits)}): every current finding at or above ${threshold} of ${firstAudits.length === 1 ? 'it' : 'them'} is listed, not only the changes.`,
    );
  const unreadable = records.filter((record) => record.baselineUnreadable);
  if (unreadable.length === 1)
    notes.push(
      `The baseline of ${namesOf(unreadable)} could not be read, so every current finding at or above ${threshold} of it is listed, not only the changes.`,
    );
  else if (unreadable.length > 1)
    notes.push(
      `The baselines of ${unreadable.length} clusters could not be read (${namesOf(unreadable)}), so every current finding at or above ${threshold} of them is listed, not only the changes.`,
    );
  if (unread.length > 0)
    notes.push(
      `The results of ${unread.length} cluster(s) could not be read (${namesOf(unread.map(({ item }) => item))}): their changes are not in this alert and their baselines are kept.`,
    );
  return notes;
}

// A note names a few places; the summary names them all.
const NAMES_IN_A_NOTE = 5;

function namesOf(items: readonly TargetItem[]): string {
  const names = items.slice(0, NAMES_IN_A_NOTE).map(placeOf);
  const more = items.length - names.length;
  return more > 0 ? `${names.join(', ')} and ${more} more` : names.join(', ');
}

function placeOf(item: TargetItem): string {
  return `${item.account}/${item.region}/${item.cluster}`;
}

/**
 * The previous organization baseline as this run can compare it: findings of targets outside this run's accounts ×
 * regions are no longer audited (dropped: neither resolved nor kept), findings of clusters whose result could not be
 * read are unknown (carried into the next baseline, not compared).
 */
function scopedBaseline(
  previous: ClusterReport | undefined,
  discovery: DiscoveryDocument,
  unread: readonly { readonly item: TargetItem }[],
): { readonly compared?: ClusterReport; readonly carried: readonly Finding[]; readonly dropped: number } {
  if (previous === undefined) return { carried: [], dropped: 0 };
  const accounts = new Set(discovery.accounts);
  const regions = new Set(discovery.regions);
  const unknown = new Set(unread.map(({ item }) => placeOf(item)));
  const compared: Finding[] = [];
  const carried: Finding[] = [];
  let dropped = 0;
  for (const finding of previous.findings) {
    const { account, region, cluster } = finding.evidence;
    if (typeof account === 'string' && typeof region === 'string') {
      if (!accounts.has(account) || !regions.has(region)) {
        dropped += 1;
        continue;
      }
      if (typeof cluster === 'string' && unknown.has(placeOf({ account, region, cluster }))) {
        carried.push(finding);
        continue;
      }
    }
    compared.push(finding);
  }
  return {
    compared: { ...previous, summary: summarize(compared), findings: compared },
    carried,
    dropped,
  };
}

function withCarried(report: ClusterReport, carried: readonly Finding[]): ClusterReport {
  if (carried.length === 0) return report;
  const findings = sortFindings([...report.findings, ...carried]);
  return { ...report, summary: summarize(findings), findings };
}

const ADVANCED = 'advanced';
const NEWER_KEPT = 'newer-kept';

/**
 * Copies the cluster's pending baseline onto its latest.json, unless a newer run already wrote that (a retried or
 * redriven aggregate of an older run must not turn a cluster's baseline back); the error line on failure.
 */
async function advanceBaseline(
  store: ReportStore,
  record: ClusterResultRecord,
  run: { readonly runId: string; readonly at: Date },
): Promise<typeof ADVANCED | typeof NEWER_KEPT | { readonly error: string }> {
  const { account, region, cluster } = record;
  try {
    // The report's own time (generatedAt, the run's start), not the object's: a retry writes it again later.
    // From the object's metadata: the baseline itself may be tens of megabytes.
    const existing = await store.latestGeneratedAt(account, region, cluster);
    if (existing !== undefined && isLater(existing, run.at)) return NEWER_KEPT;
  } catch {
    // A latest.json that cannot be read or parsed is replaced, as single mode replaces an unreadable baseline.
  }
  try {
    await store.copy(
      record.baselineKey,
      store.latestKey(account, region, cluster),
      run.runId,
      run.at.toISOString(),
    );
    return ADVANCED;
  } catch (error) {
    return {
      error: `${account}/${region}/${cluster}: the baseline was not advanced, so the next run repeats its changes: ${errorText(error, { named: true })}`,
    };
  }
}

/** True when `generatedAt` is a time after `than`. */
function isLater(generatedAt: string, than: Date): boolean {
  const at = new Date(generatedAt).getTime();
  return !Number.isNaN(at) && at > than.getTime();
}

/**
 * Publishes the run's metrics, or the batches of them an earlier attempt did not get accepted (its marker says
 * which; CloudWatch adds up what it is sent twice). The marker is written once all are accepted, and after a
 * partial failure too, naming the accepted batches. Returns whether every batch is published.
 */
async function publishMetricsOnce(
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
      `metrics: whether an earlier attempt of this run sent them is unknown, so they are not sent (CloudWatch would count them twice): ${errorText(error, { named: true })}`,
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
    errors.push(`metrics: ${errorText(error, { named: true })}`);
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

/** Whether a marker object exists; a marker that cannot be read counts as absent, and the problem as an error. */
async function markerWritten(store: ReportStore, key: string, errors: string[]): Promise<boolean> {
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

async function writeMarker(
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

/** A record; or no usable record (`missing`: the cluster is an IRSA-X01); or a record that could not be read. */
type RecordOutcome =
  | { readonly record: ClusterResultRecord }
  | { readonly item: TargetItem; readonly missing: 'no-result' | 'result-unreadable' }
  | { readonly item: TargetItem; readonly unread: string };

function readDiscovery(store: ReportStore, runId: string): Promise<DiscoveryDocument> {
  return readRunDocument(store, runId, discoveryKey(runId), parseDiscovery);
}

function readItems(store: ReportStore, runId: string): Promise<TargetItem[]> {
  return readRunDocument(store, runId, itemsKey(runId), parseItems);
}

/** A document the discover step wrote for the run; without it there is nothing to aggregate. */
async function readRunDocument<T>(
  store: ReportStore,
  runId: string,
  key: string,
  parse: (value: unknown, uri: string) => T,
): Promise<T> {
  const uri = store.objectUri(key);
  const object = await store.getJson(key).catch((error: unknown) => {
    throw new AggregateInputError(`run ${runId}: ${errorText(error, { named: true })}`, { cause: error });
  });
  if (object === undefined)
    throw new AggregateInputError(
      `run ${runId} has no ${uri}: the discover step did not finish, so there is nothing to aggregate`,
    );
  try {
    return parse(object.value, uri);
  } catch (error) {
    throw new AggregateInputError(`run ${runId}: ${errorText(error, { named: true })}`, { cause: error });
  }
}

/**
 * A cluster's record, or why there is none usable: no object (its audit step failed: an IRSA-X01), an object that
 * is not a record of this run (also an IRSA-X01), or a read that failed (S3 throttled, denied, down): that says
 * nothing about the cluster, so it is reported as an error of the step, not as a finding.
 */
async function readRecord(store: ReportStore, runId: string, item: TargetItem): Promise<RecordOutcome> {
  const key = resultKey(runId, item);
  let object: Awaited<ReturnType<ReportStore['getJson']>>;
  try {
    object = await store.getJson(key);
  } catch (error) {
    if (error instanceof ReportStoreError && error.operation === 'parse')
      return { item, missing: 'result-unreadable' };
    if (httpStatusOf(error) === 404) return { item, missing: 'no-result' };
    return { item, unread: errorText(error, { named: true }) };
  }
  if (object === undefined) return { item, missing: 'no-result' };
  try {
    const record = parseResultRecord(object.value, store.objectUri(key));
    if (record.runId !== runId) return { item, missing: 'result-unreadable' };
    return { record };
  } catch {
    return { item, missing: 'result-unreadable' };
  }
}

/** The HTTP status of the SDK error behind a ReportStoreError, if any. */
function httpStatusOf(error: unknown): number | undefined {
  const cause = error instanceof ReportStoreError ? error.cause : error;
  return (cause as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
}

interface OrganizationBaseline {
  readonly report?: ClusterReport;
  readonly runId?: string;
  readonly generatedAt?: string;
}

async function readOrganizationBaseline(store: ReportStore): Promise<OrganizationBaseline> {
  const object = await store.getJson(ORGANIZATION_LATEST_KEY);
  if (object === undefined) return {};
  const report = parseStoredReport(JSON.stringify(object.value), store.objectUri(ORGANIZATION_LATEST_KEY));
  const cluster = report.clusters.find((candidate) => candidate.name === ORGANIZATION_REPORT_NAME);
  return {
    ...(cluster === undefined ? {} : { report: cluster }),
    ...(object.runId === undefined ? {} : { runId: object.runId }),
    generatedAt: report.generatedAt,
  };
}

function asAuditReport(report: ClusterReport, generatedAt: string): AuditReport {
  return { schemaVersion: '1', generatedAt, clusters: [report] };
}

/** A target-level IRSA-X01: the X01 check's shape, fingerprinted by where (account/region[/cluster]) and why. */
function targetFinding(
  kind: string,
  name: string,
  reason: string,
  message: string,
  evidence: Finding['evidence'],
  remediation: string,
): Finding {
  return {
    id: fingerprint([ORGANIZATION_REPORT_NAME, x01ClusterUnreachable.id, kind, name, reason]),
    check: x01ClusterUnreachable.id,
    severity: x01ClusterUnreachable.severity,
    title: x01ClusterUnreachable.title,
    resource: { kind, name },
    message,
    evidence,
    remediation,
  };
}

const TARGET_REMEDIATIONS: Readonly<
  Record<TargetFailureReason, (account: string, region: string, stsRegion?: string) => string>
> = {
  'access-denied': (account) =>
    `Deploy MemberAccountStack in account ${account} (cdk deploy, or the organization's StackSet) with this auditor's account ID and external ID, and check that the member role has the auditor's read permissions.`,
  'explicit-deny': (account, region) =>
    `A policy outside the member stack (a service control policy, most often) denies the member role of account ${account} explicitly, and redeploying MemberAccountStack does not lift a Deny: ask the organization's administrators to exempt the auditor's roles from it, or remove ${region} from the auditor's regions if it is denied on purpose.`,
  'region-not-enabled': (account, region, stsRegion) =>
    stsRegion === undefined
      ? `Enable ${region} in account ${account} (Account > AWS Regions), or remove it from the auditor's regions.`
      : `Enable ${stsRegion}, the auditor's home region whose STS endpoint AssumeRole goes to, in account ${account} (Account > AWS Regions, for an opt-in region) and activate STS there (IAM > Account settings > Security Token Service endpoints).`,
  throttled: () =>
    "AWS throttled the auditor beyond the SDK's retries: lower the discovery concurrency, or raise the account's STS/EKS quotas.",
  error: (account, region) =>
    `Read the discover function's log for account ${account} in ${region} and fix what it names; the next run retries.`,
};

function failedTargetFinding(
  target: DiscoveryDocument['targets'][number] & { readonly error: TargetFailure },
): Finding {
  const { account, region, error } = target;
  return targetFinding(
    TARGET_KIND,
    `${account}/${region}`,
    error.reason,
    `Account ${account} in ${region} could not be audited: ${error.reason} (${error.message}), so none of its clusters were checked.`,
    {
      account,
      region,
      reason: error.reason,
      error: error.message,
      ...(error.stsRegion === undefined ? {} : { stsRegion: error.stsRegion }),
    },
    TARGET_REMEDIATIONS[error.reason](account, region, error.stsRegion),
  );
}

function missingResultFinding(item: TargetItem, reason: string, mapFailed: boolean): Finding {
  const { account, region, cluster } = item;
  const why =
    reason === 'no-result'
      ? `its audit step left no result after the state machine's retries${mapFailed ? ' (the map stopped early: too many failures)' : ''}`
      : 'its result could not be read';
  return targetFinding(
    CLUSTER_KIND,
    `${account}/${region}/${cluster}`,
    reason,
    `Cluster ${cluster} in account ${account}, ${region} could not be audited: ${why}, so none of its ServiceAccounts, pods or webhooks were checked.`,
    { account, region, cluster, reason },
    `Open the organization state machine's execution for this run, find the failed iteration of ${account}/${region}/${cluster} in its map run, and fix what the audit-target function's log names (timeouts: raise its memory or timeout).`,
  );
}

/** Per-cluster changes at or above the threshold from the records, then the target-level changes. */
function changeGroups(
  records: readonly ClusterResultRecord[],
  targetDrift: ReturnType<typeof driftOf>,
  threshold: Severity,
): ChangeGroup[] {
  const alerting = (finding: Finding) => severityRank(finding.severity) <= severityRank(threshold);
  const groups: ChangeGroup[] = [];
  for (const record of records) {
    // The records count at the audit-target's threshold; the aggregate's may only be stricter.
    const newBySeverity = Object.fromEntries(
      SEVERITIES.map((severity) => [
        severity,
        severityRank(severity) <= severityRank(threshold) ? record.drift.newBySeverity[severity] : 0,
      ]),
    ) as SeveritySummary;
    const resolved = record.drift.resolved.filter(alerting);
    const resolvedCount = resolved.length + (record.drift.resolvedCount - record.drift.resolved.length);
    const group: ChangeGroup = {
      account: record.account,
      region: record.region,
      cluster: record.cluster,
      newBySeverity,
      resolvedCount,
      new: record.drift.new.filter(alerting),
      resolved,
    };
    if (SEVERITIES.some((severity) => newBySeverity[severity] > 0) || resolvedCount > 0) groups.push(group);
  }
  if (hasDrift(targetDrift)) {
    // Target-level findings name account/region[/cluster] in their evidence; group them where they belong.
    const byPlace = new Map<
      string,
      { account: string; region: string; cluster?: string; new: Finding[]; resolved: Finding[] }
    >();
    const place = (finding: Finding) => {
      const { account, region, cluster } = finding.evidence;
      const key = JSON.stringify([account, region, cluster]);
      let entry = byPlace.get(key);
      if (entry === undefined) {
        entry = {
          account: typeof account === 'string' ? account : 'unknown',
          region: typeof region === 'string' ? region : 'unknown',
          ...(typeof cluster === 'string' ? { cluster } : {}),
          new: [],
          resolved: [],
        };
        byPlace.set(key, entry);
      }
      return entry;
    };
    for (const finding of targetDrift.newFindings) place(finding).new.push(finding);
    for (const finding of targetDrift.resolved) place(finding).resolved.push(finding);
    for (const entry of byPlace.values())
      groups.push({ ...entry, newBySeverity: summarize(entry.new), resolvedCount: entry.resolved.length });
  }
  return groups;
}

function totalFindings(
  records: readonly ClusterResultRecord[],
  targetFindings: readonly Finding[],
): SeveritySummary {
  const total = { ...summarize(targetFindings) } as Record<Severity, number>;
  for (const record of records)
    for (const severity of SEVERITIES) total[severity] += record.summary[severity];
  return total;
}

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

interface SummaryInput {
  readonly run: { readonly runId: string; readonly generatedAt: string };
  readonly mapFailed: boolean;
  readonly discovery: DiscoveryDocument;
  readonly records: readonly ClusterResultRecord[];
  readonly missing: readonly { readonly item: TargetItem; readonly missing: string }[];
  readonly unread: readonly TargetItem[];
  readonly targetFindings: readonly Finding[];
  readonly findings: SeveritySummary;
  readonly alerted: boolean;
  readonly alreadyPublished: boolean;
  readonly metricsPublished: boolean;
  readonly newFindings: number;
  readonly resolvedFindings: number;
  /** Findings of the previous organization baseline outside this run's accounts × regions. */
  readonly noLongerAudited: number;
  /** Clusters whose latest.json a newer run had written already, so this run did not copy over it. */
  readonly newerBaselinesKept: number;
  readonly auditErrors: number;
  readonly durationMs: number;
  readonly threshold: Severity;
  readonly errors: readonly string[];
}

/** reports/organization/history/<generatedAt>.json: every cluster with its counts, every failed target. */
function summaryDocument(input: SummaryInput): object {
  const { run, discovery, records } = input;
  const sorted = [...records].sort(
    (a, b) => compare(a.account, b.account) || compare(a.region, b.region) || compare(a.cluster, b.cluster),
  );
  return {
    schemaVersion: '1',
    type: 'irsa-auditor.organization-summary',
    runId: run.runId,
    generatedAt: run.generatedAt,
    durationMs: input.durationMs,
    mapFailed: input.mapFailed,
    accounts: discovery.accounts,
    regions: discovery.regions,
    totals: {
      accounts: discovery.accounts.length,
      targets: discovery.targets.length,
      failedTargets: discovery.targets.filter((target) => 'error' in target).length,
      clustersDiscovered: records.length + input.missing.length + input.unread.length,
      clustersAudited: records.length,
      auditErrors: input.auditErrors,
      findings: input.findings,
    },
    drift: {
      threshold: input.threshold,
      newFindings: input.newFindings,
      resolvedFindings: input.resolvedFindings,
      alerted: input.alerted,
      alreadyAlertedByThisRun: input.alreadyPublished,
      noLongerAudited: input.noLongerAudited,
      newerBaselinesKept: input.newerBaselinesKept,
    },
    metricsPublished: input.metricsPublished,
    errors: input.errors,
    failedTargets: discovery.targets.flatMap((target) => ('error' in target ? [target] : [])),
    clustersWithoutResult: input.missing.map(({ item, missing }) => ({ ...item, reason: missing })),
    clustersWithUnreadResult: input.unread,
    clusters: sorted.map((record) => ({
      account: record.account,
      region: record.region,
      cluster: record.cluster,
      status: record.status,
      auditError: record.auditError,
      summary: record.summary,
      serviceAccountsAudited: record.serviceAccountsAudited,
      podsAudited: record.podsAudited,
      durationMs: record.durationMs,
      firstAudit: record.firstAudit,
      ...(record.baselineUnreadable ? { baselineUnreadable: true } : {}),
      newFindings: record.drift.newCount,
      resolvedFindings: record.drift.resolvedCount,
      report: record.historyKey,
      ...(record.errors.length === 0 ? {} : { errors: record.errors }),
    })),
    targetFindings: input.targetFindings,
  };
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The aggregate step's Lambda handler. */
export type AggregateHandler = (event: unknown) => Promise<OrganizationSummaryOutput>;

/** The dependencies of one container, from a valid configuration. */
export function createAggregateDependencies(
  config: AggregateConfig,
  options: StepOptions = {},
): AggregateDependencies {
  const credentials = auditorCredentials(options);
  const clientConfig = homeClientConfig(config, credentials);
  return {
    config,
    store: reportStoreFor(config, credentials),
    sns: new SNSClient(clientConfig),
    // moto_server gunzips a compressed body twice and answers 500, so the SDK's gzip of PutMetricData bodies
    // over 10 KB is off for emulators; CloudWatch itself accepts it.
    cloudwatch: new CloudWatchClient({
      ...clientConfig,
      disableRequestCompression: config.endpoint !== undefined,
    }),
    log: options.log ?? jsonLineLog(),
  };
}

/**
 * Validates the configuration at cold start and returns the handler. Publishing problems are thrown after
 * everything that could be published was (the invocation fails, the alarm fires); a retry of the same run does
 * not alert or count metrics again (runs/<runId>/alerted.json and metrics.json, see aggregateRun).
 */
export function createAggregateHandler(env: Environment, options: StepOptions = {}): AggregateHandler {
  const log = options.log ?? jsonLineLog();
  return atColdStart(
    'aggregate',
    () => loadAggregateConfig(env),
    (config) => {
      const deps = createAggregateDependencies(config, { ...options, log });
      return async (event: unknown) => {
        const summary = await aggregateRun(deps, event);
        if (summary.errors.length > 0) throw new OrganizationPublishError(summary);
        return summary;
      };
    },
    (config) => ({ alertSeverity: config.alertSeverity }),
    log,
  );
}
