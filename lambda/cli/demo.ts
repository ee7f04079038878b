// `npm run demo` (SPEC §6): the scheduled Lambda's code path, run twice against local emulators seeded with
// examples/blog-incident: moto's server for AWS (EKS, IAM, STS, S3, SNS, SQS, CloudWatch) and the project's
// fake Kubernetes API server. It prints the report the handler stored in S3, the metrics it published
// (read back from CloudWatch), and the alert SNS delivered to a subscribed SQS queue; the second run over
// the same state must send no alert. Without moto_server (or openssl) it audits the example offline.
//
// The emulator harness is imported from test/support on purpose: the fake API server exists only there,
// and the demo runs from a clone after `npm ci` (devDependencies installed), never from the Lambda bundle.

import { randomUUID } from 'node:crypto';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  CloudWatchClient,
  GetMetricDataCommand,
  ListMetricsCommand,
  type Metric,
} from '@aws-sdk/client-cloudwatch';
import { CreateBucketCommand, GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateTopicCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import {
  CreateQueueCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { DEFAULT_WEBHOOK_NAME } from '../core/analysis/eks-conventions';
import { errorText } from '../core/error-text';
import type { AuditReport, Finding, SeveritySummary } from '../core/model/finding';
import { renderReport } from '../core/report/render';
import { type FakeKubeApi, startFakeKubeApi } from '../emulators/fake-kube-api';
import { MOTO_CREDENTIALS, type MotoServer, motoClients, startMoto } from '../emulators/moto';
import { exampleEksIdentities, type SeededExample, seedMotoWithExample } from '../emulators/seed-moto';
import { runAudit } from '../pipeline/run-audit';
import type { ScheduledAuditSummary, ScheduledEvent } from '../pipeline/run-scheduled-audit';
import { createHandler } from '../pipeline/scheduled-handler';
import type { InvocationContext } from '../pipeline/structured-log';
import { buildAlert } from '../sinks/alerts';
import { METRIC_NAMESPACE } from '../sinks/metrics';
import { parseStoredReport } from '../sinks/report-store';
import { loadSnapshot } from '../sources/snapshot/snapshot';

/** Where the demo writes and what it may use. */
export interface DemoIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** Colour the report table (a terminal). */
  readonly colour: boolean;
  readonly examplesDirectory: string;
  /** The directories searched for moto_server; default this process's PATH. */
  readonly searchPath?: string;
  /** Also print the handler's structured log lines (stderr). */
  readonly showLogs?: boolean;
}

/** What one demo-style run did, as read back from the emulators. */
export interface DemoRun {
  readonly summary: ScheduledAuditSummary;
  /** The SNS messages the subscribed SQS queue received during this run. */
  readonly alerts: readonly ReceivedAlert[];
}

/** An SNS notification as an SQS subscriber receives it (the `default` body of a JSON-structured message). */
export interface ReceivedAlert {
  readonly subject: string;
  readonly message: string;
}

const EXAMPLE = 'blog-incident';
const CLUSTER = 'platform-prod';
const REGION = 'eu-west-1';
const BUCKET = 'irsa-auditor-reports-demo';
const TOPIC = 'irsa-auditor-alerts';
const QUEUE = 'irsa-auditor-alerts-demo';
// As deployed, the function has minutes; the demo gives each run one, which it never needs.
const INVOCATION_TIMEOUT_MS = 60_000;

/** Runs the demo; returns the exit code (0 unless the demo itself is broken). */
export async function runDemo(io: DemoIo): Promise<number> {
  const example = join(io.examplesDirectory, EXAMPLE);
  const searchPath = io.searchPath ?? process.env.PATH ?? '';
  if (!isOnPath('moto_server', searchPath)) {
    io.stderr(
      'irsa-audit demo: moto_server is not installed (pip install "moto[server]"), so the Lambda cannot run against emulated AWS.\n' +
        `irsa-audit demo: auditing the shipped example snapshot ${example} offline instead.\n`,
    );
    return auditOffline(io, example);
  }
  let emulators: Emulators;
  try {
    emulators = await startEmulators(example, searchPath);
  } catch (error) {
    io.stderr(
      `irsa-audit demo: the emulators did not start (${errorText(error)}).\n` +
        `irsa-audit demo: auditing the shipped example snapshot ${example} offline instead.\n`,
    );
    return auditOffline(io, example);
  }
  try {
    return await demoOnEmulators(io, emulators);
  } catch (error) {
    // A run that fails (PublishError, ScheduledAuditError) is a broken demo: one line, not a stack trace.
    io.stderr(`irsa-audit demo: the scheduled run failed: ${errorText(error)}\n`);
    return 1;
  } finally {
    await emulators.kube.stop();
    await emulators.moto.stop();
  }
}

interface Emulators {
  readonly moto: MotoServer;
  readonly kube: FakeKubeApi;
  readonly seeded: SeededExample;
  readonly topicArn: string;
  readonly queueUrl: string;
  readonly sqs: SQSClient;
  readonly s3: S3Client;
  readonly cloudwatch: CloudWatchClient;
}

async function startEmulators(example: string, searchPath: string): Promise<Emulators> {
  const kube = await startFakeKubeApi({
    snapshotDirectory: example,
    // The API server accepts only EKS tokens for this cluster signed with the keys the handler uses.
    eks: { clusterName: CLUSTER, credentials: MOTO_CREDENTIALS },
  });
  let moto: MotoServer | undefined;
  try {
    // The cluster keeps the example's issuer; its endpoint and CA become the fake API server's. The
    // webhook's caBundle (the staging cluster's CA) still is not the cluster CA: the incident stands.
    const identities = await exampleEksIdentities(example);
    moto = await startMoto({
      searchPath,
      eksClusters: {
        ...identities,
        [CLUSTER]: { ...identities[CLUSTER], endpoint: kube.url, caData: kube.caData },
      },
    });
    const seeded = await seedMotoWithExample(motoClients(moto.endpoint, REGION), example);
    const config = { region: REGION, endpoint: moto.endpoint, credentials: MOTO_CREDENTIALS };
    const s3 = new S3Client({ ...config, forcePathStyle: true });
    const sns = new SNSClient(config);
    const sqs = new SQSClient(config);
    await s3.send(
      new CreateBucketCommand({ Bucket: BUCKET, CreateBucketConfiguration: { LocationConstraint: REGION } }),
    );
    const topicArn = (await sns.send(new CreateTopicCommand({ Name: TOPIC }))).TopicArn ?? '';
    const queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: QUEUE }))).QueueUrl ?? '';
    const queueArn =
      (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] })))
        .Attributes?.QueueArn ?? '';
    await sns.send(new SubscribeCommand({ TopicArn: topicArn, Protocol: 'sqs', Endpoint: queueArn }));
    return { moto, kube, seeded, topicArn, queueUrl, sqs, s3, cloudwatch: new CloudWatchClient(config) };
  } catch (error) {
    await moto?.stop();
    await kube.stop();
    throw error;
  }
}

