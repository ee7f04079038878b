import type { Check } from './check';
import {
  ENV_TOKEN_FILE,
  SKIP_CONTAINERS_ANNOTATION,
  SKIP_WEBHOOK_LABEL,
  TOKEN_DIRECTORY,
  TOKEN_VOLUME,
} from './eks-conventions';
import { selectorMatches } from './label-selector';
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
      const candidates = injection.containers.filter((c) => !c.skipped);
      // A container that got credentials shows the webhook ran; one left out is IRSA-P05's business.
      if (candidates.some((c) => c.mutated)) continue;
      const resource = { kind: 'Pod', namespace: pod.namespace, name: pod.name };
      const evidence = {
        serviceAccount: pod.serviceAccountName,
        roleArnAnnotation: entry.annotation,
        createdAt: pod.creationTimestamp ?? null,
        phase: pod.phase ?? null,
        containers: injection.containers.map((c) => c.container.name),
        skippedContainers: injection.containers.filter((c) => c.skipped).map((c) => c.container.name),
        skipContainersAnnotation: pod.annotations[SKIP_CONTAINERS_ANNOTATION] ?? null,
      };
      // The webhook adds the pod's volume even when it skips every container, so exemption comes first.
      // The webhook itself ignores the skip label: only an objectSelector on it (EKS has one) skips the pod.
      const labelHonoured =
        injection.skipLabel &&
        (context.webhook === undefined ||
          !selectorMatches(context.webhook.webhook.objectSelector, pod.labels));
      const exemptBecause = labelHonoured
        ? `it is labelled ${SKIP_WEBHOOK_LABEL}`
        : injection.containers.length > 0 && candidates.length === 0
          ? `all its containers (${evidence.skippedContainers.join(', ')}) are listed in ${SKIP_CONTAINERS_ANNOTATION}`
          : undefined;
      if (exemptBecause !== undefined) {
        yield {
          resource,
          key: 'exempt',
          severity: 'info',
          message: `Pod ${pod.namespace}/${pod.name} of ServiceAccount ${pod.serviceAccountName} has no IRSA credentials on purpose: ${exemptBecause}.`,
          evidence: { ...evidence, exemptBecause },
          remediation: `Nothing to do if the opt-out is intended; otherwise remove it from the pod template and re-create the pod (\`${recreatePodCommand(pod)}\`).`,
        };
        continue;
      }
      // A volume or a Pod Identity trace without any credentialed container: the webhook did run.
      if (injection.mutated) continue;
      const webhook = context.webhook?.configuration.name ?? 'the pod identity webhook';
      const notes = [
        ...(injection.skipContainersProblem === undefined ? [] : [injection.skipContainersProblem]),
        ...(injection.skipLabel
          ? [
              `the ${SKIP_WEBHOOK_LABEL} label has no effect, as the webhook's objectSelector does not exclude it`,
            ]
          : []),
      ];
      const skipNote = notes.length === 0 ? '' : ` (Note: ${notes.join('; ')}.)`;
      yield {
        resource,
        message: `Pod ${pod.namespace}/${pod.name} uses ServiceAccount ${pod.serviceAccountName} (role ${entry.annotation}) but was never mutated: no container has ${ENV_TOKEN_FILE} or a mount at ${TOKEN_DIRECTORY}, and the pod has no ${TOKEN_VOLUME} volume, so it runs with the node's IAM role.${skipNote}`,
        evidence: { ...evidence, skipContainersProblem: injection.skipContainersProblem },
        remediation: `Make sure ${webhook} works (fix any IRSA-W finding first), then re-create the pod: \`${recreatePodCommand(pod)}\`${injection.skipContainersProblem === undefined ? '' : `; if some containers are meant to go without credentials, write ${SKIP_CONTAINERS_ANNOTATION} as container names separated by commas alone (no spaces, no quotes)`}.`,
      };
    }
  },
};
