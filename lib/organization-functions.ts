// Organization mode's three Lambda steps (lambda/handlers/*.ts), bundled like the single-account
// function (bundledHandler), each with a role of its own: the discover and audit-target roles have the fixed
// names the member roles' trust policies name; the aggregate role, which assumes nothing, has a generated one.

import { Duration, Stack } from 'aws-cdk-lib';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { type ILogGroup, LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import {
  DISCOVER_ROLE_NAME,
  ORGANIZATION_VARIABLES,
  TARGET_AUDIT_ROLE_NAME,
} from '../lambda/organization/organization-config';
import { bundledHandler, FUNCTION_TIMEOUT, suppressRuntimeFinding } from './auditor-function';
import { addExplainedStatements, type ExplainedStatement } from './auditor-permissions';
import {
  aggregateStatements,
  auditTargetStatements,
  discoverStatements,
  type OrganizationResources,
} from './organization-permissions';
import type { OrganizationSettings } from './settings';

/** The handler entries, relative to the project root (fixed by the contract). */
export const ORGANIZATION_ENTRIES = {
  discover: 'lambda/handlers/discover.ts',
  auditTarget: 'lambda/handlers/audit-target.ts',
  aggregate: 'lambda/handlers/aggregate.ts',
} as const;

/** The fixed role names the member roles trust (re-exported from the runtime's contract constants). */
export { DISCOVER_ROLE_NAME, TARGET_AUDIT_ROLE_NAME };

// Discover and aggregate work on every target and cluster of the organization at once, so their time grows
// with it: they get Lambda's maximum. One audit-target invocation audits one cluster, as a single-mode run
// audits a few (the handler stops collecting before the deadline).
const ORGANIZATION_STEP_TIMEOUT = Duration.minutes(15);
// Discover holds cluster names; audit-target one cluster's pages (as single mode, whose CPU share it also
// wants for TLS and parsing); aggregate one result record per cluster of the organization.
const MEMORY_MB = { discover: 512, auditTarget: 1024, aggregate: 1024 } as const;
const LOG_RETENTION = RetentionDays.THREE_MONTHS;

/** What the functions are built from. */
export interface OrganizationFunctionsProps {
  readonly settings: OrganizationSettings;
  readonly bucket: IBucket;
  readonly key: IKey;
  readonly topic: ITopic;
}

/** One step: its function, role and log group. */
export interface OrganizationStep {
  readonly function: NodejsFunction;
  readonly role: Role;
  readonly logGroup: LogGroup;
}

/** The discover, audit-target and aggregate functions with their roles and log groups. */
export class OrganizationFunctions extends Construct {
  readonly discover: OrganizationStep;
  readonly auditTarget: OrganizationStep;
  readonly aggregate: OrganizationStep;

  constructor(scope: Construct, id: string, props: OrganizationFunctionsProps) {
    super(scope, id);
    const { settings } = props;
    const stack = Stack.of(this);
    const resources: OrganizationResources = {
      settings,
      bucket: props.bucket,
      key: props.key,
      topic: props.topic,
    };
    const common = {
      [ORGANIZATION_VARIABLES.reportsBucket]: props.bucket.bucketName,
      [ORGANIZATION_VARIABLES.reportsKmsKeyId]: props.key.keyArn,
      [ORGANIZATION_VARIABLES.memberRoleName]: settings.memberRoleName,
      [ORGANIZATION_VARIABLES.externalId]: settings.externalId,
    };

    this.discover = this.step('Discover', {
      entry: ORGANIZATION_ENTRIES.discover,
      roleName: DISCOVER_ROLE_NAME,
      description:
        'irsa-auditor organization mode: lists the clusters of every configured account and region',
      memoryMb: MEMORY_MB.discover,
      timeout: ORGANIZATION_STEP_TIMEOUT,
      environment: {
        ...common,
        [ORGANIZATION_VARIABLES.accounts]: settings.accounts === 'all' ? 'all' : settings.accounts.join(','),
        [ORGANIZATION_VARIABLES.regions]: settings.regions.join(','),
      },
      statements: (logGroup) => discoverStatements(stack, resources, logGroup),
    });
    this.auditTarget = this.step('TargetAudit', {
      entry: ORGANIZATION_ENTRIES.auditTarget,
      roleName: TARGET_AUDIT_ROLE_NAME,
      description:
        'irsa-auditor organization mode: audits one cluster of a member account through its member role',
      memoryMb: MEMORY_MB.auditTarget,
      timeout: FUNCTION_TIMEOUT,
      environment: {
        ...common,
        ...(settings.excludeNamespaces.length === 0
          ? {}
          : { [ORGANIZATION_VARIABLES.excludeNamespaces]: settings.excludeNamespaces.join(',') }),
        [ORGANIZATION_VARIABLES.alertSeverity]: settings.alertSeverity,
        [ORGANIZATION_VARIABLES.probe]: String(settings.probe),
      },
      statements: (logGroup) => auditTargetStatements(stack, resources, logGroup),
    });
    this.aggregate = this.step('Aggregate', {
      entry: ORGANIZATION_ENTRIES.aggregate,
      description:
        'irsa-auditor organization mode: publishes the run summary alert and organization metrics, then advances the baselines',
      memoryMb: MEMORY_MB.aggregate,
      timeout: ORGANIZATION_STEP_TIMEOUT,
      environment: {
        ...common,
        [ORGANIZATION_VARIABLES.topicArn]: props.topic.topicArn,
        [ORGANIZATION_VARIABLES.alertSeverity]: settings.alertSeverity,
      },
      statements: (logGroup) => aggregateStatements(stack, resources, logGroup),
    });
  }

  /** The three functions, in the order the state machine runs them. */
  get all(): readonly NodejsFunction[] {
    return [this.discover.function, this.auditTarget.function, this.aggregate.function];
  }

  private step(
    id: string,
    options: {
      entry: string;
      roleName?: string;
      description: string;
      memoryMb: number;
      timeout: Duration;
      environment: Record<string, string>;
      statements: (logGroup: ILogGroup) => ExplainedStatement[];
    },
  ): OrganizationStep {
    const role = new Role(this, `${id}Role`, {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: options.description,
      ...(options.roleName === undefined ? {} : { roleName: options.roleName }),
    });
    const logGroup = new LogGroup(this, `${id}Logs`, { retention: LOG_RETENTION });
    const fn = new NodejsFunction(this, `${id}Function`, {
      ...bundledHandler(options.entry),
      description: options.description,
      memorySize: options.memoryMb,
      timeout: options.timeout,
      role,
      logGroup,
      environment: options.environment,
    });
    addExplainedStatements(role, options.statements(logGroup));
    suppressRuntimeFinding(fn);
    return { function: fn, role, logGroup };
  }
}
