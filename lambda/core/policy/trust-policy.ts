import { ACCOUNT_ID } from '../model/aws-identifiers';
import { normalizeIssuer } from './issuer';
import type { ConditionEntry, PrincipalSpec, TrustPolicy, TrustStatement } from './trust-policy-document';

const ASSUME_ROLE_WITH_WEB_IDENTITY = 'sts:AssumeRoleWithWebIdentity';

/** A request to assume the role, reduced to what a trust policy can look at. */
export interface TrustRequest {
  /** The principal type as written in policies: `Federated`, `Service` or `AWS`. */
  readonly principalType: string;
  /** The principal's identifier, e.g. an OIDC provider ARN or `pods.eks.amazonaws.com`. */
  readonly principal: string;
  /** The STS action, e.g. `sts:AssumeRoleWithWebIdentity`. */
  readonly action: string;
  /** request context: keys in lower case; a key absent from the map is absent from the request */
  readonly context: ReadonlyMap<string, readonly string[]>;
}

/** What a pod presents to STS under IRSA: its cluster's provider, and the token's issuer, subject and audience. */
export interface WebIdentityRequestInput {
  readonly providerArn: string;
  /** The issuer as host/path, without `https://` (a leading `https://` and trailing `/` are tolerated). */
  readonly issuer: string;
  readonly subject: string;
  readonly audience: string;
}

/** How one condition entry came out; `unknown-operator` is never guessed either way. */
export type ConditionOutcome = 'satisfied' | 'unsatisfied' | 'unknown-operator';

/** One condition entry, decided against the request, with a sentence a person can read. */
export interface ConditionEvaluation {
  readonly entry: ConditionEntry;
  readonly outcome: ConditionOutcome;
  /** the request's values for the key; undefined when the key is absent from the request */
  readonly contextValues: readonly string[] | undefined;
  /** One sentence naming the operator, the key, the values compared and why the outcome followed. */
  readonly reason: string;
}

/** One statement, decided against the request, part by part. */
export interface StatementEvaluation {
  readonly statement: TrustStatement;
  readonly principalMatches: boolean;
  readonly actionMatches: boolean;
  readonly conditions: readonly ConditionEvaluation[];
  readonly conditionsSatisfied: boolean;
  /** True when principal, action and every condition match. */
  readonly applies: boolean;
}

/** The decision for a whole trust policy, with enough evidence for a finding to explain itself. */
export interface TrustDecision {
  readonly allowed: boolean;
  readonly decision: 'allowed' | 'explicit-deny' | 'implicit-deny';
  /** the Deny statement that matched, or the first Allow that matched */
  readonly decidingStatement?: StatementEvaluation;
  readonly statements: readonly StatementEvaluation[];
  /** operators not understood, as written (reported in evidence, never guessed) */
  readonly unknownOperators: readonly string[];
  /** one sentence: which statement (index and Sid) and which condition decided */
  readonly explanation: string;
}

/** Builds the request STS evaluates when a pod calls AssumeRoleWithWebIdentity with its projected token. */
export function webIdentityRequest(input: WebIdentityRequestInput): TrustRequest {
  const issuer = normalizeIssuer(input.issuer);
  return {
    principalType: 'Federated',
    principal: input.providerArn,
    action: ASSUME_ROLE_WITH_WEB_IDENTITY,
    context: new Map([
      [`${issuer}:sub`.toLowerCase(), [input.subject]],
      [`${issuer}:aud`.toLowerCase(), [input.audience]],
    ]),
  };
}

