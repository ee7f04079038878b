// Names the broken link when a trust policy refuses a ServiceAccount, so S05–S09 each report one cause,
// and tells a refusal apart from a trust the audit cannot decide (IRSA-S04 reports that one).

import type { IamRole } from '../model/cluster-state';
import type { ConditionEvaluation, StatementEvaluation } from '../policy/trust-policy';
import type { AnnotatedServiceAccount, AuditContext, TrustVerdict } from './context';
import { DEFAULT_AUDIENCE, serviceAccountSubject } from './eks-conventions';

/**
 * `condition`: the statements written for the SA (their :sub and :aud admit it) are refused by a condition on
 * another key, absent from every web identity request. `unverified`: nothing definitely refuses the SA, but
 * the outcome hangs on conditions the audit cannot evaluate.
 */
export type TrustProblem =
  | 'provider'
  | 'action'
  | 'subject'
  | 'audience'
  | 'condition'
  | 'deny'
  | 'unverified';

/** A condition the audit could not decide, with the statement it sits in. */
export interface UndecidedCondition {
  readonly statement: string;
  readonly effect: 'Allow' | 'Deny';
  /** `DateLessThan aws:CurrentTime`: the operator and key as written. */
  readonly condition: string;
  readonly reason: string;
}

export interface TrustDiagnosis {
  readonly entry: AnnotatedServiceAccount;
  readonly verdict: Extract<TrustVerdict, { status: 'evaluated' }>;
  readonly problems: ReadonlySet<TrustProblem>;
  /** The Allow statements that federate this cluster's provider and allow the action. */
  readonly candidates: readonly StatementEvaluation[];
  /** The Deny statement that definitely applies, for `deny`. */
  readonly deny?: StatementEvaluation;
  /** For `unverified`: the conditions the outcome depends on. */
  readonly undecided: readonly UndecidedCondition[];
}

const claimOf = (condition: ConditionEvaluation) => condition.entry.key.toLowerCase().split(':').pop();

// STS fills global (`aws:`) and STS (`sts:`) keys such as aws:CurrentTime, aws:SourceIp or
// aws:FederatedProvider from the live request; the audit's request context holds only <issuer>:sub and
// <issuer>:aud, so a condition on one of them is undecided, not decided as if the key were absent.
const STS_REQUEST_KEY = /^(aws|sts):/i;

/** Whether the audit cannot decide a condition: an operator it does not know, or a key only STS can fill. */
export function isUndecidable(condition: ConditionEvaluation): boolean {
  if (condition.outcome === 'unknown-operator') return true;
  return condition.contextValues === undefined && STS_REQUEST_KEY.test(condition.entry.key);
}

/** A condition that definitely refuses the request (decidable and not satisfied). */
function refuses(condition: ConditionEvaluation): boolean {
  return condition.outcome === 'unsatisfied' && !isUndecidable(condition);
}

type Standing = 'applies' | 'refused' | 'undecided';

// A statement whose principal and action match applies, is refused by a condition, or hangs on undecidable ones.
function standingOf(evaluation: StatementEvaluation): Standing {
  if (evaluation.conditions.some(refuses)) return 'refused';
  return evaluation.conditions.some(isUndecidable) ? 'undecided' : 'applies';
}

// S04–S09 each ask for the same SA's diagnosis; an entry belongs to one AuditContext, so it is the cache key.
const diagnoses = new WeakMap<AnnotatedServiceAccount, TrustDiagnosis | undefined>();

/** Why the SA cannot (or may not) assume its role, or undefined when it can (or the trust was not evaluated). */
export function diagnoseTrust(
  context: AuditContext,
  entry: AnnotatedServiceAccount,
): TrustDiagnosis | undefined {
  if (diagnoses.has(entry)) return diagnoses.get(entry);
  const diagnosis = diagnose(context, entry);
  diagnoses.set(entry, diagnosis);
  return diagnosis;
}

