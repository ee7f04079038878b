import type { Check } from './check';
import { podInjection } from './pod-injection';
import { recreatePodCommand } from './remediation';

/** STS checks the projected token's audience against the provider and the trust policy. */
export const p06TokenAudience: Check = {
  id: 'IRSA-P06',
  title: "The pod's projected token audience is one the provider and trust policy accept.",
  severity: 'medium',
  remediation:
    'Align eks.amazonaws.com/audience, the provider client IDs and the :aud condition, then re-create the pod.',
  needs: ['serviceAccounts', 'pods', 'oidcProviders', 'roles'],
  *run(context) {
    for (const pod of context.podsInScope) {
      const entry = context.annotatedServiceAccount(pod.namespace, pod.serviceAccountName);
      const volume = podInjection(pod).tokenVolume;
      if (entry === undefined || volume === undefined) continue;
      const audience = volume.audience ?? '(API server default)';
      const providerAccepts = context.provider === undefined || context.provider.clientIds.includes(audience);
      const podVerdict = context.trustOf(entry, audience);
      const saVerdict = context.trustOf(entry);
      const trustRefuses =
        podVerdict.status === 'evaluated' &&
        saVerdict.status === 'evaluated' &&
        !podVerdict.decision.allowed &&
        saVerdict.decision.allowed;
      if (providerAccepts && !trustRefuses) continue;
      yield {
        resource: { kind: 'Pod', namespace: pod.namespace, name: pod.name },
        key: audience,
        message: `Pod ${pod.namespace}/${pod.name} presents tokens for audience "${audience}", which ${providerAccepts ? 'the trust policy of its role' : 'the OIDC provider'} does not accept.`,
        evidence: {
          tokenAudience: audience,
          serviceAccountAudience: entry.audience,
          providerClientIds: [...(context.provider?.clientIds ?? [])],
        },
        remediation: `Re-create the pod so that it gets the ServiceAccount's audience "${entry.audience}" (\`${recreatePodCommand(pod)}\`), or add "${audience}" to the provider's client IDs and the role's :aud condition.`,
      };
    }
  },
};
