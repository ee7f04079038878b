// What the EKS authenticator (aws-iam-authenticator) does with a `k8s-aws-v1.` bearer token, minus the
// call to STS: the real one forwards the presigned GetCallerIdentity URL to STS with the
// `x-k8s-aws-id: <cluster>` header, and STS checks the signature. Given the test's credentials, the fake
// recomputes that SigV4 signature itself, which proves the token was signed for this cluster's name.

import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';

/** Static AWS credentials, as the test hands them to the token's signer and to the fake server. */
export interface TestAwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

const PREFIX = 'k8s-aws-v1.';
const CLUSTER_ID_HEADER = 'x-k8s-aws-id';
// aws-iam-authenticator pkg/token/token.go: tokens up to 4 KiB; a presigned URL lives 15 minutes after
// X-Amz-Date whatever X-Amz-Expires says, and X-Amz-Expires itself must be within 0..900 seconds.
const MAX_TOKEN_BYTES = 4096;
const PRESIGNED_URL_LIFETIME_MS = 15 * 60 * 1000;
const MAX_EXPIRES_SECONDS = 900;
const ALLOWED_PARAMETERS = new Set([
  'action',
  'version',
  'x-amz-algorithm',
  'x-amz-credential',
  'x-amz-date',
  'x-amz-expires',
  'x-amz-security-token',
  'x-amz-signature',
  'x-amz-signedheaders',
]);
const STS_HOST = /^sts(\.[a-z0-9-]+)?\.amazonaws\.com(\.cn)?$/;

/** Why a `k8s-aws-v1.` token was rejected: in the server's log only, never in the 401 body (as in EKS). */
export class EksTokenRejectedError extends Error {
  constructor(readonly problem: string) {
    super(`EKS token rejected: ${problem}`);
    this.name = 'EksTokenRejectedError';
  }
}

/** Whether a bearer token claims to be an EKS token at all. */
export function isEksToken(token: string): boolean {
  return token.startsWith(PREFIX);
}

/** The presigned URL inside a `k8s-aws-v1.` token (unpadded base64url, as aws-iam-authenticator decodes it). */
export function presignedUrlOf(token: string): URL {
  const encoded = token.slice(PREFIX.length);
  if (!/^[A-Za-z0-9_-]*$/.test(encoded)) throw new EksTokenRejectedError('token is not unpadded base64url');
  try {
    return new URL(Buffer.from(encoded, 'base64url').toString('utf8'));
  } catch {
    throw new EksTokenRejectedError('token does not decode to a URL');
  }
}

