// The scheduled audit's configuration (SPEC §7), read from the Lambda environment once, at cold start.
// Every problem is collected before failing, so one deployment fixes them all instead of one per attempt.

import { DEFAULT_WEBHOOK_NAME } from '../core/analysis/eks-conventions';
import { CLUSTER_NAME, REGION_NAME } from '../core/model/aws-identifiers';
import { isSeverity, SEVERITIES, type Severity } from '../core/model/finding';

/** What one scheduled run audits and where it publishes. */
export interface ScheduledAuditConfig {
  /** The region of the clusters, topic and bucket (Lambda sets AWS_REGION). */
  readonly region: string;
  /** The clusters to audit; undefined: every cluster `ListClusters` returns in the region. */
  readonly clusters?: readonly string[];
  /** ServiceAccounts and pods in these namespaces are not audited. */
  readonly excludeNamespaces: readonly string[];
  /** New or resolved findings at or above this severity are alerted. */
  readonly alertSeverity: Severity;
  readonly topicArn: string;
  readonly reportsBucket: string;
  /** A KMS key for the report objects (SSE-KMS); S3's default encryption when absent. */
  readonly reportsKmsKeyId?: string;
  /** Dry-run a pod per namespace with IRSA ServiceAccounts (IRSA-W07); needs create on pods. */
  readonly probe: boolean;
  readonly webhookName: string;
  /** One endpoint for every AWS client (emulators such as moto); AWS's endpoints when absent. */
  readonly endpoint?: string;
  /** Clusters audited at once. */
  readonly clusterConcurrency: number;
}

/** The environment a configuration is read from (`process.env` in the Lambda). */
export type Environment = Readonly<Record<string, string | undefined>>;

/** The environment names the function reads, for the stack that sets them and for error messages. */
export const CONFIG_VARIABLES = {
  clusters: 'CLUSTERS',
  excludeNamespaces: 'EXCLUDE_NAMESPACES',
  alertSeverity: 'ALERT_SEVERITY',
  topicArn: 'TOPIC_ARN',
  reportsBucket: 'REPORTS_BUCKET',
  reportsKmsKeyId: 'REPORTS_KMS_KEY_ID',
  probe: 'PROBE',
  webhookName: 'WEBHOOK_NAME',
  endpoint: 'AWS_ENDPOINT_URL',
  clusterConcurrency: 'CLUSTER_CONCURRENCY',
} as const;

export const DEFAULT_ALERT_SEVERITY: Severity = 'high';
export const DEFAULT_CLUSTER_CONCURRENCY = 4;
// Each cluster in flight holds its pages being reduced and an API server connection; Lambda's memory is the limit.
const MAX_CLUSTER_CONCURRENCY = 32;

