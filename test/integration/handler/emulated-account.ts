// The sinks of the scheduled audit in moto (an S3 bucket, an SNS topic with an SQS queue subscribed), and
// reading back what a run published through them: alerts from the queue, report objects, CloudWatch data.

import {
  CloudWatchClient,
  type Dimension,
  GetMetricDataCommand,
  ListMetricsCommand,
} from '@aws-sdk/client-cloudwatch';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { CreateTopicCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import {
  CreateQueueCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { AuditReport } from '../../../lambda/core/model/finding';
import { MOTO_CREDENTIALS } from '../../../lambda/emulators/moto';

export const REGION = 'eu-west-1';

/** A bucket and a topic whose messages land in a queue, with clients to read them back. */
export interface AlertSinks {
  readonly bucket: string;
  readonly topicArn: string;
  readonly queueUrl: string;
  readonly s3: S3Client;
  readonly sqs: SQSClient;
  readonly cloudwatch: CloudWatchClient;
}

/** An SNS notification as the subscribed queue received it. */
export interface ReceivedAlert {
  readonly subject: string;
  /** The `default` body of the JSON-structured message: the JSON delta. */
  readonly message: string;
}

/** Creates bucket `name`, topic `name` and queue `name` subscribed to the topic. */
export async function createAlertSinks(endpoint: string, name: string): Promise<AlertSinks> {
  const config = { region: REGION, endpoint, credentials: MOTO_CREDENTIALS };
  const s3 = new S3Client({ ...config, forcePathStyle: true });
  const sns = new SNSClient(config);
  const sqs = new SQSClient(config);
  await s3.send(
    new CreateBucketCommand({ Bucket: name, CreateBucketConfiguration: { LocationConstraint: REGION } }),
  );
  const topicArn = (await sns.send(new CreateTopicCommand({ Name: name }))).TopicArn ?? '';
  const queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: name }))).QueueUrl ?? '';
  const attributes = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }),
  );
  await sns.send(
    new SubscribeCommand({ TopicArn: topicArn, Protocol: 'sqs', Endpoint: attributes.Attributes?.QueueArn }),
  );
  return { bucket: name, topicArn, queueUrl, s3, sqs, cloudwatch: new CloudWatchClient(config) };
}

/** Every message the queue holds now, deleted as read. */
export async function receiveAlerts(sinks: AlertSinks): Promise<ReceivedAlert[]> {
  const alerts: ReceivedAlert[] = [];
  for (;;) {
    const { Messages = [] } = await sinks.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: sinks.queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
    );
    if (Messages.length === 0) return alerts;
    for (const message of Messages) {
      const envelope = JSON.parse(message.Body ?? '{}') as { Subject?: string; Message?: string };
      alerts.push({ subject: envelope.Subject ?? '', message: envelope.Message ?? '' });
      await sinks.sqs.send(
        new DeleteMessageCommand({ QueueUrl: sinks.queueUrl, ReceiptHandle: message.ReceiptHandle }),
      );
    }
  }
}

/** The keys under a prefix of the bucket. */
export async function objectKeys(sinks: AlertSinks, prefix: string): Promise<string[]> {
  const listed = await sinks.s3.send(new ListObjectsV2Command({ Bucket: sinks.bucket, Prefix: prefix }));
  return (listed.Contents ?? []).map((object) => object.Key ?? '').sort();
}

/** A report object, parsed, with the encryption S3 reports for it. */
export async function readReportObject(
  sinks: AlertSinks,
  key: string,
): Promise<{ readonly report: AuditReport; readonly serverSideEncryption?: string }> {
  const object = await sinks.s3.send(new GetObjectCommand({ Bucket: sinks.bucket, Key: key }));
  const report = JSON.parse((await object.Body?.transformToString('utf-8')) ?? '') as AuditReport;
  return {
    report,
    ...(object.ServerSideEncryption === undefined
      ? {}
      : { serverSideEncryption: object.ServerSideEncryption }),
  };
}

/** The sum of a metric series of namespace IrsaAuditor (exact dimensions) over the last ten minutes. */
export async function metricSum(
  sinks: AlertSinks,
  metricName: string,
  dimensions: Readonly<Record<string, string>>,
): Promise<number | undefined> {
  const now = Date.now();
  const output = await sinks.cloudwatch.send(
    new GetMetricDataCommand({
      StartTime: new Date(now - 10 * 60_000),
      EndTime: new Date(now + 60_000),
      MetricDataQueries: [
        {
          Id: 'm0',
          MetricStat: {
            Metric: {
              Namespace: 'IrsaAuditor',
              MetricName: metricName,
              Dimensions: Object.entries(dimensions).map(([Name, Value]) => ({ Name, Value })),
            },
            Period: 60,
            Stat: 'Sum',
          },
        },
      ],
    }),
  );
  const values = output.MetricDataResults?.[0]?.Values ?? [];
  return values.length === 0 ? undefined : values.reduce((sum, value) => sum + value, 0);
}

/**
 * The sum of the series of `metricName` without dimensions (an account roll-up such as `AuditErrors {}`).
 * CloudWatch matches a query's dimensions exactly, but moto's GetMetricData ignores an empty dimension list
 * and sums every series of the name (moto/cloudwatch/models.py: `if dimensions:`), so the dimensioned series,
 * each read exactly, are subtracted from moto's total.
 */
export async function rollUpSum(
  sinks: AlertSinks,
  metricName: string,
  dimensioned: readonly Readonly<Record<string, string>>[],
): Promise<number | undefined> {
  const total = await metricSum(sinks, metricName, {});
  if (total === undefined) return undefined;
  let others = 0;
  for (const dimensions of dimensioned) others += (await metricSum(sinks, metricName, dimensions)) ?? 0;
  return total - others;
}

/** Every series of namespace IrsaAuditor as `Name{Dim=Value,...}`, dimensions sorted (ListMetrics, all pages). */
export async function listedSeries(sinks: AlertSinks): Promise<string[]> {
  const series: string[] = [];
  let nextToken: string | undefined;
  do {
    const page = await sinks.cloudwatch.send(
      new ListMetricsCommand({
        Namespace: 'IrsaAuditor',
        ...(nextToken === undefined ? {} : { NextToken: nextToken }),
      }),
    );
    for (const metric of page.Metrics ?? []) series.push(seriesName(metric.MetricName, metric.Dimensions));
    nextToken = page.NextToken;
  } while (nextToken !== undefined);
  return series.sort();
}

function seriesName(name: string | undefined, dimensions: readonly Dimension[] | undefined): string {
  const parts = (dimensions ?? []).map((dimension) => `${dimension.Name}=${dimension.Value}`).sort();
  return `${name ?? ''}{${parts.join(',')}}`;
}
