// ARN parsing for IAM roles and OIDC providers, with reasons a person can act on.

import { ACCOUNT_ID, PARTITION_NAME, ROLE_NAME } from '../model/aws-identifiers';

export interface RoleArn {
  readonly arn: string;
  readonly partition: string;
  readonly accountId: string;
  /** `/` or `/team/`: always starts and ends with a slash. */
  readonly path: string;
  readonly name: string;
}

export type RoleArnParse =
  | { readonly ok: true; readonly value: RoleArn }
  | { readonly ok: false; readonly problem: string; readonly suggestion?: string };

const PATH_SEGMENT = /^[\w+=,.@-]+$/;

/** Parses `arn:<partition>:iam::<account>:role/<path><name>`, saying exactly what is wrong if it is not one. */
export function parseRoleArn(value: string): RoleArnParse {
  // Strip quotes and whitespace in any nesting: YAML pastes such as `"'arn:…' "` wrap more than once.
  const cleaned = value.replace(/^[\s"'`]+|[\s"'`]+$/g, '');
  if (cleaned !== value) {
    const inner = parseStrictRoleArn(cleaned);
    const quotes = /^[\s"'`]*["'`]|["'`][\s"'`]*$/.test(value);
    const whitespace = /^[\s"'`]*\s|\s[\s"'`]*$/.test(value);
    const what =
      quotes && whitespace
        ? 'surrounding quotes and whitespace'
        : quotes
          ? 'quotes'
          : 'surrounding whitespace';
    return inner.ok
      ? { ok: false, problem: `the value has ${what}`, suggestion: cleaned }
      : { ok: false, problem: `the value has ${what}, and without it ${inner.problem}` };
  }
  return parseStrictRoleArn(value);
}

function parseStrictRoleArn(value: string): RoleArnParse {
  if (value === '') return { ok: false, problem: 'the value is empty' };
  if (/\s/.test(value)) return { ok: false, problem: 'the value contains whitespace' };
  const parts = value.split(':');
  if (parts.length < 6 || parts[0] !== 'arn') {
    return { ok: false, problem: 'it is not an ARN (expected arn:aws:iam::<account>:role/<name>)' };
  }
  const [, partition = '', service = '', region = '', accountId = ''] = parts;
  const resource = parts.slice(5).join(':');
  if (!PARTITION_NAME.test(partition))
    return { ok: false, problem: `"${partition}" is not an AWS partition` };
  if (service !== 'iam') {
    return { ok: false, problem: `the service is "${service}", not "iam"` };
  }
  if (region !== '') return { ok: false, problem: `IAM ARNs have no region, but this one has "${region}"` };
  if (!ACCOUNT_ID.test(accountId)) {
    return { ok: false, problem: `the account "${accountId}" is not 12 digits` };
  }
  const slash = resource.indexOf('/');
  const resourceType = slash < 0 ? resource : resource.slice(0, slash);
  if (resourceType !== 'role') {
    return { ok: false, problem: `the resource type is "${resourceType}", not "role"` };
  }
  if (slash < 0) return { ok: false, problem: 'the role name is missing (expected role/<name>)' };
  const rest = resource.slice(slash + 1);
  const lastSlash = rest.lastIndexOf('/');
  const name = rest.slice(lastSlash + 1);
  const path = `/${rest.slice(0, lastSlash + 1)}`;
  if (name === '') return { ok: false, problem: 'the role name is empty' };
  if (!ROLE_NAME.test(name)) {
    return { ok: false, problem: `the role name "${name}" has characters IAM does not allow or is too long` };
  }
  const segments = path.split('/').filter((segment) => segment !== '');
  if (path.includes('//') || !segments.every((segment) => PATH_SEGMENT.test(segment))) {
    return { ok: false, problem: `the role path "${path}" is not a valid IAM path` };
  }
  return { ok: true, value: { arn: value, partition, accountId, path, name } };
}

/** The account ID of any ARN, or undefined when the value is not an ARN with one. */
export function accountOfArn(arn: string): string | undefined {
  const accountId = arn.split(':')[4];
  return accountId !== undefined && ACCOUNT_ID.test(accountId) ? accountId : undefined;
}

/** The partition of any ARN (`aws` when it cannot be told). */
export function partitionOfArn(arn: string | undefined): string {
  const partition = arn?.split(':')[1];
  return partition !== undefined && PARTITION_NAME.test(partition) ? partition : 'aws';
}

/** The ARN IAM gives the OIDC provider for an issuer in an account. */
export function oidcProviderArn(partition: string, accountId: string, issuer: string): string {
  return `arn:${partition}:iam::${accountId}:oidc-provider/${issuer}`;
}
