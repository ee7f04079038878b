import { ENV_ROLE_ARN } from '../analysis/eks-conventions';
import { howToRecreatePod } from '../analysis/remediation';
import type { Check } from './check';

/** The webhook injects AWS_ROLE_ARN once, at CREATE; changing the annotation later does not reach running pods. */
export const p02PodRoleStale: Check = {
  id: 'IRSA-P02',
  title: "Each pod's AWS_ROLE_ARN equals its ServiceAccount's current annotation.",
  severity: 'high',
  remediation: 'Re-create the pod so that it picks up the current role annotation.',
  needs: ['serviceAccounts', 'pods'],
  *run(context) {
    for (const { pod, injection, irsa: entry } of context.auditedPods) {
      if (entry === undefined) continue;
      if (injection.roleArn === undefined) continue;
      if (injection.roleArn === entry.annotation && !injection.mixedRoleArns) continue;
      const differing = injection.containers.filter(
        (c) => c.roleArn !== undefined && c.roleArn !== entry.annotation,
      );
      const staleArns = [...new Set(differing.map((c) => c.roleArn ?? ''))];
      // The webhook always adds AWS_ROLE_ARN together with AWS_WEB_IDENTITY_TOKEN_FILE, and adds neither
      // to a container that already sets one of them: a lone AWS_ROLE_ARN was written into the pod spec.
      const handSet = differing.filter((c) => !c.hasTokenFileEnv).map((c) => c.container.name);
      const resource = { kind: 'Pod', namespace: pod.namespace, name: pod.name };
      const evidence = {
        podRoleArn: staleArns,
        serviceAccountRoleArn: entry.annotation,
        containers: differing.map((c) => c.container.name),
        setInPodSpec: handSet,
        createdAt: pod.creationTimestamp ?? null,
      };
      if (handSet.length === differing.length) {
        yield {
          resource,
          key: staleArns.join(','),
          message: `The pod spec of ${pod.namespace}/${pod.name} sets ${ENV_ROLE_ARN}=${staleArns.join(', ')} itself in ${handSet.join(', ')}, which the webhook never overrides, while ServiceAccount ${pod.serviceAccountName} names ${entry.annotation}.`,
          evidence,
          remediation: `Remove ${ENV_ROLE_ARN} from container ${handSet.join(', ')} in the pod's controller spec (or set it to ${entry.annotation}), then re-create the pod: ${howToRecreatePod(pod)}.`,
        };
        continue;
      }
      yield {
        resource,
        key: staleArns.join(','),
        message: `Pod ${pod.namespace}/${pod.name} runs with ${ENV_ROLE_ARN} ${staleArns.join(', ')}, but ServiceAccount ${pod.serviceAccountName} now names ${entry.annotation}: the annotation changed after the pod started.`,
        evidence,
        remediation:
          handSet.length === 0
            ? `Re-create the pod so that it gets the current role: ${howToRecreatePod(pod)}.`
            : `Remove the hard-coded ${ENV_ROLE_ARN} from ${handSet.join(', ')} in the pod's controller spec (the webhook does not override it), then re-create the pod so that it gets the current role: ${howToRecreatePod(pod)}.`,
      };
    }
  },
};