/** Decides a trust policy as IAM does: an applicable Deny wins, else some Allow must apply. */
export function evaluateTrust(policy: TrustPolicy, request: TrustRequest): TrustDecision {
  const context = lowerCaseKeys(request.context);
  const statements = policy.statements.map((statement) => evaluateStatement(statement, request, context));
  const unknownOperators = [
    ...new Set(
      statements.flatMap((evaluation) =>
        evaluation.conditions
          .filter((condition) => condition.outcome === 'unknown-operator')
          .map((condition) => condition.entry.operator),
      ),
    ),
  ];
  const deny = statements.find((evaluation) => evaluation.statement.effect === 'Deny' && evaluation.applies);
  if (deny !== undefined) {
    return {
      allowed: false,
      decision: 'explicit-deny',
      decidingStatement: deny,
      statements,
      unknownOperators,
      explanation: explainApplying(deny, request, 'explicitly denies', ''),
    };
  }
  const allow = statements.find(
    (evaluation) => evaluation.statement.effect === 'Allow' && evaluation.applies,
  );
  if (allow !== undefined) {
    return {
      allowed: true,
      decision: 'allowed',
      decidingStatement: allow,
      statements,
      unknownOperators,
      explanation: explainApplying(allow, request, 'allows', unappliedDenyNote(statements)),
    };
  }
  return {
    allowed: false,
    decision: 'implicit-deny',
    statements,
    unknownOperators,
    explanation: explainImplicitDeny(statements, request),
  };
}

/** Decides whether a pod's web-identity token can assume the role under this trust policy. */
export function evaluateWebIdentityTrust(policy: TrustPolicy, input: WebIdentityRequestInput): TrustDecision {
  return evaluateTrust(policy, webIdentityRequest(input));
}

/** Matches an IAM action pattern; IAM compares actions case-insensitively and honours `*` and `?`. */
export function actionMatches(pattern: string, action: string): boolean {
  return globMatches(pattern, action, true);
}

/** Matches an IAM glob: `*` is any run of characters (even none), `?` exactly one; nothing else is special. */
export function globMatches(pattern: string, value: string, ignoreCase: boolean): boolean {
  const p = [...(ignoreCase ? pattern.toLowerCase() : pattern)];
  const v = [...(ignoreCase ? value.toLowerCase() : value)];
  let pi = 0;
  let vi = 0;
  let star = -1;
  let resume = 0;
  // Greedy scan with backtracking to the last `*`: linear for typical patterns, no regex to blow up.
  while (vi < v.length) {
    const pc = p[pi];
    if (pc === '*') {
      star = pi;
      pi += 1;
      resume = vi;
    } else if (pc !== undefined && (pc === '?' || pc === v[vi])) {
      pi += 1;
      vi += 1;
    } else if (star !== -1) {
      pi = star + 1;
      resume += 1;
      vi = resume;
    } else {
      return false;
    }
  }
  while (p[pi] === '*') {
    pi += 1;
  }
  return pi === p.length;
}

function lowerCaseKeys(
  context: ReadonlyMap<string, readonly string[]>,
): ReadonlyMap<string, readonly string[]> {
  const lowered = new Map<string, readonly string[]>();
  for (const [key, values] of context) {
    const lower = key.toLowerCase();
    lowered.set(lower, [...(lowered.get(lower) ?? []), ...values]);
  }
  return lowered;
}

function evaluateStatement(
  statement: TrustStatement,
  request: TrustRequest,
  context: ReadonlyMap<string, readonly string[]>,
): StatementEvaluation {
  const principalMatches = statementPrincipalMatches(statement, request);
  const actionMatched = statementActionMatches(statement, request.action);
  const conditions = statement.conditions.map((entry) =>
    evaluateCondition(entry, context, request.principal),
  );
  const conditionsSatisfied = conditions.every((condition) => condition.outcome === 'satisfied');
  return {
    statement,
    principalMatches,
    actionMatches: actionMatched,
    conditions,
    conditionsSatisfied,
    applies: principalMatches && actionMatched && conditionsSatisfied,
  };
}

// A trust policy statement without Principal or NotPrincipal names nobody (IAM rejects it on write).
function statementPrincipalMatches(statement: TrustStatement, request: TrustRequest): boolean {
  if (statement.principal !== undefined) {
    return principalSpecMatches(statement.principal, request);
  }
  if (statement.notPrincipal !== undefined) {
    return !principalSpecMatches(statement.notPrincipal, request);
  }
  return false;
}

