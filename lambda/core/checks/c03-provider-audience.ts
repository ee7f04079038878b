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
};
