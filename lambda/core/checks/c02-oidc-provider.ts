import type { AuditContext } from '../analysis/context';
import type { IamRole } from '../model/cluster-state';
import { accountOfArn } from '../policy/arn';
import type { Check } from './check';

/** IAM must know the cluster's issuer as an OIDC identity provider, or STS rejects every token. */
export const c02OidcProvider: Check = {
  id: 'IRSA-C02',
  title: "IAM has an OIDC identity provider for the cluster's issuer.",
  severity: 'critical',
  remediation:
    'Create the IAM OIDC provider for the cluster issuer (eksctl utils associate-iam-oidc-provider).',
  needs: ['cluster', 'oidcProviders', 'serviceAccounts'],
  *run(context) {
    const { cluster } = context.state;
    const issuer = context.issuer;
    if (issuer === undefined) return;
    // STS looks the provider up in the account of the role a token is exchanged for, so each account whose
    // roles the SAs name needs its own; an account the audit cannot read is IRSA-S04's to flag.
    for (const [accountId, users] of context.serviceAccountsByRoleAccount()) {
      if (!context.isReadableAccount(accountId) || context.providerFor(accountId) !== undefined) continue;
      const ownAccount = cluster.accountId === undefined || accountId === cluster.accountId;
      const audiences = [...new Set(['sts.amazonaws.com', ...users.map((entry) => entry.audience)])];
      const region = cluster.region === undefined ? '' : ` --region ${cluster.region}`;
      const create = `\`aws iam create-open-id-connect-provider --url https://${issuer} --client-id-list ${audiences.join(' ')}\``;
      const serviceAccounts = users.map((e) => `${e.serviceAccount.namespace}/${e.serviceAccount.name}`);
      yield {
        resource: { kind: 'Cluster', name: cluster.name },
        key: accountId === cluster.accountId ? issuer : `${accountId}:${issuer}`,
        message: ownAccount
          ? `IAM has no OIDC identity provider for ${cluster.oidcIssuer} in account ${accountId}, so STS refuses ("No OpenIDConnect provider found in your account") the tokens of all ${users.length} IRSA ServiceAccount(s) of cluster ${cluster.name} whose roles are in that account.`
          : `Account ${accountId} has no OIDC identity provider for ${cluster.oidcIssuer}, so STS refuses ("No OpenIDConnect provider found in your account") the tokens of the ${users.length} IRSA ServiceAccount(s) of cluster ${cluster.name} whose roles are in that account: STS looks the provider up in the role's account, not the cluster's.`,
        evidence: { ...providerEvidence(context, accountId), serviceAccounts: serviceAccounts.slice(0, 20) },
        remediation: ownAccount
          ? `Create it with ${create} (or \`eksctl utils associate-iam-oidc-provider --cluster ${cluster.name}${region} --approve\`, which adds only sts.amazonaws.com).`
          : `With credentials of account ${accountId}, create it there with ${create}; eksctl only creates the provider in the cluster's own account.`,
      };
    }
  },
  withoutKubernetes: {
    needs: ['cluster', 'oidcProviders', 'roles'],
    // The ServiceAccounts are unknown, but a role that trusts the issuer is meant for them: its account needs
    // the provider. Same resource and key as above, so the finding keeps its fingerprint once the cluster answers.
    *run(context) {
      const { cluster } = context.state;
      const { issuer } = context;
      if (issuer === undefined) return;
      for (const [accountId, roles] of rolesByAccount(context.rolesTrustingIssuer())) {
        if (!context.isReadableAccount(accountId) || context.providerFor(accountId) !== undefined) continue;
        const names = roles.map((role) => role.name).sort();
        yield {
          resource: { kind: 'Cluster', name: cluster.name },
          key: accountId === cluster.accountId ? issuer : `${accountId}:${issuer}`,
          message: `IAM has no OIDC identity provider for ${cluster.oidcIssuer} in account ${accountId}, so STS refuses ("No OpenIDConnect provider found in your account") every token of cluster ${cluster.name} for the ${roles.length} role(s) there that trust it (${names.slice(0, 5).join(', ')}${names.length > 5 ? ', ...' : ''}).`,
          evidence: { ...providerEvidence(context, accountId), rolesTrustingIssuer: names.slice(0, 20) },
          remediation: `Create it with \`aws iam create-open-id-connect-provider --url https://${issuer} --client-id-list sts.amazonaws.com\`${accountId === cluster.accountId ? '' : ` with credentials of account ${accountId}`}, adding any other audience the cluster's ServiceAccounts use.`,
        };
      }
    },
  },
};

/** What the audit knows of the provider STS looks for in an account: the issuer, the ARN it would have, the URLs there. */
function providerEvidence(context: AuditContext, accountId: string) {
  const { cluster } = context.state;
  return {
    clusterIssuer: cluster.oidcIssuer ?? null,
    accountId,
    expectedProviderArn: context.providerArnFor(accountId) ?? null,
    providerUrls: context.state.oidcProviders
      .filter((provider) => accountOfArn(provider.arn) === accountId)
      .map((provider) => provider.url),
  };
}

function rolesByAccount(roles: readonly IamRole[]): ReadonlyMap<string, readonly IamRole[]> {
  const byAccount = new Map<string, IamRole[]>();
  for (const role of roles) byAccount.set(role.accountId, [...(byAccount.get(role.accountId) ?? []), role]);
  return byAccount;
}
