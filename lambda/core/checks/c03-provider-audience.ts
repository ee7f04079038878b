import type { Check } from './check';

/** STS checks the token's audience against the provider's client IDs before it reads the trust policy. */
export const c03ProviderAudience: Check = {
  id: 'IRSA-C03',
  title: 'The OIDC provider accepts every audience the ServiceAccounts use.',
  severity: 'critical',
  remediation:
    'Add the audience to the OIDC provider with aws iam add-client-id-to-open-id-connect-provider.',
  needs: ['cluster', 'oidcProviders', 'serviceAccounts'],
  *run(context) {
    // STS consults the provider of the role's account, so each SA's audience is judged against that one.
    // A missing provider is IRSA-C02 (readable account) or IRSA-S04 (unreadable); a known one is judged either way.
    for (const [accountId, users] of context.serviceAccountsByRoleAccount()) {
      const provider = context.providerFor(accountId);
      if (provider === undefined) continue;
      const byAudience = new Map<string, string[]>();
      for (const entry of users) {
        const names = byAudience.get(entry.audience) ?? [];
        names.push(`${entry.serviceAccount.namespace}/${entry.serviceAccount.name}`);
        byAudience.set(entry.audience, names);
      }
      for (const [audience, serviceAccounts] of byAudience) {
        if (provider.clientIds.includes(audience)) continue;
        yield {
          resource: { kind: 'OIDCProvider', name: provider.arn },
          key: audience,
          message: `The OIDC provider's client IDs do not include "${audience}", so STS rejects the tokens of ${serviceAccounts.length} ServiceAccount(s) that use that audience with roles in account ${accountId}.`,
          evidence: {
            audience,
            clientIds: [...provider.clientIds],
            serviceAccounts: serviceAccounts.slice(0, 20),
          },
          remediation: `Run \`aws iam add-client-id-to-open-id-connect-provider --open-id-connect-provider-arn ${provider.arn} --client-id ${audience}\`${accountId === context.state.cluster.accountId ? '' : ` with credentials of account ${accountId}`}.`,
        };
      }
    }
  },
  withoutKubernetes: {
    needs: ['cluster', 'oidcProviders', 'roles'],
    // An audience a trusting role requires by name (its :aud condition) must be one the provider accepts, or
    // no token can ever reach that role; which audiences the ServiceAccounts use is unknown without them.
    *run(context) {
      const { issuer } = context;
      if (issuer === undefined) return;
      const audienceKey = `${issuer}:aud`.toLowerCase();
      const required = new Map<string, Map<string, string[]>>();
      for (const role of context.rolesTrustingIssuer()) {
        const audiences = (role.trustPolicy?.statements ?? []).flatMap((statement) =>
          statement.effect !== 'Allow'
            ? []
            : statement.conditions
                .filter(
                  (condition) =>
                    condition.key.toLowerCase() === audienceKey && /^StringEquals$/i.test(condition.operator),
                )
                .flatMap((condition) => condition.values),
        );
        const byAudience = required.get(role.accountId) ?? new Map<string, string[]>();
        for (const audience of new Set(audiences))
          byAudience.set(audience, [...(byAudience.get(audience) ?? []), role.name]);
        required.set(role.accountId, byAudience);
      }
      for (const [accountId, byAudience] of required) {
        const provider = context.providerFor(accountId);
        if (provider === undefined) continue;
        for (const [audience, roles] of byAudience) {
          if (provider.clientIds.includes(audience)) continue;
          yield {
            resource: { kind: 'OIDCProvider', name: provider.arn },
            key: audience,
            message: `The OIDC provider's client IDs do not include "${audience}", which the trust policies of ${roles.length} role(s) in account ${accountId} require, so STS rejects every token for them.`,
            evidence: { audience, clientIds: [...provider.clientIds], roles: roles.slice(0, 20) },
            remediation: `Run \`aws iam add-client-id-to-open-id-connect-provider --open-id-connect-provider-arn ${provider.arn} --client-id ${audience}\`${accountId === context.state.cluster.accountId ? '' : ` with credentials of account ${accountId}`}.`,
          };
        }
      }
    },
  },
};
