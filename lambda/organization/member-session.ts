// The auditor's way into a member account: the member role MemberAccountStack creates there, assumed with the
// external ID for 15 minutes. One credential provider per account serves the AWS clients of every region AND the
// EKS tokens: the member stack's access entries map that role, so a token must be signed with its credentials.

import { fromTemporaryCredentials } from '@aws-sdk/credential-providers';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider, Pluggable } from '@smithy/types';
import { errorText } from '../core/error-text';
import { partitionOfRegion } from '../core/model/aws-identifiers';
import { type AwsClients, type AwsCredentials, createAwsClients } from '../sources/aws/aws-clients';
import { AWS_ERROR_TEXT, errorCode, failureReason } from '../sources/aws/aws-errors';
import { EksTokenCache } from '../sources/aws/eks-token';
import { DISCOVER_ROLE_NAME, TARGET_AUDIT_ROLE_NAME, TARGET_THROTTLED_ERROR } from './organization-config';

/**
 * Why a target (an account, or an account's region) could not be audited. `explicit-deny` is a Deny of a policy
 * outside the member stack (a service control policy, most often), which redeploying that stack cannot lift.
 */
export type TargetFailureReason =
  | 'access-denied'
  | 'explicit-deny'
  | 'throttled'
  | 'region-not-enabled'
  | 'error';

/** The step the session is for: it names the STS session, so CloudTrail in the member account tells them apart. */
export type SessionPurpose = 'discover' | 'audit';

/** How member roles are assumed, the same for every account of a run. */
export interface MemberSessionOptions {
  /** The auditor's region: AssumeRole goes to its STS endpoint (sessions from it are valid in every region). */
  readonly homeRegion: string;
  readonly memberRoleName: string;
  readonly externalId: string;
  readonly purpose: SessionPurpose;
  /** One endpoint for STS and every client (emulators such as moto). */
  readonly endpoint?: string;
  /** The auditor's own credentials; the Lambda's (the default chain) when absent. */
  readonly credentials?: AwsCredentials;
  /** Extra middleware of the STS client that assumes the role (request logging; fault injection in tests). */
  // biome-ignore lint/suspicious/noExplicitAny: fromTemporaryCredentials types its clientPlugins this way.
  readonly stsPlugins?: readonly Pluggable<any, any>[];
  readonly now?: () => Date;
}

/** One member account, reached through its member role. */
export interface MemberSession {
  readonly account: string;
  readonly roleArn: string;
  /** Assumes the role (once; again near expiry); shared by every client and token of the account. */
  readonly credentials: AwsCredentialIdentityProvider;
  /** Assumes the role now, so a failure is told apart from a failure of the first call made with it. */
  assume(): Promise<void>;
  /** EKS, IAM and STS clients of the account in one region, signed as the member role. */
  clients(region: string): AwsClients;
  /** EKS tokens signed as the member role (the identity the cluster's access entry maps). */
  readonly tokens: EksTokenCache;
}

/** A target could not be reached as its member role; the message names the role and says what to do. */
export class MemberAccessError extends Error {
  override readonly name = 'MemberAccessError';

