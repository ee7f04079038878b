import type { LocatedWebhook } from '../analysis/context';
import { SKIP_CONTAINERS_ANNOTATION } from '../analysis/eks-conventions';
import type { ContainerInjection } from '../analysis/pod-injection';
import { howToRecreatePod } from '../analysis/remediation';
import type { Check } from './check';

const describe = (entry: ContainerInjection) =>
  entry.container.kind === 'initContainer' ? `init container ${entry.container.name}` : entry.container.name;

const capitalized = (text: string) => `${text.charAt(0).toUpperCase()}${text.slice(1)}`;

const works = (entry: ContainerInjection) =>
  entry.credentials === 'web-identity' || entry.credentials === 'pod-identity';

/**
 * Why a container without any credential trace was left out, from the webhook's reinvocationPolicy.
 * With IfNeeded (what EKS sets) the API server calls the webhook again after later webhooks change
 * the pod, so a sidecar they add is mutated too; only with Never (the API default) is it missed.
 */
function whyLeftOut(
  located: LocatedWebhook | undefined,
  count: number,
): { readonly cause: string; readonly fix: string } {
  const them = count === 1 ? 'it' : 'them';
  const their = count === 1 ? 'its' : 'their';
  if (located === undefined) {
    return {
      cause: 'they were added after the pod identity webhook ran, or were listed in skip-containers',
      fix: `find the webhook that adds ${them} and make sure the pod identity webhook is re-invoked after it (reinvocationPolicy: IfNeeded)`,
    };
  }
  const { configuration, webhook } = located;
  if (webhook.reinvocationPolicy === 'IfNeeded') {
    return {
      cause: `webhook ${webhook.name} has reinvocationPolicy IfNeeded, so it is called again for containers that later webhooks add: webhook order is not the cause`,
      fix: `check whether the pod's ${SKIP_CONTAINERS_ANNOTATION} annotation named ${them} when the pod was created (annotations can change afterwards), or whether another webhook rewrote ${their} env or mounts after the pod identity webhook's last call`,
    };
  }
  const policy = webhook.reinvocationPolicy ?? 'Never';
  return {
    cause: `webhook ${webhook.name} has reinvocationPolicy ${policy}${webhook.reinvocationPolicy === undefined ? ' (the default)' : ''}, so containers that a later webhook such as a sidecar injector adds are never mutated`,
    fix: `set reinvocationPolicy: IfNeeded on webhook ${webhook.name} of ${configuration.name} (on EKS the control plane owns that configuration and sets IfNeeded: open a support case rather than editing it)`,
  };
}

/** Containers added after the webhook ran, or that preset half of the credentials, get none. */
export const p05PartialMutation: Check = {
  id: 'IRSA-P05',
  title: 'Either every container of a pod has working credentials, or none has.',
  severity: 'medium',
  remediation:
    'Remove hand-set AWS_ROLE_ARN/AWS_WEB_IDENTITY_TOKEN_FILE from the containers without credentials, or list them in eks.amazonaws.com/skip-containers if they need no AWS access.',
  needs: ['pods', 'serviceAccounts'],
  *run(context) {
    for (const { pod, injection } of context.auditedPods) {
      // The webhook mutates init containers too (handler.go walks InitContainers, then Containers).
      if (injection.working === 0 || injection.broken === 0) continue;
      const candidates = injection.containers.filter((c) => !c.skipped);
      const missing = candidates.filter((c) => !works(c));
      const incomplete = missing.filter((c) => c.credentials === 'incomplete');
      // A container the skip-containers annotation means to exempt, but names with a space, is the note's business.
      const misSkipped = missing.filter(
        (c) => c.credentials === 'none' && injection.skipMisses.includes(c.container.name),
      );
      const bare = missing.filter(
        (c) => c.credentials === 'none' && !injection.skipMisses.includes(c.container.name),
      );
      const names = missing.map((c) => c.container.name);
      const skipNote =
        injection.skipContainersProblem === undefined ? '' : ` (Note: ${injection.skipContainersProblem}.)`;
      const clauses = incomplete.map((c) => `${describe(c)} ${c.gaps.map((gap) => gap.reason).join('; ')}`);
      const leftOut = bare.length === 0 ? undefined : whyLeftOut(context.webhook, bare.length);
      if (leftOut !== undefined) {
        clauses.push(
          `${bare.map(describe).join(', ')} ${bare.length === 1 ? 'has' : 'have'} no credentials at all while the other containers do (${leftOut.cause})`,
        );
      }
      if (misSkipped.length > 0) {
        clauses.push(
          `${misSkipped.map(describe).join(', ')} ${misSkipped.length === 1 ? 'has' : 'have'} no credentials while the other containers do, and ${SKIP_CONTAINERS_ANNOTATION} means to exempt ${misSkipped.length === 1 ? 'it' : 'them'} but does not`,
        );
      }
      const handSet = incomplete.flatMap((c) =>
        c.gaps.flatMap((gap) =>
          gap.handSet === undefined ? [] : [`${gap.handSet} from ${c.container.name}`],
        ),
      );
      const unmounted = incomplete.flatMap((c) =>
        c.gaps.flatMap((gap) =>
          gap.handSet === undefined
            ? [
                `give ${c.container.name} ${gap.missing}, or remove its hand-set credential variables so that the webhook injects them with the mount`,
              ]
            : [],
        ),
      );
      const fixes = [
        ...unmounted,
        ...(handSet.length === 0
          ? []
          : [
              `remove the hand-set ${handSet.join(', ')} in the pod's controller spec so that the webhook injects both variables (or set both correctly)`,
            ]),
        ...(leftOut === undefined
          ? []
          : [
              `if ${bare.map((c) => c.container.name).join(', ')} need${bare.length === 1 ? 's' : ''} AWS access, ${leftOut.fix}`,
            ]),
      ];
      const skipList = [
        ...new Set([...injection.containers.filter((c) => c.skipped).map((c) => c.container.name), ...names]),
      ].join(',');
      const skipSentence = `If ${names.join(', ')} ${names.length === 1 ? 'needs' : 'need'} no AWS access, annotate the pod template with ${SKIP_CONTAINERS_ANNOTATION}: "${skipList}" (comma-separated, no spaces)`;
      const recreate = howToRecreatePod(pod);
      yield {
        resource: { kind: 'Pod', namespace: pod.namespace, name: pod.name },
        key: names.join(','),
        message: `In pod ${pod.namespace}/${pod.name}, ${clauses.join('; ')}, so ${missing.length === 1 ? 'it runs' : 'they run'} with the node role.${skipNote}`,
        evidence: {
          unmutated: names,
          mutated: candidates.filter(works).map((c) => c.container.name),
          skipped: injection.containers.filter((c) => c.skipped).map((c) => c.container.name),
          containerCredentials: Object.fromEntries(
            missing.map((c) => [c.container.name, c.credentials] as const),
          ),
          reinvocationPolicy: context.webhook?.webhook.reinvocationPolicy ?? null,
          skipContainersAnnotation: pod.annotations[SKIP_CONTAINERS_ANNOTATION] ?? null,
          skipContainersProblem: injection.skipContainersProblem,
        },
        remediation:
          fixes.length === 0
            ? `${skipSentence}, then re-create the pod: ${recreate}.`
            : `${capitalized(fixes.join('; '))}; then re-create the pod: ${recreate}. ${skipSentence}.`,
      };
    }
  },
};