function principalSpecMatches(spec: PrincipalSpec, request: TrustRequest): boolean {
  if (spec.any) {
    return true;
  }
  const wantedType = request.principalType.toLowerCase();
  return Object.entries(spec.byType).some(
    ([type, values]) =>
      type.toLowerCase() === wantedType && values.some((value) => principalValueMatches(value, request)),
  );
}

function principalValueMatches(value: string, request: TrustRequest): boolean {
  if (value === '*' || value.toLowerCase() === request.principal.toLowerCase()) {
    return true;
  }
  // IAM stores a bare account ID in an AWS principal as that account's root ARN.
  if (request.principalType === 'AWS' && ACCOUNT_ID.test(value)) {
    return new RegExp(`^arn:[^:]+:iam::${value}:root$`, 'i').test(request.principal);
  }
  return false;
}

function statementActionMatches(statement: TrustStatement, action: string): boolean {
  if (statement.action !== undefined) {
    return statement.action.some((pattern) => actionMatches(pattern, action));
  }
  if (statement.notAction !== undefined) {
    return !statement.notAction.some((pattern) => actionMatches(pattern, action));
  }
  return false;
}

type SetQualifier = 'single' | 'ForAnyValue' | 'ForAllValues';

interface ComparisonOperator {
  readonly negated: boolean;
  /** Whether the policy value is a pattern; decides the verbs used in reasons. */
  readonly pattern: boolean;
  /** Whether `*` and `?` are literal, so a wildcard in the policy value is probably a mistake. */
  readonly literalWildcards: boolean;
  readonly compare: (policyValue: string, requestValue: string) => boolean;
}

interface ParsedOperator {
  readonly qualifier: SetQualifier;
  readonly ifExists: boolean;
  readonly name: string;
  readonly comparison: ComparisonOperator | 'Null';
}

const exact = (policyValue: string, requestValue: string): boolean => policyValue === requestValue;
const ignoringCase = (policyValue: string, requestValue: string): boolean =>
  policyValue.toLowerCase() === requestValue.toLowerCase();
const like = (policyValue: string, requestValue: string): boolean =>
  globMatches(policyValue, requestValue, false);

// IAM documents ArnEquals and ArnLike alike: each of the six colon-separated parts is globbed, case-sensitively.
function arnMatches(policyValue: string, requestValue: string): boolean {
  const patternParts = arnParts(policyValue);
  const valueParts = arnParts(requestValue);
  if (patternParts === undefined) {
    return globMatches(policyValue, requestValue, false);
  }
  return (
    valueParts !== undefined &&
    patternParts.every((part, index) => globMatches(part, valueParts[index] ?? '', false))
  );
}

function arnParts(arn: string): readonly string[] | undefined {
  const parts = arn.split(':');
  return parts.length < 6 ? undefined : [...parts.slice(0, 5), parts.slice(5).join(':')];
}

const COMPARISONS: Readonly<Record<string, ComparisonOperator>> = {
  StringEquals: { negated: false, pattern: false, literalWildcards: true, compare: exact },
  StringNotEquals: { negated: true, pattern: false, literalWildcards: true, compare: exact },
  StringEqualsIgnoreCase: { negated: false, pattern: false, literalWildcards: true, compare: ignoringCase },
  StringNotEqualsIgnoreCase: { negated: true, pattern: false, literalWildcards: true, compare: ignoringCase },
  StringLike: { negated: false, pattern: true, literalWildcards: false, compare: like },
  StringNotLike: { negated: true, pattern: true, literalWildcards: false, compare: like },
  ArnEquals: { negated: false, pattern: true, literalWildcards: false, compare: arnMatches },
  ArnLike: { negated: false, pattern: true, literalWildcards: false, compare: arnMatches },
  ArnNotEquals: { negated: true, pattern: true, literalWildcards: false, compare: arnMatches },
  ArnNotLike: { negated: true, pattern: true, literalWildcards: false, compare: arnMatches },
  Bool: { negated: false, pattern: false, literalWildcards: false, compare: ignoringCase },
};

