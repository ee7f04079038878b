// The bearer token EKS accepts: a SigV4-presigned STS GetCallerIdentity URL carrying the signed
// `x-k8s-aws-id` header, as `aws eks get-token` and aws-iam-authenticator produce it. The API server's
// authenticator replays the URL against STS with its own cluster name in that header, so a token signed
// for another cluster fails there; the URL itself never names the cluster.

import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import { partitionOfRegion, REGION_NAME } from '../../core/model/aws-identifiers';

const TOKEN_PREFIX = 'k8s-aws-v1.';
const CLUSTER_ID_HEADER = 'x-k8s-aws-id';
// awscli and aws-iam-authenticator presign for 60 s; STS ignores it and honours the URL for 15 minutes
// after X-Amz-Date (aws-iam-authenticator pkg/token/token.go, requestPresignParam).
const PRESIGN_EXPIRES_SECONDS = 60;
const MAX_CACHE_AGE_MS = 14 * 60 * 1000;
// aws-iam-authenticator rejects larger tokens before decoding them (maxTokenLenBytes).
const MAX_TOKEN_LENGTH = 4 * 1024;
const MAX_EXPIRES_SECONDS = 900;
const STS_API_VERSION = '2011-06-15';
const SIGNING_ALGORITHM = 'AWS4-HMAC-SHA256';

// botocore's SigV4QueryAuth writes the operation parameters first, then its auth parameters in this
// order, and appends the signature last; the SDK's signer orders them differently (security token first).
const QUERY_ORDER = [
  'Action',
  'Version',
  'X-Amz-Algorithm',
  'X-Amz-Credential',
  'X-Amz-Date',
  'X-Amz-Expires',
  'X-Amz-SignedHeaders',
  'X-Amz-Security-Token',
  'X-Amz-Signature',
] as const;

// The only parameters aws-iam-authenticator lets through to STS (parameterWhitelist).
const ALLOWED_PARAMETERS: ReadonlySet<string> = new Set(QUERY_ORDER.map((name) => name.toLowerCase()));

const GLOBAL_STS_HOSTNAME = 'sts.amazonaws.com';

/** What to sign an EKS token for. */
export interface EksTokenRequest {
  readonly clusterName: string;
  readonly region: string;
  readonly credentials: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  /** the signing time; defaults to now */
  readonly now?: Date;
}

/** An EKS token that could not be made or read; the message never contains the token or credentials. */
export class EksTokenError extends Error {
  readonly clusterName?: string;
  readonly region?: string;

  constructor(message: string, context: { clusterName?: string; region?: string; cause?: unknown } = {}) {
    super(message, context.cause === undefined ? undefined : { cause: context.cause });
    this.name = 'EksTokenError';
    if (context.clusterName !== undefined) this.clusterName = context.clusterName;
    if (context.region !== undefined) this.region = context.region;
  }
}

/** `k8s-aws-v1.` + unpadded base64url of a presigned STS GetCallerIdentity URL (regional endpoint, X-Amz-Expires=60, header x-k8s-aws-id signed). */
export async function createEksToken(request: EksTokenRequest): Promise<string> {
  const { clusterName, region, credentials } = request;
  const now = request.now ?? new Date();
  const context = { clusterName, region };
  if (!/^[\x21-\x7e]+$/.test(clusterName)) {
    throw new EksTokenError(
      'cannot sign an EKS token: the cluster name is empty or not printable ASCII',
      context,
    );
  }
  if (Number.isNaN(now.getTime())) {
    throw new EksTokenError('cannot sign an EKS token: the signing time is not a valid date', context);
  }
  const hostname = stsHostname(region, clusterName);
  const signer = new SignatureV4({
    credentials,
    region,
    service: 'sts',
    sha256: Hash.bind(null, 'sha256'),
  });
  const unsigned = new HttpRequest({
    method: 'GET',
    protocol: 'https:',
    hostname,
    path: '/',
    headers: { host: hostname, [CLUSTER_ID_HEADER]: clusterName },
    query: { Action: 'GetCallerIdentity', Version: STS_API_VERSION },
  });
  const presigned = await signer
    .presign(unsigned, { expiresIn: PRESIGN_EXPIRES_SECONDS, signingDate: now })
    .catch((error: unknown) => {
      throw new EksTokenError(
        `cannot sign an EKS token for cluster ${clusterName} in ${region}: ${messageOf(error)}`,
        { ...context, cause: error },
      );
    });
  const url = `https://${hostname}/?${serializeQuery(presigned.query ?? {})}`;
  return TOKEN_PREFIX + Buffer.from(url, 'utf8').toString('base64url');
}

