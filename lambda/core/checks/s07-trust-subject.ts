import { addStatementRemediation } from '../analysis/remediation';
import {
  admitting,
  diagnoseTrust,
  failingConditions,
  serviceAccountResource,
} from '../analysis/trust-diagnosis';
import type { Check } from './check';

/** The `:sub` condition is what ties a role to one ServiceAccount; a typo there locks the SA out. */
export const s07TrustSubject: Check = {
  id: 'IRSA-S07',
  title: "The trust policy's :sub conditions admit the ServiceAccount.",
  severity: 'high',
  remediation:
    "Make the :sub condition equal system:serviceaccount:<namespace>:<name>, keyed on this cluster's issuer.",
  needs: ['cluster', 'serviceAccounts', 'roles'],
  *run(context) {
    for (const entry of context.annotatedServiceAccounts) {
      const diagnosis = diagnoseTrust(context, entry);
      if (diagnosis === undefined) continue;
      const { problems } = diagnosis;
      // `condition`: the statements whose :sub and :aud admit the SA are refused by a condition on another key.
      const otherCondition = !problems.has('subject') && problems.has('condition');
      if (!problems.has('subject') && !otherCondition) continue;
      const { role, providerArn, issuer } = diagnosis.verdict;
      const forAudience = admitting(diagnosis.candidates, 'aud');
      const failures = otherCondition
        ? failingConditions(diagnosis, 'other', admitting(forAudience, 'sub'))
        : // The statements whose :aud admits the SA first: their :sub is the one to fix.
          [
            ...failingConditions(diagnosis, 'sub', forAudience),
            ...failingConditions(
              diagnosis,
              'sub',
              diagnosis.candidates.filter((evaluation) => !forAudience.includes(evaluation)),
            ),
          ];
      const first = failures[0];
      const targetedFix = otherCondition
        ? `Remove or correct the condition${first === undefined ? '' : ` of ${first.statement}`} that refuses ${entry.subject}.`
        : `Fix the :sub condition${first === undefined ? '' : ` of ${first.statement}`} so that it admits ${entry.subject}.`;
      yield {
        resource: serviceAccountResource(entry),
        key: role.arn,
        message:
          `Role ${role.name} does not admit ${entry.subject}: ${first === undefined ? diagnosis.verdict.decision.explanation : `${first.statement}: ${first.reason}`}`.replace(
            /\.?$/,
            '.',
          ),
        evidence: {
          roleArn: role.arn,
          subject: entry.subject,
          issuer,
          failedConditions: failures.map((failure) => `${failure.statement}: ${failure.reason}`),
          explanation: diagnosis.verdict.decision.explanation,
          ...(diagnosis.verdict.decision.unknownOperators.length > 0
            ? { unknownOperators: [...diagnosis.verdict.decision.unknownOperators] }
            : {}),
        },
        remediation: addStatementRemediation(
          role.name,
          providerArn,
          issuer,
          entry.subject,
          entry.audience,
          targetedFix,
        ),
      };
    }
  },
};
