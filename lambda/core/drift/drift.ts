// Drift between a cluster's stored baseline (latest.json) and this run's report (SPEC §7): what to alert on,
// and what to keep as the next baseline. Pure: no SDK, no clock.

import { CHECKS } from '../checks/registry';
import { CHECK_FAILED_ID } from '../checks/x03-check-failed';
import { sortFindings, summarize } from '../engine/audit-cluster';
import type { ResourceType } from '../model/cluster-state';
import { type ClusterReport, type Finding, type Severity, severityRank } from '../model/finding';

/** What changed at or above the alert threshold since the baseline. */
export interface Drift {
  readonly newFindings: readonly Finding[];
  readonly resolved: readonly Finding[];
}

/** What the caller knows about how the report was made, beyond what its findings say. */
export interface EvaluationOptions {
  /**
   * Nothing was collected at all (the role that reads the account could not be used, the collection timed out or
   * failed, DescribeCluster failed): the report's checks ran on empty data, so every non-IRSA-X verdict is unknown,
   * including those of checks that need only AWS state (IRSA-A01, IRSA-S13). Default false, as single mode has it.
   */
  readonly nothingCollected?: boolean;
}

const CLUSTER_UNREACHABLE_ID = 'IRSA-X01';
// The audit's own checks (unreachable, unreadable, failed, malformed): their verdicts are always this run's.
const INTERNAL_CHECK_PREFIX = 'IRSA-X';
const RESOURCE_UNREADABLE_ID = 'IRSA-X02';

// What the engine treats as unread when the API server cannot be reached (lambda/core/engine/audit-cluster.ts).
const KUBERNETES_RESOURCES: readonly ResourceType[] = [
  'serviceAccounts',
  'pods',
  'mutatingWebhookConfigurations',
  'namespaces',
];

/**
 * Compares by fingerprint (Finding.id); only findings at or above `threshold` count, so a finding whose
 * severity crosses the threshold is new (or resolved) there. `previous` undefined is a first run: every current
 * finding at or above the threshold is new. A previous finding of a check this run could not evaluate
 * (unreachable cluster, unreadable resource, a check that threw) is unknown, not resolved.
 */
export function driftOf(
  previous: ClusterReport | undefined,
  current: ClusterReport,
  threshold: Severity,
  options: EvaluationOptions = {},
): Drift {
  const alerting = (finding: Finding) => severityRank(finding.severity) <= severityRank(threshold);
  const before = new Set((previous?.findings ?? []).filter(alerting).map((finding) => finding.id));
  const now = new Set(current.findings.filter(alerting).map((finding) => finding.id));
  const unevaluated = unevaluatedChecks(current, options);
  return {
    newFindings: current.findings.filter((finding) => alerting(finding) && !before.has(finding.id)),
    resolved: (previous?.findings ?? []).filter(
      (finding) => alerting(finding) && !now.has(finding.id) && !unevaluated.has(finding.check),
    ),
  };
}

/** True when the drift is worth an alert. */
export function hasDrift(drift: Drift): boolean {
  return drift.newFindings.length > 0 || drift.resolved.length > 0;
}

/**
 * The checks whose verdict this report lacks: every check that needs the Kubernetes API when the cluster was
 * unreachable (IRSA-X01), the checks IRSA-X02 says it skipped, and the checks that threw (IRSA-X03); every
 * non-IRSA-X check when nothing was collected.
 */
export function unevaluatedChecks(
  report: ClusterReport,
  options: EvaluationOptions = {},
): ReadonlySet<string> {
  const unevaluated = new Set<string>();
  if (options.nothingCollected === true) {
    for (const check of CHECKS) if (!check.id.startsWith(INTERNAL_CHECK_PREFIX)) unevaluated.add(check.id);
  }
  const needing = (resources: readonly string[]) => {
    for (const check of CHECKS) {
      if (check.needs.some((need) => resources.includes(need))) unevaluated.add(check.id);
    }
  };
  for (const finding of report.findings) {
    if (finding.check === CLUSTER_UNREACHABLE_ID) needing(KUBERNETES_RESOURCES);
    if (finding.check === RESOURCE_UNREADABLE_ID) {
      const { resource, skippedChecks } = finding.evidence;
      if (typeof resource === 'string') needing([resource]);
      if (Array.isArray(skippedChecks)) {
        for (const id of skippedChecks) if (typeof id === 'string') unevaluated.add(id);
      }
    }
    if (finding.check === CHECK_FAILED_ID) {
      // The engine names the check that threw; 'audit-context' means no check ran at all.
      if (finding.resource.name === 'audit-context') {
        for (const check of CHECKS)
          if (!check.id.startsWith(INTERNAL_CHECK_PREFIX)) unevaluated.add(check.id);
      } else {
        unevaluated.add(finding.resource.name);
      }
    }
  }
  return unevaluated;
}

/**
 * The report to keep as the next baseline: this run's findings plus the previous findings of the checks this run
 * could not evaluate, so that a cluster that was unreachable for one run neither "resolves" its problems nor
 * alerts on all of them again as new when it is back.
 */
export function baselineAfter(
  previous: ClusterReport | undefined,
  current: ClusterReport,
  options: EvaluationOptions = {},
): ClusterReport {
  if (previous === undefined) return current;
  const unevaluated = unevaluatedChecks(current, options);
  if (unevaluated.size === 0) return current;
  const present = new Set(current.findings.map((finding) => finding.id));
  const carried = previous.findings.filter(
    (finding) => unevaluated.has(finding.check) && !present.has(finding.id),
  );
  if (carried.length === 0) return current;
  const findings = sortFindings([...current.findings, ...carried]);
  return { ...current, summary: summarize(findings), findings };
}