async function demoOnEmulators(io: DemoIo, emulators: Emulators): Promise<number> {
  const { moto, kube, seeded, topicArn } = emulators;
  const out = io.stdout;
  out(
    'irsa-audit demo: the scheduled Lambda (lambda/handlers/scheduled.ts code path) against local emulators\n' +
      `  AWS:        moto_server at ${moto.endpoint} (real AWS SDK clients)\n` +
      `  Kubernetes: fake API server at ${kube.url} (real client-node, EKS token authentication)\n` +
      `  seeded from examples/${EXAMPLE}: EKS clusters ${[seeded.clusterName, ...seeded.otherClusters].join(', ')}; ` +
      `${seeded.providerUrls.length} OIDC providers; ${seeded.roleArns.length} IAM roles;\n` +
      `              S3 bucket ${BUCKET}; SNS topic ${TOPIC} with SQS queue ${QUEUE} subscribed\n\n`,
  );
  const handler = createHandler(
    {
      AWS_REGION: REGION,
      AWS_ENDPOINT_URL: moto.endpoint,
      CLUSTERS: CLUSTER,
      TOPIC_ARN: topicArn,
      REPORTS_BUCKET: BUCKET,
      ALERT_SEVERITY: 'high',
      WEBHOOK_NAME: DEFAULT_WEBHOOK_NAME,
    },
    {
      credentials: MOTO_CREDENTIALS,
      log: (level, message, fields) => {
        if (io.showLogs === true) io.stderr(`${JSON.stringify({ level, message, ...fields })}\n`);
      },
    },
  );

  const first = await invokeOnce(handler, emulators);
  out(`── Run 1 (scheduled event ${first.summary.runId}) ──\n\n`);
  const reportUri = first.summary.clusters[0]?.reportUri;
  if (reportUri !== undefined) {
    out(`Report, read back from ${reportUri}:\n\n`);
    out(renderReport(await readReport(emulators.s3, reportUri), 'table', io.colour));
  }
  out(
    `\nMetrics published to CloudWatch namespace ${METRIC_NAMESPACE} (read back with ListMetrics + GetMetricData):\n`,
  );
  out(await describeMetrics(emulators.cloudwatch));
  out(`\nAlerts received by SQS queue ${QUEUE} from SNS topic ${TOPIC}: ${first.alerts.length}\n`);
  for (const alert of first.alerts) out(describeAlert(alert));

  const second = await invokeOnce(handler, emulators);
  out(`\n── Run 2 (scheduled event ${second.summary.runId}, nothing changed) ──\n\n`);
  out(
    `Findings: ${summaryText(second.summary)}; alerts received by the SQS queue: ${second.alerts.length}.\n`,
  );
  const total = first.alerts.length + second.alerts.length;
  out(
    `\nTwo consecutive runs over unchanged state sent ${total} alert${total === 1 ? '' : 's'} ` +
      `(expected exactly 1: the first run alerts on the current problems, the second has no drift).\n`,
  );
  const healthy = total === 1 && first.summary.errors.length === 0 && second.summary.errors.length === 0;
  if (!healthy) {
    io.stderr(
      `irsa-audit demo: unexpected outcome: ${[...first.summary.errors, ...second.summary.errors].join('; ')}\n`,
    );
  }
  return healthy ? 0 : 1;
}