/** Caches tokens per cluster+region for at most 14 minutes (tokens are valid 15). */
export class EksTokenCache {
  readonly #credentials: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  readonly #now: () => Date;
  readonly #maxAgeMs: number;
  readonly #entries = new Map<
    string,
    { readonly token: string; readonly from: number; readonly until: number }
  >();

  constructor(options: {
    credentials: AwsCredentialIdentity | AwsCredentialIdentityProvider;
    now?: () => Date;
    /** default 14 minutes, capped at 14 minutes */
    maxAgeMs?: number;
  }) {
    const maxAgeMs = options.maxAgeMs ?? MAX_CACHE_AGE_MS;
    if (Number.isNaN(maxAgeMs) || maxAgeMs < 0) {
      throw new EksTokenError(`the EKS token cache age must be a non-negative number of ms, not ${maxAgeMs}`);
    }
    this.#credentials = options.credentials;
    this.#now = options.now ?? (() => new Date());
    this.#maxAgeMs = Math.min(maxAgeMs, MAX_CACHE_AGE_MS);
  }

  /** A token for the cluster that stays valid for as long as the cache may hand it out. */
  async token(clusterName: string, region: string): Promise<string> {
    const key = JSON.stringify([region, clusterName]);
    const now = this.#now();
    const cached = this.#entries.get(key);
    if (cached !== undefined && cached.from <= now.getTime() && now.getTime() < cached.until) {
      return cached.token;
    }
    this.#entries.delete(key);
    const credentials = await this.#resolveCredentials(clusterName, region);
    const token = await createEksToken({ clusterName, region, credentials, now });
    // A presigned URL stops working when its temporary credentials expire, even within the 15 minutes.
    const until = Math.min(now.getTime() + this.#maxAgeMs, credentials.expiration?.getTime() ?? Infinity);
    if (until > now.getTime()) this.#entries.set(key, { token, from: now.getTime(), until });
    return token;
  }

  async #resolveCredentials(clusterName: string, region: string): Promise<AwsCredentialIdentity> {
    if (typeof this.#credentials !== 'function') return this.#credentials;
    try {
      return await this.#credentials();
    } catch (error) {
      throw new EksTokenError(
        `cannot sign an EKS token for cluster ${clusterName} in ${region}: no AWS credentials (${messageOf(error)})`,
        { clusterName, region, cause: error },
      );
    }
  }
}

/** Decodes a token back to its presigned URL (for diagnostics and the fake API server); throws EksTokenError when malformed. */
export function decodeEksToken(token: string): URL {
  // The checks are aws-iam-authenticator's (pkg/token/token.go, Verify) up to the call to STS, plus the
  // SigV4 query parameters STS itself needs, so a token accepted here has the shape EKS accepts.
  if (token.length > MAX_TOKEN_LENGTH) malformed(`longer than ${MAX_TOKEN_LENGTH} characters`);
  if (!token.startsWith(TOKEN_PREFIX)) malformed(`missing the ${TOKEN_PREFIX} prefix`);
  const encoded = token.slice(TOKEN_PREFIX.length);
  if (!/^[A-Za-z0-9_-]+$/.test(encoded)) malformed('not unpadded base64url after the prefix');
  const bytes = Buffer.from(encoded, 'base64url');
  if (bytes.toString('base64url') !== encoded) malformed('not canonical unpadded base64url');
  // A presigned URL is percent-encoded ASCII; the URL parser would silently drop a trailing NUL or space
  // and fold case, where Go's url.Parse in aws-iam-authenticator refuses or compares exactly.
  const text = bytes.toString('latin1');
  if (!/^[\x21-\x7e]+$/.test(text)) malformed('the decoded URL has characters outside printable ASCII');
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return malformed('the decoded text is not a URL');
  }
  if (url.href !== text) malformed('the decoded URL is not in canonical form');
  if (url.protocol !== 'https:') malformed(`unexpected scheme ${url.protocol} in the presigned URL`);
  if (url.username !== '' || url.password !== '' || url.port !== '' || url.hash !== '') {
    malformed('the presigned URL has user info, a port or a fragment');
  }
  if (!isStsHostname(url.hostname)) malformed(`unexpected hostname ${url.hostname} in the presigned URL`);
  if (url.pathname !== '/') malformed('unexpected path in the presigned URL');

