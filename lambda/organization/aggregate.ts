// The aggregate step of an organization run: reads what discover and every audit-target wrote, turns each failed
// target and each cluster without a result (its map iteration failed) into a target-level IRSA-X01, computes the
// run's drift (per-cluster drift from the records, target-level drift against reports/organization/latest.json),
// publishes ONE summary alert, and only then advances every baseline (§7's rule at organization level). It writes
// the full summary and publishes the organization metrics whatever happened, then reports publishing problems.

import { CloudWatchClient, type MetricDatum } from '@aws-sdk/client-cloudwatch';
import { SNSClient } from '@aws-sdk/client-sns';
import { x01ClusterUnreachable } from '../checks/x01-cluster-unreachable';
import type { Environment } from '../config';
import { fingerprint, sortFindings, summarize } from '../engine/audit-cluster';
import { namedFirstLineOf } from '../error-text';
import {
  type AuditReport,
  type ClusterReport,
  type Finding,
  SEVERITIES,
  type Severity,
  type SeveritySummary,
  severityRank,
} from '../model/finding';
import { jsonLineLog, type StructuredLog } from '../run-scheduled-audit';
import { publishAlert } from '../sinks/alerts';
import { driftOf, hasDrift } from '../sinks/drift';
import { publishMetrics } from '../sinks/metrics';
import { parseStoredReport, type ReportStore } from '../sinks/report-store';
import { createConcurrencyLimit } from '../sources/aws/concurrency-limit';
import { buildOrganizationAlert, type ChangeGroup } from './organization-alert';
import { type AggregateConfig, loadAggregateConfig } from './organization-config';
import {
  type ClusterResultRecord,
  type DiscoveryDocument,
  discoveryKey,
  itemsKey,
  ORGANIZATION_LATEST_KEY,
  ORGANIZATION_REPORT_NAME,
  organizationHistoryKey,
  parseDiscovery,
  parseItems,
  parseResultRecord,
  parseRunEvent,
  resultKey,
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

/** Some of the alert, baselines, summary or metrics were not published; everything else was (see `summary`). */
export class OrganizationPublishError extends Error {
  override readonly name = 'OrganizationPublishError';

  constructor(readonly summary: OrganizationSummaryOutput) {
    super(
      `run ${summary.runId}: ${summary.errors.length} publishing problem(s): ${summary.errors.join('; ')}`,
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

  const targetFindings = sortFindings([
    ...discovery.targets.flatMap((target) => ('error' in target ? [failedTargetFinding(target)] : [])),
    ...missing.map((outcome) => missingResultFinding(outcome.item, outcome.missing, mapFailed)),
  ]);
  const organization: ClusterReport = {
    name: ORGANIZATION_REPORT_NAME,
    summary: summarize(targetFindings),
    findings: targetFindings,
  };

  const notes: string[] = [];
  if (mapFailed)
    notes.push(
      'The map of this run exceeded its tolerated failures: the clusters without a result are listed as IRSA-X01.',
    );
  let previous: { readonly report?: ClusterReport; readonly runId?: string } = {};
  try {
    previous = await readOrganizationBaseline(store);
  } catch (error) {
    errors.push(
      `the organization baseline could not be read, so every target-level finding counts as new: ${namedFirstLineOf(error)}`,
    );
    notes.push('The previous organization baseline could not be read: every failed target is listed as new.');
  }
  // reports/organization/latest.json is written last and carries the run: this run already alerted.
  const alreadyPublished = previous.runId === run.runId;
  const targetDrift = driftOf(previous.report, organization, config.alertSeverity);
  const groups = changeGroups(records, targetDrift, config.alertSeverity);
  const newFindings = groups.reduce(
    (sum, group) => sum + SEVERITIES.reduce((total, severity) => total + group.newBySeverity[severity], 0),
    0,
  );
  const resolvedFindings = groups.reduce((sum, group) => sum + group.resolvedCount, 0);
  const findings = totalFindings(records, targetFindings);
  const summaryKey = organizationHistoryKey(run.at);

  let alerted = false;
  let advance = alreadyPublished || groups.length === 0;
  if (!alreadyPublished && groups.length > 0) {
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
        `the summary alert was not published, so no baseline advances and the next run alerts again: ${namedFirstLineOf(error)}`,
      );
    }
  }

  if (advance) {
    const copies = await Promise.all(
      records.map((record) =>
        limit.run(async () => {
          try {
            await store.copy(
              record.baselineKey,
              store.latestKey(record.account, record.region, record.cluster),
              run.runId,
            );
            return undefined;
          } catch (error) {
            return `${record.account}/${record.region}/${record.cluster}: the baseline was not advanced, so the next run repeats its changes: ${namedFirstLineOf(error)}`;
          }
        }),
      ),
    );
    errors.push(...copies.filter((copy) => copy !== undefined));
    if (!alreadyPublished) {
      try {
        await store.putJson(ORGANIZATION_LATEST_KEY, asAuditReport(organization, run.generatedAt), run.runId);
      } catch (error) {
        errors.push(
          `the organization baseline was not advanced, so the next run repeats this alert: ${namedFirstLineOf(error)}`,
        );
      }
    }
  }

  const durationMs = Math.max(0, now().getTime() - run.at.getTime());
  const failedTargets = discovery.targets.filter((target) => 'error' in target).length;
  const auditErrors = failedTargets + missing.length + records.filter((record) => record.auditError).length;
  // Metrics before the summary, which records that they were sent: CloudWatch adds up what it is sent twice, so a
  // retried aggregate of this run does not send them again once an earlier attempt got that far.
  let metricsPublished = alreadyPublished && (await metricsPublishedBy(store, summaryKey, run.runId));
  if (!metricsPublished) {
    try {
      const data = organizationMetricData(discovery, records, targetFindings, durationMs, run.at);
      const { calls } = await publishMetrics(deps.cloudwatch, data);
      metricsPublished = true;
      log('info', 'metrics published', { runId: run.runId, datapoints: data.length, calls });
    } catch (error) {
      errors.push(`metrics: ${namedFirstLineOf(error)}`);
    }
  }

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
        targetFindings,
        findings,
        alerted,
        alreadyPublished,
        metricsPublished,
        newFindings,
        resolvedFindings,
        auditErrors,
        durationMs,
        threshold: config.alertSeverity,
      }),
      run.runId,
    );
    writtenSummaryKey = summaryKey;
  } catch (error) {
    errors.push(`the organization summary was not saved: ${namedFirstLineOf(error)}`);
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
    alreadyPublished,
  });
  return output;
}