// Operator names are matched exactly as IAM documents them; anything else is reported, not guessed.
function parseOperator(operator: string): ParsedOperator | undefined {
  let rest = operator;
  let qualifier: SetQualifier = 'single';
  const prefix = (['ForAnyValue', 'ForAllValues'] as const).find((name) => rest.startsWith(`${name}:`));
  if (prefix !== undefined) {
    qualifier = prefix;
    rest = rest.slice(prefix.length + 1);
  }
  if (rest === 'Null') {
    // IAM allows neither IfExists nor a set qualifier on Null.
    return qualifier === 'single'
      ? { qualifier, ifExists: false, name: rest, comparison: 'Null' }
      : undefined;
  }
  const ifExists = rest.endsWith('IfExists');
  const name = ifExists ? rest.slice(0, -'IfExists'.length) : rest;
  const comparison = Object.hasOwn(COMPARISONS, name) ? COMPARISONS[name] : undefined;
  return comparison === undefined ? undefined : { qualifier, ifExists, name, comparison };
}

/** Decides one condition entry against a request context whose keys are in lower case. */
export function evaluateCondition(
  entry: ConditionEntry,
  context: ReadonlyMap<string, readonly string[]>,
  principal: string,
): ConditionEvaluation {
  const contextValues = context.get(entry.key.toLowerCase());
  const present = contextValues !== undefined && contextValues.length > 0;
  const operator = parseOperator(entry.operator);
  const subject = `${entry.operator} ${entry.key}`;
  if (operator === undefined) {
    return {
      entry,
      outcome: 'unknown-operator',
      contextValues,
      reason: `${subject}: "${entry.operator}" is not a condition operator the auditor understands, so the statement is treated as not applying`,
    };
  }
  if (operator.comparison === 'Null') {
    return evaluateNull(entry, contextValues, subject);
  }
  if (!present) {
    return evaluateAbsentKey(entry, operator, operator.comparison, context, subject, principal);
  }
  return evaluatePresentKey(entry, operator, operator.comparison, contextValues, subject);
}

function evaluateNull(
  entry: ConditionEntry,
  contextValues: readonly string[] | undefined,
  subject: string,
): ConditionEvaluation {
  const present = contextValues !== undefined && contextValues.length > 0;
  const wanted = entry.values.map((value) => value.toLowerCase());
  const satisfied = present ? wanted.includes('false') : wanted.includes('true');
  const state = present ? `present (${quoteList(contextValues ?? [])})` : 'absent';
  return {
    entry,
    outcome: satisfied ? 'satisfied' : 'unsatisfied',
    contextValues,
    reason: `${subject}: the condition requires ${describeNullRequirement(wanted)}, and the key is ${state} in the request`,
  };
}

function describeNullRequirement(wanted: readonly string[]): string {
  const absent = wanted.includes('true');
  const present = wanted.includes('false');
  if (absent && present) {
    return 'either';
  }
  if (absent) {
    return 'it to be absent';
  }
  return present ? 'it to be present' : `a value of "true" or "false", not ${quoteList(wanted)}`;
}

// IAM: a missing key fails positive operators, passes negated ones and IfExists; ForAllValues is
// vacuously true over the empty set and ForAnyValue is false.
function evaluateAbsentKey(
  entry: ConditionEntry,
  operator: ParsedOperator,
  comparison: ComparisonOperator,
  context: ReadonlyMap<string, readonly string[]>,
  subject: string,
  principal: string,
): ConditionEvaluation {
  let satisfied: boolean;
  let because: string;
  if (operator.ifExists) {
    satisfied = true;
    because = 'IfExists passes when the key is absent';
  } else if (operator.qualifier === 'ForAllValues') {
    satisfied = true;
    because = 'ForAllValues is true for an absent key (the empty set)';
  } else if (operator.qualifier === 'ForAnyValue') {
    satisfied = false;
    because = 'ForAnyValue is false for an absent key';
  } else if (comparison.negated) {
    satisfied = true;
    because = `a negated operator such as ${operator.name} is true when the key is absent`;
  } else {
    satisfied = false;
    because = 'the condition fails';
  }
  return {
    entry,
    outcome: satisfied ? 'satisfied' : 'unsatisfied',
    contextValues: context.get(entry.key.toLowerCase()),
    reason: `${subject}: the key is absent from the request${absentKeyHint(entry.key, context, principal)}, so ${because}`,
  };
}

