// The scheduled audit function (lambda/handlers/scheduled.ts): bundled offline by the local esbuild into an ESM file
// that loads on Node.js 22, run on a schedule, one run at a time, with a dead-letter queue for lost runs.
// The bundling is shared with the organization mode's functions (bundledHandler).

import { join } from 'node:path';
import { Duration } from 'aws-cdk-lib';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { Architecture, type CfnFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, type NodejsFunctionProps, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { NagSuppressions } from 'cdk-nag';
import { Construct } from 'constructs';
import { CONFIG_VARIABLES } from '../lambda/pipeline/config';
import { addAuditorPermissions } from './auditor-permissions';
import type { AuditorSettings } from './settings';

/** The repository root: the bundle's entry and lock file are found from here, wherever `cdk` runs. */
export const PROJECT_ROOT = join(import.meta.dirname, '..');

/** The Lambda entry point, relative to the project root. */
export const HANDLER_ENTRY = 'lambda/handlers/scheduled.ts';

/**
 * Lets the ESM bundle `require()` Node built-ins: client-node's bundled CommonJS dependencies call
 * `require('node:assert')` etc., which esbuild's ESM output otherwise rejects at import with
 * "Dynamic require of ... is not supported".
 */
export const ESM_REQUIRE_BANNER =
  "import { createRequire } from 'module'; const require = createRequire(import.meta.url);";

/**
 * Packages the bundle takes from the project instead (esbuild aliases): `tr46`, which node-fetch's URL parser
 * needs for international domain names, answered by Node's own UTS #46 (lambda/shims/tr46.cjs) rather than a
 * 254 KiB table every cold start evaluates. Absolute paths: the bundling is local (esbuild is a devDependency and
 * forceDockerBundling is off), run from the project root.
 */
export const BUNDLE_ALIASES: Readonly<Record<string, string>> = {
  tr46: join(PROJECT_ROOT, 'lambda', 'shims', 'tr46.cjs'),
};

/** How long one run may take; the handler stops collecting a cluster before it to publish what it has. */
export const FUNCTION_TIMEOUT = Duration.minutes(5);

// The audit reduces each page to the model as it arrives, so memory does not grow with the pods; more memory
// also gives Lambda's CPU share to parsing and TLS with several clusters in flight.
const MEMORY_MB = 1024;
const LOG_RETENTION = RetentionDays.THREE_MONTHS;
// Lambda retries a failed asynchronous run twice (its default) before the run goes to the dead-letter queue.
const RETRY_ATTEMPTS = 2;
// An event older than this is superseded by the next scheduled run anyway; Lambda allows 1 minute to 6 hours.
const MAX_EVENT_AGE_SECONDS = { min: 60, max: 6 * 3600, cron: 3600 };

/** What the function is built from. */
export interface AuditorFunctionProps {
  readonly settings: AuditorSettings;
  readonly topic: ITopic;
  readonly bucket: IBucket;
  readonly key: IKey;
}

/** The function, its role, log group and dead-letter queue, and the schedule that invokes it. */
export class AuditorFunction extends Construct {
  readonly function: NodejsFunction;
  readonly role: Role;
  readonly logGroup: LogGroup;
  readonly deadLetters: Queue;
  readonly schedule: Rule;

  constructor(scope: Construct, id: string, props: AuditorFunctionProps) {
    super(scope, id);
    const { settings } = props;

    this.role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: 'irsa-auditor function: reads EKS and IAM, publishes reports, alerts and metrics',
    });
    this.logGroup = new LogGroup(this, 'Logs', { retention: LOG_RETENTION });
    // Holds the schedule events of runs that failed every attempt (or could not be delivered): one per lost
    // run, so its alarm tells that a run was lost, and the event says when.
    this.deadLetters = new Queue(this, 'DeadLetters', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });

    const vpc = settings.vpc;
    const eventAge = Duration.seconds(
      settings.schedule.intervalSeconds === undefined
        ? MAX_EVENT_AGE_SECONDS.cron
        : Math.min(
            Math.max(settings.schedule.intervalSeconds, MAX_EVENT_AGE_SECONDS.min),
            MAX_EVENT_AGE_SECONDS.max,
          ),
    );

    this.function = new NodejsFunction(this, 'Function', {
      description: 'irsa-auditor: audits IRSA on the EKS clusters of this account and region (SPEC §7)',
      ...bundledHandler(HANDLER_ENTRY),
      memorySize: MEMORY_MB,
      timeout: FUNCTION_TIMEOUT,
      // One writer of each cluster's latest.json: the drift baseline assumes runs never overlap.
      reservedConcurrentExecutions: 1,
      role: this.role,
      logGroup: this.logGroup,
      deadLetterQueue: this.deadLetters,
      retryAttempts: RETRY_ATTEMPTS,
      maxEventAge: eventAge,
      environment: {
        ...(settings.clusters === undefined
          ? {}
          : { [CONFIG_VARIABLES.clusters]: settings.clusters.join(',') }),
        ...(settings.excludeNamespaces.length === 0
          ? {}
          : { [CONFIG_VARIABLES.excludeNamespaces]: settings.excludeNamespaces.join(',') }),
        [CONFIG_VARIABLES.alertSeverity]: settings.alertSeverity,
        [CONFIG_VARIABLES.topicArn]: props.topic.topicArn,
        [CONFIG_VARIABLES.reportsBucket]: props.bucket.bucketName,
        [CONFIG_VARIABLES.reportsKmsKeyId]: props.key.keyArn,
        [CONFIG_VARIABLES.probe]: String(settings.probe),
        ...(settings.eventBus === undefined ? {} : { [CONFIG_VARIABLES.eventBusName]: settings.eventBus }),
        ...(settings.securityHub ? { [CONFIG_VARIABLES.securityHub]: 'true' } : {}),
      },
    });
    if (vpc !== undefined) {
      // The subnets and security groups by ID, straight into the function's VpcConfig: importing a Vpc object
      // would need its availability zones (a lookup with credentials, or made-up values), and the function
      // uses nothing else of it. The role's network interface permissions are in addAuditorPermissions.
      (this.function.node.defaultChild as CfnFunction).vpcConfig = {
        subnetIds: [...vpc.subnetIds],
        securityGroupIds: [...vpc.securityGroupIds],
      };
    }

    this.schedule = new Rule(this, 'Schedule', {
      description: `Runs the IRSA audit (${settings.schedule.expression})`,
      schedule: Schedule.expression(settings.schedule.expression),
      targets: [
        new LambdaFunction(this.function, {
          retryAttempts: RETRY_ATTEMPTS,
          maxEventAge: eventAge,
          deadLetterQueue: this.deadLetters,
        }),
      ],
    });

    addAuditorPermissions(this.role, {
      ...(settings.clusters === undefined ? {} : { clusters: settings.clusters }),
      topic: props.topic,
      bucket: props.bucket,
      key: props.key,
      logGroup: this.logGroup,
      ...(vpc === undefined ? {} : { vpc }),
      ...(settings.eventBus === undefined ? {} : { eventBus: settings.eventBus }),
      securityHub: settings.securityHub,
    });

    suppressRuntimeFinding(this.function);
  }
}

