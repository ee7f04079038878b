import type { Check } from './check';
import { podInjection } from './pod-injection';
import { annotateCommand, recreatePodCommand } from './remediation';

/** A pod keeps its injected role after the annotation (or the whole ServiceAccount) is gone. */
export const p03PodRoleOrphaned: Check = {
  id: 'IRSA-P03',
  title: 'Pods carry AWS_ROLE_ARN only when their ServiceAccount is annotated.',
  severity: 'medium',
  remediation: 'Re-create the pod, or restore the annotation if the role is still meant to be used.',
  needs: ['serviceAccounts', 'pods'],
  *run(context) {
    for (const pod of context.podsInScope) {
      if (context.annotatedServiceAccount(pod.namespace, pod.serviceAccountName) !== undefined) continue;
      const roleArns = podInjection(pod).roleArns;
      if (roleArns.length === 0) continue;
      const exists = context.serviceAccount(pod.namespace, pod.serviceAccountName) !== undefined;
      const recreate = recreatePodCommand(pod);
      const restore = annotateCommand(pod.namespace, pod.serviceAccountName, roleArns[0] ?? '');
      yield {
        resource: { kind: 'Pod', namespace: pod.namespace, name: pod.name },
        key: roleArns.join(','),
        message: `Pod ${pod.namespace}/${pod.name} carries AWS_ROLE_ARN ${roleArns.join(', ')}, but its ServiceAccount ${pod.serviceAccountName} ${exists ? 'is no longer annotated: the pod keeps the role until it is re-created, and its replacement will not get it' : 'no longer exists: the pod keeps the role until it stops, and the API server admits no replacement pod until the ServiceAccount exists again'}.`,
        evidence: {
          podRoleArn: roleArns,
          serviceAccount: pod.serviceAccountName,
          serviceAccountExists: exists,
        },
        remediation: exists
          ? `If the role is no longer meant to be used, re-create the pod (\`${recreate}\`); if it is, restore the annotation (\`${restore}\`) and re-create the pod.`
          : `Re-create the ServiceAccount (\`kubectl create serviceaccount -n ${pod.namespace} ${pod.serviceAccountName}\`) and, if the workload still needs the role, annotate it (\`${restore}\`); then re-create the pod (\`${recreate}\`), or point its controller at another ServiceAccount.`,
      };
    }
  },
};
