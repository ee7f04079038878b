// The environment variables the functions read at cold start, as zod schemas shared by the scheduled audit
// (config.ts) and organization mode's steps: each value trimmed, blank as unset, and each problem a phrase about its
// variable. readEnvironment renders every issue at once, so one deployment fixes them all instead of one per attempt.
// zod/mini, not zod's classic API: the same parser in 19 KiB of the handler's bundle instead of 462 (every message
// here is the project's own, so the locales the classic API carries are never read), paid at every cold start.

import * as z from 'zod/mini';
import { DEFAULT_WEBHOOK_NAME } from '../core/analysis/eks-conventions';
import { REGION_NAME } from '../core/model/aws-identifiers';
import { isSeverity, SEVERITIES, type Severity } from '../core/model/finding';

/** `schema`, then `map` of what it parsed (classic zod's `.transform`). */
export function mapped<Schema extends z.ZodMiniType, Output>(
  schema: Schema,
  map: (value: z.output<Schema>) => Output,
) {
  return z.pipe(schema, z.transform(map));
}

/** `schema`, with an issue (`params.error`) where `test` fails (classic zod's `.refine`). */
export function refined<Schema extends z.ZodMiniType>(
  schema: Schema,
  test: (value: z.output<Schema>) => boolean,
  params: z.core.$ZodCustomParams,
): Schema {
  return schema.check(z.refine(test, params));
}

/** The environment a configuration is read from (`process.env` in the Lambda). */
export type Environment = Readonly<Record<string, string | undefined>>;

/** The environment cannot run an audit; `problems` lists every reason, the message joins them on one line. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';

  constructor(readonly problems: readonly string[]) {
    super(
      `invalid configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}): ${problems.join('; ')}`,
    );
  }
}

export const DEFAULT_ALERT_SEVERITY: Severity = 'high';

// A namespace name is an RFC 1123 DNS label.
export const NAMESPACE_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
// SNS topic names: up to 256 letters, digits, hyphens and underscores (`.fifo` for FIFO topics).
export const TOPIC_ARN = /^arn:(aws[a-z-]*):sns:([a-z0-9-]+):(\d{12}):([A-Za-z0-9_-]{1,256}(\.fifo)?)$/;
// S3 general purpose bucket names: 3-63 lower-case letters, digits, dots and hyphens, a letter or digit at each end.
export const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** A variable's text: trimmed, and undefined when unset or blank (how a stack renders an absent value). */
export const optionalText = mapped(z.optional(z.string()), textOf);

/** A variable the function cannot run without; `unset` is the problem when it is absent. */
export function requiredText(unset = 'is not set') {
  return z.pipe(optionalText, z.string({ error: unset }));
}

/** A comma list of names, each matching `pattern` (or it is not `what`); undefined when it names none. */
export function nameListOf(pattern: RegExp, what: string) {
  return z.pipe(
    mapped(optionalText, nameList),
    z.optional(
      z.array(z.string().check(z.regex(pattern, { error: (issue) => `"${issue.input}" is not ${what}` }))),
    ),
  );
}

/** The region the function runs in (Lambda sets AWS_REGION). */
export const regionName = z.pipe(
  requiredText('is not set (the Lambda runtime sets it)'),
  z.string().check(z.regex(REGION_NAME, { error: (issue) => `"${issue.input}" is not an AWS region name` })),
);

/** The reports bucket. */
export const bucketName = refined(requiredText(), (name) => BUCKET_NAME.test(name) && !name.includes('..'), {
  error: (issue) => `"${issue.input}" is not an S3 bucket name`,
});

/** A KMS key for the report objects, optional. */
export const kmsKeyId = refined(optionalText, (key) => key === undefined || !/\s/.test(key), {
  error: 'must be a KMS key ID, key ARN or alias, without spaces',
});

/** An EventBridge bus: its name (`default`, or up to 256 of [.-_/A-Za-z0-9]) or its ARN; optional. */
export const eventBusName = refined(
  optionalText,
  (bus) =>
    bus === undefined ||
    /^[A-Za-z0-9._\-/]{1,256}$/.test(bus) ||
    /^arn:aws[a-z-]*:events:[a-z0-9-]+:\d{12}:event-bus\/[A-Za-z0-9._\-/]{1,256}$/.test(bus),
  { error: (issue) => `"${issue.input}" is not an EventBridge bus name or ARN` },
);

