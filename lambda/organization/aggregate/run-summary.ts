// The full summary of an organization run (reports/organization/history/<generatedAt>.json): every cluster with
// its counts, every failed target, the drift and what was published. Saved whatever happened, so a run that
// failed to publish still leaves a record of itself.

import { summarize } from '../../core/engine/audit-cluster';
import { errorText } from '../../core/error-text';
import { type Finding, SEVERITIES, type Severity, type SeveritySummary } from '../../core/model/finding';
import type { ReportStore } from '../../sinks/report-store';
import type { ClusterResultRecord, DiscoveryDocument, TargetItem } from '../run-objects';

/** The run's findings by severity: every record's counts and the target-level findings. */
export function totalFindings(
  records: readonly ClusterResultRecord[],
  targetFindings: readonly Finding[],
): SeveritySummary {
  const total = { ...summarize(targetFindings) } as Record<Severity, number>;
  for (const record of records)
    for (const severity of SEVERITIES) total[severity] += record.summary[severity];
  return total;
}

/** What the summary says of the run. */
export interface SummaryInput {
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

/** Saves the run's summary at `key`; returns the key, or undefined with the problem in `errors`. */
export async function saveRunSummary(
  store: ReportStore,
  key: string,
  input: SummaryInput,
  errors: string[],
): Promise<string | undefined> {
  try {
    await store.putJson(key, summaryDocument(input), input.run.runId);
    return key;
  } catch (error) {
    errors.push(`the organization summary was not saved: ${errorText(error, { named: true })}`);
    return undefined;
  }
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
