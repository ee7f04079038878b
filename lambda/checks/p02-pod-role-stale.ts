import type { Check } from './check';
import { ENV_ROLE_ARN } from './eks-conventions';
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
      const differing = podInjection(pod).containers.filter(
        (c) => c.roleArn !== undefined && c.roleArn !== entry.annotation,
      );
      if (differing.length === 0) continue;
      const stale = [...new Set(differing.map((c) => c.roleArn ?? ''))];
      // The webhook always adds AWS_ROLE_ARN together with AWS_WEB_IDENTITY_TOKEN_FILE, and adds neither
      // to a container that already sets one of them: a lone AWS_ROLE_ARN was written into the pod spec.
      const handSet = differing.filter((c) => !c.hasTokenFileEnv).map((c) => c.container.name);
      const resource = { kind: 'Pod', namespace: pod.namespace, name: pod.name };
      const evidence = {
        podRoleArn: stale,
        serviceAccountRoleArn: entry.annotation,
        containers: differing.map((c) => c.container.name),
        setInPodSpec: handSet,
        createdAt: pod.creationTimestamp ?? null,
      };
      if (handSet.length === differing.length) {
        yield {
          resource,
          key: stale.join(','),
          message: `The pod spec of ${pod.namespace}/${pod.name} sets ${ENV_ROLE_ARN}=${stale.join(', ')} itself in ${handSet.join(', ')}, which the webhook never overrides, while ServiceAccount ${pod.serviceAccountName} names ${entry.annotation}.`,
          evidence,
          remediation: `Remove ${ENV_ROLE_ARN} from container ${handSet.join(', ')} in the pod's controller spec (or set it to ${entry.annotation}), then re-create the pod: \`${recreatePodCommand(pod)}\`.`,
        };
        continue;
      }
      yield {
        resource,
        key: stale.join(','),
        message: `Pod ${pod.namespace}/${pod.name} runs with ${ENV_ROLE_ARN} ${stale.join(', ')}, but ServiceAccount ${pod.serviceAccountName} now names ${entry.annotation}: the annotation changed after the pod started.`,
        evidence,
        remediation: `Re-create the pod so that it gets the current role: \`${recreatePodCommand(pod)}\`${handSet.length === 0 ? '' : ` (first remove the hard-coded ${ENV_ROLE_ARN} from ${handSet.join(', ')}; the webhook does not override it)`}.`,
      };
    }
  },
};
