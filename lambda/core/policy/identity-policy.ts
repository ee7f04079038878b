// Whether a role's permissions policies allow one action on one resource, as IAM decides it within an account:
// an applicable Deny wins, else some Allow must apply. Only the role's own policies are judged (no permissions
// boundary, session policy or SCP), and a condition on a key the request context does not know leaves the
// answer undetermined rather than guessed: the audit reports a missing grant only when it is sure.

import { actionMatches, type ConditionEvaluation, evaluateCondition, globMatches } from './trust-policy';
import type { TrustPolicy, TrustStatement } from './trust-policy-document';

/** One policy of the role, named as IAM names it (an inline name, or a managed policy's ARN). */
export interface NamedPolicy {
  readonly name: string;
  readonly document: TrustPolicy;
}

export interface PermissionRequest {
  readonly action: string;
  readonly resource: string;
  /** What the request carries, keys in any case; a key absent here is absent from the request. */
  readonly context: ReadonlyMap<string, readonly string[]>;
  /** The calling principal's ARN, for the evaluator's hints. */
  readonly principal: string;
  /**
   * Keys the audit knows everything about: a condition on one of them that fails is a real refusal. A
   * condition on any other key (aws:SourceIp, aws:CalledVia, ...) makes an otherwise matching Allow undetermined.
   */
  readonly knownKeys: (key: string) => boolean;
}

/** A statement of one policy, where it is and the condition that decided it. */
export interface DecidingStatement {
  readonly policy: string;
  readonly statement: TrustStatement;
  readonly condition?: ConditionEvaluation;
}

export type PermissionDecision =
  | { readonly outcome: 'allowed'; readonly by: DecidingStatement }
  | { readonly outcome: 'denied'; readonly by: DecidingStatement }
  /** No statement allows it (an Allow may match the action and resource but its conditions refuse). */
  | { readonly outcome: 'not-allowed'; readonly refusedBy?: DecidingStatement }
  /** An Allow matches but depends on a key the audit does not know. */
  | { readonly outcome: 'undetermined'; readonly by: DecidingStatement };

const lowerCaseKeys = (context: ReadonlyMap<string, readonly string[]>) =>
  new Map([...context].map(([key, values]) => [key.toLowerCase(), values] as const));

function coversAction(statement: TrustStatement, action: string): boolean {
  if (statement.action !== undefined)
    return statement.action.some((pattern) => actionMatches(pattern, action));
  if (statement.notAction !== undefined)
    return !statement.notAction.some((pattern) => actionMatches(pattern, action));
  return false;
}

// Resource ARNs match case-sensitively, with `*` and `?` as in actions.
function coversResource(statement: TrustStatement, resource: string): boolean {
  if (statement.resource !== undefined)
    return statement.resource.some((pattern) => globMatches(pattern, resource, false));
  if (statement.notResource !== undefined)
    return !statement.notResource.some((pattern) => globMatches(pattern, resource, false));
  return false;
}

/** Decides a request against every permissions policy of a principal. */
export function evaluatePermission(
  policies: readonly NamedPolicy[],
  request: PermissionRequest,
): PermissionDecision {
  const context = lowerCaseKeys(request.context);
  const matching = policies.flatMap(({ name, document }) =>
    document.statements
      .filter(
        (statement) => coversAction(statement, request.action) && coversResource(statement, request.resource),
      )
      .map((statement) => ({
        policy: name,
        statement,
        conditions: statement.conditions.map((entry) => evaluateCondition(entry, context, request.principal)),
      })),
  );
  const failed = (conditions: readonly ConditionEvaluation[]) =>
    conditions.find((condition) => condition.outcome !== 'satisfied');
  const known = (conditions: readonly ConditionEvaluation[]) =>
    conditions.every((condition) => request.knownKeys(condition.entry.key.toLowerCase()));
  const denies = matching.filter(
    ({ statement, conditions }) => statement.effect === 'Deny' && failed(conditions) === undefined,
  );
  const deny = denies.find(({ conditions }) => known(conditions));
  if (deny !== undefined)
    return { outcome: 'denied', by: { policy: deny.policy, statement: deny.statement } };
  // A Deny that applies only because a key the audit does not know is absent may not apply to the real call.
  const unsure = denies[0];
  if (unsure !== undefined)
    return { outcome: 'undetermined', by: { policy: unsure.policy, statement: unsure.statement } };
  const allows = matching.filter(({ statement }) => statement.effect === 'Allow');
  const allow = allows.find(({ conditions }) => failed(conditions) === undefined);
  if (allow !== undefined)
    return { outcome: 'allowed', by: { policy: allow.policy, statement: allow.statement } };
  const unknown = allows.find(({ conditions }) =>
    conditions.some(
      (condition) =>
        condition.outcome !== 'satisfied' && !request.knownKeys(condition.entry.key.toLowerCase()),
    ),
  );
  if (unknown !== undefined) {
    const condition = failed(unknown.conditions);
    return {
      outcome: 'undetermined',
      by: {
        policy: unknown.policy,
        statement: unknown.statement,
        ...(condition === undefined ? {} : { condition }),
      },
    };
  }
  const refused = allows[0];
  const condition = refused === undefined ? undefined : failed(refused.conditions);
  return refused === undefined
    ? { outcome: 'not-allowed' }
    : {
        outcome: 'not-allowed',
        refusedBy: {
          policy: refused.policy,
          statement: refused.statement,
          ...(condition === undefined ? {} : { condition }),
        },
      };
}
