// The scheduled handler against moto and the fake API server seeded with examples/blog-incident: what it
// publishes when namespaces are excluded, when Lambda retries an event, and when the alert cannot be sent.

import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeKubeApi, startFakeKubeApi } from '../../../lambda/emulators/fake-kube-api';
import {
  MOTO_ACCOUNT_ID,
  MOTO_CREDENTIALS,
  type MotoServer,
  motoClients,
  startMoto,
} from '../../../lambda/emulators/moto';
import { exampleEksIdentities, seedMotoWithExample } from '../../../lambda/emulators/seed-moto';
import { createHandler, PublishError } from '../../../lambda/pipeline/scheduled-handler';
import type { InvocationContext } from '../../../lambda/pipeline/structured-log';
import { EXAMPLES, exampleItems } from '../../support/snapshot-dir';
import {
  type AlertSinks,
  createAlertSinks,
  objectKeys,
  REGION,
  readReportObject,
  receiveAlerts,
} from './emulated-account';

const EXAMPLE = join(EXAMPLES, 'blog-incident');
const CLUSTER = 'platform-prod';
const PREFIX = `reports/${MOTO_ACCOUNT_ID}/${REGION}/${CLUSTER}`;

let kube: FakeKubeApi;
let moto: MotoServer;

beforeAll(async () => {
  kube = await startFakeKubeApi({
    snapshotDirectory: EXAMPLE,
    eks: { clusterName: CLUSTER, credentials: MOTO_CREDENTIALS },
  });
  const identities = await exampleEksIdentities(EXAMPLE);
  moto = await startMoto({
    eksClusters: {
      ...identities,
      [CLUSTER]: { ...identities[CLUSTER], endpoint: kube.url, caData: kube.caData },
    },
  });
  console.info(`scheduled handler: moto_server at ${moto.endpoint}, fake Kubernetes API at ${kube.url}`);
  await seedMotoWithExample(motoClients(moto.endpoint, REGION), EXAMPLE);
}, 120_000);

afterAll(async () => {
  await kube?.stop();
  await moto?.stop();
});

const handlerFor = (sinks: AlertSinks, env: Record<string, string> = {}) =>
  createHandler(
    {
      AWS_REGION: REGION,
      AWS_ENDPOINT_URL: moto.endpoint,
      CLUSTERS: CLUSTER,
      TOPIC_ARN: sinks.topicArn,
      REPORTS_BUCKET: sinks.bucket,
      ...env,
    },
    { credentials: MOTO_CREDENTIALS, log: () => undefined },
  );

const invocation = (requestId: string): InvocationContext => {
  const started = Date.now();
  return { awsRequestId: requestId, getRemainingTimeInMillis: () => started + 60_000 - Date.now() };
};

const scheduledEvent = (id: string) => ({
  version: '0',
  id,
  'detail-type': 'Scheduled Event',
  source: 'aws.events',
  time: new Date().toISOString(),
  detail: {},
});

