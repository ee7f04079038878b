// The alarms that notify the alert topic (SPEC §8): a critical finding, a cluster that could not be audited,
// a failed or throttled run, a run lost to the dead-letter queue. Each also notifies when it clears.

import type { Duration } from 'aws-cdk-lib';
import {
  Alarm,
  ComparisonOperator,
  type IMetric,
  Metric,
  Stats,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { METRIC_NAMESPACE } from '../lambda/sinks/metrics';

/** What the alarms watch and whom they notify. */
export interface AuditorAlarmsProps {
  readonly function: IFunction;
  readonly deadLetters: IQueue;
  readonly topic: ITopic;
  /** The audit metrics' period: the time between two runs (metricPeriodSeconds). */
  readonly period: Duration;
}

/** One of the auditor's metrics (SPEC §7) over `period`. */
export function auditMetric(
  metricName: string,
  dimensions: Record<string, string>,
  period: Duration,
  statistic: string = Stats.MAXIMUM,
): Metric {
  return new Metric({
    namespace: METRIC_NAMESPACE,
    metricName,
    dimensionsMap: dimensions,
    statistic,
    period,
  });
}

/** The alarms, each with the topic as alarm and OK action. */
export class AuditorAlarms extends Construct {
  readonly criticalFindings: Alarm;
  readonly auditErrors: Alarm;
  readonly functionErrors: Alarm;
  readonly functionThrottles: Alarm;
  readonly lostRuns: Alarm;
  private readonly topic: ITopic;

  constructor(scope: Construct, id: string, props: AuditorAlarmsProps) {
    super(scope, id);
    this.topic = props.topic;
    const { period } = props;
    // The audit publishes once per run, zeros included: between runs there is no data, and that must keep
    // the alarm where the last run put it (IGNORE), not clear it.
    this.criticalFindings = this.alarm('CriticalFindings', {
      metric: auditMetric('Findings', { Severity: 'critical' }, period),
      description:
        'A cluster has critical IRSA findings: live workloads get the wrong AWS credentials or none. The drift alert and reports/<account>/<region>/<cluster>/latest.json in the reports bucket name them.',
      missing: TreatMissingData.IGNORE,
    });
    this.auditErrors = this.alarm('AuditErrors', {
      metric: auditMetric('AuditErrors', {}, period),
      description:
        'A cluster could not be audited (IRSA-X01: unreachable API server, no access entry or RBAC, timeout). The function logs name the cluster and the cause.',
      missing: TreatMissingData.IGNORE,
    });
    // Lambda publishes Errors and Throttles only around invocations: no data means nothing failed.
    this.functionErrors = this.alarm('FunctionErrors', {
      metric: props.function.metricErrors({ period, statistic: Stats.SUM }),
      description:
        'An audit run failed (invalid configuration, or reports, alerts or metrics not published). The function logs say why; Lambda retries the run twice.',
      missing: TreatMissingData.NOT_BREACHING,
    });
    this.functionThrottles = this.alarm('FunctionThrottles', {
      metric: props.function.metricThrottles({ period, statistic: Stats.SUM }),
      description:
        'A run waited because the previous one was still running (reserved concurrency 1): runs take longer than the schedule allows.',
      missing: TreatMissingData.NOT_BREACHING,
    });
    this.lostRuns = this.alarm('LostRuns', {
      metric: props.deadLetters.metricApproximateNumberOfMessagesVisible({ statistic: Stats.MAXIMUM }),
      description:
        'A scheduled run failed every attempt or could not be delivered; its event is in the dead-letter queue. Read it, fix the cause, then purge the queue.',
      missing: TreatMissingData.IGNORE,
    });
  }

  /** Every alarm, for the dashboard. */
  get all(): readonly Alarm[] {
    return [
      this.criticalFindings,
      this.auditErrors,
      this.functionErrors,
      this.functionThrottles,
      this.lostRuns,
    ];
  }

  private alarm(id: string, options: NotifyingAlarmOptions): Alarm {
    return notifyingAlarm(this, id, this.topic, options);
  }
}

/** One alarm of the auditor: what it watches, what it means, and what no data means. */
export interface NotifyingAlarmOptions {
  readonly metric: IMetric;
  readonly description: string;
  readonly missing: TreatMissingData;
}

/** An alarm that fires when the metric is above 0 in one period, and notifies `topic` when it fires and clears. */
export function notifyingAlarm(
  scope: Construct,
  id: string,
  topic: ITopic,
  options: NotifyingAlarmOptions,
): Alarm {
  const alarm = new Alarm(scope, id, {
    metric: options.metric,
    alarmDescription: options.description,
    comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
    threshold: 0,
    evaluationPeriods: 1,
    treatMissingData: options.missing,
  });
  alarm.addAlarmAction(new SnsAction(topic));
  alarm.addOkAction(new SnsAction(topic));
  return alarm;
}
