import type { Check } from './check';
import { webIdentityStatement } from './remediation';
import { serviceAccountResource } from './trust-diagnosis';

/** A role in an account the auditor cannot read may be fine; say that the chain is unverified rather than guess. */
export const s04RoleOtherAccount: Check = {
  id: 'IRSA-S04',
  title: 'The annotated role is in an account the audit can read.',
  severity: 'info',
  remediation: 'Audit the role from its own account, or grant the auditor read access to it.',
  needs: ['serviceAccounts', 'roles'],
  *run(context) {
    for (const entry of context.annotatedServiceAccounts) {
      if (!entry.arn.ok) continue;
      const arn = entry.arn.value;
      if (context.resolveRole(arn).status !== 'unreadable-account') continue;
      const { namespace, name } = entry.serviceAccount;
      const providerArn = context.providerArnFor(arn.accountId) ?? '(no issuer)';
      const statement =
        context.issuer === undefined
          ? `a statement federating that provider for ${entry.subject}`
          : `this statement: ${webIdentityStatement(providerArn, context.issuer, entry.subject, entry.audience)}`;
      yield {
        resource: serviceAccountResource(entry),
        key: arn.arn,
        message: `ServiceAccount ${namespace}/${name} uses role ${arn.arn} in account ${arn.accountId}, which this audit cannot read, so its trust policy and OIDC provider are unverified.`,
        evidence: {
          roleArn: arn.arn,
          roleAccount: arn.accountId,
          readableAccounts: [...context.state.readableAccounts],
          providerArnNeeded: providerArn,
        },
        remediation: `In account ${arn.accountId}, check that the OIDC provider ${providerArn} exists and that the trust policy of role ${arn.name} holds ${statement}; or run irsa-auditor with read access to that account.`,
      };
    }
  },
};
