import type { Check } from './check';
import { ROLE_ARN_ANNOTATION } from './eks-conventions';
import { annotateCommand } from './remediation';
import { serviceAccountResource } from './trust-diagnosis';

/** The webhook copies the annotation verbatim into AWS_ROLE_ARN; STS rejects anything but a role ARN. */
export const s01RoleArnAnnotation: Check = {
  id: 'IRSA-S01',
  title: 'The role-arn annotation is a valid IAM role ARN.',
  severity: 'high',
  remediation: 'Set the annotation to arn:aws:iam::<account>:role/<path><name>.',
  needs: ['serviceAccounts'],
  *run(context) {
    for (const entry of context.annotatedServiceAccounts) {
      if (entry.arn.ok) continue;
      const { namespace, name } = entry.serviceAccount;
      const fix =
        entry.arn.suggestion === undefined
          ? `Set ${ROLE_ARN_ANNOTATION} to the ARN of the role, e.g. \`${annotateCommand(namespace, name, `arn:${context.partition}:iam::<account-id>:role/<role-name>`)}\`, then re-create the pods.`
          : `Run \`${annotateCommand(namespace, name, entry.arn.suggestion)}\`, then re-create the pods.`;
      yield {
        resource: serviceAccountResource(entry),
        key: entry.annotation,
        message: `The ${ROLE_ARN_ANNOTATION} annotation of ${namespace}/${name} is not a valid IAM role ARN: ${entry.arn.problem}.`,
        evidence: {
          annotation: entry.annotation,
          problem: entry.arn.problem,
          ...(entry.arn.suggestion === undefined ? {} : { suggestion: entry.arn.suggestion }),
        },
        remediation: fix,
      };
    }
  },
};
