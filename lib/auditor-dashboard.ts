// The CloudWatch dashboard (SPEC §8): findings by severity and by cluster over time, the top checks, audit
// errors and duration, and the function's health. Clusters and checks are dimensions only known at run time,
// so those graphs are SEARCH expressions, not fixed metrics.

import { type Duration, Stack } from 'aws-cdk-lib';
import {
  type Alarm,
  AlarmStatusWidget,
  Dashboard,
  GraphWidget,
  GraphWidgetView,
  MathExpression,
  Stats,
} from 'aws-cdk-lib/aws-cloudwatch';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { SEVERITIES } from '../lambda/core/model/finding';
import { METRIC_NAMESPACE } from '../lambda/sinks/metrics';
import { auditMetric } from './auditor-alarms';

/** What the dashboard shows. */
export interface AuditorDashboardProps {
  readonly function: IFunction;
  readonly alarms: readonly Alarm[];
  /** The audit metrics' period: the time between two runs (metricPeriodSeconds). */
  readonly period: Duration;
}

/** How many check × cluster series the top-checks graph keeps. */
export const TOP_CHECKS = 10;

/** A CloudWatch SEARCH over one metric of the auditor with exactly these dimensions. */
export function auditSearch(metricName: string, dimensions: readonly string[], period: Duration): string {
  const schema = [METRIC_NAMESPACE, ...dimensions].join(',');
  return `SEARCH('{${schema}} MetricName="${metricName}"', '${Stats.MAXIMUM}', ${period.toSeconds()})`;
}

/** The auditor's dashboard, named after the region (dashboards are global to the account). */
export class AuditorDashboard extends Construct {
  readonly dashboard: Dashboard;

  constructor(scope: Construct, id: string, props: AuditorDashboardProps) {
    super(scope, id);
    const { period } = props;
    const search = (label: string, expression: string) =>
      // An empty label lets CloudWatch name each series after its dimension values (cluster, check).
      new MathExpression({ expression, label, period, usingMetrics: {} });

    this.dashboard = new Dashboard(this, 'Dashboard', {
      dashboardName: `IrsaAuditor-${Stack.of(this).region}`,
    });
    this.dashboard.addWidgets(
      new AlarmStatusWidget({ title: 'Alarms', alarms: [...props.alarms], width: 24, height: 3 }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Findings by severity (all clusters)',
        width: 12,
        stacked: true,
        left: SEVERITIES.map((severity) =>
          auditMetric('Findings', { Severity: severity }, period).with({ label: severity }),
        ),
      }),
      new GraphWidget({
        title: 'Findings by cluster and severity',
        width: 12,
        left: [search('', auditSearch('Findings', ['Cluster', 'Severity'], period))],
      }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: `Top ${TOP_CHECKS} checks by findings (check, cluster)`,
        width: 12,
        view: GraphWidgetView.BAR,
        left: [
          search(
            '',
            `SORT(${auditSearch('FindingsByCheck', ['Check', 'Cluster'], period)}, MAX, DESC, ${TOP_CHECKS})`,
          ),
        ],
      }),
      new GraphWidget({
        title: 'Audit errors (clusters that could not be audited)',
        width: 12,
        left: [
          auditMetric('AuditErrors', {}, period).with({ label: 'all clusters' }),
          search('', auditSearch('AuditErrors', ['Cluster'], period)),
        ],
      }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Audit duration (ms)',
        width: 8,
        left: [
          auditMetric('AuditDurationMs', {}, period).with({ label: 'maximum' }),
          auditMetric('AuditDurationMs', {}, period, Stats.AVERAGE).with({ label: 'average' }),
        ],
      }),
      new GraphWidget({
        title: 'Audited',
        width: 8,
        left: [auditMetric('ClustersAudited', {}, period).with({ label: 'clusters' })],
        right: [
          search('', auditSearch('ServiceAccountsAudited', ['Cluster'], period)),
          search('', auditSearch('PodsAudited', ['Cluster'], period)),
        ],
      }),
      new GraphWidget({
        title: 'Function',
        width: 8,
        left: [
          props.function.metricInvocations({ period, statistic: Stats.SUM }),
          props.function.metricErrors({ period, statistic: Stats.SUM }),
          props.function.metricThrottles({ period, statistic: Stats.SUM }),
        ],
        right: [props.function.metricDuration({ period, statistic: Stats.MAXIMUM })],
      }),
    );
  }
}
