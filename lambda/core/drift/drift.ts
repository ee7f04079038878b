// Drift between a cluster's stored baseline (latest.json) and this run's report (SPEC §7): what to alert on,
// and what to keep as the next baseline. Pure: no SDK, no clock.

import { CHECKS } from '../checks/registry';
import { sortFindings, summarize } from '../engine/audit-cluster';
import type { AuditResult } from '../model/audit-result';
import { type ClusterReport, type Finding, type Severity, severityRank } from '../model/finding';

/** What changed at or above the alert threshold since the baseline. */
export interface Drift {
  readonly newFindings: readonly Finding[];
  readonly resolved: readonly Finding[];
}

const NOTHING_UNEVALUATED: ReadonlySet<string> = new Set();

/**
 * Compares by fingerprint (Finding.id); only findings at or above `threshold` count, so a finding whose
 * severity crosses the threshold is new (or resolved) there. `previous` undefined is a first run: every current
 * finding at or above the threshold is new. A previous finding of a check this run could not evaluate
 * (unreachable cluster, unreadable resource, a check that threw: `unevaluatedChecks`) is unknown, not resolved.
 */
export function driftOf(
  previous: ClusterReport | undefined,
  current: ClusterReport,
  threshold: Severity,
  unevaluated: ReadonlySet<string> = NOTHING_UNEVALUATED,
): Drift {
  const alerting = (finding: Finding) => severityRank(finding.severity) <= severityRank(threshold);
  const before = new Set((previous?.findings ?? []).filter(alerting).map((finding) => finding.id));
  const now = new Set(current.findings.filter(alerting).map((finding) => finding.id));
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

/** The checks whose verdict this run lacks: every registered check the engine did not run to the end. */
export function unevaluatedChecks(result: Pick<AuditResult, 'evaluated'>): ReadonlySet<string> {
  const evaluated = new Set(result.evaluated);
  return new Set(CHECKS.filter((check) => !evaluated.has(check.id)).map((check) => check.id));
}

/**
 * The report to keep as the next baseline: this run's findings plus the previous findings of the checks this run
 * could not evaluate, so that a cluster that was unreachable for one run neither "resolves" its problems nor
 * alerts on all of them again as new when it is back.
 */
export function baselineAfter(
  previous: ClusterReport | undefined,
  current: ClusterReport,
  unevaluated: ReadonlySet<string> = NOTHING_UNEVALUATED,
): ClusterReport {
  if (previous === undefined) return current;
  if (unevaluated.size === 0) return current;
  const present = new Set(current.findings.map((finding) => finding.id));
  const carried = previous.findings.filter(
    (finding) => unevaluated.has(finding.check) && !present.has(finding.id),
  );
  if (carried.length === 0) return current;
  const findings = sortFindings([...current.findings, ...carried]);
  return { ...current, summary: summarize(findings), findings };
}
