import type { Check } from './check';
import { SKIP_CONTAINERS_ANNOTATION } from './eks-conventions';
import { podInjection } from './pod-injection';
import { recreatePodCommand } from './remediation';

/** Containers added after the webhook ran (e.g. by another webhook) get no credentials. */
export const p05PartialMutation: Check = {
  id: 'IRSA-P05',
  title: 'Either every container of a pod was mutated, or none was.',
  severity: 'medium',
  remediation:
    'Order the webhooks (reinvocationPolicy IfNeeded) or list the container in eks.amazonaws.com/skip-containers if it needs no AWS access.',
  needs: ['pods', 'serviceAccounts'],
  *run(context) {
    for (const pod of context.podsInScope) {
      const injection = podInjection(pod);
      if (!injection.mutated) continue;
      const candidates = injection.containers.filter((c) => !c.skipped);
      const missing = candidates.filter((c) => !c.mutated).map((c) => c.container.name);
      if (missing.length === 0 || missing.length === candidates.length) continue;
      yield {
        resource: { kind: 'Pod', namespace: pod.namespace, name: pod.name },
        key: missing.join(','),
        message: `In pod ${pod.namespace}/${pod.name}, container(s) ${missing.join(', ')} have no IRSA credentials while the others do; they run with the node role.`,
        evidence: {
          unmutated: missing,
          mutated: candidates.filter((c) => c.mutated).map((c) => c.container.name),
          skipped: injection.containers.filter((c) => c.skipped).map((c) => c.container.name),
        },
        remediation: `If ${missing.join(', ')} need AWS access, find what adds them after the pod identity webhook (another mutating webhook) and re-create the pod (\`${recreatePodCommand(pod)}\`); if not, annotate the pod template with ${SKIP_CONTAINERS_ANNOTATION}: "${missing.join(',')}".`,
      };
    }
  },
};
