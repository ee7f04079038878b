// The optional finding sinks of publishClusterReport against moto_server through the real clients: EventBridge
// (a rule on the bus with an SQS target, read back from the queue) and Security Hub (read back with
// GetFindings). moto has both operations, so nothing is mocked but the one fault injected.

import {
  CreateEventBusCommand,
  EventBridgeClient,
  PutEventsCommand,
  PutRuleCommand,
  PutTargetsCommand,
} from '@aws-sdk/client-eventbridge';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { GetFindingsCommand, SecurityHubClient } from '@aws-sdk/client-securityhub';
import { CreateTopicCommand } from '@aws-sdk/client-sns';
import { CreateQueueCommand, GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { type AwsStub, mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { auditCluster } from '../../../lambda/core/engine/audit-cluster';
import type { ClusterState } from '../../../lambda/core/model/cluster-state';
import type { ClusterReport, Finding } from '../../../lambda/core/model/finding';
import {
  drainQueue,
  MOTO_ACCOUNT_ID,
  MOTO_CREDENTIALS,
  type MotoSinkClients,
  motoSinkClients,
} from '../../../lambda/emulators/moto';
import { DETAIL_TYPE, EVENT_SOURCE } from '../../../lambda/sinks/finding-events';
import { publishClusterReport } from '../../../lambda/sinks/publish-cluster';
import { ReportStore } from '../../../lambda/sinks/report-store';
import { defaultProductArn } from '../../../lambda/sinks/security-hub';
import { CLUSTER_NAME, healthyState, NOW, pod, REGION, roleArn } from '../../support/state-builder';
import { useMoto } from '../../support/use-moto';

const BUCKET = 'irsa-auditor-reports';
const BUS = 'platform-findings';
const options = { now: NOW, webhookName: 'iam-for-pods.amazonaws.com' };
const CLUSTER_ARN = `arn:aws:eks:${REGION}:${MOTO_ACCOUNT_ID}:cluster/${CLUSTER_NAME}`;

// The healthy cluster, with a pod of orders-api the webhook did not mutate (IRSA-P01, critical).
const broken: Partial<ClusterState> = {
  pods: [
    pod('payments', 'orders-api-7d9f8b6c5-x2x9q', 'orders-api', roleArn('orders-api')),
    pod('payments', 'orders-api-broken-1', 'orders-api'),
  ],
};
const audit = (overrides: Partial<ClusterState> = {}): ClusterReport => {
  const report = auditCluster(healthyState(overrides), options).report;
  return { ...report, arn: CLUSTER_ARN };
};
const p01Of = (report: ClusterReport): Finding[] =>
  report.findings.filter((finding) => finding.check === 'IRSA-P01');

interface RoutedEvent {
  readonly source: string;
  readonly 'detail-type': string;
  readonly resources: string[];
  readonly detail: { status: string; cluster: string; clusterArn: string; report: string; finding: Finding };
}

// biome-ignore lint/suspicious/noExplicitAny: aws-sdk-client-mock's stubs are typed for any client.
const mocks: AwsStub<any, any, any>[] = [];
afterEach(() => {
  for (const mock of mocks.splice(0)) mock.restore();
});

describe('EventBridge and Security Hub sinks over moto_server', () => {
  const moto = useMoto();
  let sinks: MotoSinkClients;
  let events: EventBridgeClient;
  let hub: SecurityHubClient;
  let topicArn: string;
  let queueUrl: string;
  let runs = 0;

  const clientConfig = () => ({
    region: REGION,
    endpoint: moto.endpoint,
    credentials: MOTO_CREDENTIALS,
    maxAttempts: 1,
  });

  beforeEach(async () => {
    sinks = motoSinkClients(moto.endpoint, REGION);
    events = new EventBridgeClient(clientConfig());
    hub = new SecurityHubClient(clientConfig());
    await sinks.s3.send(
      new CreateBucketCommand({ Bucket: BUCKET, CreateBucketConfiguration: { LocationConstraint: REGION } }),
    );
    topicArn = (await sinks.sns.send(new CreateTopicCommand({ Name: 'irsa-auditor-alerts' }))).TopicArn ?? '';
    // A team's routing: a rule for the auditor's events on their bus, delivering to a queue.
    await events.send(new CreateEventBusCommand({ Name: BUS }));
    queueUrl = (await sinks.sqs.send(new CreateQueueCommand({ QueueName: 'irsa-findings' }))).QueueUrl ?? '';
    const queueArn =
      (
        await sinks.sqs.send(
          new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }),
        )
      ).Attributes?.QueueArn ?? '';
    await events.send(
      new PutRuleCommand({
        Name: 'irsa-findings-to-queue',
        EventBusName: BUS,
        EventPattern: JSON.stringify({ source: [EVENT_SOURCE] }),
      }),
    );
    await events.send(
      new PutTargetsCommand({
        Rule: 'irsa-findings-to-queue',
        EventBusName: BUS,
        Targets: [{ Id: 'queue', Arn: queueArn }],
      }),
    );
    runs = 0;
  });

  function publish(report: ClusterReport) {
    runs += 1;
    return publishClusterReport(
      {
        store: new ReportStore(sinks.s3, BUCKET),
        sns: sinks.sns,
        topicArn,
        threshold: 'high',
        events: { client: events, busName: BUS },
        securityHub: { client: hub, partition: 'aws' },
      },
      {
        account: MOTO_ACCOUNT_ID,
        region: REGION,
        report,
        generatedAt: new Date(NOW.getTime() + runs * 3_600_000),
        runId: `run-${runs}`,
      },
    );
  }

  const routed = async (): Promise<RoutedEvent[]> =>
    (await drainQueue(sinks.sqs, queueUrl)).map((body) => JSON.parse(body) as RoutedEvent);

  const hubFindings = async () => (await hub.send(new GetFindingsCommand({}))).Findings ?? [];

  it('sends a new finding once, nothing on an unchanged run, and the fix as resolved', async () => {
    const before = audit(broken);

    const first = await publish(before);
    const sentFirst = await routed();
    const second = await publish(audit(broken));
    const sentSecond = await routed();
    const third = await publish(audit());
    const sentThird = await routed();

    const p01 = p01Of(before).map((finding) => finding.id);
    expect(first.errors).toEqual([]);
    expect(sentFirst.map((event) => [event.source, event['detail-type'], event.detail.finding.id])).toEqual(
      p01.map((id) => [EVENT_SOURCE, DETAIL_TYPE.new, id]),
    );
    expect(sentFirst[0]?.resources).toEqual([CLUSTER_ARN]);
    expect(sentFirst[0]?.detail).toMatchObject({
      status: 'new',
      cluster: CLUSTER_NAME,
      clusterArn: CLUSTER_ARN,
    });
    expect(sentFirst[0]?.detail.report).toMatch(/^s3:\/\/irsa-auditor-reports\/reports\//);
    expect(second).toMatchObject({ errors: [], drift: { newFindings: [], resolved: [] } });
    expect(sentSecond).toEqual([]);
    expect(
      sentThird.map((event) => [event['detail-type'], event.detail.status, event.detail.finding.id]),
    ).toEqual(p01.map((id) => [DETAIL_TYPE.resolved, 'resolved', id]));
    expect(third.errors).toEqual([]);
  });

  it('imports a new finding once into Security Hub, and archives it as resolved when fixed', async () => {
    const before = audit(broken);
    const p01 = p01Of(before);

    const first = await publish(before);
    const imported = await hubFindings();
    const second = await publish(audit(broken));
    const afterSecond = await hubFindings();
    await publish(audit());
    const afterFix = await hubFindings();

    expect(first.securityHubFindings).toBe(p01.length);
    expect(imported.map((finding) => finding.Id)).toEqual(
      p01.map((finding) => `${CLUSTER_ARN}/${finding.id}`),
    );
    expect(imported[0]).toMatchObject({
      ProductArn: defaultProductArn('aws', REGION, MOTO_ACCOUNT_ID),
      AwsAccountId: MOTO_ACCOUNT_ID,
      GeneratorId: 'irsa-auditor/IRSA-P01',
      Severity: { Label: 'CRITICAL' },
      RecordState: 'ACTIVE',
      Workflow: { Status: 'NEW' },
    });
    expect(second.securityHubFindings).toBeUndefined();
    expect(afterSecond).toEqual(imported);
    // The same ID, imported again: updated in place, not duplicated.
    expect(afterFix.map((finding) => [finding.Id, finding.RecordState, finding.Workflow?.Status])).toEqual(
      p01.map((finding) => [`${CLUSTER_ARN}/${finding.id}`, 'ARCHIVED', 'RESOLVED']),
    );
  });

  it('keeps the baseline when EventBridge refuses an event, and sends the change again on the next run', async () => {
    const events_ = mockClient(events);
    mocks.push(events_);
    events_.on(PutEventsCommand).resolves({
      FailedEntryCount: 1,
      Entries: [{ ErrorCode: 'InternalFailure', ErrorMessage: 'Internal service error' }],
    });
    const report = audit(broken);

    const failed = await publish(report);
    events_.restore();
    const retried = await publish(audit(broken));
    const sent = await routed();

    expect(failed.errors).toEqual([
      expect.stringContaining(
        '1 of 1 finding events were not put on event bus platform-findings: InternalFailure',
      ),
    ]);
    expect(failed.latestKey).toBeUndefined();
    expect(retried.errors).toEqual([]);
    expect(sent.map((event) => event.detail.finding.id)).toEqual(p01Of(report).map((finding) => finding.id));
  });
});
