// Small readers for untyped JSON that fail with the JSON path of the offending value.

/** A value is not of the expected shape; `path` is a JSONPath like `$.items[3].spec`. */
export class ShapeError extends Error {
  constructor(
    readonly path: string,
    readonly problem: string,
  ) {
    super(`${path}: ${problem}`);
    this.name = 'ShapeError';
  }
}

export type JsonObject = Readonly<Record<string, unknown>>;

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const describe = (value: unknown) =>
  value === undefined
    ? 'nothing'
    : value === null
      ? 'null'
      : Array.isArray(value)
        ? 'an array'
        : typeof value === 'object'
          ? 'an object'
          : `a ${typeof value}`;

/** The JSONPath of a member; other keys are JSON-quoted so a newline or quote in a key stays on one line. */
export function at(path: string, key: string | number): string {
  return typeof key === 'number'
    ? `${path}[${key}]`
    : /^[A-Za-z_$][\w$]*$/.test(key)
      ? `${path}.${key}`
      : `${path}[${JSON.stringify(key)}]`;
}

export function asObject(value: unknown, path: string): JsonObject {
  if (!isObject(value)) throw new ShapeError(path, `expected an object, found ${describe(value)}`);
  return value;
}

export function asArray(value: unknown, path: string): readonly unknown[] {
  if (!Array.isArray(value)) throw new ShapeError(path, `expected an array, found ${describe(value)}`);
  return value;
}

export function requiredString(object: JsonObject, key: string, path: string): string {
  const value = object[key];
  if (typeof value !== 'string')
    throw new ShapeError(at(path, key), `expected a string, found ${describe(value)}`);
  return value;
}

export function optionalString(object: JsonObject, key: string, path: string): string | undefined {
  const value = object[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string')
    throw new ShapeError(at(path, key), `expected a string, found ${describe(value)}`);
  return value;
}

export function optionalNumber(object: JsonObject, key: string, path: string): number | undefined {
  const value = object[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number')
    throw new ShapeError(at(path, key), `expected a number, found ${describe(value)}`);
  return value;
}

export function optionalBoolean(object: JsonObject, key: string, path: string): boolean | undefined {
  const value = object[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean')
    throw new ShapeError(at(path, key), `expected a boolean, found ${describe(value)}`);
  return value;
}

/** An optional timestamp (ISO 8601, as the AWS CLI prints it and the SDK's Date serialises), kept as written. */
export function optionalTimestamp(object: JsonObject, key: string, path: string): string | undefined {
  const value = optionalString(object, key, path);
  if (value !== undefined && Number.isNaN(Date.parse(value)))
    throw new ShapeError(at(path, key), `expected an ISO 8601 timestamp, found ${JSON.stringify(value)}`);
  return value;
}

export function optionalObject(object: JsonObject, key: string, path: string): JsonObject | undefined {
  const value = object[key];
  if (value === undefined || value === null) return undefined;
  return asObject(value, at(path, key));
}

/** An optional array; absent or null reads as empty, as Kubernetes omits empty lists. */
export function optionalArray(object: JsonObject, key: string, path: string): readonly unknown[] {
  const value = object[key];
  if (value === undefined || value === null) return [];
  return asArray(value, at(path, key));
}

export function stringArray(object: JsonObject, key: string, path: string): readonly string[] {
  return optionalArray(object, key, path).map((item, index) => {
    if (typeof item !== 'string')
      throw new ShapeError(at(at(path, key), index), `expected a string, found ${describe(item)}`);
    return item;
  });
}

/** A `map[string]string` such as labels or annotations; absent reads as empty. */
export function stringMap(object: JsonObject, key: string, path: string): Readonly<Record<string, string>> {
  const value = optionalObject(object, key, path);
  if (value === undefined) return {};
  const result: Record<string, string> = {};
  for (const [name, item] of Object.entries(value)) {
    if (typeof item !== 'string')
      throw new ShapeError(at(at(path, key), name), `expected a string, found ${describe(item)}`);
    result[name] = item;
  }
  return result;
}
