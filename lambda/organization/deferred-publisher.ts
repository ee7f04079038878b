// The publisher of organization mode's per-cluster step: the cluster's history report, its pending baseline and a
// result record for the aggregate, which alerts once for the whole run and then advances latest.json (its batch
// publisher). Nothing is alerted here and latest.json is not touched, so a run that never aggregates changes nothing
// a later run compares with. The same run ID writes the same keys: a retried item overwrites its own objects.

import { baselineAfter, driftOf } from '../core/drift/drift';
import { summarize } from '../core/engine/audit-cluster';
import { errorText } from '../core/error-text';
import type { Severity } from '../core/model/finding';
import { asAuditReport, type ClusterPublisher, readBaseline } from '../sinks/publisher';
import type { ReportStore } from '../sinks/report-store';
import { type AuditTargetEvent, baselineKey, type ClusterResultRecord, resultKey } from './run-objects';

// The drift findings a record carries, per direction: the summary alert shows a few hundred at most (SNS's 256 KB),
// and the history report has them all; an incident's first audit can have tens of thousands.
export const RECORDED_DRIFT_LIMIT = 200;

/** The objects of this cluster and run could not be written; the map's retry (or the aggregate's X01) follows. */
export class TargetWriteError extends Error {
  override readonly name = 'TargetWriteError';
}

export interface DeferredPublisherDeps {
  readonly store: ReportStore;
  readonly threshold: Severity;
  readonly target: AuditTargetEvent;
  /** The step's duration so far, for the record. */
  readonly durationMs: () => number;
}

/** Writes history, pending baseline and the result record (last: a record means the other two exist). */
export function deferredPublisher(deps: DeferredPublisherDeps): ClusterPublisher<ClusterResultRecord> {
  const { store, threshold, target } = deps;
  return {
    async publish(publication) {
      const {
        account,
        region,
        report,
        runId,
        unevaluated,
        status = 'audited',
        auditError = false,
      } = publication;
      const { cluster } = target;
      const counts = publication.counts ?? { serviceAccountsAudited: 0, podsAudited: 0 };
      const errors: string[] = [];
      const baseline = await readBaseline(store, account, region, cluster);
      const { stored, previous } = baseline;
      const baselineUnreadable = baseline.unreadable !== undefined;
      if (baseline.unreadable !== undefined)
        // As single mode: alerting twice is better than missing a change; the alert's count says it is a full list.
        errors.push(
          `${cluster}: the baseline could not be read, so every current finding at or above ${threshold} counts as new: ${errorText(baseline.unreadable.error, { named: true })}`,
        );
      const drift = driftOf(previous, report, threshold, unevaluated);

      let historyKey: string;
      const pendingKey = baselineKey(runId, target);
      try {
        historyKey = await store.saveHistory(
          account,
          region,
          cluster,
          asAuditReport(report, publication.generatedAt),
          publication.generatedAt,
        );
        await store.putJson(
          pendingKey,
          asAuditReport(baselineAfter(previous, report, unevaluated), publication.generatedAt),
          runId,
        );
      } catch (error) {
        throw new TargetWriteError(
          `${account}/${region}/${cluster}: the report of run ${runId} was not saved: ${errorText(error, { named: true })}`,
          { cause: error },
        );
      }
      const record: ClusterResultRecord = {
        schemaVersion: '1',
        runId,
        generatedAt: target.generatedAt,
        account,
        region,
        cluster,
        status,
        auditError,
        summary: report.summary,
        ...counts,
        durationMs: deps.durationMs(),
        firstAudit: stored === undefined && !baselineUnreadable,
        baselineUnreadable,
        historyKey,
        baselineKey: pendingKey,
        drift: {
          newCount: drift.newFindings.length,
          newBySeverity: summarize(drift.newFindings),
          resolvedCount: drift.resolved.length,
          new: drift.newFindings.slice(0, RECORDED_DRIFT_LIMIT),
          resolved: drift.resolved.slice(0, RECORDED_DRIFT_LIMIT),
        },
        errors,
      };
      try {
        await store.putJson(resultKey(runId, target), record, runId);
      } catch (error) {
        throw new TargetWriteError(
          `${account}/${region}/${cluster}: the result of run ${runId} was not saved: ${errorText(error, { named: true })}`,
          { cause: error },
        );
      }
      return record;
    },
  };
}
