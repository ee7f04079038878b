// Classifies SDK errors into the reasons an audit reports, as one readable line.

/** Why an AWS read failed, as a CollectionError reports it. */
export type AwsFailureReason = 'forbidden' | 'throttled' | 'error';

interface SdkErrorShape {
  readonly name?: unknown;
  readonly message?: unknown;
  readonly $fault?: unknown;
  readonly $metadata?: { readonly httpStatusCode?: number };
  readonly $retryable?: { readonly throttling?: boolean };
}

// Error codes AWS services use for throttling; IAM answers `Throttling`, EKS `ThrottlingException`.
const THROTTLING_CODES = new Set([
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestThrottledException',
  'RequestThrottled',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'SlowDown',
  'BandwidthLimitExceeded',
  'ProvisionedThroughputExceededException',
]);

const FORBIDDEN_CODES = new Set([
  'AccessDenied',
  'AccessDeniedException',
  'UnauthorizedOperation',
  'UnauthorizedException',
  'NotAuthorized',
]);

const MAX_MESSAGE_LENGTH = 300;

function shapeOf(error: unknown): SdkErrorShape {
  return typeof error === 'object' && error !== null ? (error as SdkErrorShape) : {};
}

/** The error code the SDK put in `name` (e.g. `NoSuchEntityException`), or undefined. */
export function errorCode(error: unknown): string | undefined {
  const { name } = shapeOf(error);
  return typeof name === 'string' ? name : undefined;
}

/** Forbidden (403 or an access-denied code), throttled (after the SDK's retries), or anything else. */
export function failureReason(error: unknown): AwsFailureReason {
  const shape = shapeOf(error);
  const code = errorCode(error) ?? '';
  const status = shape.$metadata?.httpStatusCode;
  if (THROTTLING_CODES.has(code) || status === 429 || shape.$retryable?.throttling === true)
    return 'throttled';
  if (FORBIDDEN_CODES.has(code) || status === 403) return 'forbidden';
  return 'error';
}

/** `Code: message` on one line, bounded, for findings and CLI output. */
export function oneLineError(error: unknown): string {
  const shape = shapeOf(error);
  const code = errorCode(error);
  const message = typeof shape.message === 'string' && shape.message !== '' ? shape.message : String(error);
  const status = shape.$metadata?.httpStatusCode;
  const text = [code, message].filter((part) => part !== undefined && part !== '').join(': ');
  const line = `${text}${status === undefined ? '' : ` (HTTP ${status})`}`.replace(/\s+/g, ' ').trim();
  return line.length > MAX_MESSAGE_LENGTH ? `${line.slice(0, MAX_MESSAGE_LENGTH - 1)}…` : line;
}

/**
 * An endpoint that does not implement the operation at all: an HTTP 404 whose body is not an AWS error
 * (moto's server answers EKS Pod Identity calls with an HTML "404 Not Found", which the SDK fails to
 * deserialise). Real AWS answers every modelled operation with a modelled error, which carries `$fault`.
 */
export function isUnimplementedOperation(error: unknown): boolean {
  const shape = shapeOf(error);
  return shape.$metadata?.httpStatusCode === 404 && shape.$fault === undefined;
}
