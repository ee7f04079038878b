import { ROLE_ARN_ANNOTATION } from '../analysis/eks-conventions';
import type { PodInjection } from '../analysis/pod-injection';
import { serviceAccountResource } from '../analysis/trust-diagnosis';
import type { Check } from './check';

// Enough pod names to act on without turning one finding into a pod listing.
const PODS_NAMED = 10;

const CREDENTIALS: Readonly<Record<PodInjection['mode'], string>> = {
  irsa: 'IRSA',
  'pod-identity': 'Pod Identity',
  both: 'both IRSA and Pod Identity',
  none: 'neither, so the node role',
};

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
      const association = context.podIdentityAssociations(namespace, name)[0];
      if (association === undefined) continue;
      // Finished pods (completed Jobs, evicted pods) are not running, so they are left out.
      const pods = context
        .auditedPodsOf(namespace, name)
        .map(({ pod, injection }) => ({ pod: pod.name, credentials: injection.mode }));
      const named = pods
        .slice(0, PODS_NAMED)
        .map(({ pod, credentials }) => `${pod} (${CREDENTIALS[credentials]})`);
      if (pods.length > PODS_NAMED) named.push(`and ${pods.length - PODS_NAMED} more`);
      const running = named.length === 0 ? 'no pods are running' : `running pods: ${named.join(', ')}`;
      yield {
        resource: serviceAccountResource(entry),
        key: association.associationId,
        message: `ServiceAccount ${namespace}/${name} has both the IRSA annotation (${entry.annotation}) and Pod Identity association ${association.associationId} (${association.roleArn}); new pods get Pod Identity, ${running}.`,
        evidence: {
          irsaRoleArn: entry.annotation,
          podIdentityRoleArn: association.roleArn,
          associationId: association.associationId,
          pods: pods.slice(0, 50),
        },
        remediation: `Keep one mechanism: \`kubectl annotate serviceaccount -n ${namespace} ${name} ${ROLE_ARN_ANNOTATION}-\` to finish the move to Pod Identity (or \`aws eks delete-pod-identity-association --cluster-name ${context.state.cluster.name} --association-id ${association.associationId}\` to stay on IRSA), then restart the pods.`,
      };
    }
  },
};