  constructor(
    readonly reason: TargetFailureReason,
    readonly account: string,
    readonly roleArn: string,
    message: string,
    readonly region?: string,
    options?: { readonly cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * AWS throttled the member session beyond the SDK's retries (and the step's own). The name is what the state
 * machine's Retry matches ("TargetThrottled"), so the step is tried again later instead of reporting a throttled
 * target as broken.
 */
export class TargetThrottledError extends Error {
  override readonly name = TARGET_THROTTLED_ERROR;
}

// AssumeRole's shortest session: one audit-target invocation (15 minutes at most) fits, and a leaked key dies soon.
const SESSION_SECONDS = 900;
// As the collection clients (createAwsClients): STS throttles AssumeRole per account, and a run assumes one role
// per account at once; the SDK's adaptive retries come first, then the step's own (discover), then the state machine's.
const ASSUME_ROLE_MAX_ATTEMPTS = 5;
// As the SDK's own memoisation: refresh five minutes before expiry, so a token signed now outlives the calls it serves.
const REFRESH_BEFORE_EXPIRY_MS = 5 * 60 * 1000;
// What AWS answers when credentials meet a region that is not enabled in the account (opt-in regions): the
// region's endpoints do not know the session at all. STS says RegionDisabledException for its own endpoint.
const REGION_NOT_ENABLED_CODES = new Set([
  'InvalidClientTokenId',
  'UnrecognizedClientException',
  'AuthFailure',
  'OptInRequired',
  'RegionDisabledException',
]);
const ACCESS_DENIED_CODES = new Set(['AccessDenied', 'AccessDeniedException']);
// AWS says where an explicit Deny came from: "... with an explicit deny in a service control policy" (also
// "in a resource control policy", "in an identity-based policy", "in a permissions boundary").
const EXPLICIT_DENY = /explicit deny|service control policy/i;
const DENY_SOURCE = /explicit deny in (an? [a-z-]+(?: [a-z-]+)*? (?:policy|boundary))/i;

/** `arn:<partition>:iam::<account>:role/<name>`: the member role has no path (the trust and access entries say so). */
export function memberRoleArn(account: string, roleName: string, region: string): string {
  return `arn:${partitionOfRegion(region).name}:iam::${account}:role/${roleName}`;
}

/** The session of one member account. Nothing is called until the first client call, token or `assume()`. */
export function createMemberSession(options: MemberSessionOptions, account: string): MemberSession {
  const roleArn = memberRoleArn(account, options.memberRoleName, options.homeRegion);
  const endpoint = options.endpoint === undefined ? {} : { endpoint: options.endpoint };
  const assumeRole = fromTemporaryCredentials({
    params: {
      RoleArn: roleArn,
      ExternalId: options.externalId,
      RoleSessionName: `irsa-auditor-${options.purpose}`,
      DurationSeconds: SESSION_SECONDS,
    },
    ...(options.credentials === undefined ? {} : { masterCredentials: options.credentials }),
    clientConfig: {
      region: options.homeRegion,
      retryMode: 'adaptive',
      maxAttempts: ASSUME_ROLE_MAX_ATTEMPTS,
      ...endpoint,
    },
    ...(options.stsPlugins === undefined ? {} : { clientPlugins: [...options.stsPlugins] }),
  });
  const credentials = memoized(() => assumeRole(), options.now ?? (() => new Date()));
  const tokens = new EksTokenCache({
    credentials,
    ...(options.now === undefined ? {} : { now: options.now }),
  });
  return {
    account,
    roleArn,
    credentials,
    async assume() {
      try {
        await credentials();
      } catch (error) {
        throw assumeRoleFailure(error, account, roleArn, options.homeRegion);
      }
    },
    clients: (region) => createAwsClients({ region, credentials, ...endpoint }),
    tokens,
  };
}

/**
 * What a failed AssumeRole of the member role means, and what to do about it. AssumeRole goes to the STS endpoint
 * of the auditor's home region, so a region not enabled there is `homeRegion` (the failure's `region`).
 */
export function assumeRoleFailure(
  error: unknown,
  account: string,
  roleArn: string,
  homeRegion: string,
): MemberAccessError {
  const detail = errorText(error, AWS_ERROR_TEXT);
  const code = errorCode(error) ?? '';
  // Before the 403 test: STS answers RegionDisabledException and InvalidClientTokenId with HTTP 403 too.
  if (REGION_NOT_ENABLED_CODES.has(code))
    return new MemberAccessError(
      'region-not-enabled',
      account,
      roleArn,
      `cannot assume ${roleArn} (${detail}): AssumeRole goes to the STS endpoint of the auditor's home region ${homeRegion}, which is not enabled for account ${account}; in account ${account}, enable ${homeRegion} (Account > AWS Regions) if it is an opt-in region, and activate STS in ${homeRegion} (IAM > Account settings > Security Token Service endpoints)`,
      homeRegion,
      { cause: error },
    );
  if (failureReason(error) === 'throttled')
    return new MemberAccessError(
      'throttled',
      account,
      roleArn,
      `STS throttled AssumeRole of ${roleArn} beyond the SDK's retries (${detail}); lower the map's MaxConcurrency if this persists`,
      undefined,
      { cause: error },
    );
  const forbidden = ACCESS_DENIED_CODES.has(code) || failureReason(error) === 'forbidden';
  if (forbidden && EXPLICIT_DENY.test(fullMessageOf(error)))
    return new MemberAccessError(
      'explicit-deny',
      account,
      roleArn,
      `cannot assume ${roleArn} (${detail}): ${denySource(error)} denies it explicitly, which redeploying MemberAccountStack does not change; ask the organization's administrators to exempt ${DISCOVER_ROLE_NAME}, ${TARGET_AUDIT_ROLE_NAME} and ${roleArn} from that policy`,
      undefined,
      { cause: error },
    );
  if (forbidden) {
    // STS answers AccessDenied both when the role does not exist and when its trust policy refuses the caller.
    return new MemberAccessError(
      'access-denied',
      account,
      roleArn,
      `cannot assume ${roleArn} (${detail}): the role does not exist or its trust policy refuses this auditor; deploy MemberAccountStack in account ${account} with this auditor's account ID and external ID (it trusts the roles ${DISCOVER_ROLE_NAME} and ${TARGET_AUDIT_ROLE_NAME} only)`,
      undefined,
      { cause: error },
    );
  }
  return new MemberAccessError('error', account, roleArn, `cannot assume ${roleArn}: ${detail}`, undefined, {
    cause: error,
  });
}

/**
 * What a failed call made as the member role in one region means: a region not enabled in the account (the
 * region's endpoints reject the session as an unknown token), the role lacking a permission, or throttling.
 */
export function regionCallFailure(
  error: unknown,
  session: Pick<MemberSession, 'account' | 'roleArn'>,
  region: string,
  operation: string,
): MemberAccessError {
  const { account, roleArn } = session;
  const detail = errorText(error, AWS_ERROR_TEXT);
  const code = errorCode(error) ?? '';
  const failure = (reason: TargetFailureReason, message: string) =>
    new MemberAccessError(reason, account, roleArn, message, region, { cause: error });
  if (REGION_NOT_ENABLED_CODES.has(code))
    return failure(
      'region-not-enabled',
      `${operation} in ${region} as ${roleArn} was refused (${detail}): ${region} is most likely an opt-in region not enabled in account ${account}; enable it (Account > AWS Regions) or remove it from the auditor's regions`,
    );
  if (failureReason(error) === 'throttled')
    return failure(
      'throttled',
      `${operation} in ${region} was throttled beyond the SDK's retries (${detail}); lower the concurrency if this persists`,
    );
  if (failureReason(error) === 'forbidden' && EXPLICIT_DENY.test(fullMessageOf(error)))
    return failure(
      'explicit-deny',
      `${operation} in ${region} as ${roleArn} was denied (${detail}): ${denySource(error)} denies it explicitly, which redeploying MemberAccountStack does not change; ask the organization's administrators to exempt ${roleArn} from that policy, or remove ${region} from the auditor's regions`,
    );
  if (failureReason(error) === 'forbidden')
    return failure(
      'access-denied',
      `${operation} in ${region} as ${roleArn} was denied (${detail}): redeploy MemberAccountStack in account ${account} so that the role has the auditor's read permissions`,
    );
  return failure('error', `${operation} in ${region} as ${roleArn} failed: ${detail}`);
}

/** The policy an explicit Deny came from, as AWS names it ("a service control policy"), or a generic phrase. */
function denySource(error: unknown): string {
  return DENY_SOURCE.exec(fullMessageOf(error))?.[1]?.toLowerCase() ?? 'a policy outside the member stack';
}

// The whole message: AWS_ERROR_TEXT cuts at 300 characters, and AWS puts where the Deny came from at the end.
function fullMessageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A provider that assumes once and shares the credentials until five minutes before they expire. */
function memoized(
  provide: () => Promise<AwsCredentialIdentity>,
  now: () => Date,
): AwsCredentialIdentityProvider {
  let current: Promise<AwsCredentialIdentity> | undefined;
  return async () => {
    if (current !== undefined) {
      // Callers that arrive while an attempt is in flight share its outcome, failure included.
      const credentials = await current;
      const expiration = credentials.expiration?.getTime();
      if (expiration === undefined || expiration - now().getTime() > REFRESH_BEFORE_EXPIRY_MS)
        return credentials;
    }
    const attempt = provide();
    current = attempt;
    // A failed attempt is not kept: the next call assumes again (a throttled AssumeRole may succeed then).
    attempt.catch(() => {
      if (current === attempt) current = undefined;
    });
    return attempt;
  };
}
