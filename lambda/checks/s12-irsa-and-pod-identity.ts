import type { Check } from './check';
import { ROLE_ARN_ANNOTATION } from './eks-conventions';
import { podInjection } from './pod-injection';
import { serviceAccountResource } from './trust-diagnosis';

/** Pod Identity wins for new pods; running pods keep whatever they were created with. */
export const s12IrsaAndPodIdentity: Check = {
  id: 'IRSA-S12',
  title: 'A ServiceAccount uses either IRSA or EKS Pod Identity, not both.',
  severity: 'medium',
  remediation:
    'Remove the role-arn annotation once the Pod Identity association is in place, then restart the pods.',
  needs: ['serviceAccounts', 'pods', 'podIdentityAssociations'],
  *run(context) {
    for (const entry of context.annotatedServiceAccounts) {
      const { namespace, name } = entry.serviceAccount;
      const associations = context.podIdentityAssociations(namespace, name);
      const association = associations[0];
      if (association === undefined) continue;
      const pods = context
        .podsOf(namespace, name)
        .map((pod) => ({ pod: pod.name, credentials: podInjection(pod).mode }));
      const counts = pods.reduce<Record<string, number>>((acc, { credentials }) => {
        acc[credentials] = (acc[credentials] ?? 0) + 1;
        return acc;
      }, {});
      const tally = Object.entries(counts)
        .map(([mode, count]) => `${count} ${mode}`)
        .join(', ');
      yield {
        resource: serviceAccountResource(entry),
        key: association.associationId,
        message: `ServiceAccount ${namespace}/${name} has both the IRSA annotation (${entry.annotation}) and Pod Identity association ${association.associationId} (${association.roleArn}); new pods get Pod Identity, running pods have: ${tally || 'no pods'}.`,
        evidence: {
          irsaRoleArn: entry.annotation,
          podIdentityRoleArn: association.roleArn,
          associationId: association.associationId,
          pods: pods.slice(0, 50),
        },
        remediation: `Keep one mechanism: \`kubectl annotate serviceaccount -n ${namespace} ${name} ${ROLE_ARN_ANNOTATION}-\` to finish the move to Pod Identity (or delete association ${association.associationId}), then restart the pods.`,
      };
    }
  },
};
