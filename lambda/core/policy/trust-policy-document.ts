// A role trust policy (or a permissions policy, which has Resource instead of Principal), normalised: every
// "string or array" field is an array, and the raw JSON is gone. Parsing lives in trust-policy-parse.ts;
// evaluation in trust-policy.ts (trust) and identity-policy.ts (permissions).

export type Effect = 'Allow' | 'Deny';

/**
 * A principal block. `any` is true for `"*"` and `{"AWS": "*"}`; otherwise the map holds each
 * principal type (`AWS`, `Federated`, `Service`, `CanonicalUser`) and its values.
 */
export interface PrincipalSpec {
  readonly any: boolean;
  readonly byType: Readonly<Record<string, readonly string[]>>;
}

/** One `Condition` entry: an operator (as written, e.g. `ForAnyValue:StringLikeIfExists`), a key and its values. */
export interface ConditionEntry {
  readonly operator: string;
  readonly key: string;
  readonly values: readonly string[];
}

export interface TrustStatement {
  /** Position in the document's Statement list, from 0. */
  readonly index: number;
  readonly sid?: string;
  readonly effect: Effect;
  readonly principal?: PrincipalSpec;
  readonly notPrincipal?: PrincipalSpec;
  readonly action?: readonly string[];
  readonly notAction?: readonly string[];
  /** Permissions policies only: the resources the statement covers. */
  readonly resource?: readonly string[];
  readonly notResource?: readonly string[];
  readonly conditions: readonly ConditionEntry[];
}

export interface TrustPolicy {
  readonly version?: string;
  readonly statements: readonly TrustStatement[];
}
