// The engine: run every registered check over one ClusterState and build that cluster's report.

import { createHash } from 'node:crypto';
import { AuditContext, type AuditOptions } from '../analysis/context';
import type { Check, FindingDraft } from '../checks/check';
import { CHECKS, checkById } from '../checks/registry';
import { CHECK_FAILED_ID } from '../checks/x03-check-failed';
import { errorText } from '../error-text';
import type { AuditCounts, AuditResult } from '../model/audit-result';
import { type ClusterState, KUBERNETES_RESOURCES, type ResourceType } from '../model/cluster-state';
import {
  type Finding,
  SEVERITIES,
  type Severity,
  type SeveritySummary,
  severityRank,
} from '../model/finding';

// The audit's own checks (unreachable, unreadable, failed, malformed): they run whatever was collected.
const INTERNAL_CHECK_PREFIX = 'IRSA-X';

/** Audits one cluster: never throws; a check that throws becomes an IRSA-X03 finding. */
export function auditCluster(
  state: ClusterState,
  options: AuditOptions,
  checks: readonly Check[] = CHECKS,
): AuditResult {
  const run = runChecks(state, options, checks);
  const unique = sortFindings(deduplicate(run.findings));
  const { cluster } = state;
  return {
    report: {
      name: cluster.name,
      ...(cluster.arn === undefined ? {} : { arn: cluster.arn }),
      ...(cluster.region === undefined ? {} : { region: cluster.region }),
      ...(cluster.accountId === undefined ? {} : { accountId: cluster.accountId }),
      summary: summarize(unique),
      findings: unique,
    },
    collected: state.collected,
    counts: run.counts,
    evaluated: run.evaluated,
    skipped: Object.fromEntries(run.skipped),
    failed: run.failed,
  };
}

interface ChecksRun {
  readonly findings: Finding[];
  readonly counts: AuditCounts;
  readonly evaluated: string[];
  readonly skipped: Map<ResourceType, string[]>;
  readonly failed: string[];
}

const NOTHING_COUNTED: AuditCounts = { serviceAccountsAudited: 0, podsAudited: 0 };

function runChecks(state: ClusterState, options: AuditOptions, checks: readonly Check[]): ChecksRun {
  const failed = (name: string, title: string, error: unknown) =>
    findingOf(checkById(CHECK_FAILED_ID), checkFailed(name, title, error), state.cluster.name);
  const missing = missingInputs(state);
  // Which checks each uncollected input cost, so that IRSA-X02 can say what the audit is missing.
  const skipped = new Map<ResourceType, string[]>();
  const runnable: { readonly check: Check; readonly plan: Pick<Check, 'run'> }[] = [];
  for (const check of checks) {
    // Without the API server, a check that can decide something from IAM and EKS alone runs that part.
    const plan =
      state.collected === 'aws-only' && check.withoutKubernetes !== undefined
        ? check.withoutKubernetes
        : check;
    // With nothing collected, only the audit's own checks have anything to say (IRSA-X01 above all).
    const unavailable =
      state.collected === 'none' && !check.id.startsWith(INTERNAL_CHECK_PREFIX)
        ? (['cluster'] as const)
        : plan.needs.filter((need) => missing.has(need));
    for (const need of unavailable) skipped.set(need, [...(skipped.get(need) ?? []), check.id]);
    if (unavailable.length === 0) runnable.push({ check, plan });
  }
  let context: AuditContext;
  try {
    context = new AuditContext(state, options, skipped);
  } catch (error) {
    return {
      findings: [failed('audit-context', 'The audit context could be built.', error)],
      counts: NOTHING_COUNTED,
      evaluated: [],
      skipped,
      failed: ['audit-context'],
    };
  }
  const findings: Finding[] = [];
  const evaluated: string[] = [];
  const threw: string[] = [];
  for (const { check, plan } of runnable) {
    try {
      const drafts = [...plan.run(context)];
      for (const draft of drafts) findings.push(findingOf(check, draft, state.cluster.name));
      evaluated.push(check.id);
    } catch (error) {
      findings.push(failed(check.id, check.title, error));
      threw.push(check.id);
    }
  }
  const counts = {
    serviceAccountsAudited:
      context.annotatedServiceAccounts.length + context.podIdentityServiceAccounts.length,
    podsAudited: context.auditedPods.length,
  };
  return { findings, counts, evaluated, skipped, failed: threw };
}

