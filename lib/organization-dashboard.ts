// The organization's CloudWatch dashboard: the alarms, findings by severity and by account over time, audit
// errors and clusters audited per account, and the health of the run (executions, the three steps). Accounts
// are dimensions only known at run time, so those graphs are SEARCH expressions, not fixed metrics.

import { type Duration, Stack } from 'aws-cdk-lib';
import {
  type Alarm,
  AlarmStatusWidget,
  Dashboard,
  GraphWidget,
  MathExpression,
  Stats,
} from 'aws-cdk-lib/aws-cloudwatch';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { SEVERITIES } from '../lambda/core/model/finding';
import { auditMetric } from './auditor-alarms';
import { auditSearch } from './auditor-dashboard';

/** What the dashboard shows. */
export interface OrganizationDashboardProps {
  readonly stateMachine: IStateMachine;
  readonly steps: Readonly<Record<'discover' | 'auditTarget' | 'aggregate', IFunction>>;
  readonly alarms: readonly Alarm[];
  /** The audit metrics' period: the time between two runs (metricPeriodSeconds). */
  readonly period: Duration;
}

/** The organization dashboard, named after the region (dashboards are global to the account). */
export class OrganizationDashboard extends Construct {
  readonly dashboard: Dashboard;

  constructor(scope: Construct, id: string, props: OrganizationDashboardProps) {
    super(scope, id);
    const { period, stateMachine, steps } = props;
    const search = (expression: string) =>
      // An empty label lets CloudWatch name each series after its dimension values (account, severity).
      new MathExpression({ expression, label: '', period, usingMetrics: {} });

    this.dashboard = new Dashboard(this, 'Dashboard', {
      dashboardName: `IrsaAuditorOrganization-${Stack.of(this).region}`,
    });
    this.dashboard.addWidgets(
      new AlarmStatusWidget({ title: 'Alarms', alarms: [...props.alarms], width: 24, height: 3 }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Findings by severity (the organization)',
        width: 12,
        stacked: true,
        left: SEVERITIES.map((severity) =>
          auditMetric('Findings', { Severity: severity }, period).with({ label: severity }),
        ),
      }),
      new GraphWidget({
        title: 'Findings by account and severity',
        width: 12,
        left: [search(auditSearch('Findings', ['Account', 'Severity'], period))],
      }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Audit errors (failed targets and clusters that could not be audited)',
        width: 12,
        left: [
          auditMetric('AuditErrors', {}, period).with({ label: 'the organization' }),
          search(auditSearch('AuditErrors', ['Account'], period)),
        ],
      }),
      new GraphWidget({
        title: 'Clusters audited',
        width: 12,
        left: [
          auditMetric('ClustersAudited', {}, period).with({ label: 'the organization' }),
          search(auditSearch('ClustersAudited', ['Account'], period)),
        ],
      }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Runs',
        width: 8,
        left: [
          stateMachine.metricStarted({ period, statistic: Stats.SUM }),
          stateMachine.metricSucceeded({ period, statistic: Stats.SUM }),
          stateMachine.metricFailed({ period, statistic: Stats.SUM }),
          stateMachine.metricTimedOut({ period, statistic: Stats.SUM }),
        ],
        right: [auditMetric('AuditDurationMs', {}, period).with({ label: 'run duration (ms)' })],
      }),
      new GraphWidget({
        title: 'Steps: errors',
        width: 8,
        left: Object.entries(steps).map(([name, step]) =>
          step.metricErrors({ period, statistic: Stats.SUM }).with({ label: `${name} errors` }),
        ),
        right: [
          steps.auditTarget
            .metricThrottles({ period, statistic: Stats.SUM })
            .with({ label: 'audit-target throttles' }),
        ],
      }),
      new GraphWidget({
        title: 'Steps: duration (ms, maximum)',
        width: 8,
        left: Object.entries(steps).map(([name, step]) =>
          step.metricDuration({ period, statistic: Stats.MAXIMUM }).with({ label: name }),
        ),
      }),
    );
  }
}
