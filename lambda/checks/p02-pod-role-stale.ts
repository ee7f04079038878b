import type { Check } from './check';
import { podInjection } from './pod-injection';
import { recreatePodCommand } from './remediation';

/** The webhook injects AWS_ROLE_ARN once, at CREATE; changing the annotation later does not reach running pods. */
export const p02PodRoleStale: Check = {
  id: 'IRSA-P02',
  title: "Each pod's AWS_ROLE_ARN equals its ServiceAccount's current annotation.",
  severity: 'high',
  remediation: 'Re-create the pod so that it picks up the current role annotation.',
  needs: ['serviceAccounts', 'pods'],
  *run(context) {
    for (const pod of context.podsInScope) {
      const entry = context.annotatedServiceAccount(pod.namespace, pod.serviceAccountName);
      if (entry === undefined) continue;
      const stale = podInjection(pod).roleArns.filter((arn) => arn !== entry.annotation);
      if (stale.length === 0) continue;
      yield {
        resource: { kind: 'Pod', namespace: pod.namespace, name: pod.name },
        key: stale.join(','),
        message: `Pod ${pod.namespace}/${pod.name} runs with AWS_ROLE_ARN ${stale.join(', ')}, but ServiceAccount ${pod.serviceAccountName} now names ${entry.annotation}: the annotation changed after the pod started.`,
        evidence: {
          podRoleArn: stale,
          serviceAccountRoleArn: entry.annotation,
          createdAt: pod.creationTimestamp ?? null,
        },
        remediation: `Re-create the pod so that it gets the current role: \`${recreatePodCommand(pod)}\`.`,
      };
    }
  },
};