type RecordOutcome =
  | { readonly record: ClusterResultRecord }
  | { readonly item: TargetItem; readonly missing: string };

async function readDiscovery(store: ReportStore, runId: string): Promise<DiscoveryDocument> {
  const key = discoveryKey(runId);
  const uri = store.objectUri(key);
  const object = await store.getJson(key).catch((error: unknown) => {
    throw new AggregateInputError(`run ${runId}: ${namedFirstLineOf(error)}`, { cause: error });
  });
  if (object === undefined)
    throw new AggregateInputError(
      `run ${runId} has no ${uri}: the discover step did not finish, so there is nothing to aggregate`,
    );
  try {
    return parseDiscovery(object.value, uri);
  } catch (error) {
    throw new AggregateInputError(`run ${runId}: ${namedFirstLineOf(error)}`, { cause: error });
  }
}

async function readItems(store: ReportStore, runId: string): Promise<TargetItem[]> {
  const key = itemsKey(runId);
  const uri = store.objectUri(key);
  const object = await store.getJson(key).catch((error: unknown) => {
    throw new AggregateInputError(`run ${runId}: ${namedFirstLineOf(error)}`, { cause: error });
  });
  if (object === undefined)
    throw new AggregateInputError(
      `run ${runId} has no ${uri}: the discover step did not finish, so there is nothing to aggregate`,
    );
  try {
    return parseItems(object.value, uri);
  } catch (error) {
    throw new AggregateInputError(`run ${runId}: ${namedFirstLineOf(error)}`, { cause: error });
  }
}

