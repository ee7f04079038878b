import { addStatementRemediation } from '../analysis/remediation';
import {
  admitting,
  diagnoseTrust,
  failingConditions,
  serviceAccountResource,
} from '../analysis/trust-diagnosis';
import type { Check } from './check';

/** The token's `aud` claim must satisfy the trust policy too; the default audience is sts.amazonaws.com. */
export const s08TrustAudience: Check = {
  id: 'IRSA-S08',
  title: "The trust policy's :aud conditions admit the ServiceAccount's audience.",
  severity: 'high',
  remediation: 'Make the :aud condition equal the audience of the token (sts.amazonaws.com by default).',
  needs: ['cluster', 'serviceAccounts', 'roles'],
  *run(context) {
    for (const entry of context.annotatedServiceAccounts) {
      const diagnosis = diagnoseTrust(context, entry);
      if (diagnosis === undefined || !diagnosis.problems.has('audience')) continue;
      const { role, providerArn, issuer } = diagnosis.verdict;
      // Cite the statements written for this SA (their :sub admits it) before those of other SAs.
      const forSubject = admitting(diagnosis.candidates, 'sub');
      const failures = failingConditions(
        diagnosis,
        'aud',
        forSubject.length > 0 ? forSubject : diagnosis.candidates,
      );
      const first = failures[0];
      yield {
        resource: serviceAccountResource(entry),
        key: role.arn,
        message:
          `Role ${role.name} does not admit audience "${entry.audience}" for ${entry.subject}${first === undefined ? '' : `: ${first.statement}: ${first.reason}`}`.replace(
            /\.?$/,
            '.',
          ),
        evidence: {
          roleArn: role.arn,
          audience: entry.audience,
          failedConditions: failures.map((failure) => `${failure.statement}: ${failure.reason}`),
        },
        remediation: `${first === undefined ? '' : `Set "${issuer}:aud" to "${entry.audience}" in ${first.statement} of role ${role.name}, or give ${entry.subject} a statement of its own. `}${addStatementRemediation(role.name, providerArn, issuer, entry.subject, entry.audience)}`,
      };
    }
  },
};
