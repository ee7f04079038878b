import { STS_REGIONAL_ENDPOINTS_ANNOTATION, TOKEN_EXPIRATION_ANNOTATION } from '../analysis/eks-conventions';
import { howToRecreatePod, podController } from '../analysis/remediation';
import type { Labels, Pod, ResourceType } from '../model/cluster-state';
import type { Check, FindingDraft } from './check';

const MIN_EXPIRATION = 600;
const MAX_EXPIRATION = 86_400;
// The webhook parses these with Go's strconv.ParseInt(s, 10, 64) and strconv.ParseBool: no trimming,
// a leading sign is allowed, and ParseBool takes 1/t/T/TRUE/true/True and 0/f/F/FALSE/false/False.
const GO_INTEGER = /^[+-]?\d+$/;
const GO_BOOLEANS: ReadonlySet<string> = new Set([
  '1',
  't',
  'T',
  'TRUE',
  'true',
  'True',
  '0',
  'f',
  'F',
  'FALSE',
  'false',
  'False',
]);

const EXPIRATION_RANGE = `an integer from ${MIN_EXPIRATION} to ${MAX_EXPIRATION}`;

interface AnnotationProblem {
  readonly annotation: string;
  readonly value: string;
  readonly problem: string;
  /** The closest value the webhook would honour. */
  readonly fixed: string;
  /** The values the webhook honours, for the remediation. */
  readonly allowed: string;
}

/** What goes wrong with the webhook's tuning annotations on one ServiceAccount or pod, if anything. */
function annotationProblems(annotations: Labels, on: 'ServiceAccount' | 'Pod'): AnnotationProblem[] {
  const problems: AnnotationProblem[] = [];
  const expiration = annotations[TOKEN_EXPIRATION_ANNOTATION];
  if (expiration !== undefined) {
    const fallback =
      on === 'Pod'
        ? "the ServiceAccount's expiration (86400 seconds unless the ServiceAccount sets one)"
        : 'its default of 86400 seconds';
    const seconds = GO_INTEGER.test(expiration) ? Number(expiration) : Number.NaN;
    const problem = (text: string, fixed: string) =>
      problems.push({
        annotation: TOKEN_EXPIRATION_ANNOTATION,
        value: expiration,
        problem: text,
        fixed,
        allowed: EXPIRATION_RANGE,
      });
    if (Number.isNaN(seconds)) {
      problem(`is not an integer number of seconds, so the webhook ignores it and uses ${fallback}`, '86400');
    } else if (seconds < MIN_EXPIRATION) {
      problem(
        `is under ${MIN_EXPIRATION} seconds, so the webhook silently raises it to ${MIN_EXPIRATION}`,
        '600',
      );
    } else if (seconds > MAX_EXPIRATION) {
      problem(
        `is over ${MAX_EXPIRATION} seconds (24 hours), the longest token EKS issues, so it is not honoured`,
        '86400',
      );
    }
  }
  const regional = annotations[STS_REGIONAL_ENDPOINTS_ANNOTATION];
  if (regional !== undefined && !GO_BOOLEANS.has(regional)) {
    problems.push({
      annotation: STS_REGIONAL_ENDPOINTS_ANNOTATION,
      value: regional,
      problem:
        on === 'Pod'
          ? 'is not "true" or "false" (and the webhook reads this annotation only from the ServiceAccount)'
          : 'is not "true" or "false", so the webhook ignores it and keeps its cluster-wide default',
      fixed: 'true',
      allowed: '"true" or "false"',
    });
  }
  return problems;
}

/** Where a pod's annotations are written: the pod template of its controller, or the pod's own manifest. */
function podTemplateOf(pod: Pod): string {
  const controller = podController(pod);
  if (controller === undefined) return `the manifest of pod ${pod.name}`;
  switch (controller.kind) {
    case 'CronJob':
      return `the jobTemplate of cronjob ${controller.name}`;
    case 'ReplicaSet':
      // A ReplicaSet that no Deployment owns is usually managed by something else (an Argo Rollout).
      return `the pod template of whatever manages replicaset ${controller.name}`;
    default:
      return `the pod template of ${controller.kind.toLowerCase()} ${controller.name}`;
  }
}

function* serviceAccountDrafts(namespace: string, name: string, annotations: Labels): Iterable<FindingDraft> {
  for (const { annotation, value, problem, fixed, allowed } of annotationProblems(
    annotations,
    'ServiceAccount',
  )) {
    yield {
      resource: { kind: 'ServiceAccount', namespace, name },
      key: annotation,
      message: `The ${annotation} annotation "${value}" of ServiceAccount ${namespace}/${name} ${problem}.`,
      evidence: { annotation, value, suggested: fixed },
      remediation: `Run \`kubectl annotate serviceaccount -n ${namespace} ${name} ${annotation}=${fixed} --overwrite\` (${allowed}), then re-create its pods: the webhook reads it only when a pod is created.`,
    };
  }
}

function* podDrafts(pod: Pod): Iterable<FindingDraft> {
  const problems = annotationProblems(pod.annotations, 'Pod');
  if (problems.length === 0) return;
  const template = podTemplateOf(pod);
  for (const { annotation, value, problem, fixed, allowed } of problems) {
    const remediation =
      annotation === STS_REGIONAL_ENDPOINTS_ANNOTATION
        ? `Remove ${annotation} from ${template} and set it on the ServiceAccount instead: \`kubectl annotate serviceaccount -n ${pod.namespace} ${pod.serviceAccountName} ${annotation}=${fixed} --overwrite\`, then re-create the pod: ${howToRecreatePod(pod)}.`
        : `Set ${annotation}: "${fixed}" in ${template} (${allowed}); the webhook reads it only when the pod is created, so re-create the pod to give it the new value: ${howToRecreatePod(pod)}.`;
    yield {
      resource: { kind: 'Pod', namespace: pod.namespace, name: pod.name },
      key: annotation,
      message: `The ${annotation} annotation "${value}" of pod ${pod.namespace}/${pod.name} ${problem}.`,
      evidence: { annotation, value, suggested: fixed },
      remediation,
    };
  }
}

/** The webhook reads these annotations as tuning knobs and silently ignores or clamps bad values. */
export const s11TokenAnnotations: Check = {
  id: 'IRSA-S11',
  title: 'The token-expiration and sts-regional-endpoints annotations have valid values.',
  severity: 'medium',
  remediation:
    'Use an integer from 600 to 86400 for token-expiration and "true" or "false" for sts-regional-endpoints.',
  needs: ['serviceAccounts', 'pods'] satisfies ResourceType[],
  *run(context) {
    for (const entry of context.annotatedServiceAccounts) {
      const { namespace, name, annotations } = entry.serviceAccount;
      yield* serviceAccountDrafts(namespace, name, annotations);
    }
    for (const { pod } of context.auditedPods) {
      // Most pods set neither annotation; skip them before creating a generator per pod.
      const { annotations } = pod;
      if (
        annotations[TOKEN_EXPIRATION_ANNOTATION] === undefined &&
        annotations[STS_REGIONAL_ENDPOINTS_ANNOTATION] === undefined
      )
        continue;
      yield* podDrafts(pod);
    }
  },
};
