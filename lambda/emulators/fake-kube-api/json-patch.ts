// RFC 6902 JSON Patch over RFC 6901 JSON Pointers: what kube-apiserver applies to the object a mutating
// webhook returns a `patchType: JSONPatch` for (it uses evanphx/json-patch, which follows the RFC).

/** A JSON document. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

type Container = JsonValue[] | { [key: string]: JsonValue };

/** A patch that is malformed or does not apply; names the operation and why, as the API server reports it. */
export class JsonPatchError extends Error {
  constructor(
    readonly operationIndex: number,
    readonly problem: string,
  ) {
    super(`JSON patch operation ${operationIndex}: ${problem}`);
    this.name = 'JsonPatchError';
  }
}

/** Splits an RFC 6901 pointer into its unescaped reference tokens (`~1` is `/`, `~0` is `~`). */
export function parseJsonPointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new Error(`JSON pointer "${pointer}" does not start with "/"`);
  return pointer
    .slice(1)
    .split('/')
    .map((token) => {
      if (/~[^01]|~$/.test(token)) throw new Error(`JSON pointer "${pointer}" has an invalid ~ escape`);
      return token.replaceAll('~1', '/').replaceAll('~0', '~');
    });
}

function isContainer(value: JsonValue | undefined): value is Container {
  return typeof value === 'object' && value !== null;
}

function arrayIndex(token: string, length: number, allowEnd: boolean): number {
  if (!/^(0|[1-9][0-9]*)$/.test(token)) throw new Error(`"${token}" is not an array index`);
  const index = Number(token);
  if (index > length || (!allowEnd && index === length))
    throw new Error(`array index ${index} is out of bounds (length ${length})`);
  return index;
}

function child(container: Container, token: string): JsonValue | undefined {
  if (Array.isArray(container)) {
    const index = arrayIndex(token, container.length, false);
    return container[index];
  }
  return Object.hasOwn(container, token) ? container[token] : undefined;
}

function resolve(document: JsonValue, tokens: readonly string[], pointer: string): JsonValue {
  let current: JsonValue = document;
  for (const token of tokens) {
    const next = isContainer(current) ? child(current, token) : undefined;
    if (next === undefined) throw new Error(`path "${pointer}" does not exist`);
    current = next;
  }
  return current;
}

function parentOf(
  document: JsonValue,
  pointer: string,
): { readonly parent: Container; readonly token: string } | undefined {
  const tokens = parseJsonPointer(pointer);
  const token = tokens.pop();
  if (token === undefined) return undefined;
  const parent = resolve(document, tokens, pointer);
  if (!isContainer(parent)) throw new Error(`the parent of "${pointer}" is not an object or array`);
  return { parent, token };
}

function deepEqual(a: JsonValue, b: JsonValue): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    return (
      Array.isArray(a) &&
      Array.isArray(b) &&
      a.length === b.length &&
      a.every((item, i) => deepEqual(item, b[i]!))
    );
  }
  if (!isContainer(a) || !isContainer(b)) return false;
  const keys = Object.keys(a);
  return (
    keys.length === Object.keys(b).length &&
    keys.every((key) => Object.hasOwn(b, key) && deepEqual(a[key]!, (b as Record<string, JsonValue>)[key]!))
  );
}

function add(document: JsonValue, pointer: string, value: JsonValue): JsonValue {
  const target = parentOf(document, pointer);
  if (target === undefined) return value;
  const { parent, token } = target;
  if (Array.isArray(parent)) {
    if (token === '-') parent.push(value);
    else parent.splice(arrayIndex(token, parent.length, true), 0, value);
  } else {
    // RFC 6902 §4.1: adding to an existing member replaces it (the pod identity webhook relies on this).
    parent[token] = value;
  }
  return document;
}

function remove(
  document: JsonValue,
  pointer: string,
): { readonly document: JsonValue; readonly removed: JsonValue } {
  const target = parentOf(document, pointer);
  if (target === undefined) throw new Error('cannot remove the whole document');
  const { parent, token } = target;
  const removed = child(parent, token);
  if (removed === undefined) throw new Error(`path "${pointer}" does not exist`);
  if (Array.isArray(parent)) parent.splice(Number(token), 1);
  else delete parent[token];
  return { document, removed };
}

function operationValue(operation: Record<string, unknown>, index: number): JsonValue {
  if (!Object.hasOwn(operation, 'value')) throw new JsonPatchError(index, `"${operation.op}" needs a value`);
  return structuredClone(operation.value) as JsonValue;
}

function stringMember(operation: Record<string, unknown>, member: string, index: number): string {
  const value = operation[member];
  if (typeof value !== 'string') throw new JsonPatchError(index, `"${member}" is missing or not a string`);
  return value;
}

/** Applies an RFC 6902 patch (add, remove, replace, move, copy, test) to a copy of `document`. */
export function applyJsonPatch(document: JsonValue, patch: unknown): JsonValue {
  if (!Array.isArray(patch)) throw new JsonPatchError(0, 'a JSON patch is an array of operations');
  let result = structuredClone(document);
  patch.forEach((entry: unknown, index) => {
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry))
      throw new JsonPatchError(index, 'an operation is an object');
    const operation = entry as Record<string, unknown>;
    const path = stringMember(operation, 'path', index);
    try {
      switch (operation.op) {
        case 'add':
          result = add(result, path, operationValue(operation, index));
          break;
        case 'remove':
          result = remove(result, path).document;
          break;
        case 'replace': {
          const value = operationValue(operation, index);
          resolve(result, parseJsonPointer(path), path);
          result = path === '' ? value : add(remove(result, path).document, path, value);
          break;
        }
        case 'move': {
          const from = stringMember(operation, 'from', index);
          if (path !== from && path.startsWith(`${from}/`))
            throw new Error(`cannot move "${from}" into its own child "${path}"`);
          const taken = remove(result, from);
          result = add(taken.document, path, taken.removed);
          break;
        }
        case 'copy': {
          const from = stringMember(operation, 'from', index);
          result = add(result, path, structuredClone(resolve(result, parseJsonPointer(from), from)));
          break;
        }
        case 'test': {
          const expected = operationValue(operation, index);
          if (!deepEqual(resolve(result, parseJsonPointer(path), path), expected))
            throw new Error(`the value at "${path}" is not the expected value`);
          break;
        }
        default:
          throw new Error(`unknown operation "${String(operation.op)}"`);
      }
    } catch (error) {
      if (error instanceof JsonPatchError) throw error;
      throw new JsonPatchError(index, error instanceof Error ? error.message : String(error));
    }
  });
  return result;
}

/** Structural equality of two JSON documents (member order ignored), as "did the webhook change the pod". */
export function jsonEqual(a: JsonValue, b: JsonValue): boolean {
  return deepEqual(a, b);
}
