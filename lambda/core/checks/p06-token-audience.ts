import type { AnnotatedServiceAccount, TrustVerdict } from '../analysis/context';
import { AUDIENCE_ANNOTATION, DEFAULT_AUDIENCE } from '../analysis/eks-conventions';
import { howToRecreatePod } from '../analysis/remediation';
import type { Check } from './check';

/** STS checks the projected token's audience against the provider and the trust policy. */
export const p06TokenAudience: Check = {
  id: 'IRSA-P06',
  title: "The pod's projected token audience is one the provider and trust policy accept.",
  severity: 'medium',
  remediation:
    'Align eks.amazonaws.com/audience, the provider client IDs and the :aud condition, then re-create the pod.',
  needs: ['serviceAccounts', 'pods', 'oidcProviders', 'roles'],
  *run(context) {
    // Most pods of a ServiceAccount present its audience: evaluate each SA's trust once, not per pod.
    const saVerdicts = new Map<AnnotatedServiceAccount, TrustVerdict>();
    const saVerdictOf = (entry: AnnotatedServiceAccount) => {
      let verdict = saVerdicts.get(entry);
      if (verdict === undefined) {
        verdict = context.trustOf(entry);
        saVerdicts.set(entry, verdict);
      }
      return verdict;
    };
    for (const { pod, injection, irsa: entry } of context.auditedPods) {
      const volume = injection.tokenVolume;
      if (entry === undefined || volume === undefined) continue;
      // Without an audience the token carries the API server's own audiences, which an IRSA provider does not list.
      const audience = volume.audience ?? '(API server default)';
      const providerAccepts = context.provider === undefined || context.provider.clientIds.includes(audience);
      // The trust cannot refuse the pod's audience yet admit the SA's when the two are the same.
      if (providerAccepts && audience === entry.audience) continue;
      const saVerdict = saVerdictOf(entry);
      const podVerdict = audience === entry.audience ? saVerdict : context.trustOf(entry, audience);
      // When the trust refuses the SA's own audience too, that is IRSA-S08's finding, not this pod's.
      const trustRefuses =
        podVerdict.status === 'evaluated' &&
        saVerdict.status === 'evaluated' &&
        !podVerdict.decision.allowed &&
        saVerdict.decision.allowed;
      if (providerAccepts && !trustRefuses) continue;
      const stale = audience !== entry.audience;
      const refusedBy = providerAccepts
        ? 'the trust policy of its role does'
        : trustRefuses
          ? 'the OIDC provider and the trust policy of its role do'
          : 'the OIDC provider does';
      const resource = { kind: 'Pod', namespace: pod.namespace, name: pod.name };
      const providerArn = context.provider?.arn ?? 'PROVIDER_ARN';
      yield {
        resource,
        key: audience,
        message: `Pod ${pod.namespace}/${pod.name} presents tokens for audience "${audience}", which ${refusedBy} not accept${stale ? `; ServiceAccount ${pod.serviceAccountName} now asks for "${entry.audience}", so the audience changed after the pod started` : ''}.`,
        evidence: {
          tokenAudience: audience,
          serviceAccountAudience: entry.audience,
          providerClientIds: [...(context.provider?.clientIds ?? [])],
          trustAdmitsTokenAudience: podVerdict.status === 'evaluated' ? podVerdict.decision.allowed : null,
        },
        remediation: stale
          ? `Re-create the pod so that its token gets the ServiceAccount's audience "${entry.audience}": ${howToRecreatePod(pod)}.`
          : entry.audience === DEFAULT_AUDIENCE
            ? `Add the client ID to the provider (\`aws iam add-client-id-to-open-id-connect-provider --open-id-connect-provider-arn ${providerArn} --client-id ${audience}\`), then re-create the pod: ${howToRecreatePod(pod)}.`
            : `Fix ${AUDIENCE_ANNOTATION} on ServiceAccount ${pod.namespace}/${pod.serviceAccountName} (\`kubectl annotate serviceaccount -n ${pod.namespace} ${pod.serviceAccountName} ${AUDIENCE_ANNOTATION}-\` for the default ${DEFAULT_AUDIENCE}), or accept "${audience}" in the provider (\`aws iam add-client-id-to-open-id-connect-provider --open-id-connect-provider-arn ${providerArn} --client-id ${audience}\`) and in the role's :aud condition; then re-create the pod: ${howToRecreatePod(pod)}.`,
      };
    }
  },
};