/** A cluster's record, or why there is none usable (its audit step failed, or what it left cannot be read). */
async function readRecord(store: ReportStore, runId: string, item: TargetItem): Promise<RecordOutcome> {
  const key = resultKey(runId, item);
  try {
    const object = await store.getJson(key);
    if (object === undefined) return { item, missing: 'no-result' };
    const record = parseResultRecord(object.value, store.objectUri(key));
    if (record.runId !== runId) return { item, missing: 'result-unreadable' };
    return { record };
  } catch {
    return { item, missing: 'result-unreadable' };
  }
}

async function readOrganizationBaseline(
  store: ReportStore,
): Promise<{ readonly report?: ClusterReport; readonly runId?: string }> {
  const object = await store.getJson(ORGANIZATION_LATEST_KEY);
  if (object === undefined) return {};
  const report = parseStoredReport(JSON.stringify(object.value), store.objectUri(ORGANIZATION_LATEST_KEY));
  const cluster = report.clusters.find((candidate) => candidate.name === ORGANIZATION_REPORT_NAME);
  return {
    ...(cluster === undefined ? {} : { report: cluster }),
    ...(object.runId === undefined ? {} : { runId: object.runId }),
  };
}

/** Whether this run's summary (an earlier attempt's) says its metrics were sent. */
async function metricsPublishedBy(store: ReportStore, summaryKey: string, runId: string): Promise<boolean> {
  try {
    const object = await store.getJson(summaryKey);
    const value = object?.value as
      | { readonly runId?: unknown; readonly metricsPublished?: unknown }
      | undefined;
    return value?.runId === runId && value.metricsPublished === true;
  } catch {
    return false;
  }
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

const TARGET_REMEDIATIONS: Readonly<Record<string, (account: string, region: string) => string>> = {
  'access-denied': (account) =>
    `Deploy MemberAccountStack in account ${account} (cdk deploy, or the organization's StackSet) with this auditor's account ID and external ID, and check that the member role has the auditor's read permissions.`,
  'region-not-enabled': (account, region) =>
    `Enable ${region} in account ${account} (Account > AWS Regions), or remove it from the auditor's regions.`,
  throttled: () =>
    "AWS throttled the auditor beyond the SDK's retries: lower the discovery concurrency, or raise the account's STS/EKS quotas.",
  error: (account, region) =>
    `Read the discover function's log for account ${account} in ${region} and fix what it names; the next run retries.`,
};

function failedTargetFinding(
  target: DiscoveryDocument['targets'][number] & { readonly error: { reason: string; message: string } },
): Finding {
  const { account, region, error } = target;
  const remediation = TARGET_REMEDIATIONS[error.reason] ?? TARGET_REMEDIATIONS.error;
  return targetFinding(
    TARGET_KIND,
    `${account}/${region}`,
    error.reason,
    `Account ${account} in ${region} could not be audited: ${error.reason} (${error.message}), so none of its clusters were checked.`,
    { account, region, reason: error.reason, error: error.message },
    (remediation as (account: string, region: string) => string)(account, region),
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
    data.push({
      MetricName: name,
      Dimensions: Object.entries(dimensions).map(([Name, Value]) => ({ Name, Value })),
      Value: value,
      Unit: 'Count',
      Timestamp: timestamp,
    });
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
  readonly targetFindings: readonly Finding[];
  readonly findings: SeveritySummary;
  readonly alerted: boolean;
  readonly alreadyPublished: boolean;
  readonly metricsPublished: boolean;
  readonly newFindings: number;
  readonly resolvedFindings: number;
  readonly auditErrors: number;
  readonly durationMs: number;
  readonly threshold: Severity;
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
      clustersDiscovered: records.length + input.missing.length,
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
    },
    metricsPublished: input.metricsPublished,
    failedTargets: discovery.targets.flatMap((target) => ('error' in target ? [target] : [])),
    clustersWithoutResult: input.missing.map(({ item, missing }) => ({ ...item, reason: missing })),
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
 * not alert again, because reports/organization/latest.json carries the run that alerted.
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
