// What a check is: a pure function of the audit context that yields finding drafts.

import type { AuditContext } from '../analysis/context';
import type { ResourceType } from '../model/cluster-state';
import type { Evidence, ResourceRef, Severity } from '../model/finding';

/** A finding as a check reports it; the engine adds the ID, check metadata and fingerprint. */
export interface FindingDraft {
  readonly resource: ResourceRef;
  /** The value that identifies this problem on this resource (e.g. a role ARN) for the fingerprint. */
  readonly key?: string;
  readonly message: string;
  readonly evidence: Evidence;
  readonly remediation: string;
  /** Overrides the check's default severity (e.g. W03 is medium for a certificate about to expire). */
  readonly severity?: Severity;
}

export interface Check {
  readonly id: string;
  /** The healthy state, in one sentence. */
  readonly title: string;
  readonly severity: Severity;
  /** What to do in general; each finding carries its own concrete remediation. */
  readonly remediation: string;
  /** The inputs the check reads; when one could not be collected the check is skipped, not run. */
  readonly needs: readonly ResourceType[];
  readonly run: (context: AuditContext) => Iterable<FindingDraft>;
  /**
   * What the check can still decide when the API server could not be read (`aws-only` collection): the roles
   * that trust this cluster's issuer stand in for the ServiceAccounts that would name them. Absent when the
   * check cannot say anything without Kubernetes.
   */
  readonly withoutKubernetes?: {
    readonly needs: readonly ResourceType[];
    readonly run: (context: AuditContext) => Iterable<FindingDraft>;
  };
}
