// One scheduled run (SPEC §7): audit every configured cluster concurrently, each within its own deadline,
// publish each cluster's report (S3, drift alert on SNS), then the metrics of all. Testable without the
// Lambda runtime: the handler only builds the dependencies once per container and calls this.

import { createHash, randomUUID } from 'node:crypto';
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { SecurityHubClient } from '@aws-sdk/client-securityhub';
import type { SNSClient } from '@aws-sdk/client-sns';
import type { AuditOptions } from '../core/analysis/context';
import { errorText } from '../core/error-text';
import type { SeveritySummary } from '../core/model/finding';
import { type ClusterRunResult, metricData } from '../sinks/metrics';
import { publishMetricsOnce } from '../sinks/metrics-once';
import { type PublishClusterOutcome, perClusterPublisher } from '../sinks/publish-cluster';
import type { ClusterPublisher } from '../sinks/publisher';
import type { ReportStore } from '../sinks/report-store';
import { createConcurrencyLimit } from '../sources/aws/concurrency-limit';
import type { ClusterCollector } from '../sources/live/cluster-collector';
import { auditOneCluster, clusterDeadlineMs } from './audit-one-cluster';
import type { ScheduledAuditConfig } from './config';
import type { ClusterSource } from './run-audit';
import type { InvocationContext, StructuredLog } from './structured-log';

/** The part of an EventBridge scheduled event the run reads (`id` is the same on every retry of the event). */
export interface ScheduledEvent {
  readonly id?: unknown;
  readonly time?: unknown;
}

/** What a run needs, built once per Lambda container (clients at module scope) or by a test. */
export interface ScheduledAuditDependencies {
  readonly config: ScheduledAuditConfig;
  /**
   * A collector for one run (its clusters share what they read of AWS): the names of every cluster of the region
   * when the configuration names none, and a source per cluster that records failures rather than throwing.
   */
  readonly collectorForRun: () => ClusterCollector;
  /** The account of the caller (STS), for the report key of a cluster whose ARN was never read. */
  readonly accountId: () => Promise<string>;
  readonly cloudwatch: CloudWatchClient;
  readonly sns: SNSClient;
  /** Set when the configuration names an event bus. */
  readonly events?: EventBridgeClient;
  /** Set when the configuration turns Security Hub on. */
  readonly securityHub?: { readonly client: SecurityHubClient; readonly partition: string };
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
  const collector = deps.collectorForRun();
  let names: readonly string[];
  try {
    names = config.clusters ?? (await collector.listClusters());
  } catch (error) {
    log('error', 'cannot list the clusters to audit', { runId, error: errorText(error, { named: true }) });
    const message = `cannot list the EKS clusters in ${config.region}: ${errorText(error, { named: true })}`;
    throw new ScheduledAuditError(message, runId, { cause: error });
  }
  log('info', 'run started', {
    runId,
    clusters: [...names],
    source: config.clusters === undefined ? 'ListClusters' : 'CLUSTERS',
    remainingMs: context.getRemainingTimeInMillis(),
  });

  const options: AuditOptions = { now: started, webhookName: config.webhookName };
  const publisher = perClusterPublisher({
    store: deps.store,
    sns: deps.sns,
    topicArn: config.topicArn,
    threshold: config.alertSeverity,
    ...(deps.events === undefined || config.eventBusName === undefined
      ? {}
      : { events: { client: deps.events, busName: config.eventBusName } }),
    ...(deps.securityHub === undefined ? {} : { securityHub: deps.securityHub }),
  });
  const limit = createConcurrencyLimit(config.clusterConcurrency);
  const runs = await Promise.all(
    names.map((name) =>
      limit.run(() =>
        auditAndPublish(deps, collector.sourceFor(name), {
          runId,
          generatedAt: started,
          options,
          publisher,
          context,
          now,
        }),
      ),
    ),
  );

  const durationMs = now().getTime() - started.getTime();
  const errors = runs.flatMap((run) => run.outcome.errors);
  // Once per run, as organization mode: a Lambda retry of the same event re-audits, but CloudWatch already has
  // this run's metrics (or the batches its marker names) and would add up what it is sent twice.
  const metricErrors: string[] = [];
  const { calls: metricCalls } = await publishMetricsOnce(
    deps,
    { runId },
    metricErrors,
    durationMs,
    (sentDurationMs) =>
      metricData(
        runs.map((run) => run.result),
        sentDurationMs,
        started,
      ),
  );
  if (metricErrors.length > 0) log('error', 'metrics not published', { runId, errors: metricErrors });
  errors.push(...metricErrors);

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
  readonly publisher: ClusterPublisher<PublishClusterOutcome>;
  readonly context: InvocationContext;
  readonly now: () => Date;
}

async function auditAndPublish(
  deps: ScheduledAuditDependencies,
  source: ClusterSource,
  input: RunInput,
): Promise<{ readonly result: ClusterRunResult; readonly outcome: ClusterOutcome }> {
  const { config, log } = deps;
  const { runId, now } = input;
  const started = now().getTime();
  // Taken when this cluster's turn comes: a cluster that waited for a slot has less time left.
  const deadlineMs = clusterDeadlineMs(input.context.getRemainingTimeInMillis());
  const clusterName = source.label;
  const {
    state,
    result: audit,
    status,
    auditError,
    unevaluated,
  } = await auditOneCluster(source, {
    deadlineMs,
    excludeNamespaces: config.excludeNamespaces,
    audit: input.options,
  });
  const { report, counts } = audit;
  const result: ClusterRunResult = { report, ...counts, auditError };
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
    const published = await input.publisher.publish({
      account,
      region: report.region ?? config.region,
      report,
      generatedAt: input.generatedAt,
      runId,
      unevaluated,
    });
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
    errors.push(`${clusterName}: publishing failed: ${errorText(error, { named: true })}`);
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