/** One scheduled invocation as EventBridge makes it, then the alerts it caused on the subscribed queue. */
export async function invokeOnce(
  handler: (event: ScheduledEvent | undefined, context: InvocationContext) => Promise<ScheduledAuditSummary>,
  emulators: { readonly sqs: SQSClient; readonly queueUrl: string },
): Promise<DemoRun> {
  const started = Date.now();
  const event = {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    time: new Date(started).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region: REGION,
    resources: [],
    detail: {},
  };
  const summary = await handler(event, {
    awsRequestId: randomUUID(),
    getRemainingTimeInMillis: () => started + INVOCATION_TIMEOUT_MS - Date.now(),
  });
  return { summary, alerts: await drainQueue(emulators.sqs, emulators.queueUrl) };
}

// SNS delivers to SQS within Publish (moto does it synchronously), so the queue holds every alert by now.
async function drainQueue(sqs: SQSClient, queueUrl: string): Promise<ReceivedAlert[]> {
  const alerts: ReceivedAlert[] = [];
  for (;;) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
    );
    if (Messages.length === 0) return alerts;
    for (const message of Messages) {
      // Without raw delivery, the body is SNS's notification envelope: Subject, and Message = the `default` body.
      const envelope = JSON.parse(message.Body ?? '{}') as { Subject?: string; Message?: string };
      alerts.push({ subject: envelope.Subject ?? '', message: envelope.Message ?? '' });
      await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }));
    }
  }
}

async function readReport(s3: S3Client, uri: string): Promise<AuditReport> {
  const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri);
  if (match?.[1] === undefined || match[2] === undefined) throw new Error(`not an S3 URI: ${uri}`);
  const object = await s3.send(new GetObjectCommand({ Bucket: match[1], Key: match[2] }));
  return parseStoredReport((await object.Body?.transformToString('utf-8')) ?? '', uri);
}

/** Every series of the namespace with its value; the zero FindingsByCheck series are counted, not listed. */
export async function describeMetrics(cloudwatch: CloudWatchClient): Promise<string> {
  const metrics: Metric[] = [];
  let nextToken: string | undefined;
  do {
    const page = await cloudwatch.send(
      new ListMetricsCommand({
        Namespace: METRIC_NAMESPACE,
        ...(nextToken === undefined ? {} : { NextToken: nextToken }),
      }),
    );
    metrics.push(...(page.Metrics ?? []));
    nextToken = page.NextToken;
  } while (nextToken !== undefined);
  const values = await metricValues(cloudwatch, metrics);
  const rows = metrics
    .map((metric, index) => ({
      name: metric.MetricName ?? '',
      dimensions: (metric.Dimensions ?? [])
        .map((dimension) => `${dimension.Name}=${dimension.Value}`)
        .sort()
        .join(' '),
      value: values[index],
    }))
    .sort((a, b) => (a.name + a.dimensions < b.name + b.dimensions ? -1 : 1));
  // CloudWatch matches a query's dimensions exactly; moto's GetMetricData ignores an empty dimension list and
  // sums every series of the name, so a roll-up (`AuditErrors` without dimensions) is its total less the others.
  for (const row of rows) {
    if (row.dimensions !== '' || row.value === undefined) continue;
    const others = rows.filter((other) => other.name === row.name && other.dimensions !== '');
    row.value -= others.reduce((sum, other) => sum + (other.value ?? 0), 0);
  }
  const zeroByCheck = rows.filter((row) => row.name === 'FindingsByCheck' && row.value === 0);
  const shown = rows.filter((row) => !(row.name === 'FindingsByCheck' && row.value === 0));
  const width = Math.max(...shown.map((row) => row.name.length + row.dimensions.length + 1));
  const lines = shown.map(
    (row) => `  ${`${row.name} ${row.dimensions}`.padEnd(width)}  ${row.value ?? '(no datapoint)'}`,
  );
  if (zeroByCheck.length > 0)
    lines.push(`  (and ${zeroByCheck.length} FindingsByCheck series at 0, one per other check)`);
  return `${lines.join('\n')}\n`;
}