/** The inputs the state lacks: what failed to be read, and every Kubernetes list when the API server could not be used. */
function missingInputs(state: ClusterState): ReadonlySet<ResourceType> {
  return new Set<ResourceType>(
    state.collectionErrors.flatMap((error) =>
      error.resource === 'cluster-connection' ? KUBERNETES_RESOURCES : [error.resource],
    ),
  );
}

function checkFailed(name: string, title: string, error: unknown): FindingDraft {
  return {
    resource: { kind: 'Check', name },
    key: name,
    message: `The check ${name} failed with "${errorText(error)}", so its part of the audit is missing.`,
    evidence: { check: name, error: errorText(error, { lines: 'all' }) },
    remediation: `Report this as a bug in irsa-auditor with the error above; until it is fixed, verify "${title}" by hand.`,
  };
}

/**
 * A check's draft as a finding of the report named `reportName` (the cluster, or the organization report for the
 * target-level findings of organization mode): the one place a finding gets its ID, title and severity.
 */
export function findingOf(check: Check, draft: FindingDraft, reportName: string): Finding {
  const { resource } = draft;
  return {
    id: fingerprint([
      reportName,
      check.id,
      resource.kind,
      resource.namespace ?? '',
      resource.name,
      draft.key ?? '',
    ]),
    check: check.id,
    severity: draft.severity ?? check.severity,
    title: check.title,
    resource,
    message: draft.message,
    evidence: draft.evidence,
    remediation: draft.remediation,
  };
}

/** A short, stable hash of the parts that identify a problem: same problem, same ID, run after run. */
export function fingerprint(parts: readonly string[]): string {
  return createHash('sha256').update(parts.join('\u0000')).digest('hex').slice(0, 16);
}

function deduplicate(findings: readonly Finding[]): Finding[] {
  const seen = new Set<string>();
  return findings.filter((finding) => {
    if (seen.has(finding.id)) return false;
    seen.add(finding.id);
    return true;
  });
}

/** Sorts as compareFindings does, comparing one precomputed key per finding (100k findings in an incident). */
export function sortFindings(findings: readonly Finding[]): Finding[] {
  const keyed = findings.map((finding) => ({ finding, key: sortKey(finding) }));
  keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return keyed.map(({ finding }) => finding);
}

// The fields in compareFindings' order, separated by a character that sorts before any in them.
function sortKey(finding: Finding): string {
  const { resource } = finding;
  return `${severityRank(finding.severity)}\u0000${resource.kind}\u0000${resource.namespace ?? ''}\u0000${resource.name}\u0000${finding.check}\u0000${finding.id}`;
}

/** Severity first, then resource, then check: the order people read a report in. */
export function compareFindings(a: Finding, b: Finding): number {
  return (
    severityRank(a.severity) - severityRank(b.severity) ||
    compareText(a.resource.kind, b.resource.kind) ||
    compareText(a.resource.namespace ?? '', b.resource.namespace ?? '') ||
    compareText(a.resource.name, b.resource.name) ||
    compareText(a.check, b.check) ||
    compareText(a.id, b.id)
  );
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function summarize(findings: readonly Finding[]): SeveritySummary {
  const counts: Record<Severity, number> = { critical: 0, high: 0, medium: 0, low: 0, info: 0 };
  for (const finding of findings) counts[finding.severity] += 1;
  return Object.fromEntries(SEVERITIES.map((severity) => [severity, counts[severity]])) as SeveritySummary;
}
