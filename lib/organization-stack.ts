// Organization mode's auditor stack (README "Organization mode"), deployed once, in the auditor account's home
// region: the key, alert topic and reports bucket of single mode (with runs/ expiring), the three step
// functions, the state machine and its schedule, and the alarms. The member accounts trust its two fixed-name
// roles (MemberAccountStack).

import { CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import { Key } from 'aws-cdk-lib/aws-kms';
import { NagSuppressions } from 'cdk-nag';
import type { Construct } from 'constructs';
import { AlertTopic } from './alert-topic';
import { OrganizationAlarms } from './organization-alarms';
import { OrganizationDashboard } from './organization-dashboard';
import { OrganizationFunctions } from './organization-functions';
import { OrganizationStateMachine } from './organization-state-machine';
import { ReportsBucket, RUNS_RETENTION_DAYS } from './reports-bucket';
import { metricPeriodSeconds } from './schedule';
import type { OrganizationSettings } from './settings';

/** The stack's props: the validated context, and the usual environment and name. */
export interface OrganizationStackProps extends StackProps {
  readonly settings: OrganizationSettings;
}

/** The deployed organization auditor. */
export class OrganizationStack extends Stack {
  readonly key: Key;
  readonly alerts: AlertTopic;
  readonly reports: ReportsBucket;
  readonly functions: OrganizationFunctions;
  readonly run: OrganizationStateMachine;
  readonly alarms: OrganizationAlarms;
  readonly dashboard: OrganizationDashboard;

  constructor(scope: Construct, id: string, props: OrganizationStackProps) {
    super(scope, id, props);
    const { settings } = props;
    const period = Duration.seconds(metricPeriodSeconds(settings.schedule));

    this.key = new Key(this, 'Key', {
      description: 'irsa-auditor organization mode: encrypts the alert topic and the audit reports',
      enableKeyRotation: true,
    });
    this.alerts = new AlertTopic(this, 'Alerts', {
      key: this.key,
      ...(settings.alertEmail === undefined ? {} : { email: settings.alertEmail }),
    });
    this.reports = new ReportsBucket(this, 'Reports', {
      key: this.key,
      historyRetentionDays: settings.historyRetentionDays,
      runsRetentionDays: RUNS_RETENTION_DAYS,
    });
    this.functions = new OrganizationFunctions(this, 'Steps', {
      settings,
      bucket: this.reports.bucket,
      key: this.key,
      topic: this.alerts.topic,
    });
    this.run = new OrganizationStateMachine(this, 'Run', {
      settings,
      discover: this.functions.discover.function,
      auditTarget: this.functions.auditTarget.function,
      aggregate: this.functions.aggregate.function,
      bucket: this.reports.bucket,
      key: this.key,
    });
    this.alarms = new OrganizationAlarms(this, 'Alarms', {
      stateMachine: this.run.stateMachine,
      discover: this.functions.discover.function,
      auditTarget: this.functions.auditTarget.function,
      aggregate: this.functions.aggregate.function,
      topic: this.alerts.topic,
      period,
    });
    this.dashboard = new OrganizationDashboard(this, 'Dashboard', {
      stateMachine: this.run.stateMachine,
      steps: {
        discover: this.functions.discover.function,
        auditTarget: this.functions.auditTarget.function,
        aggregate: this.functions.aggregate.function,
      },
      alarms: this.alarms.all,
      period,
    });
    suppressStateMachineRoleFindings(this.run);

    new CfnOutput(this, 'AlertTopicArn', {
      description:
        'Run summary alerts and alarm notifications; subscribe to it (email, chat) to receive them',
      value: this.alerts.topic.topicArn,
    });
    new CfnOutput(this, 'ReportsBucketName', {
      description:
        'reports/<account>/<region>/<cluster>/latest.json and .../history/<time>.json; reports/organization/latest.json and history/',
      value: this.reports.bucket.bucketName,
    });
    new CfnOutput(this, 'DiscoverRoleArn', {
      description: 'Lists the clusters through the member roles; each member role trusts it by name',
      value: this.functions.discover.role.roleArn,
    });
    new CfnOutput(this, 'TargetAuditRoleArn', {
      description: 'Audits each cluster through its member role; each member role trusts it by name',
      value: this.functions.auditTarget.role.roleArn,
    });
    new CfnOutput(this, 'StateMachineArn', {
      description:
        'The organization run; start one now with aws stepfunctions start-execution --state-machine-arn',
      value: this.run.stateMachine.stateMachineArn,
    });
  }
}

// The state machine role's policies (and the Distributed Map's, attached to it) are the CDK's (LambdaInvoke, the Distributed Map, logging, X-Ray); each
// wildcard it holds is one of these, suppressed for exactly that finding.
function suppressStateMachineRoleFindings(run: OrganizationStateMachine): void {
  NagSuppressions.addResourceSuppressions(
    run.stateMachine,
    [
      {
        id: 'AwsSolutions-IAM5',
        reason:
          'lambda:InvokeFunction on "<function ARN>:*" is the CDK LambdaInvoke grant covering the versions and aliases of exactly the three step functions',
        appliesTo: [{ regex: '/^Resource::<Steps[A-Za-z]+Function[0-9A-F]{8}\\.Arn>:\\*$/' }],
      },
      {
        id: 'AwsSolutions-IAM5',
        reason:
          'logs:CreateLogDelivery and the other CloudWatch Logs delivery actions, and xray:PutTraceSegments and the other X-Ray actions, have no resource-level permissions ("*" only); Step Functions needs them for logging and tracing',
        appliesTo: ['Resource::*'],
      },
      {
        id: 'AwsSolutions-IAM5',
        reason:
          'the Distributed Map runs each cluster as a child execution of this state machine: DescribeExecution, StopExecution and RedriveExecution apply to its executions, whose names are generated at run time',
        // The partition and region are literals when the CLI knows the region, tokens otherwise.
        appliesTo: [{ regex: '/^Resource::arn:.+:states:.+:execution:.+$/' }],
      },
      {
        id: 'AwsSolutions-IAM5',
        reason:
          'the Distributed Map reads runs/<runId>/items.json, whose run ID is the execution name, generated at run time; limited to runs/ in the reports bucket',
        appliesTo: [{ regex: '/^Resource::<Reports[0-9A-F]{8}\\.Arn>\\/runs\\/\\*$/' }],
      },
    ],
    true,
  );
}
