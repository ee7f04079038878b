// The report as SARIF 2.1.0 (OASIS), for code scanning and the security tools that read it: one rule per
// check of the catalogue, one result per finding with its stable fingerprint, the resource as a logical location.

import type { Check } from '../checks/check';
import { CHECKS } from '../checks/registry';
import { type AuditReport, type Finding, resourcePath, type Severity } from '../model/finding';
import { TOOL_NAME, TOOL_VERSION } from './tool';

/** SARIF levels: the severity a reader's default view filters on. */
const LEVEL: Readonly<Record<Severity, 'error' | 'warning' | 'note'>> = {
  critical: 'error',
  high: 'error',
  medium: 'warning',
  low: 'note',
  info: 'note',
};

/**
 * `security-severity` (a CVSS-like score, 0.0 to 10.0) that GitHub code scanning maps back to critical (9.0+),
 * high (7.0-8.9), medium (4.0-6.9) and low (0.1-3.9); info has no security severity.
 */
const SECURITY_SEVERITY: Readonly<Record<Severity, string>> = {
  critical: '9.5',
  high: '8.0',
  medium: '5.5',
  low: '3.0',
  info: '0.0',
};

/** The partialFingerprints key of a finding's stable ID (versioned, as SARIF recommends). */
export const FINGERPRINT_KEY = 'irsaFindingId/v1';

/** The snapshot file a resource kind is read from: the artifact a result points at, for tools that need one. */
const SNAPSHOT_FILE: Readonly<Record<string, string>> = {
  Cluster: 'cluster.json',
  OIDCProvider: 'oidc-providers.json',
  OidcProvider: 'oidc-providers.json',
  Role: 'roles.json',
  ServiceAccount: 'serviceaccounts.json',
  Pod: 'pods.json',
  MutatingWebhookConfiguration: 'mutatingwebhookconfigurations.json',
  Namespace: 'namespaces.json',
  PodIdentityAssociation: 'pod-identity-associations.json',
  Node: 'nodes.json',
};

const ruleName = (check: Check) =>
  check.title
    .replace(/[^A-Za-z0-9 ]+/g, ' ')
    .split(/\s+/)
    .filter(Boolean)
    .map((word) => `${word[0]?.toUpperCase()}${word.slice(1)}`)
    .join('');

function rule(check: Check) {
  return {
    id: check.id,
    name: ruleName(check),
    shortDescription: { text: check.title },
    fullDescription: { text: `${check.title} Severity: ${check.severity}.` },
    help: { text: check.remediation, markdown: `**Remediation**: ${check.remediation}` },
    defaultConfiguration: { level: LEVEL[check.severity] },
    properties: {
      'security-severity': SECURITY_SEVERITY[check.severity],
      severity: check.severity,
      tags: ['security', 'irsa', 'eks', check.id.slice(0, 'IRSA-'.length + 1)],
    },
  };
}

function result(cluster: string, finding: Finding, ruleIndex: number) {
  const file = SNAPSHOT_FILE[finding.resource.kind];
  return {
    ruleId: finding.check,
    ...(ruleIndex < 0 ? {} : { ruleIndex }),
    level: LEVEL[finding.severity],
    message: { text: finding.message },
    locations: [
      {
        ...(file === undefined
          ? {}
          : { physicalLocation: { artifactLocation: { uri: file, uriBaseId: 'SNAPSHOT' } } }),
        logicalLocations: [
          {
            name: finding.resource.name,
            fullyQualifiedName: resourcePath(cluster, finding.resource),
            kind: finding.resource.kind,
          },
        ],
      },
    ],
    partialFingerprints: { [FINGERPRINT_KEY]: finding.id },
    properties: {
      cluster,
      severity: finding.severity,
      'security-severity': SECURITY_SEVERITY[finding.severity],
      resource: { ...finding.resource },
      remediation: finding.remediation,
      evidence: JSON.parse(JSON.stringify(finding.evidence)) as unknown,
    },
  };
}

/** One SARIF log of the whole report: a run of irsa-auditor with every rule, and each cluster's findings. */
export function renderSarif(report: AuditReport, checks: readonly Check[] = CHECKS): string {
  const index = new Map(checks.map((check, position) => [check.id, position]));
  const log = {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: TOOL_NAME,
            version: TOOL_VERSION,
            rules: checks.map(rule),
          },
        },
        originalUriBaseIds: {
          SNAPSHOT: {
            description: { text: 'The snapshot directory (SPEC §3), or the live cluster it describes.' },
          },
        },
        invocations: [{ executionSuccessful: true, endTimeUtc: report.generatedAt }],
        results: report.clusters.flatMap((cluster) =>
          cluster.findings.map((finding) => result(cluster.name, finding, index.get(finding.check) ?? -1)),
        ),
        properties: {
          clusters: report.clusters.map(({ name, arn, region, accountId, summary }) => ({
            name,
            ...(arn === undefined ? {} : { arn }),
            ...(region === undefined ? {} : { region }),
            ...(accountId === undefined ? {} : { accountId }),
            summary,
          })),
        },
      },
    ],
  };
  return `${JSON.stringify(log, null, 2)}\n`;
}
