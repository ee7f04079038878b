// What every driver and step logs with, and the part of the Lambda context they read: one JSON object per line,
// never tokens, credentials or whole Kubernetes objects.

/** The part of the Lambda context the run reads. */
export interface InvocationContext {
  /** Kept by Lambda across the retries of one asynchronous invocation. */
  readonly awsRequestId?: string;
  getRemainingTimeInMillis(): number;
}

/** A JSON value a log line may carry: counts, names, reasons; never tokens, credentials or whole objects. */
export type LogValue =
  | string
  | number
  | boolean
  | null
  | readonly LogValue[]
  | { readonly [key: string]: LogValue };

/** Writes one structured log line. */
export type StructuredLog = (
  level: 'info' | 'warn' | 'error',
  message: string,
  fields?: Readonly<Record<string, LogValue>>,
) => void;

/** A log writer of one JSON object per line on stdout (CloudWatch Logs keeps each line as one event). */
export function jsonLineLog(
  write: (line: string) => void = (line) => process.stdout.write(line),
): StructuredLog {
  return (level, message, fields = {}) =>
    write(`${JSON.stringify({ timestamp: new Date().toISOString(), level, message, ...fields })}\n`);
}
