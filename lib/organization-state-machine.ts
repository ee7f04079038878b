// The organization run (README "Organization mode"): a STANDARD state machine started by the schedule.
//   Discover → SkipOverlappingRun → RunSkipped (Succeed) when an earlier run is still in progress, else
//   → AuditClusters (Distributed Map over runs/<runId>/items.json, one audit-target per cluster)
//   → Aggregate → Succeeded, or, when the map fails (more failed clusters than tolerated):
//   AuditClusters ─Catch→ RecordMapFailure → Aggregate (mapFailed: true) → AuditClustersFailed (Fail),
// so the summary is published in both cases. The logs carry no execution data: inputs and outputs would hold
// account IDs and cluster names, results would hold findings.

import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { SfnStateMachine } from 'aws-cdk-lib/aws-events-targets';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import {
  Choice,
  Condition,
  DefinitionBody,
  DistributedMap,
  Errors,
  Fail,
  JitterType,
  JsonPath,
  LogLevel,
  Pass,
  Result,
  type RetryProps,
  type S3FileItemReaderProps,
  S3JsonItemReader,
  StateMachine,
  StateMachineType,
  Succeed,
  TaskInput,
} from 'aws-cdk-lib/aws-stepfunctions';
import { LambdaInvoke } from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { TARGET_THROTTLED_ERROR } from '../lambda/organization/organization-config';
import { RUNS_PREFIX } from './reports-bucket';
import type { OrganizationSettings } from './settings';

/** The state machine's name (fixed: one organization run per account and region). */
export const STATE_MACHINE_NAME = 'IrsaAuditorOrganization';

/** The states' names, as the definition and the console show them. */
export const STATE_NAMES = {
  discover: 'Discover',
  skipOverlapping: 'SkipOverlappingRun',
  skipped: 'RunSkipped',
  auditClusters: 'AuditClusters',
  auditTarget: 'AuditTarget',
  recordMapFailure: 'RecordMapFailure',
  aggregate: 'Aggregate',
  outcome: 'RunOutcome',
  failed: 'AuditClustersFailed',
  succeeded: 'RunSucceeded',
} as const;

/** Transient Lambda service errors, retried on every step (the Step Functions developer guide's list). */
export const LAMBDA_SERVICE_ERRORS = [
  'Lambda.TooManyRequestsException',
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.ClientExecutionTimeoutException',
] as const;

// Full jitter spreads the retries of hundreds of items that failed at the same moment (one throttled API).
const LAMBDA_SERVICE_RETRY: RetryProps = {
  errors: [...LAMBDA_SERVICE_ERRORS],
  interval: Duration.seconds(2),
  maxAttempts: 6,
  backoffRate: 2,
  maxDelay: Duration.seconds(60),
  jitterStrategy: JitterType.FULL,
};
// A throttled cluster waits longer: the SDK has already retried inside the invocation, so the account's API
// rate needs time to recover; 5 attempts reach about 2.5 minutes of backoff before the item fails.
const TARGET_THROTTLED_RETRY: RetryProps = {
  errors: [TARGET_THROTTLED_ERROR],
  interval: Duration.seconds(10),
  maxAttempts: 5,
  backoffRate: 2,
  maxDelay: Duration.minutes(2),
  jitterStrategy: JitterType.FULL,
};
// A Standard execution may run for a year; one that is still running after this is stuck, not slow, and its
// ExecutionsTimedOut alarm says so. Two runs must not overlap (both would alert the same change, and the older
// one's baselines would land last), so a run ends before the schedule starts the next one: the interval minus a
// margin, at most 6 hours; cron schedules, whose runs need not be evenly spaced, get an hour.
const MAX_EXECUTION_TIMEOUT_SECONDS = 6 * 3600;
const CRON_EXECUTION_TIMEOUT_SECONDS = 3600;
// A tenth of the interval, at most two minutes, between the end of one run and the start of the next.
const EXECUTION_TIMEOUT_MARGIN = { fraction: 0.1, maxSeconds: 120 };

/** How long one run may take before Step Functions stops it (it times out, the alarm fires, nothing advances). */
export function executionTimeoutSeconds(intervalSeconds: number | undefined): number {
  if (intervalSeconds === undefined) return CRON_EXECUTION_TIMEOUT_SECONDS;
  const margin = Math.min(
    EXECUTION_TIMEOUT_MARGIN.maxSeconds,
    Math.ceil(intervalSeconds * EXECUTION_TIMEOUT_MARGIN.fraction),
  );
  return Math.min(MAX_EXECUTION_TIMEOUT_SECONDS, intervalSeconds - margin);
}
const LOG_RETENTION = RetentionDays.THREE_MONTHS;
// EventBridge retries a failed StartExecution; an event older than an hour is superseded by the next run.
const SCHEDULE_RETRY_ATTEMPTS = 2;
const SCHEDULE_MAX_EVENT_AGE = Duration.hours(1);

