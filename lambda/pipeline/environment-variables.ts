// The environment variables the functions read at cold start, as zod schemas shared by the scheduled audit
// (config.ts) and organization mode's steps: each value trimmed, blank as unset, and each problem a phrase about its
// variable. readEnvironment renders every issue at once, so one deployment fixes them all instead of one per attempt.

import { z } from 'zod';
import { DEFAULT_WEBHOOK_NAME } from '../core/analysis/eks-conventions';
import { REGION_NAME } from '../core/model/aws-identifiers';
import { isSeverity, SEVERITIES, type Severity } from '../core/model/finding';

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
export const optionalText = z
  .string()
  .optional()
  .transform((text) => textOf(text));

/** A variable the function cannot run without; `unset` is the problem when it is absent. */
export function requiredText(unset = 'is not set') {
  return optionalText.pipe(z.string({ error: unset }));
}

/** A comma list of names, each matching `pattern` (or it is not `what`); undefined when it names none. */
export function nameListOf(pattern: RegExp, what: string) {
  return optionalText
    .transform((text) => nameList(text))
    .pipe(
      z.array(z.string().regex(pattern, { error: (issue) => `"${issue.input}" is not ${what}` })).optional(),
    );
}

/** The region the function runs in (Lambda sets AWS_REGION). */
export const regionName = requiredText('is not set (the Lambda runtime sets it)').pipe(
  z.string().regex(REGION_NAME, { error: (issue) => `"${issue.input}" is not an AWS region name` }),
);

/** The reports bucket. */
export const bucketName = requiredText().refine((name) => BUCKET_NAME.test(name) && !name.includes('..'), {
  error: (issue) => `"${issue.input}" is not an S3 bucket name`,
});

/** A KMS key for the report objects, optional. */
export const kmsKeyId = optionalText.refine((key) => key === undefined || !/\s/.test(key), {
  error: 'must be a KMS key ID, key ARN or alias, without spaces',
});

/** An EventBridge bus: its name (`default`, or up to 256 of [.-_/A-Za-z0-9]) or its ARN; optional. */
export const eventBusName = optionalText.refine(
  (bus) =>
    bus === undefined ||
    /^[A-Za-z0-9._\-/]{1,256}$/.test(bus) ||
    /^arn:aws[a-z-]*:events:[a-z0-9-]+:\d{12}:event-bus\/[A-Za-z0-9._\-/]{1,256}$/.test(bus),
  { error: (issue) => `"${issue.input}" is not an EventBridge bus name or ARN` },
);

/** One endpoint for every AWS client (an emulator's), optional. */
export const endpointUrl = optionalText.refine((url) => url === undefined || isHttpUrl(url), {
  error: (issue) => `"${issue.input}" is not an http(s) URL`,
});

/** The alert threshold: a severity in any case, DEFAULT_ALERT_SEVERITY when unset. */
export const alertSeverity = optionalText
  .refine((text) => text === undefined || isSeverity(text.toLowerCase()), {
    error: (issue) => `must be one of ${SEVERITIES.join(', ')}, not "${issue.input}"`,
  })
  .transform((text) => text?.toLowerCase() ?? DEFAULT_ALERT_SEVERITY)
  .pipe(z.enum(SEVERITIES));

/** A flag: true or false in any case, false when unset. */
export const flag = optionalText
  .refine((text) => text === undefined || /^(true|false)$/i.test(text), {
    error: (issue) => `must be true or false, not "${issue.input}"`,
  })
  .transform((text) => text?.toLowerCase() === 'true');

/** The mutating webhook that injects IRSA, the EKS one when unset. */
export const webhookName = optionalText
  .transform((name) => name ?? DEFAULT_WEBHOOK_NAME)
  .refine((name) => !/\s/.test(name), {
    error: (issue) => `"${issue.input}" is not a webhook name (it has spaces)`,
  });

/** An SNS topic ARN in `region` (an SNS client publishes only to topics of its own region). */
export function topicArnIn(region: string | undefined) {
  return requiredText()
    .refine((arn) => TOPIC_ARN.test(arn), {
      error: (issue) => `"${issue.input}" is not an SNS topic ARN`,
      abort: true,
    })
    .refine((arn) => region === undefined || regionOfTopic(arn) === region, {
      error: (issue) => `is in ${regionOfTopic(String(issue.input))}, but the function runs in ${region}`,
    });
}

/** A whole number from 1 to `max`, `fallback` when unset. */
export function wholeNumberUpTo(max: number, fallback: number) {
  return optionalText
    .refine(
      (text) => text === undefined || (/^\d+$/.test(text) && Number(text) >= 1 && Number(text) <= max),
      {
        error: (issue) => `must be a whole number from 1 to ${max}, not "${issue.input}"`,
      },
    )
    .transform((text) => (text === undefined ? fallback : Number(text)));
}

/**
 * Parses the variables into a configuration whose fields are `schema`'s keys; `variables` names the variable of each
 * field. Throws ConfigError with one problem per issue: `<VARIABLE> <phrase>`, or `<VARIABLE>: <phrase>` for an entry
 * of a list (the issue's path goes below the field).
 */
export function readEnvironment<Shape extends z.ZodRawShape>(
  schema: z.ZodObject<Shape>,
  variables: { readonly [Field in keyof Shape]: string },
  env: Environment,
): z.output<z.ZodObject<Shape>> {
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
