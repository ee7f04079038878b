// What a driver hands its publisher after auditOneCluster, whatever the mode, and the one way both publishers read
// a cluster's baseline. Single mode publishes each cluster at once (sinks/publish-cluster.ts: history, alert,
// latest); organization mode defers the alert and the baseline to the run's aggregate
// (organization/deferred-publisher.ts: history, pending baseline, result record), whose batch publisher
// (organization/aggregate/batch-publisher.ts) alerts once for the run and advances every baseline.

import type { AuditCounts } from '../core/model/audit-result';
import type { AuditReport, ClusterReport } from '../core/model/finding';
import type { ClusterStatus } from '../pipeline/audit-one-cluster';
import type { ReportStore, StoredReport } from './report-store';

/** One cluster's audit of one run; `runId` is the same for every retry of the run. */
export interface ClusterPublication {
  readonly account: string;
  readonly region: string;
  readonly report: ClusterReport;
  readonly generatedAt: Date;
  readonly runId: string;
  /** The checks whose verdict this run lacks (the engine's unevaluatedChecks): they neither resolve nor drop. */
  readonly unevaluated?: ReadonlySet<string>;
  readonly status?: ClusterStatus;
  readonly auditError?: boolean;
  readonly counts?: AuditCounts;
}

/** Publishes one cluster's audit; what comes back depends on the mode (an outcome to log, or a result record). */
export interface ClusterPublisher<Outcome> {
  publish(publication: ClusterPublication): Promise<Outcome>;
}

/** A cluster's baseline (latest.json) as both publishers read it. */
export interface Baseline {
  readonly stored?: StoredReport;
  /** The cluster's report in it, when there is one. */
  readonly previous?: ClusterReport;
  /**
   * The baseline exists but could not be read (S3 error, or not a §6 report): it is treated as absent, and
   * every current finding at or above the threshold counts as new, because alerting twice is better than
   * missing a change.
   */
  readonly unreadable?: { readonly error: unknown };
}

export async function readBaseline(
  store: ReportStore,
  account: string,
  region: string,
  cluster: string,
): Promise<Baseline> {
  let stored: StoredReport | undefined;
  try {
    stored = await store.latest(account, region, cluster);
  } catch (error) {
    return { unreadable: { error } };
  }
  const previous = stored?.report.clusters.find((candidate) => candidate.name === cluster);
  return {
    ...(stored === undefined ? {} : { stored }),
    ...(previous === undefined ? {} : { previous }),
  };
}

/** A cluster report as the §6 document the store keeps. */
export function asAuditReport(report: ClusterReport, generatedAt: Date | string): AuditReport {
  return {
    schemaVersion: '1',
    generatedAt: typeof generatedAt === 'string' ? generatedAt : generatedAt.toISOString(),
    clusters: [report],
  };
}
