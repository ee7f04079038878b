import type { Check } from './check';
import { SKIP_CONTAINERS_ANNOTATION, SKIP_WEBHOOK_LABEL } from './eks-conventions';
import { podInjection } from './pod-injection';
import { recreatePodCommand } from './remediation';

/** The silent failure IRSA is known for: the pod started without the webhook and runs as the node. */
export const p01PodNotMutated: Check = {
  id: 'IRSA-P01',
  title: 'Every pod of an IRSA ServiceAccount was mutated by the pod identity webhook.',
  severity: 'critical',
  remediation:
    'Fix the webhook (see IRSA-W findings), then re-create the pod so that the webhook sees its CREATE.',
  needs: ['serviceAccounts', 'pods'],
  *run(context) {
    for (const pod of context.podsInScope) {
      const entry = context.annotatedServiceAccount(pod.namespace, pod.serviceAccountName);
      if (entry === undefined) continue;
      const injection = podInjection(pod);
      if (injection.mutated) continue;
      const resource = { kind: 'Pod', namespace: pod.namespace, name: pod.name };
      const evidence = {
        serviceAccount: pod.serviceAccountName,
        roleArnAnnotation: entry.annotation,
        createdAt: pod.creationTimestamp ?? null,
        phase: pod.phase ?? null,
        containers: injection.containers.map((c) => c.container.name),
      };
      const skipped = injection.containers.filter((c) => c.skipped).map((c) => c.container.name);
      if (injection.skipLabel || (skipped.length > 0 && skipped.length === injection.containers.length)) {
        const why = injection.skipLabel
          ? `it is labelled ${SKIP_WEBHOOK_LABEL}`
          : `all its containers are listed in ${SKIP_CONTAINERS_ANNOTATION}`;
        yield {
          resource,
          key: 'exempt',
          severity: 'info',
          message: `Pod ${pod.namespace}/${pod.name} has no IRSA credentials on purpose: ${why}.`,
          evidence: { ...evidence, exemptBecause: why },
          remediation: `Nothing to do if the opt-out is intended; otherwise remove it from the pod template and re-create the pod (\`${recreatePodCommand(pod)}\`).`,
        };
        continue;
      }
      const webhook = context.webhook?.configuration.name ?? 'the pod identity webhook';
      yield {
        resource,
        message: `Pod ${pod.namespace}/${pod.name} uses ServiceAccount ${pod.serviceAccountName} (role ${entry.annotation}) but was never mutated: it has no AWS_ROLE_ARN, token file or token volume, so it runs with the node's IAM role.`,
        evidence,
        remediation: `Make sure ${webhook} works (fix any IRSA-W finding first), then re-create the pod: \`${recreatePodCommand(pod)}\`.`,
      };
    }
  },
};
