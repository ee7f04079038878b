import type { AuditContext } from '../analysis/context';
import type { IamRole } from '../model/cluster-state';
import type { Check, FindingDraft } from './check';

/** IAM's default "Role trust policy length" quota; an account may have it raised (up to 8,192). */
const DEFAULT_QUOTA = 2048;
const HEADROOM = 0.1;

/**
 * IAM caps trust policies at the account's AssumeRolePolicySizeQuota (GetAccountSummary; 2,048 characters by
 * default); adding one more ServiceAccount then fails.
 */
export const s14TrustPolicySize: Check = {
  id: 'IRSA-S14',
  title: 'The trust policy has room for more ServiceAccounts.',
  severity: 'low',
  remediation:
    'Use one StringLike pattern for related ServiceAccounts, split the role, or raise the IAM quota.',
  needs: ['serviceAccounts', 'roles'],
  *run(context) {
    const seen = new Set<string>();
    for (const entry of context.annotatedServiceAccounts) {
      if (!entry.arn.ok) continue;
      const resolution = context.resolveRole(entry.arn.value);
      if (resolution.status !== 'found' && resolution.status !== 'path-mismatch') continue;
      const { role } = resolution;
      if (seen.has(role.arn)) continue;
      seen.add(role.arn);
      const finding = sizeFinding(context, role);
      if (finding !== undefined) yield finding;
    }
  },
  withoutKubernetes: {
    needs: ['roles'],
    // Same resource and key as above: the roles that trust the issuer are those the ServiceAccounts name.
    *run(context) {
      for (const role of context.rolesTrustingIssuer()) {
        const finding = sizeFinding(context, role);
        if (finding !== undefined) yield finding;
      }
    },
  },
};

function sizeFinding(context: AuditContext, role: IamRole): FindingDraft | undefined {
  const accountQuota = context.state.accountQuotas?.assumeRolePolicySizeQuota;
  // The quotas read are those of the cluster's account; a role of another account is judged by the default.
  const known = accountQuota !== undefined && role.accountId === context.state.cluster.accountId;
  const quota = known ? accountQuota : DEFAULT_QUOTA;
  if (role.trustPolicySize < quota * (1 - HEADROOM)) return undefined;
  const whose = known
    ? `the account's ${quota}-character quota (GetAccountSummary AssumeRolePolicySizeQuota)`
    : `IAM's default ${quota} characters (the account's own quota was not read)`;
  const raise =
    quota >= 8192
      ? 'or split the role (the quota is already at its maximum of 8,192)'
      : 'split the role, or request a higher "Role trust policy length" quota in Service Quotas (up to 8,192)';
  return {
    resource: { kind: 'Role', name: role.arn },
    key: role.arn,
    message: `The trust policy of role ${role.name} uses ${role.trustPolicySize} of ${whose}, leaving no room for another ServiceAccount.`,
    evidence: {
      roleArn: role.arn,
      size: role.trustPolicySize,
      quota,
      quotaSource: known ? 'account' : 'default',
    },
    remediation: `Consolidate the :sub values of ${role.name} under one StringLike pattern that still names a single namespace (e.g. "system:serviceaccount:<namespace>:*"), ${raise}.`,
  };
}
