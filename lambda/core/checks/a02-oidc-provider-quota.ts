import type { AuditContext } from '../analysis/context';
import { clusterAccount } from '../analysis/pod-identity';
import { accountOfArn } from '../policy/arn';
import type { Check, FindingDraft } from './check';

/** IAM's default "OpenId connect providers per account" quota; an account may have it raised. */
export const OIDC_PROVIDER_QUOTA = 100;
const HEADROOM = 0.1;

/** Every new EKS cluster that uses IRSA needs a provider: an account at its quota cannot add one. */
export const a02OidcProviderQuota: Check = {
  id: 'IRSA-A02',
  title: 'The account has room for the OIDC provider of another cluster.',
  severity: 'low',
  remediation:
    'Delete stale OIDC providers (IRSA-A01 names them), move new workloads to EKS Pod Identity, or request a higher quota.',
  needs: ['oidcProviders'],
  withoutKubernetes: { needs: ['oidcProviders'], run: judge },
  run: judge,
};

function* judge(context: AuditContext): Iterable<FindingDraft> {
  const accountId = clusterAccount(context.state);
  if (accountId === undefined) return;
  // The providers read are those of the cluster's account (ListOpenIDConnectProviders returns them all).
  const count = context.state.oidcProviders.filter(
    (provider) => accountOfArn(provider.arn) === accountId,
  ).length;
  if (count < OIDC_PROVIDER_QUOTA * (1 - HEADROOM)) return;
  yield {
    resource: { kind: 'Account', name: accountId },
    key: accountId,
    message: `Account ${accountId} has ${count} IAM OIDC providers of IAM's default quota of ${OIDC_PROVIDER_QUOTA}: ${count >= OIDC_PROVIDER_QUOTA ? 'the next cluster cannot get one, so its IRSA roles cannot be trusted' : `${OIDC_PROVIDER_QUOTA - count} more clusters can get one`} (a raised quota is not read).`,
    evidence: { accountId, providers: count, defaultQuota: OIDC_PROVIDER_QUOTA },
    remediation: `Delete the providers of deleted clusters (IRSA-A01) with \`aws iam delete-open-id-connect-provider --open-id-connect-provider-arn <arn>\`, use EKS Pod Identity (no provider per cluster) for new clusters, or request a higher "OpenId connect providers per account" quota in Service Quotas.`,
  };
}
