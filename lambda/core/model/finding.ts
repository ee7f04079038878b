// Findings and the report, in the shape the CLI prints with `--format json` (SPEC §6).

export const SEVERITIES = ['critical', 'high', 'medium', 'low', 'info'] as const;

export type Severity = (typeof SEVERITIES)[number];

/** Lower rank is more severe; used to sort and to compare with `--fail-on`. */
export function severityRank(severity: Severity): number {
  return SEVERITIES.indexOf(severity);
}

export function isSeverity(value: string): value is Severity {
  return (SEVERITIES as readonly string[]).includes(value);
}

/** Evidence values are plain JSON, so reports serialise and compare without surprises. */
export type EvidenceValue =
  | string
  | number
  | boolean
  | null
  | readonly EvidenceValue[]
  | { readonly [key: string]: EvidenceValue };

// An undefined value is dropped when the report is serialised.
export type Evidence = { readonly [key: string]: EvidenceValue | undefined };

export interface ResourceRef {
  readonly kind: string;
  readonly namespace?: string;
  readonly name: string;
}

/** `Pod payments/orders-api-x`: how people read a finding's resource. */
export const resourceLabel = (finding: Finding): string =>
  `${finding.resource.kind} ${finding.resource.namespace === undefined ? '' : `${finding.resource.namespace}/`}${finding.resource.name}`;

/** `<cluster>/Pod/payments/orders-api-x`: a finding's resource as one path, unique across clusters. */
export function resourcePath(cluster: string, resource: ResourceRef): string {
  const { kind, namespace, name } = resource;
  return [cluster, kind, ...(namespace === undefined ? [] : [namespace]), name].join('/');
}

export interface Finding {
  /** Stable fingerprint: check + resource + key value; never message text or time. */
  readonly id: string;
  readonly check: string;
  readonly severity: Severity;
  readonly title: string;
  readonly resource: ResourceRef;
  readonly message: string;
  readonly evidence: Evidence;
  readonly remediation: string;
}

export type SeveritySummary = { readonly [S in Severity]: number };

export interface ClusterReport {
  readonly name: string;
  readonly arn?: string;
  readonly region?: string;
  readonly accountId?: string;
  readonly summary: SeveritySummary;
  readonly findings: readonly Finding[];
}

export interface AuditReport {
  readonly schemaVersion: '1';
  readonly generatedAt: string;
  readonly clusters: readonly ClusterReport[];
}
