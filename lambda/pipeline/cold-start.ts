// What every Lambda entry does at cold start, in both modes: validate the configuration once (an invalid one
// fails every invocation with one readable ConfigError, without failing the import), and build the clients of
// the auditor's own calls in its home region (S3, SNS, CloudWatch, Organizations, Step Functions) one way.

import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { S3Client } from '@aws-sdk/client-s3';
import { SecurityHubClient } from '@aws-sdk/client-securityhub';
import { SNSClient } from '@aws-sdk/client-sns';
import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import { partitionOfRegion } from '../core/model/aws-identifiers';
import { ReportStore } from '../sinks/report-store';
import type { AwsCredentials } from '../sources/aws/aws-clients';
import { ConfigError } from './config';
import { jsonLineLog, type LogValue, type StructuredLog } from './structured-log';

/** Where the auditor's own calls go and where its reports are kept: the part of every mode's configuration they read. */
export interface HomeConfig {
  readonly region: string;
  /** One endpoint for every service (an emulator such as moto's server). */
  readonly endpoint?: string | undefined;
  readonly reportsBucket: string;
  readonly reportsKmsKeyId?: string | undefined;
}

/** The auditor's credentials: the given ones, else the default chain (the function's role in Lambda). */
export function auditorCredentials(options: { readonly credentials?: AwsCredentials }): AwsCredentials {
  return options.credentials ?? fromNodeProviderChain();
}

// As the collection clients (createAwsClients): a throttled S3, SNS or CloudWatch call is retried, not lost.
export const SINK_MAX_ATTEMPTS = 5;

/** The client settings of the auditor's own calls in its home region (S3, SNS, CloudWatch, Organizations). */
export function homeClientConfig(config: HomeConfig, credentials: AwsCredentials) {
  return {
    region: config.region,
    credentials,
    retryMode: 'adaptive',
    maxAttempts: SINK_MAX_ATTEMPTS,
    ...(config.endpoint === undefined ? {} : { endpoint: config.endpoint }),
  } as const;
}

/** Where the alerts and the metrics go. */
export function alertAndMetricClients(
  config: HomeConfig,
  credentials: AwsCredentials,
): { readonly sns: SNSClient; readonly cloudwatch: CloudWatchClient } {
  const clientConfig = homeClientConfig(config, credentials);
  return {
    sns: new SNSClient(clientConfig),
    // moto_server gunzips a compressed body twice and answers 500, so the SDK's gzip of PutMetricData bodies
    // over 10 KB (more than one cluster's metrics) is off for emulators; CloudWatch itself accepts it.
    cloudwatch: new CloudWatchClient({
      ...clientConfig,
      disableRequestCompression: config.endpoint !== undefined,
    }),
  };
}

/** The optional finding sinks: an EventBridge client when a bus is configured, Security Hub when it is on. */
export function findingSinkClients(
  config: HomeConfig & { readonly eventBusName?: string; readonly securityHub: boolean },
  credentials: AwsCredentials,
): { events?: EventBridgeClient; securityHub?: { client: SecurityHubClient; partition: string } } {
  const clientConfig = homeClientConfig(config, credentials);
  return {
    ...(config.eventBusName === undefined ? {} : { events: new EventBridgeClient(clientConfig) }),
    ...(config.securityHub
      ? {
          securityHub: {
            client: new SecurityHubClient(clientConfig),
            partition: partitionOfRegion(config.region).name,
          },
        }
      : {}),
  };
}

/** The reports bucket, encrypted as configured. */
export function reportStoreFor(config: HomeConfig, credentials: AwsCredentials): ReportStore {
  // An emulator's endpoint is one host: bucket names go in the path, not in the host name.
  const s3 = new S3Client({
    ...homeClientConfig(config, credentials),
    forcePathStyle: config.endpoint !== undefined,
  });
  return new ReportStore(
    s3,
    config.reportsBucket,
    config.reportsKmsKeyId === undefined ? {} : { kmsKeyId: config.reportsKmsKeyId },
  );
}

/**
 * Validates the configuration now (cold start) and returns the handler. An invalid configuration is
 * logged at once, one line naming every problem, and fails every invocation with the same ConfigError (the
 * Lambda errors alarm fires); it does not fail the import, so the bundle still loads to say what is wrong.
 */
export function atColdStart<Config, Handler extends (...args: never[]) => Promise<unknown>>(
  step: string,
  load: () => Config,
  build: (config: Config) => Handler,
  describe: (config: Config) => Readonly<Record<string, LogValue>>,
  log: StructuredLog = jsonLineLog(),
): Handler {
  try {
    const config = load();
    const handler = build(config);
    log('info', 'configuration loaded', { step, ...describe(config) });
    return handler;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    log('error', error.message, { step, problems: [...error.problems] });
    return (async () => {
      throw error;
    }) as unknown as Handler;
  }
}
