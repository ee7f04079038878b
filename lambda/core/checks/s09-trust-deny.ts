import { diagnoseTrust, serviceAccountResource, statementLabel } from '../analysis/trust-diagnosis';
import type { Check } from './check';

/** An explicit Deny beats every Allow, however precise. */
export const s09TrustDeny: Check = {
  id: 'IRSA-S09',
  title: "No Deny statement blocks the ServiceAccount's web identity assumption.",
  severity: 'high',
  remediation: 'Narrow or remove the Deny statement that matches this ServiceAccount.',
  needs: ['cluster', 'serviceAccounts', 'roles'],
  *run(context) {
    for (const entry of context.annotatedServiceAccounts) {
      const diagnosis = diagnoseTrust(context, entry);
      if (diagnosis === undefined || !diagnosis.problems.has('deny')) continue;
      const { role, decision } = diagnosis.verdict;
      const { deny } = diagnosis;
      const label = deny === undefined ? 'a Deny statement' : statementLabel(deny);
      const matched = deny?.conditions.map((condition) => condition.reason) ?? [];
      const because = matched.length === 0 ? 'with no condition' : `because ${matched.join('; ')}`;
      yield {
        resource: serviceAccountResource(entry),
        key: role.arn,
        message: `${label} of role ${role.name}'s trust policy explicitly denies ${entry.subject} ${because}, which overrides any Allow.`,
        evidence: {
          roleArn: role.arn,
          subject: entry.subject,
          denyStatement: label,
          explanation: decision.explanation,
        },
        remediation: `Edit ${label} in the trust policy of ${role.name} so that its conditions no longer match ${entry.subject} (\`aws iam update-assume-role-policy --role-name ${role.name} --policy-document file://trust.json\`).`,
      };
    }
  },
};
