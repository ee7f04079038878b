// One scheduled run (SPEC §7): audit every configured cluster concurrently, each within its own deadline,
// publish each cluster's report (S3, drift alert on SNS), then the metrics of all. Testable without the
// Lambda runtime: the handler only builds the dependencies once per container and calls this.

import { createHash, randomUUID } from 'node:crypto';
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { SNSClient } from '@aws-sdk/client-sns';
import type { ClusterSource } from './audit';
import { AuditContext, type AuditOptions } from './checks/context';
import type { ScheduledAuditConfig } from './config';
import { auditCluster } from './engine/audit-cluster';
import { namedFirstLineOf } from './error-text';
import type { ClusterState, CollectionError } from './model/cluster-state';
import type { SeveritySummary } from './model/finding';
import { type ClusterRunResult, metricData, publishMetrics } from './sinks/metrics';
import { publishClusterReport } from './sinks/publish-cluster';
import type { ReportStore } from './sinks/report-store';
import { ClusterStateAssembler } from './sources/assemble-state';
import { createConcurrencyLimit } from './sources/aws/concurrency-limit';

/** The part of an EventBridge scheduled event the run reads (`id` is the same on every retry of the event). */
export interface ScheduledEvent {
  readonly id?: unknown;
  readonly time?: unknown;
}

/** The part of the Lambda context the run reads. */
export interface InvocationContext {
  /** Kept by Lambda across the retries of one asynchronous invocation. */
  readonly awsRequestId?: string;
  getRemainingTimeInMillis(): number;
}

/** A JSON value a log line may carry: counts, names, reasons; never tokens, credentials or whole objects. */
export type LogValue =
  | string
  | number
  | boolean
  | null
  | readonly LogValue[]
  | { readonly [key: string]: LogValue };

/** Writes one structured log line. */
export type StructuredLog = (
  level: 'info' | 'warn' | 'error',
  message: string,
  fields?: Readonly<Record<string, LogValue>>,
) => void;

/** What a run needs, built once per Lambda container (clients at module scope) or by a test. */
export interface ScheduledAuditDependencies {
  readonly config: ScheduledAuditConfig;
  /** The names of every cluster in the region (ListClusters), when the configuration names none. */
  readonly listClusters: () => Promise<readonly string[]>;
  /** Collects one cluster; records its failures as collectionErrors rather than throwing. */
  readonly sourceFor: (clusterName: string) => ClusterSource;
  /** The account of the caller (STS), for the report key of a cluster whose ARN was never read. */
  readonly accountId: () => Promise<string>;
  readonly cloudwatch: CloudWatchClient;
  readonly sns: SNSClient;
  readonly store: ReportStore;
  readonly log: StructuredLog;
  readonly now?: () => Date;
}

/** How one cluster's part of the run ended. */
export interface ClusterOutcome {
  readonly cluster: string;
  /** `unreachable`/`timed-out`/`failed` clusters carry an IRSA-X01 finding and count as audit errors. */
  readonly status: 'audited' | 'unreachable' | 'timed-out' | 'failed';
  readonly summary: SeveritySummary;
  readonly serviceAccountsAudited: number;
  readonly podsAudited: number;
  readonly durationMs: number;
  readonly alerted: boolean;
  /** Findings at or above the alert threshold that are new since the stored baseline. */
  readonly newFindings: number;
  /** Findings at or above the alert threshold of the baseline that are gone. */
  readonly resolvedFindings: number;
  /** This run's report (`s3://bucket/key`): its history object, else the baseline when only that was written. */
  readonly reportUri?: string;
  /** Publishing problems (S3, SNS), one line each, naming the cluster. */
  readonly errors: readonly string[];
}

/** What the invocation returns (and logs): small, whatever the number of findings. */
export interface ScheduledAuditSummary {
  readonly runId: string;
  readonly generatedAt: string;
  readonly durationMs: number;
  readonly clustersAudited: number;
  readonly auditErrors: number;
  readonly alertsSent: number;
  readonly metricCalls: number;
  readonly clusters: readonly ClusterOutcome[];
  /** Everything that went wrong while publishing (reports, alerts, metrics), one line each. */
  readonly errors: readonly string[];
}

