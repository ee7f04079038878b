import type {
  ConditionEntry,
  Effect,
  PrincipalSpec,
  TrustPolicy,
  TrustStatement,
} from './trust-policy-document';

/** The outcome of parsing: a normalised policy, or one readable line naming the JSON path at fault. */
export type TrustPolicyParseResult = { readonly policy: TrustPolicy } | { readonly error: string };

/** Raised inside the parser only, so a deep failure unwinds to one `{ error }` with its JSON path. */
class TrustPolicyShapeError extends Error {
  override readonly name = 'TrustPolicyShapeError';
}

type JsonObject = Readonly<Record<string, unknown>>;

/** Reads a trust policy as the CLI prints it (object) or as the IAM API returns it (URL-encoded JSON string). */
export function parseTrustPolicy(raw: unknown): TrustPolicyParseResult {
  const document = readDocument(raw);
  if ('error' in document) {
    return document;
  }
  try {
    return { policy: toPolicy(document.value) };
  } catch (error: unknown) {
    if (error instanceof TrustPolicyShapeError) {
      return { error: error.message };
    }
    return { error: `trust policy could not be read: ${oneLine(error)}` };
  }
}

/** Characters IAM counts against the trust-policy size quota (2,048 by default), which excludes whitespace. */
export function trustPolicySize(raw: unknown): number {
  let text: string | undefined;
  if (typeof raw === 'string') {
    const decoded = decodePolicyText(raw);
    if ('error' in decoded || !isJsonObject(decoded.value)) {
      return 0;
    }
    text = decoded.text;
  } else if (isJsonObject(raw)) {
    try {
      text = JSON.stringify(raw);
    } catch {
      return 0;
    }
  }
  return text === undefined ? 0 : countOutsideWhitespace(text);
}

function readDocument(raw: unknown): { readonly value: JsonObject } | { readonly error: string } {
  let value: unknown = raw;
  if (typeof raw === 'string') {
    const decoded = decodePolicyText(raw);
    if ('error' in decoded) {
      return decoded;
    }
    value = decoded.value;
  }
  if (!isJsonObject(value)) {
    return { error: `trust policy must be a JSON object, got ${describeJsonType(value)}` };
  }
  return { value };
}

// IAM's GetRole returns the document URL-encoded (RFC 3986); snapshots may also hold it already decoded.
function decodePolicyText(
  raw: string,
): { readonly text: string; readonly value: unknown } | { readonly error: string } {
  const trimmed = raw.trim();
  if (trimmed === '') {
    return { error: 'trust policy is an empty string' };
  }
  let text = trimmed;
  if (!trimmed.startsWith('{')) {
    try {
      text = decodeURIComponent(trimmed).trim();
    } catch {
      return { error: 'trust policy is neither JSON nor valid URL-encoded JSON' };
    }
  }
  try {
    return { text, value: JSON.parse(text) };
  } catch (error: unknown) {
    return { error: `trust policy is not valid JSON: ${oneLine(error)}` };
  }
}

function toPolicy(document: JsonObject): TrustPolicy {
  const version = optionalString(document, 'Version', '');
  const rawStatements = document.Statement;
  if (rawStatements === undefined) {
    throw new TrustPolicyShapeError('Statement is missing');
  }
  if (Array.isArray(rawStatements)) {
    const statements = rawStatements.map((item, index) => toStatement(item, index, `Statement[${index}]`));
    return version === undefined ? { statements } : { version, statements };
  }
  if (isJsonObject(rawStatements)) {
    const statements = [toStatement(rawStatements, 0, 'Statement')];
    return version === undefined ? { statements } : { version, statements };
  }
  throw new TrustPolicyShapeError(
    `Statement must be an object or an array, got ${describeJsonType(rawStatements)}`,
  );
}

function toStatement(raw: unknown, index: number, path: string): TrustStatement {
  if (!isJsonObject(raw)) {
    throw new TrustPolicyShapeError(`${path} must be an object, got ${describeJsonType(raw)}`);
  }
  const sid = optionalString(raw, 'Sid', path);
  const effect = toEffect(raw.Effect, path);
  if (raw.Principal !== undefined && raw.NotPrincipal !== undefined) {
    throw new TrustPolicyShapeError(`${path} has both Principal and NotPrincipal; IAM allows only one`);
  }
  if (raw.Action !== undefined && raw.NotAction !== undefined) {
    throw new TrustPolicyShapeError(`${path} has both Action and NotAction; IAM allows only one`);
  }
  if (raw.Action === undefined && raw.NotAction === undefined) {
    throw new TrustPolicyShapeError(`${path} has neither Action nor NotAction`);
  }
  const principal =
    raw.Principal === undefined ? undefined : toPrincipal(raw.Principal, joinPath(path, 'Principal'));
  const notPrincipal =
    raw.NotPrincipal === undefined
      ? undefined
      : toPrincipal(raw.NotPrincipal, joinPath(path, 'NotPrincipal'));
  const action = raw.Action === undefined ? undefined : toStringList(raw.Action, joinPath(path, 'Action'));
  const notAction =
    raw.NotAction === undefined ? undefined : toStringList(raw.NotAction, joinPath(path, 'NotAction'));
  if (raw.Resource !== undefined && raw.NotResource !== undefined) {
    throw new TrustPolicyShapeError(`${path} has both Resource and NotResource; IAM allows only one`);
  }
  const resource =
    raw.Resource === undefined ? undefined : toStringList(raw.Resource, joinPath(path, 'Resource'));
  const notResource =
    raw.NotResource === undefined ? undefined : toStringList(raw.NotResource, joinPath(path, 'NotResource'));
  const conditions =
    raw.Condition === undefined ? [] : toConditions(raw.Condition, joinPath(path, 'Condition'));
  return {
    index,
    effect,
    conditions,
    ...(sid === undefined ? {} : { sid }),
    ...(principal === undefined ? {} : { principal }),
    ...(notPrincipal === undefined ? {} : { notPrincipal }),
    ...(action === undefined ? {} : { action }),
    ...(notAction === undefined ? {} : { notAction }),
    ...(resource === undefined ? {} : { resource }),
    ...(notResource === undefined ? {} : { notResource }),
  };
}

