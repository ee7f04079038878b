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
    if (context.issuer === undefined || context.provider !== undefined) return;
    if (context.annotatedServiceAccounts.length === 0) return;
    yield {
      resource: { kind: 'Cluster', name: cluster.name },
      key: context.issuer,
      message: `IAM has no OIDC identity provider for ${cluster.oidcIssuer}, so STS refuses the tokens of all ${context.annotatedServiceAccounts.length} IRSA ServiceAccount(s) of cluster ${cluster.name}.`,
      evidence: {
        clusterIssuer: cluster.oidcIssuer ?? null,
        providerUrls: context.state.oidcProviders.map((provider) => provider.url),
      },
      remediation: `Create it with \`eksctl utils associate-iam-oidc-provider --cluster ${cluster.name} --approve\` (or \`aws iam create-open-id-connect-provider --url ${cluster.oidcIssuer} --client-id-list sts.amazonaws.com\`).`,
    };
  },
};
