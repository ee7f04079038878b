import { addStatementRemediation } from '../analysis/remediation';
import {
  diagnoseTrust,
  federationOf,
  roleResource,
  serviceAccountResource,
} from '../analysis/trust-diagnosis';
import type { Check } from './check';

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
      const allows = diagnosis.verdict.decision.statements.filter(
        (evaluation) => evaluation.statement.effect === 'Allow',
      );
      const federated = allows.flatMap(
        (evaluation) => evaluation.statement.principal?.byType.Federated ?? [],
      );
      // Name every principal the role does trust: an SA annotated with a node or Lambda role trusts a Service.
      const trusted = [
        ...new Set(
          allows.flatMap((evaluation) =>
            Object.entries(evaluation.statement.principal?.byType ?? {}).flatMap(([type, values]) =>
              values.map((value) => `${type} ${value}`),
            ),
          ),
        ),
      ];
      // STS looks the token's issuer up among the providers of the role's own account, so a cross-account
      // role that federates the cluster account's provider for the same issuer is not trusted.
      const providerSuffix = `:oidc-provider/${issuer}`.toLowerCase();
      const otherAccount = federated.some(
        (arn) =>
          arn.toLowerCase().endsWith(providerSuffix) && arn.toLowerCase() !== providerArn.toLowerCase(),
      );
      const hint = otherAccount
        ? ` (a role must federate the OIDC provider of its own account, ${role.accountId}; create one there for this issuer if it is missing)`
        : '';
      const { namespace, name } = entry.serviceAccount;
      yield {
        resource: serviceAccountResource(entry),
        key: role.arn,
        message: `Role ${role.name} (used by ${namespace}/${name}) does not trust this cluster's OIDC provider ${providerArn}; ${trusted.length > 0 ? `it trusts ${trusted.join(', ')} instead` : 'it has no Allow statement that names a principal'}${hint}.`,
        evidence: {
          roleArn: role.arn,
          expectedProvider: providerArn,
          federatedPrincipals: federated,
          trustedPrincipals: trusted,
        },
        remediation: addStatementRemediation(role.name, providerArn, issuer, entry.subject, entry.audience),
      };
    }
  },
  withoutKubernetes: {
    needs: ['cluster', 'roles'],
    // A role that names this cluster's issuer only in its conditions, or federates its provider of another
    // account, is meant for this cluster but refuses all of its tokens, whichever ServiceAccount presents one.
    *run(context) {
      for (const role of context.rolesTrustingIssuer()) {
        const federation = federationOf(context, role);
        if (federation === undefined || federation.federating.length > 0) continue;
        const { providerArn } = federation.verdict;
        const federated = federation.verdict.decision.statements.flatMap((evaluation) =>
          evaluation.statement.effect === 'Allow'
            ? (evaluation.statement.principal?.byType.Federated ?? [])
            : [],
        );
        yield {
          resource: roleResource(role),
          key: role.arn,
          message: `Role ${role.name} names this cluster's issuer but does not federate its OIDC provider ${providerArn}${federated.length > 0 ? ` (it federates ${federated.join(', ')})` : ''}, so STS refuses every token of the cluster for it; a role must federate the provider of its own account, ${role.accountId}.`,
          evidence: { roleArn: role.arn, expectedProvider: providerArn, federatedPrincipals: federated },
          remediation: `In the trust policy of ${role.name}, set Principal.Federated of the statement for this cluster to ${providerArn}.`,
        };
      }
    },
  },
};
