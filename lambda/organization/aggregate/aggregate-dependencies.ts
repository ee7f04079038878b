// What the aggregate step works with (configuration, report store, SNS, CloudWatch, log), built once per
// container from a valid configuration, or by a test against emulators.

import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { SNSClient } from '@aws-sdk/client-sns';
import { alertAndMetricClients, auditorCredentials, reportStoreFor } from '../../pipeline/cold-start';
import { jsonLineLog, type StructuredLog } from '../../pipeline/structured-log';
import type { ReportStore } from '../../sinks/report-store';
import type { AggregateConfig } from '../organization-config';
import type { StepOptions } from '../step-runtime';

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
  return {
    config,
    store: reportStoreFor(config, credentials),
    ...alertAndMetricClients(config, credentials),
    log: options.log ?? jsonLineLog(),
  };
}
