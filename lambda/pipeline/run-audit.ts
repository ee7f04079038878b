// runAudit: collect each cluster's state, evaluate it, and assemble one report. No SDK imports here.

import type { AuditOptions } from '../core/analysis/context';
import { auditCluster } from '../core/engine/audit-cluster';
import type { ClusterState } from '../core/model/cluster-state';
import type { AuditReport, ClusterReport } from '../core/model/finding';

/** Something that yields one cluster's state: a snapshot directory, or (later) live APIs. */
export interface ClusterSource {
  readonly label: string;
  readonly collect: () => Promise<ClusterState>;
}

/** Audits each source in turn; a live source records its own partial failures as collectionErrors. */
export async function runAudit(
  sources: readonly ClusterSource[],
  options: AuditOptions,
): Promise<AuditReport> {
  const clusters: ClusterReport[] = [];
  for (const source of sources) {
    clusters.push(auditCluster(await source.collect(), options).report);
  }
  return { schemaVersion: '1', generatedAt: options.now.toISOString(), clusters };
}