/** What the state machine runs and where it reads the items. */
export interface OrganizationStateMachineProps {
  readonly settings: Pick<OrganizationSettings, 'schedule' | 'maxConcurrency' | 'toleratedFailurePercentage'>;
  readonly discover: IFunction;
  readonly auditTarget: IFunction;
  readonly aggregate: IFunction;
  readonly bucket: IBucket;
  readonly key: IKey;
}

/**
 * Reads the run's items.json from the reports bucket. The CDK's reader grants s3:GetObject on every object of
 * the bucket; this one grants runs/* only (the items are runs/<runId>/items.json), and the key's Decrypt
 * through S3, which reading an SSE-KMS object needs.
 */
class RunItemsReader extends S3JsonItemReader {
  constructor(
    props: S3FileItemReaderProps,
    private readonly encryptionKey: IKey,
  ) {
    super(props);
  }

  override providePolicyStatements(): PolicyStatement[] {
    return [
      new PolicyStatement({
        sid: 'ReadTheRunItems',
        actions: ['s3:GetObject'],
        resources: [this.bucket.arnForObjects(`${RUNS_PREFIX}*`)],
      }),
      new PolicyStatement({
        sid: 'DecryptTheRunItemsThroughS3',
        actions: ['kms:Decrypt'],
        resources: [this.encryptionKey.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `s3.${this.bucket.stack.region}.amazonaws.com` } },
      }),
    ];
  }
}

/** The state machine, its log group, and the schedule that starts it. */
export class OrganizationStateMachine extends Construct {
  readonly stateMachine: StateMachine;
  readonly logGroup: LogGroup;
  readonly schedule: Rule;

