// Classifies SDK errors into the reasons an audit reports, and says how they read as one line.

import type { ErrorTextOptions } from '../../core/error-text';

/** Why an AWS read failed, as a CollectionError reports it. */
export type AwsFailureReason = 'forbidden' | 'throttled' | 'error';

interface SdkErrorShape {
  readonly name?: unknown;
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

/**
 * How an AWS error reads in findings and CLI output: `Code: message (HTTP 403)`, every line of the message (AWS
 * says last where an explicit Deny came from), bounded so that one verbose error cannot swamp a report.
 */
export const AWS_ERROR_TEXT: ErrorTextOptions = {
  named: true,
  httpStatus: true,
  lines: 'joined',
  maxLength: 300,
};

/**
 * An endpoint that does not implement the operation at all: an HTTP 404 whose body is not an AWS error
 * (moto's server answers EKS Pod Identity calls with an HTML "404 Not Found", which the SDK fails to
 * deserialise). Real AWS answers every modelled operation with a modelled error, which carries `$fault`.
 */
export function isUnimplementedOperation(error: unknown): boolean {
  const shape = shapeOf(error);
  return shape.$metadata?.httpStatusCode === 404 && shape.$fault === undefined;
}