/** The run could not start: there is nothing to audit or report on (e.g. ListClusters failed). */
export class ScheduledAuditError extends Error {
  override readonly name = 'ScheduledAuditError';

  constructor(
    message: string,
    readonly runId: string,
    options?: { readonly cause?: unknown },
  ) {
    super(message, options);
  }
}

// Publishing (S3, SNS per cluster, then CloudWatch) must fit in what the audits leave of the invocation.
const PUBLISH_RESERVE_FRACTION = 0.2;
const PUBLISH_RESERVE_MIN_MS = 2_000;
const PUBLISH_RESERVE_MAX_MS = 30_000;

/** The time a cluster starting now may take, leaving enough of the invocation to publish everything. */
export function clusterDeadlineMs(remainingMs: number): number {
  const reserve = Math.min(
    PUBLISH_RESERVE_MAX_MS,
    Math.max(PUBLISH_RESERVE_MIN_MS, remainingMs * PUBLISH_RESERVE_FRACTION),
  );
  return Math.max(0, Math.floor(remainingMs - reserve));
}

/** A run ID that is the same for every retry of one scheduled event, so a retry does not alert twice. */
export function runIdOf(event: ScheduledEvent | undefined, context: InvocationContext): string {
  if (typeof event?.id === 'string' && event.id !== '') return event.id;
  if (typeof event?.time === 'string' && event.time !== '')
    return `time-${createHash('sha256').update(event.time).digest('hex').slice(0, 16)}`;
  // Lambda keeps the request ID across the retries of an asynchronous invocation.
  if (context.awsRequestId !== undefined && context.awsRequestId !== '') return context.awsRequestId;
  return randomUUID();
}

/** Runs one scheduled audit; a broken cluster becomes IRSA-X01 in its report, never a failed run. */
export async function runScheduledAudit(
  deps: ScheduledAuditDependencies,
  event: ScheduledEvent | undefined,
  context: InvocationContext,
): Promise<ScheduledAuditSummary> {
  const now = deps.now ?? (() => new Date());
  const started = now();
  const runId = runIdOf(event, context);
  const { config, log } = deps;
  let names: readonly string[];
  try {
    names = config.clusters ?? (await deps.listClusters());
  } catch (error) {
    log('error', 'cannot list the clusters to audit', { runId, error: namedFirstLineOf(error) });
    const message = `cannot list the EKS clusters in ${config.region}: ${namedFirstLineOf(error)}`;
    throw new ScheduledAuditError(message, runId, { cause: error });
  }
  log('info', 'run started', {
    runId,
    clusters: [...names],
    source: config.clusters === undefined ? 'ListClusters' : 'CLUSTERS',
    remainingMs: context.getRemainingTimeInMillis(),
  });

  const options: AuditOptions = { now: started, webhookName: config.webhookName };
  const limit = createConcurrencyLimit(config.clusterConcurrency);
  const runs = await Promise.all(
    names.map((name) =>
      limit.run(() => auditAndPublish(deps, name, { runId, generatedAt: started, options, context, now })),
    ),
  );

  const durationMs = now().getTime() - started.getTime();
  const errors = runs.flatMap((run) => run.outcome.errors);
  let metricCalls = 0;
  try {
    const data = metricData(
      runs.map((run) => run.result),
      durationMs,
      started,
    );
    metricCalls = (await publishMetrics(deps.cloudwatch, data)).calls;
    log('info', 'metrics published', { runId, datapoints: data.length, calls: metricCalls });
  } catch (error) {
    errors.push(`metrics: ${namedFirstLineOf(error)}`);
    log('error', 'metrics not published', { runId, error: namedFirstLineOf(error) });
  }

  const clusters = runs.map((run) => run.outcome);
  const summary: ScheduledAuditSummary = {
    runId,
    generatedAt: started.toISOString(),
    durationMs: now().getTime() - started.getTime(),
    clustersAudited: clusters.length,
    auditErrors: runs.filter((run) => run.result.auditError).length,
    alertsSent: clusters.filter((cluster) => cluster.alerted).length,
    metricCalls,
    clusters,
    errors,
  };
  log(errors.length === 0 ? 'info' : 'error', 'run finished', {
    runId,
    durationMs: summary.durationMs,
    clustersAudited: summary.clustersAudited,
    auditErrors: summary.auditErrors,
    alertsSent: summary.alertsSent,
    errors,
  });
  return summary;
}

