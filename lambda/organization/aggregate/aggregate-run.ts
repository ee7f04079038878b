// The aggregate step of an organization run: reads what discover and every audit-target wrote (run-records.ts),
// turns each failed target and each cluster without a result (its map iteration failed) into a target-level
// IRSA-X01 (missing-targets.ts), publishes the run in one batch (batch-publisher.ts: the run's drift, ONE summary
// alert, then every baseline advanced, never over a newer run's, and the organization metrics), and writes the
// full summary whatever happened (run-summary.ts). Publishing problems are collected, not thrown: the handler
// reports them once everything that could be published was.

import type { SeveritySummary } from '../../core/model/finding';
import { organizationHistoryKey, parseRunEvent } from '../run-objects';
import type { AggregateDependencies } from './aggregate-dependencies';
import { publishRun } from './batch-publisher';
import { targetLevelReport } from './missing-targets';
import { readRunRecords, recordErrors } from './run-records';
import { saveRunSummary, totalFindings } from './run-summary';

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

/** One summary of the run, and everything it publishes (see the file comment). */
export async function aggregateRun(
  deps: AggregateDependencies,
  event: unknown,
): Promise<OrganizationSummaryOutput> {
  const run = parseRunEvent(event);
  const mapFailed = (event as { mapFailed?: unknown }).mapFailed === true;
  const { config, store, log } = deps;

  const read = await readRunRecords(store, run.runId);
  const { discovery, records, missing, unread } = read;
  const errors = recordErrors(read);
  const organization = targetLevelReport(discovery, missing, mapFailed);
  const targetFindings = organization.findings;
  const findings = totalFindings(records, targetFindings);
  const summaryKey = organizationHistoryKey(run.at);

  const published = await publishRun(
    deps,
    { run, mapFailed, discovery, records, unread, organization, findings, summaryKey },
    errors,
  );

  const failedTargets = discovery.targets.filter((target) => 'error' in target).length;
  const auditErrors = failedTargets + missing.length + records.filter((record) => record.auditError).length;
  const writtenSummaryKey = await saveRunSummary(
    store,
    summaryKey,
    {
      run,
      mapFailed,
      discovery,
      records,
      missing,
      unread: unread.map(({ item }) => item),
      targetFindings,
      findings,
      alerted: published.alerted,
      alreadyPublished: published.alertedBefore,
      metricsPublished: published.metricsPublished,
      newFindings: published.newFindings,
      resolvedFindings: published.resolvedFindings,
      noLongerAudited: published.noLongerAudited,
      newerBaselinesKept: published.newerBaselinesKept,
      auditErrors,
      durationMs: published.durationMs,
      threshold: config.alertSeverity,
      errors,
    },
    errors,
  );

  const output: OrganizationSummaryOutput = {
    runId: run.runId,
    generatedAt: run.generatedAt,
    accounts: discovery.accounts.length,
    targets: discovery.targets.length,
    clustersAudited: records.length,
    auditErrors,
    failedTargets,
    findings,
    alerted: published.alerted,
    newFindings: published.newFindings,
    resolvedFindings: published.resolvedFindings,
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
    noLongerAudited: published.noLongerAudited,
    newerBaselinesKept: published.newerBaselinesKept,
    alreadyPublished: published.alertedBefore,
  });
  return output;
}
