// Builds the scheduled audit's Lambda handler: configuration validated and SDK clients created once per
// container (cold start), reused by every invocation. handler.ts calls this with process.env; the demo and
// the tests call it with their own environment, so they run exactly the deployed code path.

import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { S3Client } from '@aws-sdk/client-s3';
import { SNSClient } from '@aws-sdk/client-sns';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import { ReportStore } from '../sinks/report-store';
import { type AwsClients, type AwsCredentials, createAwsClients } from '../sources/aws/aws-clients';
import { EksTokenCache } from '../sources/aws/eks-token';
import { clusterCollector } from '../sources/live/cluster-collector';
import { ConfigError, type Environment, loadConfig, type ScheduledAuditConfig } from './config';
import {
  runScheduledAudit,
  type ScheduledAuditDependencies,
  type ScheduledAuditSummary,
  type ScheduledEvent,
} from './run-scheduled-audit';
import { type InvocationContext, jsonLineLog, type StructuredLog } from './structured-log';

/** What a caller outside Lambda may choose; the deployed handler uses the defaults. */
export interface HandlerOptions {
  /** AWS credentials for every client and the EKS tokens; the default credential chain when absent. */
  readonly credentials?: AwsCredentials;
  readonly log?: StructuredLog;
  /** The clients that collect the clusters, when the caller builds them (a test that counts their requests). */
  readonly collectionClients?: AwsClients;
}

/** The scheduled audit's Lambda handler. */
export type ScheduledAuditHandler = (
  event: ScheduledEvent | undefined,
  context: InvocationContext,
) => Promise<ScheduledAuditSummary>;

/** Some reports, alerts or metrics were not published; the audit itself ran (see `summary`). */
export class PublishError extends Error {
  override readonly name = 'PublishError';

  constructor(readonly summary: ScheduledAuditSummary) {
    super(
      `run ${summary.runId}: ${summary.errors.length} publishing problem(s): ${summary.errors.join('; ')}`,
    );
  }
}

// As the collection clients (createAwsClients): a throttled PutMetricData or Publish is retried, not lost.
const MAX_ATTEMPTS = 5;

/** The clients and collaborators of one container, created once from a valid configuration. */
export function createDependencies(
  config: ScheduledAuditConfig,
  options: HandlerOptions = {},
): ScheduledAuditDependencies {
  // One provider for the clients and the EKS tokens: the token must be signed as the caller the access entry maps.
  const credentials = options.credentials ?? fromNodeProviderChain();
  const endpoint = config.endpoint === undefined ? {} : { endpoint: config.endpoint };
  const clientConfig = {
    region: config.region,
    credentials,
    retryMode: 'adaptive',
    maxAttempts: MAX_ATTEMPTS,
    ...endpoint,
  } as const;
  const aws: AwsClients =
    options.collectionClients ?? createAwsClients({ region: config.region, credentials, ...endpoint });
  // An emulator's endpoint is one host: bucket names go in the path, not in the host name.
  const s3 = new S3Client({ ...clientConfig, forcePathStyle: config.endpoint !== undefined });
  const tokens = new EksTokenCache({ credentials });
  let account: Promise<string> | undefined;
  return {
    config,
    collectorForRun: () =>
      clusterCollector({
        clients: aws,
        token: (clusterName) => tokens.token(clusterName, config.region),
        probe: config.probe,
      }),
    accountId: () => {
      account ??= aws.sts.send(new GetCallerIdentityCommand({})).then((identity) => {
        if (identity.Account === undefined) throw new Error('STS GetCallerIdentity returned no account');
        return identity.Account;
      });
      // A failed lookup is not kept: the next cluster (or run) asks again.
      account.catch(() => {
        account = undefined;
      });
      return account;
    },
    // moto_server gunzips a compressed body twice and answers 500, so the SDK's gzip of PutMetricData bodies
    // over 10 KB (more than one cluster's metrics) is off for emulators; CloudWatch itself accepts it.
    cloudwatch: new CloudWatchClient({
      ...clientConfig,
      disableRequestCompression: config.endpoint !== undefined,
    }),
    sns: new SNSClient(clientConfig),
    store: new ReportStore(
      s3,
      config.reportsBucket,
      config.reportsKmsKeyId === undefined ? {} : { kmsKeyId: config.reportsKmsKeyId },
    ),
    log: options.log ?? jsonLineLog(),
  };
}

/**
 * Validates the configuration now (cold start) and returns the handler. An invalid configuration is logged
 * at once, one line naming every problem, and fails every invocation with the same ConfigError, so the
 * Lambda errors alarm fires; it does not fail the import, so the bundle still loads to say what is wrong.
 */
export function createHandler(env: Environment, options: HandlerOptions = {}): ScheduledAuditHandler {
  const log = options.log ?? jsonLineLog();
  let deps: ScheduledAuditDependencies;
  try {
    const config = loadConfig(env);
    deps = createDependencies(config, { ...options, log });
    log('info', 'configuration loaded', {
      region: config.region,
      clusters: config.clusters === undefined ? 'all (ListClusters)' : [...config.clusters],
      excludeNamespaces: [...config.excludeNamespaces],
      alertSeverity: config.alertSeverity,
      probe: config.probe,
      clusterConcurrency: config.clusterConcurrency,
    });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    log('error', error.message, { problems: [...error.problems] });
    return async () => {
      throw error;
    };
  }
  return async (event, context) => {
    const summary = await runScheduledAudit(deps, event, context);
    // Thrown after everything was published that could be: the invocation counts as failed (alarm), and
    // Lambda's retry of the same event reuses its run ID, so alerts already sent are not sent again.
    if (summary.errors.length > 0) throw new PublishError(summary);
    return summary;
  };
}
