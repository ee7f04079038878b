// What the engine knows after auditing one cluster, beyond the report: what was collected, what it counted, and
// which checks ran. Drift and baselines read these facts instead of re-deriving them from findings.

import type { Collection, ResourceType } from './cluster-state';
import type { ClusterReport } from './finding';

/** What the engine audited of a cluster, counted as its checks count it. */
export interface AuditCounts {
  /** ServiceAccounts with an IRSA annotation or a Pod Identity association. */
  readonly serviceAccountsAudited: number;
  /** The running pods of those ServiceAccounts, and pods that carry AWS_ROLE_ARN. */
  readonly podsAudited: number;
}

/** The engine's answer for one cluster. */
export interface AuditResult {
  readonly report: ClusterReport;
  /** What the source could collect (ClusterState.collected). */
  readonly collected: Collection;
  readonly counts: AuditCounts;
  /** The checks that ran to the end, in registry order: only their verdicts are this run's. */
  readonly evaluated: readonly string[];
  /** The checks not run, per input that could not be collected (`cluster` when nothing was). */
  readonly skipped: Readonly<Partial<Record<ResourceType, readonly string[]>>>;
  /** The checks that threw (each reported as IRSA-X03); `audit-context` when none could run. */
  readonly failed: readonly string[];
}