interface RunInput {
  readonly runId: string;
  readonly generatedAt: Date;
  readonly options: AuditOptions;
  readonly context: InvocationContext;
  readonly now: () => Date;
}

async function auditAndPublish(
  deps: ScheduledAuditDependencies,
  clusterName: string,
  input: RunInput,
): Promise<{ readonly result: ClusterRunResult; readonly outcome: ClusterOutcome }> {
  const { config, log } = deps;
  const { runId, now } = input;
  const started = now().getTime();
  // Taken when this cluster's turn comes: a cluster that waited for a slot has less time left.
  const deadlineMs = clusterDeadlineMs(input.context.getRemainingTimeInMillis());
  const collected = await collectWithin(deps.sourceFor(clusterName), clusterName, deadlineMs);
  const state = withoutNamespaces(collected.state, config.excludeNamespaces);
  const report = auditCluster(state, input.options);
  const counts = auditedCounts(state, input.options);
  const status = collected.status === 'collected' ? connectionStatus(state) : collected.status;
  const result: ClusterRunResult = {
    report,
    ...counts,
    auditError: status !== 'audited' || report.findings.some((finding) => finding.check === 'IRSA-X01'),
  };
  log(result.auditError ? 'warn' : 'info', 'cluster audited', {
    runId,
    cluster: clusterName,
    status,
    durationMs: now().getTime() - started,
    deadlineMs,
    ...counts,
    findings: { ...report.summary },
    ...(state.collectionErrors.length === 0
      ? {}
      : { collectionErrors: state.collectionErrors.map((error) => `${error.resource}: ${error.reason}`) }),
  });

  const errors: string[] = [];
  let alerted = false;
  let drift = { newFindings: 0, resolvedFindings: 0 };
  let reportUri: string | undefined;
  try {
    const account = report.accountId ?? (await deps.accountId());
    const published = await publishClusterReport(
      { store: deps.store, sns: deps.sns, topicArn: config.topicArn, threshold: config.alertSeverity },
      {
        account,
        region: report.region ?? config.region,
        report,
        generatedAt: input.generatedAt,
        runId,
        evaluation: { nothingCollected: nothingCollected(collected) },
      },
    );
    alerted = published.alerted;
    drift = {
      newFindings: published.drift.newFindings.length,
      resolvedFindings: published.drift.resolved.length,
    };
    // Each error already names the cluster.
    errors.push(...published.errors);
    const key = published.historyKey ?? published.latestKey;
    if (key !== undefined) reportUri = deps.store.objectUri(key);
  } catch (error) {
    errors.push(`${clusterName}: publishing failed: ${namedFirstLineOf(error)}`);
  }
  log(errors.length === 0 ? 'info' : 'error', 'cluster published', {
    runId,
    cluster: clusterName,
    alerted,
    ...drift,
    ...(reportUri === undefined ? {} : { report: reportUri }),
    errors,
  });
  return {
    result,
    outcome: {
      cluster: clusterName,
      status,
      summary: report.summary,
      ...counts,
      durationMs: now().getTime() - started,
      alerted,
      ...drift,
      ...(reportUri === undefined ? {} : { reportUri }),
      errors,
    },
  };
}

type Collected =
  | { readonly status: 'collected'; readonly state: ClusterState }
  | { readonly status: 'timed-out' | 'failed'; readonly state: ClusterState };

/**
 * The cluster's state, or, past the deadline, a state that holds only the timeout: a hanging API server
 * (a black-holed private endpoint answers nothing, not even a refusal) must not take the other clusters'
 * reports and the metrics down with the invocation. The abandoned collection finishes or fails unobserved.
 */