/** The environment cannot run an audit; `problems` lists every reason, the message joins them on one line. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';

  constructor(readonly problems: readonly string[]) {
    super(
      `invalid configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}): ${problems.join('; ')}`,
    );
  }
}

// A namespace name is an RFC 1123 DNS label.
export const NAMESPACE_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
// SNS topic names: up to 256 letters, digits, hyphens and underscores (`.fifo` for FIFO topics).
export const TOPIC_ARN = /^arn:(aws[a-z-]*):sns:([a-z0-9-]+):(\d{12}):([A-Za-z0-9_-]{1,256}(\.fifo)?)$/;
// S3 general purpose bucket names: 3-63 lower-case letters, digits, dots and hyphens, a letter or digit at each end.
export const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** Reads and validates the configuration; throws ConfigError naming every problem at once. */
export function loadConfig(env: Environment): ScheduledAuditConfig {
  const problems: string[] = [];
  const value = (name: string): string | undefined => {
    const text = env[name]?.trim();
    return text === undefined || text === '' ? undefined : text;
  };

  const region = value('AWS_REGION') ?? value('AWS_DEFAULT_REGION');
  if (region === undefined) problems.push('AWS_REGION is not set (the Lambda runtime sets it)');
  else if (!REGION_NAME.test(region)) problems.push(`AWS_REGION "${region}" is not an AWS region name`);

  const clusters = nameList(value(CONFIG_VARIABLES.clusters));
  for (const name of clusters ?? []) {
    if (!CLUSTER_NAME.test(name))
      problems.push(`${CONFIG_VARIABLES.clusters}: "${name}" is not an EKS cluster name`);
  }
  const excludeNamespaces = nameList(value(CONFIG_VARIABLES.excludeNamespaces)) ?? [];
  for (const name of excludeNamespaces) {
    if (!NAMESPACE_NAME.test(name))
      problems.push(`${CONFIG_VARIABLES.excludeNamespaces}: "${name}" is not a Kubernetes namespace name`);
  }

  const severity = value(CONFIG_VARIABLES.alertSeverity)?.toLowerCase() ?? DEFAULT_ALERT_SEVERITY;
  if (!isSeverity(severity))
    problems.push(
      `${CONFIG_VARIABLES.alertSeverity} must be one of ${SEVERITIES.join(', ')}, not "${value(CONFIG_VARIABLES.alertSeverity)}"`,
    );

  const topicArn = value(CONFIG_VARIABLES.topicArn);
  if (topicArn === undefined) problems.push(`${CONFIG_VARIABLES.topicArn} is not set`);
  else {
    const match = TOPIC_ARN.exec(topicArn);
    if (match === null) problems.push(`${CONFIG_VARIABLES.topicArn} "${topicArn}" is not an SNS topic ARN`);
    // An SNS client publishes only to topics of its own region.
    else if (region !== undefined && match[2] !== region)
      problems.push(`${CONFIG_VARIABLES.topicArn} is in ${match[2]}, but the function runs in ${region}`);
  }

  const reportsBucket = value(CONFIG_VARIABLES.reportsBucket);
  if (reportsBucket === undefined) problems.push(`${CONFIG_VARIABLES.reportsBucket} is not set`);
  else if (!BUCKET_NAME.test(reportsBucket) || reportsBucket.includes('..'))
    problems.push(`${CONFIG_VARIABLES.reportsBucket} "${reportsBucket}" is not an S3 bucket name`);

  const reportsKmsKeyId = value(CONFIG_VARIABLES.reportsKmsKeyId);
  if (reportsKmsKeyId !== undefined && /\s/.test(reportsKmsKeyId))
    problems.push(
      `${CONFIG_VARIABLES.reportsKmsKeyId} must be a KMS key ID, key ARN or alias, without spaces`,
    );

  const probeText = value(CONFIG_VARIABLES.probe)?.toLowerCase() ?? 'false';
  if (probeText !== 'true' && probeText !== 'false')
    problems.push(`${CONFIG_VARIABLES.probe} must be true or false, not "${value(CONFIG_VARIABLES.probe)}"`);

  const webhookName = value(CONFIG_VARIABLES.webhookName) ?? DEFAULT_WEBHOOK_NAME;
  if (/\s/.test(webhookName))
    problems.push(`${CONFIG_VARIABLES.webhookName} "${webhookName}" is not a webhook name (it has spaces)`);

  const endpoint = value(CONFIG_VARIABLES.endpoint);
  if (endpoint !== undefined && !isHttpUrl(endpoint))
    problems.push(`${CONFIG_VARIABLES.endpoint} "${endpoint}" is not an http(s) URL`);

  const concurrencyText = value(CONFIG_VARIABLES.clusterConcurrency);
  const clusterConcurrency =
    concurrencyText === undefined ? DEFAULT_CLUSTER_CONCURRENCY : Number(concurrencyText);
  if (
    !/^\d+$/.test(concurrencyText ?? '1') ||
    clusterConcurrency < 1 ||
    clusterConcurrency > MAX_CLUSTER_CONCURRENCY
  )
    problems.push(
      `${CONFIG_VARIABLES.clusterConcurrency} must be a whole number from 1 to ${MAX_CLUSTER_CONCURRENCY}, not "${concurrencyText}"`,
    );

  if (problems.length > 0) throw new ConfigError(problems);
  return {
    region: region as string,
    ...(clusters === undefined ? {} : { clusters }),
    excludeNamespaces,
    alertSeverity: severity as Severity,
    topicArn: topicArn as string,
    reportsBucket: reportsBucket as string,
    ...(reportsKmsKeyId === undefined ? {} : { reportsKmsKeyId }),
    probe: probeText === 'true',
    webhookName,
    ...(endpoint === undefined ? {} : { endpoint }),
    clusterConcurrency,
  };
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
