import { annotateCommand, howToRecreatePod } from '../analysis/remediation';
import type { Check } from './check';

/** A pod keeps its injected role after the annotation (or the whole ServiceAccount) is gone. */
export const p03PodRoleOrphaned: Check = {
  id: 'IRSA-P03',
  title: 'Pods carry AWS_ROLE_ARN only when their ServiceAccount is annotated.',
  severity: 'medium',
  remediation: 'Re-create the pod, or restore the annotation if the role is still meant to be used.',
  needs: ['serviceAccounts', 'pods'],
  *run(context) {
    for (const { pod, injection, irsa, association } of context.auditedPods) {
      if (irsa !== undefined) continue;
      const roleArns = injection.roleArns;
      if (roleArns.length === 0) continue;
      const exists = context.serviceAccount(pod.namespace, pod.serviceAccountName) !== undefined;
      const recreate = howToRecreatePod(pod);
      const resource = { kind: 'Pod', namespace: pod.namespace, name: pod.name };
      const evidence = {
        podRoleArn: roleArns,
        serviceAccount: pod.serviceAccountName,
        serviceAccountExists: exists,
      };
      if (exists && association !== undefined) {
        // A move from IRSA to EKS Pod Identity: the webhook injects credentials only at CREATE, so pods
        // created before the annotation was removed stay on IRSA until they are replaced.
        yield {
          resource,
          key: roleArns.join(','),
          severity: 'low',
          message: `Pod ${pod.namespace}/${pod.name} is still on IRSA role ${roleArns.join(', ')}; ServiceAccount ${pod.serviceAccountName} now uses Pod Identity association ${association.associationId} (role ${association.roleArn}), which the pod gets only when it is re-created.`,
          evidence: {
            ...evidence,
            podIdentityAssociation: association.associationId,
            podIdentityRoleArn: association.roleArn,
          },
          remediation: `Restart the pod to move it to Pod Identity: ${recreate}.`,
        };
        continue;
      }
      const restore = annotateCommand(pod.namespace, pod.serviceAccountName, roleArns[0] ?? '');
      yield {
        resource,
        key: roleArns.join(','),
        message: `Pod ${pod.namespace}/${pod.name} carries AWS_ROLE_ARN ${roleArns.join(', ')}, but its ServiceAccount ${pod.serviceAccountName} ${exists ? 'is no longer annotated: the pod keeps the role until it is re-created, and its replacement will not get it' : 'no longer exists: the pod keeps the role until it stops, and the API server admits no replacement pod until the ServiceAccount exists again'}.`,
        evidence,
        remediation: exists
          ? `If the role is still meant to be used, restore the annotation first (\`${restore}\`); either way, re-create the pod: ${recreate}.`
          : `Re-create the ServiceAccount (\`kubectl create serviceaccount -n ${pod.namespace} ${pod.serviceAccountName}\`) and, if the workload still needs the role, annotate it (\`${restore}\`), or point the pod's controller at another ServiceAccount; then re-create the pod: ${recreate}.`,
      };
    }
  },
};