  const parameters = new Map<string, string>();
  for (const [name, value] of url.searchParams) {
    const lower = name.toLowerCase();
    if (!ALLOWED_PARAMETERS.has(lower)) malformed(`query parameter ${name} is not allowed`);
    if (parameters.has(lower)) malformed(`query parameter ${name} appears more than once`);
    parameters.set(lower, value);
  }
  if (parameters.get('action') !== 'GetCallerIdentity') malformed('the action is not GetCallerIdentity');
  if (parameters.get('version') !== STS_API_VERSION) malformed(`the version is not ${STS_API_VERSION}`);
  if (parameters.get('x-amz-algorithm') !== SIGNING_ALGORITHM)
    malformed(`the algorithm is not ${SIGNING_ALGORITHM}`);
  const signedHeaders = (parameters.get('x-amz-signedheaders') ?? '').toLowerCase().split(';');
  if (!signedHeaders.includes(CLUSTER_ID_HEADER)) malformed(`the ${CLUSTER_ID_HEADER} header is not signed`);
  const expires = parameters.get('x-amz-expires') ?? '';
  if (!/^\d{1,4}$/.test(expires) || Number(expires) > MAX_EXPIRES_SECONDS) {
    malformed(`X-Amz-Expires is not between 0 and ${MAX_EXPIRES_SECONDS}`);
  }
  const date = parameters.get('x-amz-date') ?? '';
  if (!isAmzDate(date)) malformed('X-Amz-Date is missing or not of the form YYYYMMDDTHHMMSSZ');
  const scope = (parameters.get('x-amz-credential') ?? '').split('/');
  if (scope.length !== 5 || scope[0] === '' || scope[1] !== date.slice(0, 8) || scope[3] !== 'sts') {
    malformed('X-Amz-Credential is not <key>/<date of X-Amz-Date>/<region>/sts/aws4_request');
  }
  if (scope[4] !== 'aws4_request') malformed('X-Amz-Credential does not end in aws4_request');
  if (!/^[0-9a-f]{64}$/.test(parameters.get('x-amz-signature') ?? '')) {
    malformed('X-Amz-Signature is not 64 lowercase hex digits');
  }
  return url;
}

/** The regional STS endpoint host of a region, under its partition's DNS suffix. */
function stsHostname(region: string, clusterName?: string): string {
  if (!REGION_NAME.test(region)) {
    throw new EksTokenError(`cannot sign an EKS token: ${JSON.stringify(region)} is not an AWS region name`, {
      region,
      ...(clusterName === undefined ? {} : { clusterName }),
    });
  }
  return `sts.${region}.${partitionOfRegion(region).dnsSuffix}`;
}

function isStsHostname(hostname: string): boolean {
  // The legacy global endpoint is still what some clients sign for, and aws-iam-authenticator accepts it.
  if (hostname === GLOBAL_STS_HOSTNAME) return true;
  const region = /^sts\.([a-z0-9-]+)\./.exec(hostname)?.[1];
  if (region === undefined) return false;
  try {
    return stsHostname(region) === hostname;
  } catch {
    return false;
  }
}

function isAmzDate(value: string): boolean {
  if (!/^\d{8}T\d{6}Z$/.test(value)) return false;
  const iso = `${value.slice(0, 4)}-${value.slice(4, 6)}-${value.slice(6, 8)}T${value.slice(9, 11)}:${value.slice(11, 13)}:${value.slice(13, 15)}.000Z`;
  const date = new Date(iso);
  // Date accepts 2026-02-30 and rolls it over; a real X-Amz-Date survives the round trip unchanged.
  return !Number.isNaN(date.getTime()) && date.toISOString() === iso;
}

function serializeQuery(query: Record<string, string | string[] | null>): string {
  const rank = (name: string): number => {
    const index = (QUERY_ORDER as readonly string[]).indexOf(name);
    // A parameter a future signer adds goes before the signature, which botocore always appends last.
    return index === -1 ? QUERY_ORDER.length - 1.5 : index;
  };
  return Object.keys(query)
    .sort((left, right) => rank(left) - rank(right) || (left < right ? -1 : left > right ? 1 : 0))
    .map((name) => {
      const value = query[name];
      if (typeof value !== 'string') throw new EksTokenError(`the signer produced a non-string ${name}`);
      return `${percentEncode(name)}=${percentEncode(value)}`;
    })
    .join('&');
}

/** RFC 3986 percent-encoding of everything but unreserved characters, as SigV4 and botocore do it. */
function percentEncode(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (character) => `%${character.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

function malformed(reason: string): never {
  throw new EksTokenError(`malformed EKS token: ${reason}`);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