/** One endpoint for every AWS client (an emulator's), optional. */
export const endpointUrl = refined(optionalText, (url) => url === undefined || isHttpUrl(url), {
  error: (issue) => `"${issue.input}" is not an http(s) URL`,
});

/** The alert threshold: a severity in any case, DEFAULT_ALERT_SEVERITY when unset. */
export const alertSeverity = z.pipe(
  mapped(
    refined(optionalText, (text) => text === undefined || isSeverity(text.toLowerCase()), {
      error: (issue) => `must be one of ${SEVERITIES.join(', ')}, not "${issue.input}"`,
    }),
    (text) => text?.toLowerCase() ?? DEFAULT_ALERT_SEVERITY,
  ),
  z.enum(SEVERITIES),
);

/** A flag: true or false in any case, false when unset. */
export const flag = mapped(
  refined(optionalText, (text) => text === undefined || /^(true|false)$/i.test(text), {
    error: (issue) => `must be true or false, not "${issue.input}"`,
  }),
  (text) => text?.toLowerCase() === 'true',
);

/** The mutating webhook that injects IRSA, the EKS one when unset. */
export const webhookName = refined(
  mapped(optionalText, (name) => name ?? DEFAULT_WEBHOOK_NAME),
  (name) => !/\s/.test(name),
  { error: (issue) => `"${issue.input}" is not a webhook name (it has spaces)` },
);

/** An SNS topic ARN in `region` (an SNS client publishes only to topics of its own region). */
export function topicArnIn(region: string | undefined) {
  return requiredText().check(
    z.refine((arn: string) => TOPIC_ARN.test(arn), {
      error: (issue) => `"${issue.input}" is not an SNS topic ARN`,
      abort: true,
    }),
    z.refine((arn: string) => region === undefined || regionOfTopic(arn) === region, {
      error: (issue) => `is in ${regionOfTopic(String(issue.input))}, but the function runs in ${region}`,
    }),
  );
}

/** A whole number from 1 to `max`, `fallback` when unset. */
export function wholeNumberUpTo(max: number, fallback: number) {
  return mapped(
    refined(
      optionalText,
      (text) => text === undefined || (/^\d+$/.test(text) && Number(text) >= 1 && Number(text) <= max),
      { error: (issue) => `must be a whole number from 1 to ${max}, not "${issue.input}"` },
    ),
    (text) => (text === undefined ? fallback : Number(text)),
  );
}

/**
 * Parses the variables into a configuration whose fields are `schema`'s keys; `variables` names the variable of each
 * field. Throws ConfigError with one problem per issue: `<VARIABLE> <phrase>`, or `<VARIABLE>: <phrase>` for an entry
 * of a list (the issue's path goes below the field).
 */
export function readEnvironment<Shape extends z.core.$ZodShape>(
  schema: z.ZodMiniObject<Shape>,
  variables: { readonly [Field in keyof Shape]: string },
  env: Environment,
): z.output<z.ZodMiniObject<Shape>> {
  const input = Object.fromEntries(Object.entries(variables).map(([field, name]) => [field, env[name]]));
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  throw new ConfigError(
    result.error.issues.map(({ path, message }) => {
      const variable = variables[path[0] as keyof Shape];
      return path.length > 1 ? `${variable}: ${message}` : `${variable} ${message}`;
    }),
  );
}

/** The region a function runs in: AWS_REGION, or AWS_DEFAULT_REGION outside Lambda. */
export function regionVariableOf(env: Environment): Environment {
  return { ...env, AWS_REGION: textOf(env.AWS_REGION) ?? textOf(env.AWS_DEFAULT_REGION) };
}

/** A comma list as a stack renders it: spaces around names and empty entries (a trailing comma) mean nothing. */
export function nameList(text: string | undefined): string[] | undefined {
  if (text === undefined) return undefined;
  const names = [...new Set(text.split(',').map((name) => name.trim()))].filter((name) => name !== '');
  return names.length === 0 ? undefined : names;
}

/** True for an absolute http: or https: URL (an emulator's endpoint). */
export function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

function textOf(text: string | undefined): string | undefined {
  const trimmed = text?.trim();
  return trimmed === '' ? undefined : trimmed;
}

function regionOfTopic(arn: string): string | undefined {
  return TOPIC_ARN.exec(arn)?.[2];
}
