import { howToRecreatePod } from '../analysis/remediation';
import type { PodIdentityAssociation } from '../model/cluster-state';
import type { Check } from './check';

// How long the EKS Pod Identity agent keeps credentials it fetched (EKS user guide, "pod-id-assign-target-role",
// caching considerations): modifying the association does not reset that cache.
const CACHE_MS = 6 * 60 * 60 * 1000;
const CACHE_WITH_TARGET_MS = 59 * 60 * 1000;

const cacheOf = (association: PodIdentityAssociation) =>
  association.targetRoleArn === undefined ? CACHE_MS : CACHE_WITH_TARGET_MS;

const minutes = (ms: number) => Math.ceil(ms / 60_000);

/**
 * The Pod Identity twin of IRSA-P02. A pod that got credentials before its association was changed keeps the
 * old role's until the agent's cache runs out; medium, because it resolves itself, at a time the finding says.
 */
export const p07PodIdentityAssociationChanged: Check = {
  id: 'IRSA-P07',
  title: "Pods run with their Pod Identity association's current roles.",
  severity: 'medium',
  remediation:
    'Re-create the pods that started before the association changed, or wait until the agent refreshes their credentials.',
  needs: ['pods', 'podIdentityAssociations'],
  *run(context) {
    const now = context.options.now.getTime();
    for (const { pod, injection, association } of context.auditedPods) {
      if (association?.modifiedAt === undefined || pod.creationTimestamp === undefined) continue;
      // A pod without the Pod Identity env never asks the agent (IRSA-P01 or IRSA-S12 say why).
      if (injection.mode !== 'pod-identity' && injection.mode !== 'both') continue;
      const modified = Date.parse(association.modifiedAt);
      const started = Date.parse(pod.creationTimestamp);
      const refreshed = modified + cacheOf(association);
      if (!(started < modified) || now >= refreshed) continue;
      const roles = `${association.roleArn}${association.targetRoleArn === undefined ? '' : ` then ${association.targetRoleArn}`}`;
      yield {
        resource: { kind: 'Pod', namespace: pod.namespace, name: pod.name },
        key: association.modifiedAt,
        message: `Pod ${pod.namespace}/${pod.name} started at ${pod.creationTimestamp}, before Pod Identity association ${association.associationId} of ServiceAccount ${pod.serviceAccountName} was changed at ${association.modifiedAt}: the EKS Pod Identity agent does not reset its cached credentials when an association changes, so the pod may act as the previous role for up to ${minutes(refreshed - now)} more minutes (until ${new Date(refreshed).toISOString()}), not as ${roles}.`,
        evidence: {
          associationId: association.associationId,
          associationModifiedAt: association.modifiedAt,
          podCreatedAt: pod.creationTimestamp,
          credentialsRefreshedBy: new Date(refreshed).toISOString(),
          roleArn: association.roleArn,
          ...(association.targetRoleArn === undefined ? {} : { targetRoleArn: association.targetRoleArn }),
        },
        remediation: `Re-create the pod to give it the association's current roles now: ${howToRecreatePod(pod)}; otherwise it picks them up by ${new Date(refreshed).toISOString()}.`,
      };
    }
  },
};
