import type { Check } from './check';
import { podInjection } from './pod-injection';
import { recreatePodCommand } from './remediation';

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
      yield {
        resource: { kind: 'Pod', namespace: pod.namespace, name: pod.name },
        key: roleArns.join(','),
        message: `Pod ${pod.namespace}/${pod.name} carries AWS_ROLE_ARN ${roleArns.join(', ')}, but its ServiceAccount ${pod.serviceAccountName} ${exists ? 'is no longer annotated' : 'no longer exists'}.`,
        evidence: {
          podRoleArn: roleArns,
          serviceAccount: pod.serviceAccountName,
          serviceAccountExists: exists,
        },
        remediation: `Re-create the pod (\`${recreatePodCommand(pod)}\`), or restore the annotation with \`kubectl annotate serviceaccount -n ${pod.namespace} ${pod.serviceAccountName} eks.amazonaws.com/role-arn=${roleArns[0]}\` if the role is still wanted.`,
      };
    }
  },
};
