import type { Check } from './check';
import { SKIP_CONTAINERS_ANNOTATION } from './eks-conventions';
import type { ContainerInjection } from './pod-injection';
import { podInjection } from './pod-injection';
import { recreatePodCommand } from './remediation';

const describe = (entry: ContainerInjection) =>
  entry.container.kind === 'initContainer' ? `init container ${entry.container.name}` : entry.container.name;

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
      // The webhook mutates init containers too (handler.go walks InitContainers, then Containers).
      const candidates = injection.containers.filter((c) => !c.skipped);
      const missing = candidates.filter((c) => !c.mutated);
      if (missing.length === 0 || missing.length === candidates.length) continue;
      const names = missing.map((c) => c.container.name);
      const skipNote =
        injection.skipContainersProblem === undefined ? '' : ` (Note: ${injection.skipContainersProblem}.)`;
      yield {
        resource: { kind: 'Pod', namespace: pod.namespace, name: pod.name },
        key: names.join(','),
        message: `In pod ${pod.namespace}/${pod.name}, ${missing.map(describe).join(', ')} ${missing.length === 1 ? 'has' : 'have'} no IRSA credentials while the other containers do, so ${missing.length === 1 ? 'it runs' : 'they run'} with the node role.${skipNote}`,
        evidence: {
          unmutated: names,
          mutated: candidates.filter((c) => c.mutated).map((c) => c.container.name),
          skipped: injection.containers.filter((c) => c.skipped).map((c) => c.container.name),
          skipContainersAnnotation: pod.annotations[SKIP_CONTAINERS_ANNOTATION] ?? null,
          skipContainersProblem: injection.skipContainersProblem,
        },
        remediation: `If ${names.join(', ')} ${names.length === 1 ? 'needs' : 'need'} AWS access, find what adds ${names.length === 1 ? 'it' : 'them'} after the pod identity webhook (another mutating webhook; set reinvocationPolicy: IfNeeded on the pod identity webhook) and re-create the pod (\`${recreatePodCommand(pod)}\`); if not, annotate the pod template with ${SKIP_CONTAINERS_ANNOTATION}: "${[...new Set([...injection.containers.filter((c) => c.skipped).map((c) => c.container.name), ...names])].join(',')}" (comma-separated, no spaces).`,
      };
    }
  },
};
