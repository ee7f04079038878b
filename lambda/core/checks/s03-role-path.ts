import { annotateCommand } from '../analysis/remediation';
import { serviceAccountResource } from '../analysis/trust-diagnosis';
import type { Check } from './check';

/** An ARN with the wrong path names a role that does not exist; the right one differs only in path. */
export const s03RolePath: Check = {
  id: 'IRSA-S03',
  title: "The annotation's role ARN has the role's real path.",
  severity: 'medium',
  remediation: 'Use the role ARN exactly as IAM reports it, path included.',
  needs: ['serviceAccounts', 'roles'],
  *run(context) {
    for (const entry of context.annotatedServiceAccounts) {
      if (!entry.arn.ok) continue;
      const resolution = context.resolveRole(entry.arn.value);
      if (resolution.status !== 'path-mismatch') continue;
      const { namespace, name } = entry.serviceAccount;
      yield {
        resource: serviceAccountResource(entry),
        key: entry.arn.value.arn,
        message: `ServiceAccount ${namespace}/${name} names role ${entry.arn.value.arn}, but the role ${entry.arn.value.name} has path ${resolution.role.path}: ${resolution.role.arn}.`,
        evidence: {
          annotation: entry.arn.value.arn,
          annotationPath: entry.arn.value.path,
          roleArn: resolution.role.arn,
          rolePath: resolution.role.path,
        },
        remediation: `Run \`${annotateCommand(namespace, name, resolution.role.arn)}\`, then re-create the pods.`,
      };
    }
  },
};
