import { WEB_IDENTITY_ACTION } from '../analysis/eks-conventions';
import { addStatementRemediation } from '../analysis/remediation';
import {
  diagnoseTrust,
  federationOf,
  roleResource,
  serviceAccountResource,
  statementLabel,
} from '../analysis/trust-diagnosis';
import type { Check } from './check';

/** IRSA calls sts:AssumeRoleWithWebIdentity; a statement allowing only sts:AssumeRole does not cover it. */
export const s06TrustAction: Check = {
  id: 'IRSA-S06',
  title: 'The trust policy allows sts:AssumeRoleWithWebIdentity for the provider.',
  severity: 'high',
  remediation: 'Set the Action of the federated statement to sts:AssumeRoleWithWebIdentity.',
  needs: ['cluster', 'serviceAccounts', 'roles'],
  *run(context) {
    for (const entry of context.annotatedServiceAccounts) {
      const diagnosis = diagnoseTrust(context, entry);
      if (diagnosis === undefined || !diagnosis.problems.has('action')) continue;
      const { role, providerArn, issuer } = diagnosis.verdict;
      const federating = diagnosis.verdict.decision.statements.filter(
        (evaluation) => evaluation.statement.effect === 'Allow' && evaluation.principalMatches,
      );
      const actions = federating.flatMap(
        (evaluation) =>
          evaluation.statement.action ?? (evaluation.statement.notAction ?? []).map((a) => `NotAction ${a}`),
      );
      const { namespace, name } = entry.serviceAccount;
      yield {
        resource: serviceAccountResource(entry),
        key: role.arn,
        message: `Role ${role.name} (used by ${namespace}/${name}) trusts this cluster's provider but allows only ${actions.join(', ') || 'no action'}; IRSA needs ${WEB_IDENTITY_ACTION}.`,
        evidence: { roleArn: role.arn, allowedActions: actions, requiredAction: WEB_IDENTITY_ACTION },
        remediation: addStatementRemediation(
          role.name,
          providerArn,
          issuer,
          entry.subject,
          entry.audience,
          `Set the Action of ${federating.map(statementLabel).join(', ')} to ${WEB_IDENTITY_ACTION}.`,
        ),
      };
    }
  },
  withoutKubernetes: {
    needs: ['cluster', 'roles'],
    // The action a statement allows does not depend on which ServiceAccount asks.
    *run(context) {
      for (const role of context.rolesTrustingIssuer()) {
        const federation = federationOf(context, role);
        if (federation === undefined || federation.federating.length === 0 || federation.allowing.length > 0)
          continue;
        const actions = federation.federating.flatMap(
          (evaluation) =>
            evaluation.statement.action ??
            (evaluation.statement.notAction ?? []).map((a) => `NotAction ${a}`),
        );
        yield {
          resource: roleResource(role),
          key: role.arn,
          message: `Role ${role.name} trusts this cluster's provider but allows only ${actions.join(', ') || 'no action'}; IRSA needs ${WEB_IDENTITY_ACTION}.`,
          evidence: { roleArn: role.arn, allowedActions: actions, requiredAction: WEB_IDENTITY_ACTION },
          remediation: `In the trust policy of ${role.name}, set the Action of ${federation.federating.map(statementLabel).join(', ')} to ${WEB_IDENTITY_ACTION}.`,
        };
      }
    },
  },
};