describe('the scheduled handler over the blog incident', () => {
  it('alerts once and publishes the metrics once when Lambda retries the same scheduled event', async () => {
    const sinks = await createAlertSinks(moto.endpoint, 'irsa-retry');
    const handler = handlerFor(sinks);
    const event = scheduledEvent('0c4b1a8e-5f36-4d9e-8f0a-retried-event');

    const first = await handler(event, invocation('request-1'));
    const retry = await handler(event, invocation('request-2'));
    const alerts = await receiveAlerts(sinks);

    expect(first.alertsSent).toBe(1);
    expect(retry.alertsSent).toBe(0);
    expect(alerts).toHaveLength(1);
    // The README of the example: 5 critical and 3 high findings, all new on a first run (threshold high).
    expect(alerts[0]?.subject).toBe('[IRSA] platform-prod: 5 new critical, 3 new high');
    expect(retry.runId).toBe(first.runId);
    // CloudWatch adds up what it is sent twice: the run's marker keeps the retry from sending the metrics again.
    expect(first.metricCalls).toBeGreaterThan(0);
    expect(retry.metricCalls).toBe(0);
    expect(retry.errors).toEqual([]);
    expect(await objectKeys(sinks, 'runs/')).toEqual([
      'runs/0c4b1a8e-5f36-4d9e-8f0a-retried-event/metrics.json',
    ]);
  });

  it('leaves excluded namespaces out of the report, the alert and the counts', async () => {
    const sinks = await createAlertSinks(moto.endpoint, 'irsa-exclude');
    const excluded = ['payments', 'data'];
    const annotated = (await exampleItems('blog-incident', 'serviceaccounts.json')).filter((item) => {
      const metadata = item.metadata as { namespace: string; annotations?: Record<string, string> };
      return (
        metadata.annotations?.['eks.amazonaws.com/role-arn'] !== undefined &&
        !excluded.includes(metadata.namespace)
      );
    });

    const summary = await handlerFor(sinks, { EXCLUDE_NAMESPACES: excluded.join(',') })(
      scheduledEvent('excluded-namespaces-run'),
      invocation('request-3'),
    );
    const { report } = await readReportObject(sinks, `${PREFIX}/latest.json`);
    const alerts = await receiveAlerts(sinks);

    const findings = report.clusters[0]?.findings ?? [];
    expect(findings.filter((finding) => excluded.includes(finding.resource.namespace ?? ''))).toEqual([]);
    // What the example's README expects outside payments and data: W02 (critical), S05 and P02 (high), W06, A01.
    expect(findings.map((finding) => finding.check).sort()).toEqual(
      ['IRSA-A01', 'IRSA-P02', 'IRSA-S05', 'IRSA-W02', 'IRSA-W06'].sort(),
    );
    expect(alerts.map((alert) => alert.subject)).toEqual([
      '[IRSA] platform-prod: 1 new critical, 2 new high',
    ]);
    expect(summary.clusters[0]?.serviceAccountsAudited).toBe(annotated.length);
  });

  it('fails the invocation after storing the report and metrics when the alert cannot be sent, and alerts on the next run', async () => {
    const sinks = await createAlertSinks(moto.endpoint, 'irsa-no-topic');
    const missingTopic = `arn:aws:sns:${REGION}:${MOTO_ACCOUNT_ID}:irsa-topic-that-does-not-exist`;

    const failed = await handlerFor(sinks, { TOPIC_ARN: missingTopic })(
      scheduledEvent('run-without-topic'),
      invocation('request-4'),
    ).catch((error: unknown) => error);
    const keysAfterFailure = await objectKeys(sinks, PREFIX);
    const next = await handlerFor(sinks)(scheduledEvent('run-with-topic'), invocation('request-5'));
    const alerts = await receiveAlerts(sinks);

    expect(failed).toBeInstanceOf(PublishError);
    const { summary } = failed as PublishError;
    expect(summary.errors).toHaveLength(1);
    expect(summary.errors[0]).toContain('platform-prod: the alert was not published');
    expect(summary.metricCalls).toBeGreaterThan(0);
    expect(summary.clusters[0]?.alerted).toBe(false);
    expect(keysAfterFailure).toEqual([expect.stringMatching(new RegExp(`^${PREFIX}/history/.+\\.json$`))]);
    expect(next.alertsSent).toBe(1);
    expect(alerts.map((alert) => alert.subject)).toEqual([
      '[IRSA] platform-prod: 5 new critical, 3 new high',
    ]);
  });

  it('probes the webhook with dry-run pods when PROBE is true, and reports that it does not mutate them', async () => {
    const sinks = await createAlertSinks(moto.endpoint, 'irsa-probe');
    kube.clearRequests();

    await handlerFor(sinks, { PROBE: 'true' })(scheduledEvent('probe-run'), invocation('request-7'));
    const { report } = await readReportObject(sinks, `${PREFIX}/latest.json`);

    const dryRuns = kube.requests.filter((request) => request.verb === 'create');
    expect(dryRuns.length).toBeGreaterThan(0);
    expect(dryRuns.every((request) => request.query.dryRun === 'All')).toBe(true);
    // The webhook's caBundle is not the cluster CA, so the API server cannot call it and (Ignore) creates
    // the pod without credentials: exactly what IRSA-W07 exists to prove.
    expect(report.clusters[0]?.findings.some((finding) => finding.check === 'IRSA-W07')).toBe(true);
  });

  it('encrypts the stored reports at rest', async () => {
    const sinks = await createAlertSinks(moto.endpoint, 'irsa-encrypted');

    await handlerFor(sinks)(scheduledEvent('encrypted-run'), invocation('request-6'));
    const latest = await readReportObject(sinks, `${PREFIX}/latest.json`);

    expect(latest.serverSideEncryption).toBe('AES256');
  });
});
