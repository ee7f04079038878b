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
    const audiences = [
      ...new Set(['sts.amazonaws.com', ...context.annotatedServiceAccounts.map((e) => e.audience)]),
    ];
    const region = cluster.region === undefined ? '' : ` --region ${cluster.region}`;
    yield {
      resource: { kind: 'Cluster', name: cluster.name },
      key: context.issuer,
      message: `IAM has no OIDC identity provider for ${cluster.oidcIssuer}, so STS refuses the tokens of all ${context.annotatedServiceAccounts.length} IRSA ServiceAccount(s) of cluster ${cluster.name}.`,
      evidence: {
        clusterIssuer: cluster.oidcIssuer ?? null,
        providerUrls: context.state.oidcProviders.map((provider) => provider.url),
      },
      remediation: `Create it with \`aws iam create-open-id-connect-provider --url https://${context.issuer} --client-id-list ${audiences.join(' ')}\` (or \`eksctl utils associate-iam-oidc-provider --cluster ${cluster.name}${region} --approve\`, which adds only sts.amazonaws.com).`,
    };
  },
};
