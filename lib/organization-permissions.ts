// The IAM permissions of organization mode's three functions (README "Organization mode"): each role gets exactly
// the calls its step makes. Only the discover and audit-target roles may assume the member roles, and only
// roles named memberRoleName in the configured accounts; only the aggregate publishes alerts and metrics.

import { ArnFormat, type Stack } from 'aws-cdk-lib';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { ILogGroup } from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { METRIC_NAMESPACE } from '../lambda/sinks/metrics';
import { allowStatement, type ExplainedStatement } from './auditor-permissions';
import { STATE_MACHINE_NAME } from './organization-state-machine';
import { REPORTS_PREFIX, RUNS_PREFIX } from './reports-bucket';
import type { OrganizationSettings } from './settings';

/** What the member roles are, and where the steps keep their objects. */
export interface OrganizationResources {
  readonly settings: Pick<OrganizationSettings, 'accounts' | 'memberRoleName'>;
  readonly bucket: IBucket;
  readonly key: IKey;
  readonly topic: ITopic;
}

/**
 * The ARNs of the member roles the auditor may assume: `arn:<partition>:iam::<account>:role/<memberRoleName>`
 * for each configured account, or with the account `*` for accounts=all (the accounts are only known when
 * discover lists the organization).
 */
export function memberRoleArns(
  stack: Stack,
  settings: Pick<OrganizationSettings, 'accounts' | 'memberRoleName'>,
): string[] {
  const accounts = settings.accounts === 'all' ? ['*'] : settings.accounts;
  return accounts.map((account) =>
    stack.formatArn({
      service: 'iam',
      region: '',
      account,
      resource: 'role',
      resourceName: settings.memberRoleName,
    }),
  );
}

function assumeMemberRoles(stack: Stack, resources: OrganizationResources): ExplainedStatement {
  return {
    statement: allowStatement(
      'AssumeTheMemberRoles',
      ['sts:AssumeRole'],
      memberRoleArns(stack, resources.settings),
    ),
    ...(resources.settings.accounts === 'all'
      ? {
          wildcardReason: `accounts=all: the member accounts are the organization's active accounts, listed at each run, so the account of the member role ARN is "*"; the role name is fixed (${resources.settings.memberRoleName}) and each member role trusts only the auditor's two roles with the external ID`,
        }
      : {}),
  };
}

function objectsUnder(
  resources: OrganizationResources,
  sid: string,
  actions: string[],
  prefixes: readonly string[],
): ExplainedStatement {
  return {
    statement: allowStatement(
      sid,
      actions,
      prefixes.map((prefix) => resources.bucket.arnForObjects(`${prefix}*`)),
    ),
    wildcardReason: `object keys hold the run ID, account, region and cluster, only known at run time; limited to ${prefixes.join(' and ')} in the reports bucket`,
  };
}

// SSE-KMS objects (and the encrypted topic) use the key on the function's behalf, through those services only.
function useTheKey(
  stack: Stack,
  resources: OrganizationResources,
  services: readonly string[],
): ExplainedStatement {
  return {
    statement: allowStatement(
      services.length === 1 ? 'UseTheAuditorKeyThroughS3' : 'UseTheAuditorKeyThroughSnsAndS3',
      ['kms:Decrypt', 'kms:GenerateDataKey'],
      [resources.key.keyArn],
      {
        StringEquals: {
          'kms:ViaService': services.map((service) => `${service}.${stack.region}.amazonaws.com`),
        },
      },
    ),
  };
}

function writeLogs(logGroup: ILogGroup): ExplainedStatement {
  // The log group's ARN attribute ends in ":*", which covers its log streams.
  return {
    statement: allowStatement(
      'WriteLogs',
      ['logs:CreateLogStream', 'logs:PutLogEvents'],
      [logGroup.logGroupArn],
    ),
  };
}

// Without ListBucket, S3 answers 403 instead of 404 for an object that does not exist yet (a first baseline).
function listTheBucket(resources: OrganizationResources): ExplainedStatement {
  return { statement: allowStatement('ListReports', ['s3:ListBucket'], [resources.bucket.bucketArn]) };
}

/**
 * The organization state machine's ARN, built from its fixed name: the state machine's own ARN attribute would
 * make the discover role depend on the state machine, which already depends on the discover function.
 */
export function stateMachineArn(stack: Stack): string {
  return stack.formatArn({
    service: 'states',
    resource: 'stateMachine',
    resourceName: STATE_MACHINE_NAME,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
}

/**
 * Discover: lists the organization's accounts (accounts=all only), asks whether an earlier run of the state
 * machine is still running, assumes each member role to list its clusters, and writes runs/<runId>/items.json
 * and discovery.json.
 */
export function discoverStatements(
  stack: Stack,
  resources: OrganizationResources,
  logGroup: ILogGroup,
): ExplainedStatement[] {
  return [
    assumeMemberRoles(stack, resources),
    ...(resources.settings.accounts === 'all'
      ? [
          {
            statement: allowStatement('ListTheOrganizationAccounts', ['organizations:ListAccounts'], ['*']),
            wildcardReason:
              'organizations:ListAccounts has no resource-level permissions (the Service Authorization Reference lists no resource type for it); granted only with accounts=all',
          },
        ]
      : []),
    {
      statement: allowStatement('ListTheRunsInProgress', ['states:ListExecutions'], [stateMachineArn(stack)]),
    },
    objectsUnder(resources, 'WriteTheRunItems', ['s3:PutObject'], [RUNS_PREFIX]),
    useTheKey(stack, resources, ['s3']),
    writeLogs(logGroup),
  ];
}

/**
 * Audit-target: assumes one member role, audits one cluster, reads its baseline (reports/.../latest.json) and
 * writes its history report, result and next baseline (reports/ and runs/). No alerts, no metrics.
 */
export function auditTargetStatements(
  stack: Stack,
  resources: OrganizationResources,
  logGroup: ILogGroup,
): ExplainedStatement[] {
  return [
    assumeMemberRoles(stack, resources),
    objectsUnder(
      resources,
      'ReadAndWriteRunsAndReports',
      ['s3:GetObject', 's3:PutObject'],
      [RUNS_PREFIX, REPORTS_PREFIX],
    ),
    listTheBucket(resources),
    useTheKey(stack, resources, ['s3']),
    writeLogs(logGroup),
  ];
}

/**
 * Aggregate: reads the run's results, publishes the summary alert and the organization metrics, then copies
 * the baselines to reports/ and writes the organization summary. It assumes no member role.
 */
export function aggregateStatements(
  stack: Stack,
  resources: OrganizationResources,
  logGroup: ILogGroup,
): ExplainedStatement[] {
  return [
    objectsUnder(
      resources,
      'ReadAndWriteRunsAndReports',
      ['s3:GetObject', 's3:PutObject'],
      [RUNS_PREFIX, REPORTS_PREFIX],
    ),
    listTheBucket(resources),
    { statement: allowStatement('PublishTheSummaryAlert', ['sns:Publish'], [resources.topic.topicArn]) },
    {
      statement: allowStatement('PublishMetricsInTheAuditorNamespace', ['cloudwatch:PutMetricData'], ['*'], {
        StringEquals: { 'cloudwatch:namespace': METRIC_NAMESPACE },
      }),
      wildcardReason: `cloudwatch:PutMetricData has no resource-level permissions ("*" only); the cloudwatch:namespace condition limits it to ${METRIC_NAMESPACE}`,
    },
    useTheKey(stack, resources, ['sns', 's3']),
    writeLogs(logGroup),
  ];
}