function diagnose(context: AuditContext, entry: AnnotatedServiceAccount): TrustDiagnosis | undefined {
  const verdict = context.trustOf(entry);
  if (verdict.status !== 'evaluated') return undefined;
  const { statements } = verdict.decision;
  const matching = (effect: 'Allow' | 'Deny') =>
    statements.filter((s) => s.statement.effect === effect && s.principalMatches && s.actionMatches);
  const federating = statements.filter((s) => s.statement.effect === 'Allow' && s.principalMatches);
  const candidates = matching('Allow');
  const denies = matching('Deny');
  const diagnosis = (problem: TrustProblem, extra: Partial<TrustDiagnosis> = {}): TrustDiagnosis => ({
    entry,
    verdict,
    problems: new Set([problem]),
    candidates,
    undecided: [],
    ...extra,
  });

  const deny = denies.find((evaluation) => standingOf(evaluation) === 'applies');
  if (deny !== undefined) return diagnosis('deny', { deny });
  const allows = candidates.some((evaluation) => standingOf(evaluation) === 'applies');
  const undecidedAllows = candidates.filter((evaluation) => standingOf(evaluation) === 'undecided');
  const undecidedDenies = denies.filter((evaluation) => standingOf(evaluation) === 'undecided');
  if (allows && undecidedDenies.length === 0) return undefined;
  if (allows || undecidedAllows.length > 0) {
    // Unknown operators are reported, not guessed (SPEC §5): name what the outcome hangs on.
    const undecided = [...(allows ? [] : undecidedAllows), ...undecidedDenies].flatMap(undecidedConditions);
    return diagnosis('unverified', { undecided });
  }

  if (federating.length === 0) return diagnosis('provider');
  if (candidates.length === 0) return diagnosis('action');
  // Every candidate is definitely refused: name the claim whose condition refuses it.
  const problems = new Set<TrustProblem>();
  const forSubject = admitting(candidates, 'sub');
  const forAudience = admitting(candidates, 'aud');
  if (forSubject.length === 0) problems.add('subject');
  if (forAudience.length === 0) problems.add('audience');
  if (problems.size === 0) {
    // Both claims are admitted, but never by the same statement, or another condition refuses. A statement
    // whose :sub admits the SA was written for it: when only its :aud refuses there, the audience is the fix.
    const onlyRefusedOn = (evaluation: StatementEvaluation, claim: 'sub' | 'aud') =>
      evaluation.conditions.filter(refuses).every((condition) => claimOf(condition) === claim);
    if (forSubject.some((evaluation) => onlyRefusedOn(evaluation, 'aud'))) problems.add('audience');
    else if (forAudience.some((evaluation) => onlyRefusedOn(evaluation, 'sub'))) problems.add('subject');
    else problems.add('condition');
  }
  return { entry, verdict, problems, candidates, undecided: [] };
}

function undecidedConditions(evaluation: StatementEvaluation): readonly UndecidedCondition[] {
  return evaluation.conditions.filter(isUndecidable).map((condition) => ({
    statement: statementLabel(evaluation),
    effect: evaluation.statement.effect,
    condition: `${condition.entry.operator} ${condition.entry.key}`,
    reason:
      condition.outcome === 'unknown-operator'
        ? `"${condition.entry.operator}" is not a condition operator the auditor evaluates`
        : `STS sets ${condition.entry.key} from the live request, which the audit cannot see`,
  }));
}

/** The statements among `evaluations` whose conditions on one claim (`sub`, `aud`) do not refuse the SA. */
export function admitting(
  evaluations: readonly StatementEvaluation[],
  claim: 'sub' | 'aud',
): readonly StatementEvaluation[] {
  return evaluations.filter((evaluation) =>
    evaluation.conditions.every((condition) => claimOf(condition) !== claim || !refuses(condition)),
  );
}

/** The conditions that refused the request, in the statements that otherwise matched (or in `among` of them). */
export function failingConditions(
  diagnosis: TrustDiagnosis,
  claim: 'sub' | 'aud' | 'other',
  among: readonly StatementEvaluation[] = diagnosis.candidates,
): readonly { statement: string; reason: string }[] {
  return among.flatMap((evaluation) =>
    evaluation.conditions
      .filter(refuses)
      .filter((condition) =>
        claim === 'other'
          ? claimOf(condition) !== 'sub' && claimOf(condition) !== 'aud'
          : claimOf(condition) === claim,
      )
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

// Whether a statement's principal and action match does not depend on the subject: any SA name will do.
const ANY_SUBJECT = serviceAccountSubject('irsa-auditor-any-namespace', 'irsa-auditor-any-serviceaccount');

/** How a role that trusts the issuer federates it, judged without a ServiceAccount (S05, S06 when Kubernetes is unreadable). */
export interface RoleFederation {
  readonly verdict: Extract<TrustVerdict, { status: 'evaluated' }>;
  /** The Allow statements whose principal is this cluster's provider in the role's account. */
  readonly federating: readonly StatementEvaluation[];
  /** Those of them that also allow sts:AssumeRoleWithWebIdentity. */
  readonly allowing: readonly StatementEvaluation[];
}

export function federationOf(context: AuditContext, role: IamRole): RoleFederation | undefined {
  if (!context.isReadableAccount(role.accountId)) return undefined;
  const verdict = context.trustOfRole(role, ANY_SUBJECT, DEFAULT_AUDIENCE);
  if (verdict.status !== 'evaluated') return undefined;
  const federating = verdict.decision.statements.filter(
    (evaluation) => evaluation.statement.effect === 'Allow' && evaluation.principalMatches,
  );
  return { verdict, federating, allowing: federating.filter((evaluation) => evaluation.actionMatches) };
}

/** A role as a finding resource. */
export function roleResource(role: IamRole) {
  return { kind: 'Role', name: role.arn } as const;
}