// The usual cause under IRSA: a `<issuer>:sub` key written for another cluster's issuer.
function absentKeyHint(
  key: string,
  context: ReadonlyMap<string, readonly string[]>,
  principal: string,
): string {
  const separator = key.lastIndexOf(':');
  if (separator <= 0) {
    return '';
  }
  const suffix = key.slice(separator).toLowerCase();
  const sibling = [...context.keys()].find((contextKey) => contextKey.endsWith(suffix));
  if (sibling === undefined) {
    return '';
  }
  const issuer = sibling.slice(0, sibling.length - suffix.length);
  // Context keys are lower-cased; an OIDC provider ARN ends with the issuer in its real spelling.
  const at = issuer === '' ? -1 : principal.toLowerCase().lastIndexOf(issuer);
  const shown = at < 0 ? issuer : principal.slice(at, at + issuer.length);
  return ` (it is keyed on another issuer, "${key.slice(0, separator)}", while the token comes from "${shown}")`;
}

function evaluatePresentKey(
  entry: ConditionEntry,
  operator: ParsedOperator,
  comparison: ComparisonOperator,
  contextValues: readonly string[],
  subject: string,
): ConditionEvaluation {
  const checks = contextValues.map((value) => {
    const hit = entry.values.find((policyValue) => comparison.compare(policyValue, value));
    return { value, hit, passes: comparison.negated ? hit === undefined : hit !== undefined };
  });
  // Single-valued use without a qualifier: a positive operator needs one value to match, a negated
  // one needs every value to match none (IAM evaluates the policy values of a negated operator as NOR).
  const needsEvery =
    operator.qualifier === 'ForAllValues' || (operator.qualifier === 'single' && comparison.negated);
  const satisfied = needsEvery ? checks.every((check) => check.passes) : checks.some((check) => check.passes);
  const decisive = satisfied
    ? needsEvery
      ? checks
      : checks.filter((check) => check.passes).slice(0, 1)
    : needsEvery
      ? checks.filter((check) => !check.passes).slice(0, 1)
      : checks;
  const described = decisive.map((check) => describeCheck(check.value, check.hit, entry.values, comparison));
  const wildcardHint =
    comparison.literalWildcards && satisfied === comparison.negated
      ? literalWildcardHint(entry, operator)
      : '';
  const lead = contextValues.length > 1 ? `${qualifierPhrase(operator.qualifier, satisfied)}: ` : '';
  return {
    entry,
    outcome: satisfied ? 'satisfied' : 'unsatisfied',
    contextValues,
    reason: `${subject}: ${lead}${described.join('; ')}${wildcardHint}`,
  };
}

function qualifierPhrase(qualifier: SetQualifier, satisfied: boolean): string {
  if (qualifier === 'ForAllValues') {
    return satisfied ? 'every request value passes' : 'not every request value passes';
  }
  return satisfied ? 'a request value passes' : 'no request value passes';
}

function describeCheck(
  value: string,
  hit: string | undefined,
  policyValues: readonly string[],
  comparison: ComparisonOperator,
): string {
  const verb = comparison.pattern ? 'matches' : 'equals';
  if (hit === undefined) {
    const miss = comparison.pattern ? 'matches none of' : 'is not one of';
    return `"${value}" ${miss} ${quoteList(policyValues)}`;
  }
  return comparison.negated
    ? `"${value}" ${verb} "${hit}", which the operator excludes`
    : `"${value}" ${verb} "${hit}"`;
}

