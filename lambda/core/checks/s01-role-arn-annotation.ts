import type { AnnotatedServiceAccount, AuditContext } from '../analysis/context';
import { ROLE_ARN_ANNOTATION } from '../analysis/eks-conventions';
import { annotateCommand } from '../analysis/remediation';
import { serviceAccountResource } from '../analysis/trust-diagnosis';
import { parseRoleArn } from '../policy/arn';
import type { Check } from './check';

// STS names a session `arn:<partition>:sts::<account>:assumed-role/<role name>/<session>`: no path, no `role/`.
const ASSUMED_ROLE = /^arn:([\w-]+):sts::(\d{12}):assumed-role\/([^/]+)\/[^/]+$/;
const WITH_REGION = /^arn:([\w-]+):iam:[a-z0-9-]+:(\d{12}):(role\/.+)$/;

/** The webhook copies the annotation verbatim into AWS_ROLE_ARN; STS rejects anything but a role ARN. */
export const s01RoleArnAnnotation: Check = {
  id: 'IRSA-S01',
  title: 'The role-arn annotation is a valid IAM role ARN.',
  severity: 'high',
  remediation: 'Set the annotation to arn:aws:iam::<account>:role/<path><name>.',
  needs: ['serviceAccounts'],
  *run(context) {
    for (const { namespace, name, annotations } of context.state.serviceAccounts) {
      if (annotations[ROLE_ARN_ANNOTATION] !== '' || !context.inScope(namespace)) continue;
      yield {
        resource: { kind: 'ServiceAccount', namespace, name },
        key: '',
        severity: 'info',
        message: `The ${ROLE_ARN_ANNOTATION} annotation of ${namespace}/${name} is empty, so the webhook ignores it and the pods get no IRSA credentials.`,
        evidence: { annotation: '' },
        remediation: `If the ServiceAccount should use IRSA, run \`${annotateCommand(namespace, name, `arn:${context.partition}:iam::<account-id>:role/<role-name>`)}\`; otherwise remove the annotation (\`kubectl annotate serviceaccount -n ${namespace} ${name} ${ROLE_ARN_ANNOTATION}-\`).`,
      };
    }
    for (const entry of context.annotatedServiceAccounts) {
      if (entry.arn.ok) continue;
      const { namespace, name } = entry.serviceAccount;
      const problem = ASSUMED_ROLE.test(entry.annotation)
        ? 'it is the ARN of an STS session (assumed-role), not of the IAM role'
        : entry.arn.problem;
      const suggestion = entry.arn.suggestion ?? repairedArn(context, entry);
      const fix =
        suggestion === undefined
          ? `Set ${ROLE_ARN_ANNOTATION} to the ARN of the role, e.g. \`${annotateCommand(namespace, name, `arn:${context.partition}:iam::<account-id>:role/<role-name>`)}\`, then re-create the pods.`
          : `Run \`${annotateCommand(namespace, name, suggestion)}\`, then re-create the pods.`;
      yield {
        resource: serviceAccountResource(entry),
        key: entry.annotation,
        message: `The ${ROLE_ARN_ANNOTATION} annotation of ${namespace}/${name} is not a valid IAM role ARN: ${problem}.`,
        evidence: {
          annotation: entry.annotation,
          problem,
          ...(suggestion === undefined ? {} : { suggestion }),
        },
        remediation: fix,
      };
    }
  },
};

// The role ARN the annotation evidently meant, when it can be told without guessing: the role of an
// assumed-role ARN, an ARN with a region dropped, or a bare role name that IAM knows in the cluster's account.
function repairedArn(context: AuditContext, entry: AnnotatedServiceAccount): string | undefined {
  const { annotation } = entry;
  const assumed = ASSUMED_ROLE.exec(annotation);
  const regional = WITH_REGION.exec(annotation);
  const accountId = context.state.cluster.accountId;
  let candidate: string | undefined;
  if (assumed !== null) candidate = `arn:${assumed[1]}:iam::${assumed[2]}:role/${assumed[3]}`;
  else if (regional !== null) candidate = `arn:${regional[1]}:iam::${regional[2]}:${regional[3]}`;
  else if (!annotation.includes(':') && accountId !== undefined) {
    candidate = `arn:${context.partition}:iam::${accountId}:role/${annotation}`;
  }
  if (candidate === undefined) return undefined;
  const parsed = parseRoleArn(candidate);
  if (!parsed.ok) return undefined;
  const resolution = context.resolveRole(parsed.value);
  if (resolution.status === 'found' || resolution.status === 'path-mismatch') return resolution.role.arn;
  // A bare name is only a guess unless IAM has that role; the other two repairs are mechanical.
  return assumed === null && regional === null ? undefined : parsed.value.arn;
}
