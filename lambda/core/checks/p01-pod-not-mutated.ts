import type { AuditedPod } from '../analysis/context';
import {
  ENV_POD_IDENTITY_TOKEN_FILE,
  ENV_POD_IDENTITY_URI,
  ENV_ROLE_ARN,
  ENV_TOKEN_FILE,
  POD_IDENTITY_CREDENTIALS_URI,
  POD_IDENTITY_TOKEN_DIRECTORY,
  POD_IDENTITY_TOKEN_FILE,
  POD_IDENTITY_VOLUME,
  SKIP_CONTAINERS_ANNOTATION,
  SKIP_WEBHOOK_LABEL,
  TOKEN_DIRECTORY,
  TOKEN_FILE,
  TOKEN_VOLUME,
} from '../analysis/eks-conventions';
import { selectorMatches } from '../analysis/label-selector';
import { fallbackClause } from '../analysis/node-reach';
import type { ContainerInjection } from '../analysis/pod-injection';
import { howToRecreatePod } from '../analysis/remediation';
import type { Check } from './check';

const describeContainer = (entry: ContainerInjection) =>
  `${entry.container.kind === 'initContainer' ? 'init container' : 'container'} ${entry.container.name}`;

const NO_NAMES: readonly string[] = [];

const capitalized = (text: string) => `${text.charAt(0).toUpperCase()}${text.slice(1)}`;

/** The identity a pod's ServiceAccount asks for, for messages. */
function identityOf({ irsa, association }: AuditedPod): string {
  const podIdentity =
    association === undefined
      ? undefined
      : `Pod Identity association ${association.associationId}, role ${association.roleArn}`;
  if (irsa === undefined) return podIdentity ?? '';
  return podIdentity === undefined ? `role ${irsa.annotation}` : `role ${irsa.annotation}; ${podIdentity}`;
}

/** The variables an incomplete container sets itself, which keep the webhook from adding the pair. */
function presentVariables(entry: ContainerInjection): string[] {
  const present: string[] = [];
  if (entry.hasRoleArnEnv) present.push(ENV_ROLE_ARN);
  if (entry.hasTokenFileEnv) present.push(ENV_TOKEN_FILE);
  if (entry.hasPodIdentityEnv) present.push(ENV_POD_IDENTITY_URI);
  if (entry.hasPodIdentityTokenFileEnv) present.push(ENV_POD_IDENTITY_TOKEN_FILE);
  return present;
}