function literalWildcardHint(entry: ConditionEntry, operator: ParsedOperator): string {
  const wildcards = entry.values.filter((value) => value.includes('*') || value.includes('?'));
  if (wildcards.length === 0) {
    return '';
  }
  const likeName = operator.name.replace('Equals', 'Like').replace('IgnoreCase', '');
  return ` (under ${operator.name} the * and ? in ${quoteList(wildcards)} are literal characters, not wildcards; a pattern needs ${likeName})`;
}

function quoteList(values: readonly string[]): string {
  return values.length === 0 ? 'no values' : values.map((value) => `"${value}"`).join(', ');
}

function statementLabel(statement: TrustStatement): string {
  return statement.sid === undefined || statement.sid === ''
    ? `Statement[${statement.index}]`
    : `Statement[${statement.index}] (Sid "${statement.sid}")`;
}

function requestLabel(request: TrustRequest): string {
  return `${request.action} by ${request.principalType} principal ${request.principal}`;
}

function explainApplying(
  evaluation: StatementEvaluation,
  request: TrustRequest,
  verb: string,
  note: string,
): string {
  const label = statementLabel(evaluation.statement);
  if (evaluation.conditions.length === 0) {
    return `${label} ${verb} ${requestLabel(request)} with no conditions${note}.`;
  }
  const reasons = evaluation.conditions.map((condition) => condition.reason).join('; ');
  return `${label} ${verb} ${requestLabel(request)} because ${reasons}${note}.`;
}

// An Allow can win only because a Deny was skipped over an operator we do not understand; say so.
function unappliedDenyNote(statements: readonly StatementEvaluation[]): string {
  const skipped = statements.filter(
    (evaluation) =>
      evaluation.statement.effect === 'Deny' &&
      evaluation.principalMatches &&
      evaluation.actionMatches &&
      evaluation.conditions.some((condition) => condition.outcome === 'unknown-operator'),
  );
  if (skipped.length === 0) {
    return '';
  }
  const labels = skipped.map((evaluation) => statementLabel(evaluation.statement)).join(', ');
  return ` (Deny ${labels} was not applied because it uses a condition operator the auditor does not understand)`;
}

function explainImplicitDeny(statements: readonly StatementEvaluation[], request: TrustRequest): string {
  const allows = statements.filter((evaluation) => evaluation.statement.effect === 'Allow');
  const opening = `No statement allows ${requestLabel(request)}`;
  if (allows.length === 0) {
    return `${opening}: the policy has no Allow statement.`;
  }
  const blockedByCondition = allows.find(
    (evaluation) => evaluation.principalMatches && evaluation.actionMatches,
  );
  if (blockedByCondition !== undefined) {
    const failing = blockedByCondition.conditions.find((condition) => condition.outcome !== 'satisfied');
    return `${opening}: ${statementLabel(blockedByCondition.statement)} matches the principal and action, but ${failing?.reason ?? 'its conditions fail'}.`;
  }
  const wrongAction = allows.find((evaluation) => evaluation.principalMatches);
  if (wrongAction !== undefined) {
    const { action, notAction } = wrongAction.statement;
    const scope =
      action === undefined
        ? `excludes it with NotAction ${quoteList(notAction ?? [])}`
        : `allows only ${quoteList(action)}`;
    return `${opening}: ${statementLabel(wrongAction.statement)} trusts the principal but ${scope}, not "${request.action}".`;
  }
  const trusted = [
    ...new Set(allows.flatMap((evaluation) => describeTrustedPrincipals(evaluation.statement))),
  ];
  const listed = trusted.length === 0 ? 'no principal of that type' : trusted.join(', ');
  return `${opening}: no Allow statement trusts that principal (the policy trusts ${listed}).`;
}

function describeTrustedPrincipals(statement: TrustStatement): readonly string[] {
  if (statement.principal === undefined) {
    return statement.notPrincipal === undefined ? [] : ['every principal not listed in NotPrincipal'];
  }
  return Object.entries(statement.principal.byType).flatMap(([type, values]) =>
    values.map((value) => `${type} ${value}`),
  );
}
