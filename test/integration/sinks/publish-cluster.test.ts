// publishClusterReport against moto_server through the real S3, SNS and SQS clients: the alert is read back from
// an SQS queue subscribed to the topic, the reports from the bucket. Faults are injected with aws-sdk-client-mock
// on the clients under test only (SPEC §9), every other call still reaching moto.

import {
  CreateBucketCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type PutObjectCommandInput,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { CreateTopicCommand, PublishCommand, SNSServiceException } from '@aws-sdk/client-sns';
import { type AwsStub, mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { unevaluatedChecks } from '../../../lambda/core/drift/drift';
import { auditCluster } from '../../../lambda/core/engine/audit-cluster';
import type { ClusterState } from '../../../lambda/core/model/cluster-state';
import type { ClusterReport, Finding } from '../../../lambda/core/model/finding';
import {
  type AlertInbox,
  MOTO_ACCOUNT_ID,
  type MotoSinkClients,
  motoSinkClients,
  type SnsNotification,
  subscribeInbox,
} from '../../../lambda/emulators/moto';
import { unreachableState } from '../../../lambda/pipeline/audit-one-cluster';
import { type PublishClusterInput, publishClusterReport } from '../../../lambda/sinks/publish-cluster';
import { ReportStore } from '../../../lambda/sinks/report-store';
import { CLUSTER_NAME, healthyState, NOW, pod, REGION, roleArn } from '../../support/state-builder';
import { useMoto } from '../../support/use-moto';

const BUCKET = 'irsa-auditor-reports';
const PREFIX = `reports/${MOTO_ACCOUNT_ID}/${REGION}/${CLUSTER_NAME}`;
const options = { now: NOW, webhookName: 'iam-for-pods.amazonaws.com' };

// The healthy cluster, with pods of orders-api the webhook did not mutate (IRSA-P01, critical).
const broken = (...podNames: string[]): Partial<ClusterState> => ({
  pods: [
    pod('payments', 'orders-api-7d9f8b6c5-x2x9q', 'orders-api', roleArn('orders-api')),
    ...podNames.map((name) => pod('payments', name, 'orders-api')),
  ],
});
const unreachable: Partial<ClusterState> = {
  collectionErrors: [
    { resource: 'cluster-connection', reason: 'timeout', message: 'connect ETIMEDOUT 10.0.0.1:443' },
  ],
};
const audit = (overrides: Partial<ClusterState> = {}): ClusterReport =>
  auditCluster(healthyState(overrides), options).report;
const ids = (findings: readonly Finding[]) => findings.map((finding) => finding.id);

interface Delta {
  readonly newCount: number;
  readonly resolvedCount: number;
  readonly notes?: string[];
  readonly report: string;
  readonly new: Finding[];
  readonly resolved: Finding[];
}
const deltaOf = (notification: SnsNotification | undefined) =>
  JSON.parse(notification?.message ?? 'null') as Delta;

// biome-ignore lint/suspicious/noExplicitAny: aws-sdk-client-mock's stubs are typed for any client.
const mocks: AwsStub<any, any, any>[] = [];
afterEach(() => {
  for (const mock of mocks.splice(0)) mock.restore();
});

const s3Denied = () =>
  new S3ServiceException({
    name: 'AccessDenied',
    $fault: 'client',
    $metadata: { httpStatusCode: 403 },
    message: 'Access Denied',
  });
const snsDown = () =>
  new SNSServiceException({
    name: 'InternalErrorException',
    $fault: 'server',
    $metadata: { httpStatusCode: 500 },
    message: 'Request could not be completed',
  });

describe('publishClusterReport over moto_server', () => {
  const moto = useMoto();
  // The clients under test (faults are injected here) and the test's own, which read back what was sent.
  let sinks: MotoSinkClients;
  let reader: MotoSinkClients;
  let topicArn: string;
  let inbox: AlertInbox;
  let runs = 0;

  beforeEach(async () => {
    sinks = motoSinkClients(moto.endpoint, REGION, 1);
    reader = motoSinkClients(moto.endpoint, REGION);
    await reader.s3.send(
      new CreateBucketCommand({ Bucket: BUCKET, CreateBucketConfiguration: { LocationConstraint: REGION } }),
    );
    topicArn =
      (await reader.sns.send(new CreateTopicCommand({ Name: 'irsa-auditor-alerts' }))).TopicArn ?? '';
    inbox = await subscribeInbox(reader, topicArn);
    runs = 0;
  });

  /** One scheduled run over a cluster state; each run has its own ID and time unless a retry reuses them. */
  function publish(report: ClusterReport, retryOf?: PublishClusterInput, unevaluated?: ReadonlySet<string>) {
    runs += 1;
    const input: PublishClusterInput = retryOf ?? {
      account: MOTO_ACCOUNT_ID,
      region: REGION,
      report,
      generatedAt: new Date(NOW.getTime() + runs * 3_600_000),
      runId: `run-${runs}`,
    };
    const deps = {
      store: new ReportStore(sinks.s3, BUCKET),
      sns: sinks.sns,
      topicArn,
      threshold: 'high' as const,
    };
    return {
      input,
      outcome: publishClusterReport(deps, {
        ...input,
        report,
        ...(unevaluated === undefined ? {} : { unevaluated }),
      }),
    };
  }

  async function latestObject() {
    const object = await reader.s3.send(
      new GetObjectCommand({ Bucket: BUCKET, Key: `${PREFIX}/latest.json` }),
    );
    const body = JSON.parse((await object.Body?.transformToString()) ?? '') as { clusters: ClusterReport[] };
    return { runId: object.Metadata?.['run-id'], findings: body.clusters[0]?.findings ?? [] };
  }

  async function historyKeys() {
    const listed = await reader.s3.send(
      new ListObjectsV2Command({ Bucket: BUCKET, Prefix: `${PREFIX}/history/` }),
    );
    return (listed.Contents ?? []).map((object) => object.Key);
  }

  it('alerts once on the first run, with every current problem, and stores history and latest', async () => {
    const report = audit(broken('orders-api-broken-1'));

    const outcome = await publish(report).outcome;

    const received = await inbox.drain();
    expect(received).toHaveLength(1);
    expect(received[0]?.subject).toBe(`[IRSA] ${CLUSTER_NAME}: 1 new critical`);
    expect(received[0]?.topicArn).toBe(topicArn);
    const delta = deltaOf(received[0]);
    expect(ids(delta.new)).toEqual(ids(report.findings.filter((finding) => finding.check === 'IRSA-P01')));
    expect(delta.notes).toEqual([
      'First audit of this cluster: every current finding at or above high is listed.',
    ]);
    expect(delta.report).toBe(`s3://${BUCKET}/${PREFIX}/history/2026-11-28T13:00:00.000Z.json`);
    expect(outcome).toMatchObject({ alerted: true, errors: [], latestKey: `${PREFIX}/latest.json` });
    expect(await historyKeys()).toEqual([`${PREFIX}/history/2026-11-28T13:00:00.000Z.json`]);
    expect(await latestObject()).toEqual({ runId: 'run-1', findings: report.findings });
  });

  it('sends nothing on a second run with no change, and still advances latest and the history', async () => {
    await publish(audit(broken('orders-api-broken-1'))).outcome;
    await inbox.drain();

    const outcome = await publish(audit(broken('orders-api-broken-1'))).outcome;

    expect(await inbox.drain()).toEqual([]);
    expect(outcome).toMatchObject({ alerted: false, errors: [], drift: { newFindings: [], resolved: [] } });
    expect((await latestObject()).runId).toBe('run-2');
    expect(await historyKeys()).toHaveLength(2);
  });

  it('sends a "resolved" alert when the fault is fixed', async () => {
    const before = audit(broken('orders-api-broken-1'));
    await publish(before).outcome;
    await inbox.drain();

    await publish(audit()).outcome;

    const received = await inbox.drain();
    expect(received.map((notification) => notification.subject)).toEqual([
      `[IRSA] ${CLUSTER_NAME}: 1 resolved`,
    ]);
    const delta = deltaOf(received[0]);
    expect(ids(delta.resolved)).toEqual(
      ids(before.findings.filter((finding) => finding.check === 'IRSA-P01')),
    );
    expect(delta.new).toEqual([]);
  });

  it('resolves nothing when the collection did not happen, and keeps the baseline of checks that need only AWS', async () => {
    const before = audit({
      podIdentityAssociations: [
        {
          associationId: 'a-3kq9xw2vbn7yplm4t',
          namespace: 'payments',
          serviceAccount: 'orders-api',
          roleArn: roleArn('orders-api-pod-identity'),
        },
      ],
    });
    const timedOut = auditCluster(
      unreachableState(CLUSTER_NAME, {
        resource: 'cluster-connection',
        reason: 'timeout',
        message: 'timed out after 240000 ms',
      }),
      options,
    );
    await publish(before).outcome;
    await inbox.drain();

    const outcome = await publish(timedOut.report, undefined, unevaluatedChecks(timedOut)).outcome;

    // IRSA-S13 needs only the associations and roles: a run that read neither says nothing about it.
    expect(before.findings.map((finding) => finding.check)).toContain('IRSA-S13');
    expect(outcome.drift.resolved).toEqual([]);
    expect(outcome.drift.newFindings.map((finding) => finding.check)).toEqual(['IRSA-X01']);
    const latest = await latestObject();
    expect(latest.findings.map((finding) => finding.check)).toEqual(
      expect.arrayContaining(['IRSA-S13', 'IRSA-X01']),
    );
  });

  it('alerts once when a retried invocation publishes the same run again', async () => {
    const report = audit(broken('orders-api-broken-1'));
    const first = publish(report);
    await first.outcome;

    const retry = await publish(report, first.input).outcome;

    expect(await inbox.drain()).toHaveLength(1);
    expect(retry).toMatchObject({ alerted: false, errors: [], latestKey: `${PREFIX}/latest.json` });
  });

  it('leaves latest untouched when SNS fails, and alerts on the next run', async () => {
    await publish(audit()).outcome;
    const failing = mockClient(sinks.sns);
    mocks.push(failing);
    failing.on(PublishCommand).rejects(snsDown());

    const failed = await publish(audit(broken('orders-api-broken-1'))).outcome;
    const latestAfterFailure = await latestObject();
    failing.restore();
    const next = await publish(audit(broken('orders-api-broken-1'))).outcome;

    expect(failed.alerted).toBe(false);
    expect(failed.errors).toEqual([
      expect.stringMatching(
        /^platform-prod: the alert was not published, so the baseline is kept and the next run alerts again: could not publish "\[IRSA\] platform-prod: 1 new critical" to arn:aws:sns:eu-west-1:\d+:irsa-auditor-alerts: InternalErrorException: Request could not be completed$/,
      ),
    ]);
    expect(failed.latestKey).toBeUndefined();
    expect(latestAfterFailure).toEqual({ runId: 'run-1', findings: audit().findings });
    expect(next).toMatchObject({ alerted: true, errors: [] });
    const received = await inbox.drain();
    expect(received.map((notification) => notification.subject)).toEqual([
      `[IRSA] ${CLUSTER_NAME}: 1 new critical`,
    ]);
    expect((await latestObject()).runId).toBe('run-3');
  });

  it('reports S3 failing and still sends the alert', async () => {
    await publish(audit()).outcome;
    await inbox.drain();
    const failing = mockClient(sinks.s3);
    mocks.push(failing);
    failing.on(PutObjectCommand).rejects(s3Denied()).on(GetObjectCommand).rejects(s3Denied());

    const outcome = await publish(audit(broken('orders-api-broken-1'))).outcome;

    const received = await inbox.drain();
    expect(received.map((notification) => notification.subject)).toEqual([
      `[IRSA] ${CLUSTER_NAME}: 1 new critical`,
    ]);
    // With the baseline unreadable, the alert lists the whole current state and says so.
    expect(deltaOf(received[0]).notes).toEqual([
      'The previous report could not be read, so every current finding at or above high is listed, not only the changes.',
    ]);
    expect(outcome.alerted).toBe(true);
    expect(outcome.errors).toEqual([
      `${CLUSTER_NAME}: the history report was not saved: could not write s3://${BUCKET}/${PREFIX}/history/2026-11-28T14:00:00.000Z.json: AccessDenied: Access Denied`,
      `${CLUSTER_NAME}: the baseline could not be read, so the alert lists every current finding at or above high: could not read s3://${BUCKET}/${PREFIX}/latest.json: AccessDenied: Access Denied (a first run also gets 403 here unless the role may s3:ListBucket the bucket)`,
      `${CLUSTER_NAME}: the baseline was not advanced, so the next run repeats this alert: could not write s3://${BUCKET}/${PREFIX}/latest.json: AccessDenied: Access Denied`,
    ]);
    expect(outcome.latestKey).toBeUndefined();
  });

  it('alerts from the drift in memory when only the history write fails, linking to latest', async () => {
    await publish(audit()).outcome;
    await inbox.drain();
    const failing = mockClient(sinks.s3);
    mocks.push(failing);
    const send = reader.s3.send.bind(reader.s3);
    failing
      .on(PutObjectCommand)
      .callsFake((input: PutObjectCommandInput) =>
        input.Key?.endsWith('/latest.json') ? send(new PutObjectCommand(input)) : Promise.reject(s3Denied()),
      )
      .on(GetObjectCommand)
      .callsFake((input) => send(new GetObjectCommand(input)));

    const outcome = await publish(audit(broken('orders-api-broken-1'))).outcome;

    const received = await inbox.drain();
    expect(received).toHaveLength(1);
    expect(deltaOf(received[0]).report).toBe(`s3://${BUCKET}/${PREFIX}/latest.json`);
    expect(deltaOf(received[0]).notes).toBeUndefined();
    expect(outcome).toMatchObject({ alerted: true, latestKey: `${PREFIX}/latest.json` });
    expect(outcome.errors).toHaveLength(1);
    expect((await latestObject()).runId).toBe('run-2');
  });

  it('alerts on the whole current state when latest.json is not a report, and replaces it', async () => {
    await reader.s3.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: `${PREFIX}/latest.json`, Body: '{"schemaVersion": "0"}' }),
    );

    const outcome = await publish(audit(broken('orders-api-broken-1'))).outcome;

    expect((await inbox.drain()).map((notification) => notification.subject)).toEqual([
      `[IRSA] ${CLUSTER_NAME}: 1 new critical`,
    ]);
    expect(outcome.errors).toEqual([
      `${CLUSTER_NAME}: the baseline could not be read, so the alert lists every current finding at or above high: could not use s3://${BUCKET}/${PREFIX}/latest.json: not a §6 report: $.schemaVersion is not "1"`,
    ]);
    expect((await latestObject()).runId).toBe('run-1');
  });

  it('neither resolves nor re-alerts the problems of a cluster that was unreachable for one run', async () => {
    await publish(audit(broken('orders-api-broken-1'))).outcome;
    await inbox.drain();

    const outage = auditCluster(healthyState(unreachable), options);
    await publish(outage.report, undefined, unevaluatedChecks(outage)).outcome;
    const duringOutage = await inbox.drain();
    await publish(audit(broken('orders-api-broken-1'))).outcome;
    const afterOutage = await inbox.drain();

    expect(duringOutage.map((notification) => notification.subject)).toEqual([
      `[IRSA] ${CLUSTER_NAME}: 1 new high`,
    ]);
    expect(deltaOf(duringOutage[0]).new.map((finding) => finding.check)).toEqual(['IRSA-X01']);
    expect(afterOutage.map((notification) => notification.subject)).toEqual([
      `[IRSA] ${CLUSTER_NAME}: 1 resolved`,
    ]);
    expect(deltaOf(afterOutage[0]).resolved.map((finding) => finding.check)).toEqual(['IRSA-X01']);
  });
});
