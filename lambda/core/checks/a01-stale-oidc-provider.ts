import { eksIssuerRegion, normalizeIssuer } from '../policy/issuer';
import type { Check } from './check';

/** A provider left behind by a deleted cluster is clutter that roles keep trusting by mistake (IRSA-S05). */
export const a01StaleOidcProvider: Check = {
  id: 'IRSA-A01',
  title: 'Every IAM OIDC provider for an EKS issuer belongs to an existing cluster.',
  severity: 'low',
  remediation: 'Delete the OIDC provider of the deleted cluster once no role trusts it.',
  needs: ['oidcProviders', 'accountClusters'],
  *run(context) {
    const clusters = context.state.accountClusters;
    if (clusters === undefined) return;
    const issuers = new Set(
      [...clusters.map((cluster) => cluster.oidcIssuer), context.state.cluster.oidcIssuer]
        .filter((issuer): issuer is string => issuer !== undefined)
        .map(normalizeIssuer),
    );
    const regions = new Set(
      clusters.map((cluster) => cluster.region).filter((region) => region !== undefined),
    );
    if (context.state.cluster.region !== undefined) regions.add(context.state.cluster.region);
    // A listed cluster whose issuer is unknown may own any provider of its region: judge none there.
    for (const cluster of clusters) {
      if (cluster.oidcIssuer === undefined && cluster.region !== undefined) regions.delete(cluster.region);
    }
    for (const provider of context.state.oidcProviders) {
      const issuer = normalizeIssuer(provider.url);
      const region = eksIssuerRegion(issuer);
      // Only judge regions whose clusters were listed: a provider for another region may be in use there.
      if (region === undefined || !regions.has(region) || issuers.has(issuer)) continue;
      const trustedBy = context.state.roles
        .filter((role) =>
          role.trustPolicy?.statements.some((s) => s.principal?.byType.Federated?.includes(provider.arn)),
        )
        .map((role) => role.arn);
      const evidence = {
        providerArn: provider.arn,
        url: provider.url,
        region,
        rolesTrustingIt: trustedBy.slice(0, 20),
      };
      if (trustedBy.length > 0) {
        // Hub-and-spoke: an account may hold the roles (and so the providers) for clusters in other accounts,
        // which clusters.json of this account cannot show; deleting the provider would break them.
        yield {
          resource: { kind: 'OIDCProvider', name: provider.arn },
          key: provider.arn,
          severity: 'info',
          message: `The OIDC provider ${provider.url} matches no cluster of this account in ${region}, but ${trustedBy.length} role(s) still trust it; confirm no other account's cluster uses it (CloudTrail AssumeRoleWithWebIdentity events for that provider) before treating it as stale.`,
          evidence,
          remediation: `Look for recent use in this account's CloudTrail (the last 90 days: \`aws cloudtrail lookup-events --region ${region} --lookup-attributes AttributeKey=EventName,AttributeValue=AssumeRoleWithWebIdentity --query "Events[?contains(CloudTrailEvent, '${issuer}')].[EventTime,Username]"\`); if a cluster of another account uses it, keep it; if it belonged to a deleted cluster, move the roles that trust it to the current cluster's provider first (see IRSA-S05).`,
        };
        continue;
      }
      yield {
        resource: { kind: 'OIDCProvider', name: provider.arn },
        key: provider.arn,
        message: `The OIDC provider ${provider.url} matches no EKS cluster in ${region}; it is left over from a deleted cluster and no role trusts it.`,
        evidence,
        remediation: `Run \`aws iam delete-open-id-connect-provider --open-id-connect-provider-arn ${provider.arn}\`.`,
      };
    }
  },
};