// GetMetricData takes at most 500 queries per call; each series is summed over the minutes around the run.
async function metricValues(
  cloudwatch: CloudWatchClient,
  metrics: readonly Metric[],
): Promise<(number | undefined)[]> {
  const values: (number | undefined)[] = [];
  const now = Date.now();
  for (let start = 0; start < metrics.length; start += 500) {
    const batch = metrics.slice(start, start + 500);
    const output = await cloudwatch.send(
      new GetMetricDataCommand({
        StartTime: new Date(now - 10 * 60_000),
        EndTime: new Date(now + 60_000),
        MetricDataQueries: batch.map((metric, index) => ({
          Id: `m${start + index}`,
          MetricStat: { Metric: metric, Period: 60, Stat: 'Sum' },
        })),
      }),
    );
    const byId = new Map((output.MetricDataResults ?? []).map((result) => [result.Id, result.Values ?? []]));
    for (let index = 0; index < batch.length; index += 1) {
      const series = byId.get(`m${start + index}`) ?? [];
      values.push(series.length === 0 ? undefined : series.reduce((sum, value) => sum + value, 0));
    }
  }
  return values;
}

/**
 * The alert as subscribers read it: the subject, and the email body. SQS receives the JSON delta (`default`);
 * email subscribers get the text that lambda/sinks/alerts.ts builds from that same delta, rebuilt here
 * because moto delivers nothing to email subscriptions.
 */
export function describeAlert(alert: ReceivedAlert): string {
  const delta = JSON.parse(alert.message) as {
    cluster: { name: string; arn?: string; region?: string; accountId?: string };
    summary: SeveritySummary;
    runAt: string;
    report: string;
    notes?: string[];
    new: Finding[];
    resolved: Finding[];
  };
  const email = JSON.parse(
    buildAlert(
      { ...delta.cluster, summary: delta.summary, findings: [] },
      { newFindings: delta.new, resolved: delta.resolved },
      delta.report,
      new Date(delta.runAt),
      delta.notes === undefined ? {} : { notes: delta.notes },
    ).message,
  ) as { email: string };
  const indent = (text: string) =>
    text
      .trimEnd()
      .split('\n')
      .map((line) => (line === '' ? '' : `    ${line}`))
      .join('\n');
  return (
    `  Subject: ${alert.subject}\n` +
    `  JSON delta (what SQS received): ${delta.new.length} new, ${delta.resolved.length} resolved, report ${delta.report}\n` +
    `  Email text (what email subscribers read):\n${indent(elideFindingBlocks(email.email, SHOWN_ALERT_FINDINGS))}\n`
  );
}

// The report above already lists every finding with its fix; the alert shows its first few as they read there.
const SHOWN_ALERT_FINDINGS = 2;

/** The email text with only the first `shown` finding blocks (`[SEVERITY] CHECK ...` paragraphs) of each section. */
function elideFindingBlocks(text: string, shown: number): string {
  const blocks = text.split('\n\n');
  const kept: string[] = [];
  let inSection = 0;
  let hidden = 0;
  const flush = () => {
    if (hidden > 0) kept.push(`[... ${hidden} more, each with its fix, as in the report above ...]`);
    hidden = 0;
  };
  for (const block of blocks) {
    if (!block.startsWith('[')) {
      flush();
      inSection = 0;
      kept.push(block);
    } else if (inSection < shown) {
      inSection += 1;
      kept.push(block);
    } else hidden += 1;
  }
  flush();
  return kept.join('\n\n');
}

function summaryText(summary: ScheduledAuditSummary): string {
  return summary.clusters
    .map(
      (cluster) =>
        `${cluster.cluster}: ${Object.entries(cluster.summary)
          .map(([severity, count]) => `${count} ${severity}`)
          .join(', ')}`,
    )
    .join('; ');
}

async function auditOffline(io: DemoIo, directory: string): Promise<number> {
  const report = await runAudit([{ label: directory, collect: () => loadSnapshot(directory) }], {
    now: new Date(),
    webhookName: DEFAULT_WEBHOOK_NAME,
  });
  io.stdout(renderReport(report, 'table', io.colour));
  io.stdout('\n(offline audit of the snapshot: no metrics were published and no alert was sent)\n');
  return 0;
}

function isOnPath(command: string, searchPath: string): boolean {
  return searchPath.split(delimiter).some((directory) => {
    if (directory === '') return false;
    try {
      accessSync(join(directory, command), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

// `tsx lambda/cli/demo.ts [--logs]`; `irsa-audit demo` imports runDemo instead.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await runDemo({
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    colour: process.stdout.isTTY === true && process.env.NO_COLOR === undefined,
    examplesDirectory: join(import.meta.dirname, '..', '..', 'examples'),
    showLogs: process.argv.includes('--logs'),
  });
}
