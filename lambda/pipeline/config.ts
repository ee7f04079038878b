// The scheduled audit's configuration (SPEC §7), read from the Lambda environment once, at cold start.
// Every problem is collected before failing (environment-variables.ts), so one deployment fixes them all.

import * as z from 'zod/mini';
import { CLUSTER_NAME } from '../core/model/aws-identifiers';
import type { Severity } from '../core/model/finding';
import {
  alertSeverity,
  bucketName,
  type Environment,
  endpointUrl,
  eventBusName,
  flag,
  kmsKeyId,
  mapped,
  NAMESPACE_NAME,
  nameListOf,
  readEnvironment,
  regionName,
  regionVariableOf,
  topicArnIn,
  webhookName,
  wholeNumberUpTo,
} from './environment-variables';

// Where the rest of the tree has always imported them from.
export { ConfigError, DEFAULT_ALERT_SEVERITY, type Environment } from './environment-variables';

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
  /** EventBridge bus (name or ARN) for one event per new and resolved finding; off when absent. */
  readonly eventBusName?: string;
  /** Import new findings into Security Hub and archive resolved ones. */
  readonly securityHub: boolean;
}

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
  eventBusName: 'EVENT_BUS_NAME',
  securityHub: 'SECURITY_HUB',
} as const;

export const DEFAULT_CLUSTER_CONCURRENCY = 4;
// Each cluster in flight holds its pages being reduced and an API server connection; Lambda's memory is the limit.
const MAX_CLUSTER_CONCURRENCY = 32;

/** Reads and validates the configuration; throws ConfigError naming every problem at once. */
export function loadConfig(env: Environment): ScheduledAuditConfig {
  const withRegion = regionVariableOf(env);
  const schema = z.object({
    region: regionName,
    clusters: nameListOf(CLUSTER_NAME, 'an EKS cluster name'),
    excludeNamespaces: mapped(
      nameListOf(NAMESPACE_NAME, 'a Kubernetes namespace name'),
      (names) => names ?? [],
    ),
    alertSeverity,
    topicArn: topicArnIn(withRegion.AWS_REGION),
    reportsBucket: bucketName,
    reportsKmsKeyId: kmsKeyId,
    probe: flag,
    webhookName,
    endpoint: endpointUrl,
    clusterConcurrency: wholeNumberUpTo(MAX_CLUSTER_CONCURRENCY, DEFAULT_CLUSTER_CONCURRENCY),
    eventBusName,
    securityHub: flag,
  });
  return readEnvironment(schema, { region: 'AWS_REGION', ...CONFIG_VARIABLES }, withRegion);
}