/** Checks a token as the EKS authenticator does; with credentials, also that it was signed for `clusterName`. */
export async function verifyEksToken(
  token: string,
  clusterName: string,
  now: Date,
  credentials?: TestAwsCredentials,
): Promise<void> {
  if (token.length > MAX_TOKEN_BYTES) throw new EksTokenRejectedError('token is too large');
  if (!isEksToken(token)) throw new EksTokenRejectedError('token lacks the k8s-aws-v1. prefix');
  const url = presignedUrlOf(token);
  if (url.protocol !== 'https:') throw new EksTokenRejectedError(`unexpected scheme ${url.protocol}`);
  if (!STS_HOST.test(url.hostname) || url.port !== '')
    throw new EksTokenRejectedError(`unexpected hostname ${url.host}`);
  if (url.pathname !== '/') throw new EksTokenRejectedError('unexpected path in pre-signed URL');
  const parameters = new Map<string, string>();
  for (const [key, value] of url.searchParams) {
    const lower = key.toLowerCase();
    if (!ALLOWED_PARAMETERS.has(lower))
      throw new EksTokenRejectedError(`non-whitelisted query parameter ${key}`);
    if (parameters.has(lower)) throw new EksTokenRejectedError(`duplicate query parameter ${key}`);
    parameters.set(lower, value);
  }
  if (parameters.get('action') !== 'GetCallerIdentity')
    throw new EksTokenRejectedError('unexpected action parameter in pre-signed URL');
  if (parameters.get('version') !== '2011-06-15')
    throw new EksTokenRejectedError('unexpected version parameter in pre-signed URL');
  const signedHeaders = (parameters.get('x-amz-signedheaders') ?? '').split(';');
  if (!signedHeaders.includes(CLUSTER_ID_HEADER))
    throw new EksTokenRejectedError('client did not sign the x-k8s-aws-id header in the pre-signed URL');
  const expires = Number(parameters.get('x-amz-expires'));
  if (!Number.isInteger(expires) || expires < 0 || expires > MAX_EXPIRES_SECONDS)
    throw new EksTokenRejectedError('invalid X-Amz-Expires parameter in pre-signed URL');
  const date = parseAmzDate(parameters.get('x-amz-date') ?? '');
  if (now.getTime() > date.getTime() + PRESIGNED_URL_LIFETIME_MS)
    throw new EksTokenRejectedError('X-Amz-Date parameter is expired (15 minute expiration)');
  if (credentials === undefined) return;

  // What STS would do: recompute the signature over the same request, with this cluster's header.
  const [accessKeyId, , region, service] = (parameters.get('x-amz-credential') ?? '').split('/');
  if (accessKeyId !== credentials.accessKeyId || service !== 'sts' || region === undefined)
    throw new EksTokenRejectedError('credential scope does not name the expected access key and sts');
  const expected = await presignGetCallerIdentity({
    host: url.hostname,
    region,
    clusterName,
    credentials,
    signingDate: date,
    expiresIn: expires,
  });
  if (expected.searchParams.get('X-Amz-Signature') !== parameters.get('x-amz-signature'))
    throw new EksTokenRejectedError('signature does not match a request for this cluster');
}

function parseAmzDate(value: string): Date {
  const match = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (match === null) throw new EksTokenRejectedError('invalid X-Amz-Date parameter');
  const [, year, month, day, hour, minute, second] = match.map(Number);
  return new Date(Date.UTC(year!, month! - 1, day!, hour!, minute!, second!));
}

/** What to presign: a GET of STS GetCallerIdentity carrying the signed cluster header. */
export interface GetCallerIdentityPresign {
  readonly host: string;
  readonly region: string;
  readonly clusterName: string;
  readonly credentials: TestAwsCredentials;
  readonly signingDate: Date;
  readonly expiresIn: number;
}

/** SigV4-presigns STS GetCallerIdentity with the `x-k8s-aws-id` header, as `aws eks get-token` does. */
export async function presignGetCallerIdentity(request: GetCallerIdentityPresign): Promise<URL> {
  const signer = new SignatureV4({
    credentials: request.credentials,
    region: request.region,
    service: 'sts',
    sha256: Hash.bind(null, 'sha256'),
  });
  const presigned = await signer.presign(
    new HttpRequest({
      method: 'GET',
      protocol: 'https:',
      hostname: request.host,
      path: '/',
      query: { Action: 'GetCallerIdentity', Version: '2011-06-15' },
      headers: { host: request.host, [CLUSTER_ID_HEADER]: request.clusterName },
    }),
    { signingDate: request.signingDate, expiresIn: request.expiresIn },
  );
  const url = new URL(`https://${request.host}/`);
  for (const [key, value] of Object.entries(presigned.query ?? {})) {
    if (typeof value === 'string') url.searchParams.append(key, value);
  }
  return url;
}

/**
 * A `k8s-aws-v1.` token for tests, made independently of the product's token code so that the fake's
 * verifier does not merely agree with the code under test (the product's token is pinned to
 * `aws eks get-token` by its own test).
 */
export async function testEksToken(options: {
  readonly clusterName: string;
  readonly region: string;
  readonly credentials: TestAwsCredentials;
  readonly now?: Date;
}): Promise<string> {
  const url = await presignGetCallerIdentity({
    host: `sts.${options.region}.amazonaws.com`,
    region: options.region,
    clusterName: options.clusterName,
    credentials: options.credentials,
    signingDate: options.now ?? new Date(),
    expiresIn: 60,
  });
  return `${PREFIX}${Buffer.from(url.toString()).toString('base64url')}`;
}
