// One irsa-auditor per account and region (SPEC §8): the scheduled function, where it publishes (topic,
// bucket, metrics), what watches it (alarms, dashboard), and its access to the configured clusters.

import { CfnOutput, Duration, Fn, Stack, type StackProps } from 'aws-cdk-lib';
import { Key } from 'aws-cdk-lib/aws-kms';
import type { Construct } from 'constructs';
import { AlertTopic } from './alert-topic';
import { AuditorAlarms } from './auditor-alarms';
import { AuditorDashboard } from './auditor-dashboard';
import { AuditorFunction } from './auditor-function';
import { ClusterAccess, KUBERNETES_GROUP, PROBE_RBAC_MANIFEST, RBAC_MANIFEST } from './cluster-access';
import { ReportsBucket, RUNS_RETENTION_DAYS } from './reports-bucket';
import { metricPeriodSeconds } from './schedule';
import type { AuditorSettings } from './settings';

/** The stack's props: the validated context, and the usual environment and name. */
export interface IrsaAuditorStackProps extends StackProps {
  readonly settings: AuditorSettings;
}

/** The deployed auditor. */
export class IrsaAuditorStack extends Stack {
  readonly key: Key;
  readonly alerts: AlertTopic;
  readonly reports: ReportsBucket;
  readonly auditor: AuditorFunction;
  readonly alarms: AuditorAlarms;
  readonly dashboard: AuditorDashboard;
  readonly clusterAccess?: ClusterAccess;

  constructor(scope: Construct, id: string, props: IrsaAuditorStackProps) {
    super(scope, id, props);
    const { settings } = props;
    const period = Duration.seconds(metricPeriodSeconds(settings.schedule));

    // One customer managed key for the auditor's data at rest (alerts, reports): a customer managed key is
    // what lets CloudWatch alarms publish to the encrypted topic, and its policy is the one place that says
    // who can read findings.
    this.key = new Key(this, 'Key', {
      description: 'irsa-auditor: encrypts the alert topic and the audit reports',
      enableKeyRotation: true,
    });
    this.alerts = new AlertTopic(this, 'Alerts', {
      key: this.key,
      ...(settings.alertEmail === undefined ? {} : { email: settings.alertEmail }),
    });
    this.reports = new ReportsBucket(this, 'Reports', {
      key: this.key,
      historyRetentionDays: settings.historyRetentionDays,
      // The run's metrics marker (runs/<runId>/metrics.json) is only read by a retry of the same run.
      runsRetentionDays: RUNS_RETENTION_DAYS,
    });
    this.auditor = new AuditorFunction(this, 'Auditor', {
      settings,
      topic: this.alerts.topic,
      bucket: this.reports.bucket,
      key: this.key,
    });
    this.alarms = new AuditorAlarms(this, 'Alarms', {
      function: this.auditor.function,
      deadLetters: this.auditor.deadLetters,
      topic: this.alerts.topic,
      period,
    });
    this.dashboard = new AuditorDashboard(this, 'Dashboard', {
      function: this.auditor.function,
      alarms: this.alarms.all,
      period,
    });
    if (settings.clusters !== undefined) {
      this.clusterAccess = new ClusterAccess(this, 'ClusterAccess', {
        role: this.auditor.role,
        clusters: settings.clusters,
      });
    }

    const manifests = settings.probe
      ? `-f ${RBAC_MANIFEST} -f ${PROBE_RBAC_MANIFEST}`
      : `-f ${RBAC_MANIFEST}`;
    const roleArn = this.auditor.role.roleArn;
    new CfnOutput(this, 'AlertTopicArn', {
      description: 'Drift alerts and alarm notifications; subscribe to it (email, chat) to receive them',
      value: this.alerts.topic.topicArn,
    });
    new CfnOutput(this, 'ReportsBucketName', {
      description: 'reports/<account>/<region>/<cluster>/latest.json and .../history/<time>.json',
      value: this.reports.bucket.bucketName,
    });
    new CfnOutput(this, 'FunctionRoleArn', {
      description:
        'The role the function signs EKS tokens with: the principal of the access entries, or the rolearn of an aws-auth mapping (it has no path, as aws-auth requires)',
      value: roleArn,
    });
    new CfnOutput(this, 'KubernetesGroup', {
      description: `The Kubernetes group the role is mapped to; ${RBAC_MANIFEST} binds its ClusterRole to it`,
      value: KUBERNETES_GROUP,
    });
    new CfnOutput(this, 'ApplyRbacCommand', {
      description:
        'Run once per audited cluster, from the repository root, with kubectl pointed at that cluster',
      value: `kubectl apply ${manifests}`,
    });
    new CfnOutput(this, 'ClusterAccessEntries', {
      description:
        settings.clusters === undefined
          ? 'clusters=all: no access entries were created; create one per cluster (clusters need authenticationMode API or API_AND_CONFIG_MAP), or map the role in aws-auth'
          : 'Access entries created (clusters need authenticationMode API or API_AND_CONFIG_MAP)',
      value:
        settings.clusters === undefined
          ? Fn.join('', [
              'none; per cluster: aws eks create-access-entry --cluster-name <cluster> --principal-arn ',
              roleArn,
              ` --type STANDARD --kubernetes-groups ${KUBERNETES_GROUP}`,
            ])
          : settings.clusters.join(','),
    });
  }
}
