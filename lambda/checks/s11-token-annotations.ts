import type { Labels, ResourceType } from '../model/cluster-state';
import type { ResourceRef } from '../model/finding';
import type { Check, FindingDraft } from './check';
import { STS_REGIONAL_ENDPOINTS_ANNOTATION, TOKEN_EXPIRATION_ANNOTATION } from './eks-conventions';

const MIN_EXPIRATION = 600;
const MAX_EXPIRATION = 86_400;

/** The problem with the webhook's tuning annotations on one object, if any. */
function annotationProblems(annotations: Labels): { annotation: string; value: string; problem: string }[] {
  const problems: { annotation: string; value: string; problem: string }[] = [];
  const expiration = annotations[TOKEN_EXPIRATION_ANNOTATION];
  if (expiration !== undefined) {
    const seconds = /^\d+$/.test(expiration.trim()) ? Number(expiration.trim()) : Number.NaN;
    if (Number.isNaN(seconds)) {
      problems.push({
        annotation: TOKEN_EXPIRATION_ANNOTATION,
        value: expiration,
        problem: 'is not a whole number of seconds, so the webhook ignores it and uses 86400',
      });
    } else if (seconds < MIN_EXPIRATION) {
      problems.push({
        annotation: TOKEN_EXPIRATION_ANNOTATION,
        value: expiration,
        problem: `is under ${MIN_EXPIRATION}, so the webhook silently raises it to ${MIN_EXPIRATION}`,
      });
    } else if (seconds > MAX_EXPIRATION) {
      problems.push({
        annotation: TOKEN_EXPIRATION_ANNOTATION,
        value: expiration,
        problem: `is over ${MAX_EXPIRATION}, which the token projection does not honour`,
      });
    }
  }
  const regional = annotations[STS_REGIONAL_ENDPOINTS_ANNOTATION];
  if (regional !== undefined && regional !== 'true' && regional !== 'false') {
    problems.push({
      annotation: STS_REGIONAL_ENDPOINTS_ANNOTATION,
      value: regional,
      problem: 'is not "true" or "false", so the webhook ignores it',
    });
  }
  return problems;
}

function* draftsFor(resource: ResourceRef, annotations: Labels, kind: string): Iterable<FindingDraft> {
  for (const { annotation, value, problem } of annotationProblems(annotations)) {
    const fixed = annotation === TOKEN_EXPIRATION_ANNOTATION ? '86400' : 'true';
    yield {
      resource,
      key: annotation,
      message: `The ${annotation} annotation "${value}" of ${kind} ${resource.namespace}/${resource.name} ${problem}.`,
      evidence: { annotation, value },
      remediation: `Run \`kubectl annotate ${kind.toLowerCase()} -n ${resource.namespace} ${resource.name} ${annotation}=${fixed} --overwrite\` (token expiration must be an integer from ${MIN_EXPIRATION} to ${MAX_EXPIRATION}).`,
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
      yield* draftsFor({ kind: 'ServiceAccount', namespace, name }, annotations, 'ServiceAccount');
    }
    for (const pod of context.podsInScope) {
      yield* draftsFor({ kind: 'Pod', namespace: pod.namespace, name: pod.name }, pod.annotations, 'Pod');
    }
  },
};
