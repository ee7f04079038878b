import type { IamRole } from '../model/cluster-state';
import type { Check, FindingDraft } from './check';

const QUOTA = 2048;
const HEADROOM = 0.1;

/** IAM caps trust policies at 2,048 characters by default; adding one more ServiceAccount then fails. */
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
      const finding = sizeFinding(role);
      if (finding !== undefined) yield finding;
    }
  },
  withoutKubernetes: {
    needs: ['roles'],
    // Same resource and key as above: the roles that trust the issuer are those the ServiceAccounts name.
    *run(context) {
      for (const role of context.rolesTrustingIssuer()) {
        const finding = sizeFinding(role);
        if (finding !== undefined) yield finding;
      }
    },
  },
};

function sizeFinding(role: IamRole): FindingDraft | undefined {
  if (role.trustPolicySize < QUOTA * (1 - HEADROOM)) return undefined;
  return {
    resource: { kind: 'Role', name: role.arn },
    key: role.arn,
    message: `The trust policy of role ${role.name} uses ${role.trustPolicySize} of IAM's default ${QUOTA} characters, leaving no room for another ServiceAccount.`,
    evidence: { roleArn: role.arn, size: role.trustPolicySize, quota: QUOTA },
    remediation: `Consolidate the :sub values of ${role.name} under one StringLike pattern that still names a single namespace (e.g. "system:serviceaccount:<namespace>:*"), split the role, or request a higher "Role trust policy length" quota in Service Quotas.`,
  };
}
