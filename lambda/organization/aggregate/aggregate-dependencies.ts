// What the aggregate step works with (configuration, report store, SNS, CloudWatch, log), built once per
// container from a valid configuration, or by a test against emulators.

import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { SNSClient } from '@aws-sdk/client-sns';
import { jsonLineLog, type StructuredLog } from '../../pipeline/structured-log';
import type { ReportStore } from '../../sinks/report-store';
import type { AggregateConfig } from '../organization-config';
import { auditorCredentials, homeClientConfig, reportStoreFor, type StepOptions } from '../step-runtime';

/** What the step needs, built once per container or by a test. */
export interface AggregateDependencies {
  readonly config: AggregateConfig;
  readonly store: ReportStore;
  readonly sns: SNSClient;
  readonly cloudwatch: CloudWatchClient;
  readonly log: StructuredLog;
  readonly now?: () => Date;
}

/** The dependencies of one container, from a valid configuration. */
export function createAggregateDependencies(
  config: AggregateConfig,
  options: StepOptions = {},
): AggregateDependencies {
  const credentials = auditorCredentials(options);
  const clientConfig = homeClientConfig(config, credentials);
  return {
    config,
    store: reportStoreFor(config, credentials),
    sns: new SNSClient(clientConfig),
    // moto_server gunzips a compressed body twice and answers 500, so the SDK's gzip of PutMetricData bodies
    // over 10 KB is off for emulators; CloudWatch itself accepts it.
    cloudwatch: new CloudWatchClient({
      ...clientConfig,
      disableRequestCompression: config.endpoint !== undefined,
    }),
    log: options.log ?? jsonLineLog(),
  };
}