// IAM documents Effect as case-sensitive: "allow" is rejected, so it is an error here too.
function toEffect(raw: unknown, statementPath: string): Effect {
  if (raw === 'Allow' || raw === 'Deny') {
    return raw;
  }
  const got = raw === undefined ? 'it is missing' : `got ${JSON.stringify(raw)}`;
  throw new TrustPolicyShapeError(`${joinPath(statementPath, 'Effect')} must be "Allow" or "Deny" (${got})`);
}

function toPrincipal(raw: unknown, path: string): PrincipalSpec {
  if (raw === '*') {
    return { any: true, byType: {} };
  }
  if (!isJsonObject(raw)) {
    throw new TrustPolicyShapeError(`${path} must be "*" or an object, got ${describeJsonType(raw)}`);
  }
  const byType: Record<string, readonly string[]> = {};
  for (const [type, values] of Object.entries(raw)) {
    byType[type] = toStringList(values, joinPath(path, type));
  }
  // IAM documents {"AWS": "*"} as equivalent to "*": it admits every principal, federated ones included.
  const any = Object.entries(byType).some(([type, values]) => type === 'AWS' && values.includes('*'));
  return { any, byType };
}

function toStringList(raw: unknown, path: string): readonly string[] {
  if (typeof raw === 'string') {
    return [raw];
  }
  if (!Array.isArray(raw)) {
    throw new TrustPolicyShapeError(
      `${path} must be a string or an array of strings, got ${describeJsonType(raw)}`,
    );
  }
  return raw.map((item, index) => {
    if (typeof item !== 'string') {
      throw new TrustPolicyShapeError(`${path}[${index}] must be a string, got ${describeJsonType(item)}`);
    }
    return item;
  });
}

function toConditions(raw: unknown, path: string): readonly ConditionEntry[] {
  if (!isJsonObject(raw)) {
    throw new TrustPolicyShapeError(`${path} must be an object, got ${describeJsonType(raw)}`);
  }
  const entries: ConditionEntry[] = [];
  for (const [operator, block] of Object.entries(raw)) {
    const blockPath = joinPath(path, operator);
    if (!isJsonObject(block)) {
      throw new TrustPolicyShapeError(`${blockPath} must be an object, got ${describeJsonType(block)}`);
    }
    for (const [key, values] of Object.entries(block)) {
      entries.push({ operator, key, values: toConditionValues(values, joinPath(blockPath, key)) });
    }
  }
  return entries;
}

// IAM accepts JSON booleans and numbers as condition values ("Bool": {"aws:SecureTransport": true}).
function toConditionValues(raw: unknown, path: string): readonly string[] {
  const scalar = conditionScalar(raw);
  if (scalar !== undefined) {
    return [scalar];
  }
  if (!Array.isArray(raw)) {
    throw new TrustPolicyShapeError(
      `${path} must be a string, boolean, number or an array of those, got ${describeJsonType(raw)}`,
    );
  }
  return raw.map((item, index) => {
    const value = conditionScalar(item);
    if (value === undefined) {
      throw new TrustPolicyShapeError(
        `${path}[${index}] must be a string, boolean or number, got ${describeJsonType(item)}`,
      );
    }
    return value;
  });
}

function conditionScalar(raw: unknown): string | undefined {
  if (typeof raw === 'string') {
    return raw;
  }
  if (typeof raw === 'boolean') {
    return raw ? 'true' : 'false';
  }
  if (typeof raw === 'number' && Number.isFinite(raw)) {
    return String(raw);
  }
  return undefined;
}

function optionalString(raw: JsonObject, field: string, parentPath: string): string | undefined {
  const value = raw[field];
  if (value === undefined || typeof value === 'string') {
    return value;
  }
  throw new TrustPolicyShapeError(
    `${joinPath(parentPath, field)} must be a string, got ${describeJsonType(value)}`,
  );
}

function joinPath(parent: string, field: string): string {
  if (/^[A-Za-z_$][\w$]*$/.test(field)) {
    return parent === '' ? field : `${parent}.${field}`;
  }
  return `${parent}[${JSON.stringify(field)}]`;
}

function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describeJsonType(value: unknown): string {
  if (value === null) {
    return 'null';
  }
  if (Array.isArray(value)) {
    return 'an array';
  }
  if (value === undefined) {
    return 'nothing';
  }
  const type = typeof value;
  return type === 'object' ? 'an object' : `a ${type}`;
}

function oneLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const line = message.split('\n', 1)[0] ?? '';
  return line.length > 160 ? `${line.slice(0, 157)}...` : line;
}

// Counts what IAM counts: every character (code point) except JSON whitespace between tokens.
function countOutsideWhitespace(text: string): number {
  let count = 0;
  let inString = false;
  let escaped = false;
  for (const char of text) {
    if (inString) {
      count += 1;
      if (escaped) {
        escaped = false;
      } else if (char === '\\') {
        escaped = true;
      } else if (char === '"') {
        inString = false;
      }
    } else if (char !== ' ' && char !== '\t' && char !== '\n' && char !== '\r') {
      count += 1;
      inString = char === '"';
    }
  }
  return count;
}
