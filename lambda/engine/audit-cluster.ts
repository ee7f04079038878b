// The engine: run every registered check over one ClusterState and build that cluster's report.

import { createHash } from 'node:crypto';
import type { Check, FindingDraft } from '../checks/check';
import { AuditContext, type AuditOptions } from '../checks/context';
import { CHECKS, checkById } from '../checks/registry';
import { CHECK_FAILED_ID } from '../checks/x03-check-failed';
import type { ClusterState, ResourceType } from '../model/cluster-state';
import {
  type ClusterReport,
  type Finding,
  SEVERITIES,
  type Severity,
  type SeveritySummary,
  severityRank,
} from '../model/finding';

// An unreachable cluster means nothing could be read from its API server.
const KUBERNETES_RESOURCES: readonly ResourceType[] = [
  'serviceAccounts',
  'pods',
  'mutatingWebhookConfigurations',
  'namespaces',
];

/** Audits one cluster: never throws; a check that throws becomes an IRSA-X03 finding. */
export function auditCluster(
  state: ClusterState,
  options: AuditOptions,
  checks: readonly Check[] = CHECKS,
): ClusterReport {
  const context = new AuditContext(state, options);
  const missing = new Set<string>(
    state.collectionErrors.flatMap((error) =>
      error.resource === 'cluster-connection' ? KUBERNETES_RESOURCES : [error.resource],
    ),
  );
  const findings: Finding[] = [];
  for (const check of checks) {
    const skippedFor = check.needs.filter((need: ResourceType) => missing.has(need));
    if (skippedFor.length > 0) continue;
    try {
      for (const draft of check.run(context)) findings.push(toFinding(check, draft, state.cluster.name));
    } catch (error) {
      findings.push(toFinding(checkById(CHECK_FAILED_ID), checkFailed(check, error), state.cluster.name));
    }
  }
  const unique = deduplicate(findings).sort(compareFindings);
  const { cluster } = state;
  return {
    name: cluster.name,
    ...(cluster.arn === undefined ? {} : { arn: cluster.arn }),
    ...(cluster.region === undefined ? {} : { region: cluster.region }),
    ...(cluster.accountId === undefined ? {} : { accountId: cluster.accountId }),
    summary: summarize(unique),
    findings: unique,
  };
}

/** The checks skipped because an input they need could not be collected, for IRSA-X02's evidence. */
export function checksSkippedFor(resource: string, checks: readonly Check[] = CHECKS): string[] {
  return checks.filter((check) => (check.needs as readonly string[]).includes(resource)).map((c) => c.id);
}

function checkFailed(check: Check, error: unknown): FindingDraft {
  const message = error instanceof Error ? error.message : String(error);
  return {
    resource: { kind: 'Check', name: check.id },
    key: check.id,
    message: `The check ${check.id} failed with "${message}", so its part of the audit is missing.`,
    evidence: { check: check.id, error: message },
    remediation: `Report this as a bug in irsa-auditor with the error above; until it is fixed, verify "${check.title}" by hand.`,
  };
}

function toFinding(check: Check, draft: FindingDraft, clusterName: string): Finding {
  const { resource } = draft;
  return {
    id: fingerprint([
      clusterName,
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