/**
 * What every irsa-auditor function shares, whatever its entry: Node.js 22 on arm64, and an ESM bundle built
 * offline by the local esbuild that loads on Node 22 (the createRequire banner) with the SDK it was tested with.
 */
export function bundledHandler(
  entry: string,
): Pick<
  NodejsFunctionProps,
  'projectRoot' | 'entry' | 'handler' | 'depsLockFilePath' | 'runtime' | 'architecture' | 'bundling'
> {
  return {
    projectRoot: PROJECT_ROOT,
    entry: join(PROJECT_ROOT, entry),
    handler: 'handler',
    depsLockFilePath: join(PROJECT_ROOT, 'package-lock.json'),
    runtime: Runtime.NODEJS_22_X,
    architecture: Architecture.ARM_64,
    bundling: {
      format: OutputFormat.ESM,
      target: 'node22',
      mainFields: ['module', 'main'],
      banner: ESM_REQUIRE_BANNER,
      esbuildArgs: Object.fromEntries(
        Object.entries(BUNDLE_ALIASES).map(([name, path]) => [`--alias:${name}`, path]),
      ),
      minify: true,
      // Error classes are told apart by name in logs and alerts; minified names would say nothing.
      keepNames: true,
      // No source map: it would double the asset and slow every cold start; errors carry their context.
      sourceMap: false,
      // The SDK version the code was tested with, not whichever one the runtime ships.
      bundleAwsSDK: true,
      forceDockerBundling: false,
    },
  };
}

/** Accepts cdk-nag's "not the latest runtime" finding (AwsSolutions-L1) on a function bundled by bundledHandler. */
export function suppressRuntimeFinding(fn: NodejsFunction): void {
  NagSuppressions.addResourceSuppressions(fn, [
    {
      id: 'AwsSolutions-L1',
      reason:
        'Node.js 22 on purpose (SPEC §8): the bundle is built for and smoke-tested on Node 22 (esbuild target node22, test/infra/bundle-smoke), so a newer runtime would run code that was never tested on it.',
    },
  ]);
}
