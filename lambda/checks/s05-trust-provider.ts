import type { Check } from './check';
import { addStatementRemediation } from './remediation';
import { diagnoseTrust, serviceAccountResource } from './trust-diagnosis';

/** STS only honours a web identity token for roles that federate the issuing cluster's provider. */
export const s05TrustProvider: Check = {
  id: 'IRSA-S05',
  title: "The role's trust policy federates this cluster's OIDC provider.",
  severity: 'high',
  remediation: "Add an Allow statement with Principal.Federated set to this cluster's OIDC provider ARN.",
  needs: ['cluster', 'serviceAccounts', 'roles'],
  *run(context) {
    for (const entry of context.annotatedServiceAccounts) {
      const diagnosis = diagnoseTrust(context, entry);
      if (diagnosis === undefined || !diagnosis.problems.has('provider')) continue;
      const { role, providerArn, issuer } = diagnosis.verdict;
      const federated = diagnosis.verdict.decision.statements
        .filter((evaluation) => evaluation.statement.effect === 'Allow')
        .flatMap((evaluation) => evaluation.statement.principal?.byType.Federated ?? []);
      const { namespace, name } = entry.serviceAccount;
      yield {
        resource: serviceAccountResource(entry),
        key: role.arn,
        message: `Role ${role.name} (used by ${namespace}/${name}) does not trust this cluster's OIDC provider${federated.length > 0 ? `; it federates ${federated.join(', ')} instead` : ''}.`,
        evidence: { roleArn: role.arn, expectedProvider: providerArn, federatedPrincipals: federated },
        remediation: addStatementRemediation(role.name, providerArn, issuer, entry.subject, entry.audience),
      };
    }
  },
};
