import type { Check } from './check';
import { addStatementRemediation } from './remediation';
import { admitting, diagnoseTrust, failingConditions, serviceAccountResource } from './trust-diagnosis';

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
      if (diagnosis === undefined || !diagnosis.problems.has('subject')) continue;
      const { role, providerArn, issuer } = diagnosis.verdict;
      // When some statement's :sub does admit the SA, another of its conditions refused it: show that one.
      const forSubject = admitting(diagnosis.candidates, 'sub');
      const failures =
        forSubject.length > 0
          ? failingConditions(diagnosis, 'any', forSubject)
          : failingConditions(diagnosis, 'sub');
      const first = failures[0];
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
          `Fix the :sub condition${first === undefined ? '' : ` of ${first.statement}`} so that it admits ${entry.subject}.`,
        ),
      };
    }
  },
};
