// One cluster's audit, whatever the mode: collect within a deadline, drop the excluded namespaces, run the engine.
// Both drivers (single mode's bounded fan-out, organization mode's per-cluster step) use these.

import type { AuditOptions } from '../core/analysis/context';
import { unevaluatedChecks } from '../core/drift/drift';
import { auditCluster } from '../core/engine/audit-cluster';
import { errorText } from '../core/error-text';
import type { AuditResult } from '../core/model/audit-result';
import type { ClusterState, CollectionError } from '../core/model/cluster-state';
import { ClusterStateAssembler } from '../sources/assemble-state';
import type { ClusterSource } from './run-audit';

/** How one cluster's part of a run ended: all but `audited` carry an IRSA-X01 finding and count as audit errors. */
export type ClusterStatus = 'audited' | 'unreachable' | 'timed-out' | 'failed';

/** One cluster's audit, ready to publish. */
export interface ClusterAudit {
  /** What was collected, less the excluded namespaces. */
  readonly state: ClusterState;
  readonly result: AuditResult;
  readonly status: ClusterStatus;
  /** Counts as an audit error (the metric and alarm): the cluster could not be audited, or reported IRSA-X01. */
  readonly auditError: boolean;
  /** The checks whose verdict this run lacks: drift neither resolves nor drops their findings. */
  readonly unevaluated: ReadonlySet<string>;
}

export interface AuditOneClusterOptions {
  /** How long the collection may take (clusterDeadlineMs of what the invocation has left). */
  readonly deadlineMs: number;
  readonly excludeNamespaces: readonly string[];
  readonly audit: AuditOptions;
}

/** Collects the cluster within the deadline, drops the excluded namespaces and runs the engine; never throws. */
export async function auditOneCluster(
  source: ClusterSource,
  options: AuditOneClusterOptions,
): Promise<ClusterAudit> {
  const collected = await collectWithin(source, source.label, options.deadlineMs);
  const state = withoutNamespaces(collected.state, options.excludeNamespaces);
  const result = auditCluster(state, options.audit);
  const status = collected.status === 'collected' ? connectionStatus(state) : collected.status;
  return {
    state,
    result,
    status,
    auditError:
      status !== 'audited' || result.report.findings.some((finding) => finding.check === 'IRSA-X01'),
    unevaluated: unevaluatedChecks(result),
  };
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
          message: `the collection failed: ${errorText(outcome.error, { named: true })}`,
        }),
      };
    }
    return { status: 'collected', state: outcome.state };
  } finally {
    clearTimeout(timer);
  }
}

/** A state that holds only why the cluster could not be collected: the engine reports it as IRSA-X01. */
export function unreachableState(clusterName: string, error: CollectionError): ClusterState {
  const assembler = new ClusterStateAssembler((part) => `${part} (live, ${clusterName})`);
  assembler.setCluster({ name: clusterName });
  assembler.failed(error);
  return assembler.build();
}

/** `unreachable` when the collection recorded a connection error (API server or DescribeCluster), else `audited`. */
export function connectionStatus(state: ClusterState): ClusterStatus {
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
