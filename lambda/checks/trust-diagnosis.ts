// Names the broken link when a trust policy refuses a ServiceAccount, so S05–S09 each report one cause.

import type { ConditionEvaluation, StatementEvaluation } from '../policy/trust-policy';
import type { AnnotatedServiceAccount, AuditContext, TrustVerdict } from './context';

export type TrustProblem = 'provider' | 'action' | 'subject' | 'audience' | 'deny';

export interface TrustDiagnosis {
  readonly entry: AnnotatedServiceAccount;
  readonly verdict: Extract<TrustVerdict, { status: 'evaluated' }>;
  readonly problems: ReadonlySet<TrustProblem>;
  /** The Allow statements that federate this cluster's provider and allow the action. */
  readonly candidates: readonly StatementEvaluation[];
}

const claimOf = (condition: ConditionEvaluation) => condition.entry.key.toLowerCase().split(':').pop();

/** Why the SA cannot assume its role, or undefined when it can (or when the trust was not evaluated). */
export function diagnoseTrust(
  context: AuditContext,
  entry: AnnotatedServiceAccount,
): TrustDiagnosis | undefined {
  const verdict = context.trustOf(entry);
  if (verdict.status !== 'evaluated') return undefined;
  const { decision } = verdict;
  const problems = new Set<TrustProblem>();
  const allows = decision.statements.filter((evaluation) => evaluation.statement.effect === 'Allow');
  const federating = allows.filter((evaluation) => evaluation.principalMatches);
  const candidates = federating.filter((evaluation) => evaluation.actionMatches);
  if (decision.decision === 'explicit-deny') problems.add('deny');
  if (decision.decision === 'implicit-deny') {
    if (federating.length === 0) problems.add('provider');
    else if (candidates.length === 0) problems.add('action');
    else {
      const forSubject = admitting(candidates, 'sub');
      if (forSubject.length === 0) problems.add('subject');
      if (admitting(candidates, 'aud').length === 0) problems.add('audience');
      // Both claims are admitted, but never by the same statement, or another condition fails. A statement
      // whose :sub admits the SA was written for it: when only its :aud fails there, the audience is the fix.
      if (problems.size === 0) {
        const onlyAudienceFails = forSubject.some((evaluation) =>
          evaluation.conditions.every((condition) => isSatisfied(condition) || claimOf(condition) === 'aud'),
        );
        problems.add(onlyAudienceFails ? 'audience' : 'subject');
      }
    }
  }
  return problems.size === 0 ? undefined : { entry, verdict, problems, candidates };
}

/** The statements among `evaluations` whose conditions on one claim (`sub`, `aud`) all hold. */
export function admitting(
  evaluations: readonly StatementEvaluation[],
  claim: 'sub' | 'aud',
): readonly StatementEvaluation[] {
  return evaluations.filter((evaluation) =>
    evaluation.conditions.every((condition) => claimOf(condition) !== claim || isSatisfied(condition)),
  );
}

function isSatisfied(condition: ConditionEvaluation): boolean {
  return condition.outcome === 'satisfied';
}

/** The conditions that refused the request, in the statements that otherwise matched (or in `among` of them). */
export function failingConditions(
  diagnosis: TrustDiagnosis,
  claim: 'sub' | 'aud' | 'any',
  among: readonly StatementEvaluation[] = diagnosis.candidates,
): readonly { statement: string; reason: string }[] {
  return among.flatMap((evaluation) =>
    evaluation.conditions
      .filter((condition) => !isSatisfied(condition))
      .filter((condition) => claim === 'any' || claimOf(condition) === claim)
      .map((condition) => ({ statement: statementLabel(evaluation), reason: condition.reason })),
  );
}

/** `Statement[1] ("AllowOrders")`: how a person finds the statement in the document. */
export function statementLabel(evaluation: StatementEvaluation): string {
  const { index, sid } = evaluation.statement;
  return sid === undefined || sid === '' ? `Statement[${index}]` : `Statement[${index}] ("${sid}")`;
}

/** The SA as a finding resource. */
export function serviceAccountResource(entry: AnnotatedServiceAccount) {
  return {
    kind: 'ServiceAccount',
    namespace: entry.serviceAccount.namespace,
    name: entry.serviceAccount.name,
  } as const;
}