/** The silent failure IRSA is known for: the pod started without the webhook and runs as the node. */
export const p01PodNotMutated: Check = {
  id: 'IRSA-P01',
  title:
    'Every pod of an IRSA or EKS Pod Identity ServiceAccount got working credentials from the pod identity webhook.',
  severity: 'critical',
  remediation:
    'Fix the webhook (see IRSA-W findings) and remove hand-set AWS_* credential variables from the pod spec, then re-create the pod so that the webhook sees its CREATE.',
  needs: ['serviceAccounts', 'pods'],
  *run(context) {
    for (const audited of context.auditedPods) {
      const { pod, injection, irsa, association } = audited;
      if (irsa === undefined && association === undefined) continue;
      // One container with working credentials shows the webhook ran; the others are IRSA-P05's business.
      if (injection.working > 0) continue;
      // After a broken webhook every pod lands here (100,000 findings in SPEC §10's budget), so this
      // path allocates no more than the finding itself needs.
      const candidates = injection.working + injection.broken;
      const skippedContainers =
        candidates === injection.containers.length
          ? NO_NAMES
          : injection.containers.filter((c) => c.skipped).map((c) => c.container.name);
      const resource = { kind: 'Pod', namespace: pod.namespace, name: pod.name };
      const reach = context.nodes.reach(pod);
      const evidence = {
        serviceAccount: pod.serviceAccountName,
        roleArnAnnotation: irsa?.annotation ?? null,
        podIdentityAssociation: association?.associationId ?? null,
        createdAt: pod.creationTimestamp ?? null,
        phase: pod.phase ?? null,
        containers: injection.containers.map((c) => c.container.name),
        skippedContainers,
        skipContainersAnnotation: pod.annotations[SKIP_CONTAINERS_ANNOTATION] ?? null,
        skipContainersProblem: injection.skipContainersProblem,
        // What the pod falls back to: its node's role through IMDS, when the nodes were read.
        nodeRoleReachable: reach.status === 'unknown' ? null : reach.status === 'reachable',
        nodeRoleArn: reach.status === 'unknown' ? null : (reach.roleArn ?? null),
      };
      // The webhook adds the pod's volume even when it skips every container, so exemption comes first.
      // The webhook itself ignores the skip label: only an objectSelector on it (EKS has one) skips the pod.
      const labelHonoured =
        injection.skipLabel &&
        (context.webhook === undefined ||
          !selectorMatches(context.webhook.webhook.objectSelector, pod.labels));
      const exemptBecause = labelHonoured
        ? `it is labelled ${SKIP_WEBHOOK_LABEL}`
        : injection.containers.length > 0 && candidates === 0
          ? `all its containers (${skippedContainers.join(', ')}) are listed in ${SKIP_CONTAINERS_ANNOTATION}`
          : undefined;
      const recreate = howToRecreatePod(pod);
      if (exemptBecause !== undefined) {
        yield {
          resource,
          key: 'exempt',
          severity: 'info',
          message: `Pod ${pod.namespace}/${pod.name} of ServiceAccount ${pod.serviceAccountName} has no ${association === undefined ? 'IRSA' : 'Pod Identity'} credentials on purpose: ${exemptBecause}.`,
          evidence: { ...evidence, exemptBecause },
          remediation: `Nothing to do if the opt-out is intended; otherwise remove it from the pod template and re-create the pod: ${recreate}.`,
        };
        continue;
      }
      const webhook = context.webhook?.configuration.name ?? 'the pod identity webhook';
      const fallback = fallbackClause(reach);
      const skipNote =
        injection.skipContainersProblem === undefined && !injection.skipLabel
          ? ''
          : ` (Note: ${[
              ...(injection.skipContainersProblem === undefined ? [] : [injection.skipContainersProblem]),
              ...(injection.skipLabel
                ? [
                    `the ${SKIP_WEBHOOK_LABEL} label has no effect, as the webhook's objectSelector does not exclude it`,
                  ]
                : []),
            ].join('; ')}.)`;
      const skipFix =
        injection.skipContainersProblem === undefined
          ? ''
          : `; if some containers are meant to go without credentials, write ${SKIP_CONTAINERS_ANNOTATION} as container names separated by commas alone (no spaces, no quotes)`;
      // The webhook prefers a Pod Identity association to the annotation (handler.go buildPodPatchConfig).
      const podIdentity = association !== undefined;
      const volume = podIdentity ? POD_IDENTITY_VOLUME : TOKEN_VOLUME;
      if (!injection.mutated) {
        yield {
          resource,
          message: podIdentity
            ? `Pod ${pod.namespace}/${pod.name} uses ServiceAccount ${pod.serviceAccountName} (${identityOf(audited)}) but was never mutated: no container has ${ENV_POD_IDENTITY_URI}${irsa === undefined ? '' : ` or ${ENV_TOKEN_FILE}`}, and the pod has no ${POD_IDENTITY_VOLUME} volume, ${fallback}.${skipNote}`
            : `Pod ${pod.namespace}/${pod.name} uses ServiceAccount ${pod.serviceAccountName} (role ${irsa?.annotation}) but was never mutated: no container has ${ENV_TOKEN_FILE} or a mount at ${TOKEN_DIRECTORY}, and the pod has no ${TOKEN_VOLUME} volume, ${fallback}.${skipNote}`,
          evidence,
          remediation: `Make sure ${webhook} works (fix any IRSA-W finding first), then re-create the pod: ${recreate}${skipFix}.`,
        };
        continue;
      }
      const incomplete = injection.containers.filter((c) => !c.skipped && c.credentials === 'incomplete');
      const bare = injection.containers.filter((c) => !c.skipped && c.credentials === 'none');
      const webhookRan = injection.tokenVolume !== undefined || injection.hasPodIdentityVolume;
      const clauses = incomplete.map(
        (c) => `${describeContainer(c)} ${c.gaps.map((gap) => gap.reason).join('; ')}`,
      );
      if (bare.length > 0) {
        clauses.push(
          `${bare.map(describeContainer).join(', ')} ${bare.length === 1 ? 'has' : 'have'} no credential variables or token mount at all${webhookRan ? ` although the webhook ran (the pod has the ${injection.tokenVolume === undefined ? POD_IDENTITY_VOLUME : TOKEN_VOLUME} volume)` : ''}`,
        );
      }
      const neverRan = webhookRan ? '' : `; the pod has no ${volume} volume either, so the webhook never ran`;
      const needs = podIdentity
        ? `${ENV_POD_IDENTITY_URI} and ${ENV_POD_IDENTITY_TOKEN_FILE} to use Pod Identity`
        : `${ENV_ROLE_ARN} and ${ENV_TOKEN_FILE} (with the token mounted) to use web identity`;
      const handSet = incomplete.flatMap((c) => {
        const present = presentVariables(c);
        return present.length === 0 ? [] : [`${present.join(' and ')} from ${describeContainer(c)}`];
      });
      const correctly = podIdentity
        ? `${ENV_POD_IDENTITY_URI}=${POD_IDENTITY_CREDENTIALS_URI} and ${ENV_POD_IDENTITY_TOKEN_FILE}=${POD_IDENTITY_TOKEN_FILE}, with the ${POD_IDENTITY_VOLUME} volume mounted at ${POD_IDENTITY_TOKEN_DIRECTORY}`
        : `${ENV_ROLE_ARN}=${irsa?.annotation} and ${ENV_TOKEN_FILE}=${TOKEN_FILE}, with the ${TOKEN_VOLUME} volume mounted at ${TOKEN_DIRECTORY}`;
      const steps = [
        ...(handSet.length === 0
          ? []
          : [
              `remove ${handSet.join(', ')} in the pod's controller spec so that the webhook injects both variables itself (or set both correctly: ${correctly})`,
            ]),
        ...(webhookRan ? [] : [`make sure ${webhook} works (fix any IRSA-W finding first)`]),
      ];
      const recreateStep = `${steps.length === 0 ? '' : 'then '}re-create the pod: ${recreate}`;
      yield {
        resource,
        message: `Pod ${pod.namespace}/${pod.name} uses ServiceAccount ${pod.serviceAccountName} (${identityOf(audited)}) but no container has working credentials: ${clauses.join('; ')}${neverRan}. The AWS SDK needs both ${needs}, ${fallback.replace(/^so it /, 'so the pod ')}.${skipNote}`,
        evidence: {
          ...evidence,
          containerCredentials: Object.fromEntries(
            injection.containers
              .filter((c) => !c.skipped)
              .map((c) => [c.container.name, c.credentials] as const),
          ),
          missing: incomplete.flatMap((c) => c.gaps.map((gap) => `${c.container.name}: ${gap.missing}`)),
          setInPodSpec: incomplete.flatMap((c) =>
            c.gaps.flatMap((gap) =>
              gap.handSet === undefined ? [] : [`${c.container.name}: ${gap.handSet}`],
            ),
          ),
        },
        remediation: `${capitalized([...steps, recreateStep].join('; '))}${skipFix}.`,
      };
    }
  },
};