  constructor(scope: Construct, id: string, props: OrganizationStateMachineProps) {
    super(scope, id);
    const { settings } = props;

    const discover = new LambdaInvoke(this, 'Discover', {
      stateName: STATE_NAMES.discover,
      lambdaFunction: props.discover,
      // The two ARNs let discover ask Step Functions whether an earlier execution is still running.
      payload: TaskInput.fromObject({
        runId: JsonPath.executionName,
        generatedAt: JsonPath.executionStartTime,
        stateMachineArn: JsonPath.stateMachineId,
        executionArn: JsonPath.executionId,
      }),
      // Only what the next states read, and mapFailed: false for Aggregate (the Catch path sets it true).
      resultSelector: {
        runId: JsonPath.stringAt('$.Payload.runId'),
        generatedAt: JsonPath.stringAt('$.Payload.generatedAt'),
        skipped: JsonPath.objectAt('$.Payload.skipped'),
        itemsKey: JsonPath.stringAt('$.Payload.itemsKey'),
        mapFailed: false,
      },
      retryOnServiceExceptions: false,
    })
      .addRetry(LAMBDA_SERVICE_RETRY)
      // Discover retries a throttled target itself a few times, then fails the step to be tried again later.
      .addRetry(TARGET_THROTTLED_RETRY);

    const auditTarget = new LambdaInvoke(this, 'AuditTarget', {
      stateName: STATE_NAMES.auditTarget,
      lambdaFunction: props.auditTarget,
      payload: TaskInput.fromJsonPathAt('$'),
      // The child execution's output is only its status, so the map's results stay far below 256 KB.
      resultSelector: { status: JsonPath.stringAt('$.Payload.status') },
      retryOnServiceExceptions: false,
    })
      .addRetry(LAMBDA_SERVICE_RETRY)
      .addRetry(TARGET_THROTTLED_RETRY);

    const auditClusters = new DistributedMap(this, 'AuditClusters', {
      stateName: STATE_NAMES.auditClusters,
      itemReader: new RunItemsReader(
        { bucket: props.bucket, key: JsonPath.stringAt('$.itemsKey') },
        props.key,
      ),
      itemSelector: {
        runId: JsonPath.stringAt('$.runId'),
        generatedAt: JsonPath.stringAt('$.generatedAt'),
        account: JsonPath.stringAt('$$.Map.Item.Value.account'),
        region: JsonPath.stringAt('$$.Map.Item.Value.region'),
        cluster: JsonPath.stringAt('$$.Map.Item.Value.cluster'),
      },
      maxConcurrency: settings.maxConcurrency,
      toleratedFailurePercentage: settings.toleratedFailurePercentage,
      // STANDARD children: an audit takes up to 5 minutes and its throttling retries minutes more, beyond an
      // EXPRESS child's 5-minute limit.
      mapExecutionType: StateMachineType.STANDARD,
      resultPath: JsonPath.DISCARD,
    }).itemProcessor(auditTarget);

    const recordMapFailure = new Pass(this, 'RecordMapFailure', {
      stateName: STATE_NAMES.recordMapFailure,
      result: Result.fromBoolean(true),
      resultPath: '$.mapFailed',
    });
    auditClusters.addCatch(recordMapFailure, { errors: [Errors.ALL], resultPath: '$.mapError' });

    const aggregate = new LambdaInvoke(this, 'Aggregate', {
      stateName: STATE_NAMES.aggregate,
      lambdaFunction: props.aggregate,
      payload: TaskInput.fromObject({
        runId: JsonPath.stringAt('$.runId'),
        generatedAt: JsonPath.stringAt('$.generatedAt'),
        mapFailed: JsonPath.objectAt('$.mapFailed'),
      }),
      // The counts, for the execution's output; the full summary is in reports/organization/.
      resultSelector: {
        clustersAudited: JsonPath.numberAt('$.Payload.clustersAudited'),
        auditErrors: JsonPath.numberAt('$.Payload.auditErrors'),
        failedTargets: JsonPath.numberAt('$.Payload.failedTargets'),
        alerted: JsonPath.objectAt('$.Payload.alerted'),
      },
      resultPath: '$.summary',
      retryOnServiceExceptions: false,
    }).addRetry(LAMBDA_SERVICE_RETRY);

    const outcome = new Choice(this, 'RunOutcome', { stateName: STATE_NAMES.outcome })
      .when(
        Condition.booleanEquals('$.mapFailed', true),
        new Fail(this, 'AuditClustersFailed', {
          stateName: STATE_NAMES.failed,
          errorPath: '$.mapError.Error',
          causePath: '$.mapError.Cause',
        }),
      )
      .otherwise(new Succeed(this, 'RunSucceeded', { stateName: STATE_NAMES.succeeded }));

    // The schedule keeps its runs apart (the execution timeout), but a manual start-execution during a run would
    // compare against the same baselines and alert the same change twice: the later run ends here, successfully.
    const skipOverlapping = new Choice(this, 'SkipOverlappingRun', { stateName: STATE_NAMES.skipOverlapping })
      .when(
        Condition.booleanEquals('$.skipped', true),
        new Succeed(this, 'RunSkipped', {
          stateName: STATE_NAMES.skipped,
          comment: 'An earlier run of this state machine is still in progress: this one audits nothing',
        }),
      )
      .otherwise(auditClusters.next(aggregate).next(outcome));

    recordMapFailure.next(aggregate);
    const definition = discover.next(skipOverlapping);

    this.logGroup = new LogGroup(this, 'Logs', {
      // Step Functions delivers logs as "vended logs"; this prefix keeps the log group's resource policy small.
      logGroupName: `/aws/vendedlogs/states/${STATE_MACHINE_NAME}`,
      retention: LOG_RETENTION,
      // The name is fixed: a retained log group would make the next deploy after a destroy (or a failed first
      // create) fail with "already exists".
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.stateMachine = new StateMachine(this, 'StateMachine', {
      stateMachineName: STATE_MACHINE_NAME,
      stateMachineType: StateMachineType.STANDARD,
      comment:
        'irsa-auditor organization mode: lists the clusters of every account and region, audits each, publishes one summary',
      definitionBody: DefinitionBody.fromChainable(definition),
      timeout: Duration.seconds(executionTimeoutSeconds(settings.schedule.intervalSeconds)),
      tracingEnabled: true,
      logs: { destination: this.logGroup, level: LogLevel.ALL, includeExecutionData: false },
    });

    this.schedule = new Rule(this, 'Schedule', {
      description: `Starts the organization IRSA audit (${settings.schedule.expression})`,
      schedule: Schedule.expression(settings.schedule.expression),
      targets: [
        new SfnStateMachine(this.stateMachine, {
          retryAttempts: SCHEDULE_RETRY_ATTEMPTS,
          maxEventAge: SCHEDULE_MAX_EVENT_AGE,
        }),
      ],
    });
  }
}