export async function collectWithin(
  source: ClusterSource,
  clusterName: string,
  deadlineMs: number,
): Promise<Collected> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), deadlineMs);
  });
  // Inside an async function, a source that throws before returning its promise is a rejection too.
  const collection = deadlineMs <= 0 ? undefined : (async () => source.collect())();
  // Observed here so that a collection abandoned at the deadline cannot become an unhandled rejection.
  const settled = collection?.then(
    (state) => ({ state }),
    (error: unknown) => ({ error }),
  );
  try {
    const outcome = settled === undefined ? 'timeout' : await Promise.race([settled, timedOut]);
    if (outcome === 'timeout') {
      return {
        status: 'timed-out',
        state: unreachableState(clusterName, {
          resource: 'cluster-connection',
          reason: 'timeout',
          message:
            deadlineMs <= 0
              ? 'timed out after 0 ms: the invocation had no time left for this cluster'
              : `timed out after ${deadlineMs} ms (this cluster's share of the invocation's remaining time)`,
        }),
      };
    }
    if ('error' in outcome) {
      return {
        status: 'failed',
        state: unreachableState(clusterName, {
          resource: 'cluster-connection',
          reason: 'error',
          message: `the collection failed: ${namedFirstLineOf(outcome.error)}`,
        }),
      };
    }
    return { status: 'collected', state: outcome.state };
  } finally {
    clearTimeout(timer);
  }
}

/** A state that holds only why the cluster could not be collected: the engine reports it as IRSA-X01. */
/**
 * True when the state holds no AWS or Kubernetes data at all: the collection timed out or failed (or, in
 * organization mode, the member role could not be used), or DescribeCluster failed (collectCluster stops there).
 * Its report's checks ran on empty data, so none of their verdicts is this run's. An API server that cannot be
 * reached after DescribeCluster is not this: the account's IAM and EKS state was read.
 */
export function nothingCollected(collected: {
  readonly status: string;
  readonly state: ClusterState;
}): boolean {
  return (
    collected.status !== 'collected' ||
    collected.state.collectionErrors.some(
      (error) => error.resource === 'cluster-connection' && error.reason === 'describe-cluster',
    )
  );
}

export function unreachableState(clusterName: string, error: CollectionError): ClusterState {
  const assembler = new ClusterStateAssembler((part) => `${part} (live, ${clusterName})`);
  assembler.setCluster({ name: clusterName });
  assembler.failed(error);
  return assembler.build();
}

/** `unreachable` when the collection recorded a connection error (API server or DescribeCluster), else `audited`. */
export function connectionStatus(state: ClusterState): ClusterOutcome['status'] {
  return state.collectionErrors.some((error) => error.resource === 'cluster-connection')
    ? 'unreachable'
    : 'audited';
}

/**
 * The state without the ServiceAccounts, pods, Pod Identity associations, probes and malformed objects of the
 * excluded namespaces. The engine's namespace option is an include list; exclusion is "all but these".
 */
export function withoutNamespaces(state: ClusterState, excluded: readonly string[]): ClusterState {
  if (excluded.length === 0) return state;
  const skip = new Set(excluded);
  const kept = <T extends { readonly namespace?: string }>(items: readonly T[]) =>
    items.filter((item) => item.namespace === undefined || !skip.has(item.namespace));
  return {
    ...state,
    serviceAccounts: kept(state.serviceAccounts),
    pods: kept(state.pods),
    ...(state.podIdentityAssociations === undefined
      ? {}
      : { podIdentityAssociations: kept(state.podIdentityAssociations) }),
    ...(state.webhookProbes === undefined ? {} : { webhookProbes: kept(state.webhookProbes) }),
    malformedObjects: kept(state.malformedObjects),
  };
}

/** What the engine audits of a state, counted as its checks count it (IRSA ServiceAccounts and their pods). */
export function auditedCounts(
  state: ClusterState,
  options: AuditOptions,
): { readonly serviceAccountsAudited: number; readonly podsAudited: number } {
  try {
    const context = new AuditContext(state, options);
    return {
      serviceAccountsAudited:
        context.annotatedServiceAccounts.length + context.podIdentityServiceAccounts.length,
      podsAudited: context.auditedPods.length,
    };
  } catch {
    // The engine reported this as IRSA-X03 already; the counts are not worth a second failure.
    return { serviceAccountsAudited: 0, podsAudited: 0 };
  }
}

/** A log writer of one JSON object per line on stdout (CloudWatch Logs keeps each line as one event). */
export function jsonLineLog(
  write: (line: string) => void = (line) => process.stdout.write(line),
): StructuredLog {
  return (level, message, fields = {}) =>
    write(`${JSON.stringify({ timestamp: new Date().toISOString(), level, message, ...fields })}\n`);
}
