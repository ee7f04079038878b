// The organization run's alarms → the alert topic: a critical finding anywhere in the organization, a cluster
// or target that could not be audited, a failed or timed-out execution, and each step's function errors.

import type { Duration } from 'aws-cdk-lib';
import { type Alarm, Stats, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { auditMetric, type NotifyingAlarmOptions, notifyingAlarm } from './auditor-alarms';

/** What the alarms watch and whom they notify. */
export interface OrganizationAlarmsProps {
  readonly stateMachine: IStateMachine;
  readonly discover: IFunction;
  readonly auditTarget: IFunction;
  readonly aggregate: IFunction;
  readonly topic: ITopic;
  /** The audit metrics' period: the time between two runs (metricPeriodSeconds). */
  readonly period: Duration;
}

/** The alarms, each with the topic as alarm and OK action. */
export class OrganizationAlarms extends Construct {
  readonly criticalFindings: Alarm;
  readonly auditErrors: Alarm;
  readonly executionsFailed: Alarm;
  readonly executionsTimedOut: Alarm;
  readonly discoverErrors: Alarm;
  readonly auditTargetErrors: Alarm;
  readonly aggregateErrors: Alarm;

  constructor(scope: Construct, id: string, props: OrganizationAlarmsProps) {
    super(scope, id);
    const { period, topic } = props;
    const alarm = (alarmId: string, options: NotifyingAlarmOptions) =>
      notifyingAlarm(this, alarmId, topic, options);
    // Aggregate publishes once per run, zeros included: between runs there is no data, and that must keep the
    // alarm where the last run put it (IGNORE), not clear it.
    this.criticalFindings = alarm('CriticalFindings', {
      metric: auditMetric('Findings', { Severity: 'critical' }, period),
      description:
        'A cluster of the organization has critical IRSA findings. The run summary alert and reports/organization/latest.json in the reports bucket name the accounts and clusters.',
      missing: TreatMissingData.IGNORE,
    });
    this.auditErrors = alarm('AuditErrors', {
      metric: auditMetric('AuditErrors', {}, period),
      description:
        'A target (account and region) or a cluster could not be audited: member role missing or not trusting the auditor, no access entry or RBAC, unreachable API server. The run summary names them.',
      missing: TreatMissingData.IGNORE,
    });
    // Step Functions and Lambda publish these only around executions and invocations: no data, no failure.
    this.executionsFailed = alarm('ExecutionsFailed', {
      metric: props.stateMachine.metricFailed({ period, statistic: Stats.SUM }),
      description:
        'An organization run failed: discover or aggregate failed, or more clusters failed than toleratedFailurePercentage allows (the summary was still published). The execution history says which state.',
      missing: TreatMissingData.NOT_BREACHING,
    });
    this.executionsTimedOut = alarm('ExecutionsTimedOut', {
      metric: props.stateMachine.metricTimedOut({ period, statistic: Stats.SUM }),
      description:
        'An organization run did not finish within its timeout: a step is stuck. The execution history says which.',
      missing: TreatMissingData.NOT_BREACHING,
    });
    this.discoverErrors = alarm('DiscoverErrors', {
      metric: props.discover.metricErrors({ period, statistic: Stats.SUM }),
      description:
        'The discover step failed (configuration, Organizations, or writing the run items). Its logs say why.',
      missing: TreatMissingData.NOT_BREACHING,
    });
    this.auditTargetErrors = alarm('TargetAuditErrors', {
      metric: props.auditTarget.metricErrors({ period, statistic: Stats.SUM }),
      description:
        'A cluster audit invocation failed, throttled attempts that Step Functions retried included. Its logs name the account, region and cluster.',
      missing: TreatMissingData.NOT_BREACHING,
    });
    this.aggregateErrors = alarm('AggregateErrors', {
      metric: props.aggregate.metricErrors({ period, statistic: Stats.SUM }),
      description:
        'The aggregate step failed: the summary alert, metrics or baselines may not be published. Its logs say why.',
      missing: TreatMissingData.NOT_BREACHING,
    });
  }

  /** Every alarm. */
  get all(): readonly Alarm[] {
    return [
      this.criticalFindings,
      this.auditErrors,
      this.executionsFailed,
      this.executionsTimedOut,
      this.discoverErrors,
      this.auditTargetErrors,
      this.aggregateErrors,
    ];
  }
}
