// ReportStore against moto_server through the real S3 client: keys, bodies, encryption headers and metadata are
// read back with the S3 API, not through the store.

import {
  CreateBucketCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { beforeEach, describe, expect, it } from 'vitest';
import { auditCluster } from '../../../lambda/core/engine/audit-cluster';
import type { AuditReport } from '../../../lambda/core/model/finding';
import { MOTO_ACCOUNT_ID, motoSinkClients } from '../../../lambda/emulators/moto';
import { ReportStore, ReportStoreError } from '../../../lambda/sinks/report-store';
import { CLUSTER_NAME, healthyState, NOW, pod, REGION } from '../../support/state-builder';
import { useMoto } from '../../support/use-moto';

const BUCKET = 'irsa-auditor-reports';
const PREFIX = `reports/${MOTO_ACCOUNT_ID}/${REGION}/${CLUSTER_NAME}`;
const KMS_KEY = `arn:aws:kms:${REGION}:${MOTO_ACCOUNT_ID}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;

const clusterReport = auditCluster(
  healthyState({ pods: [pod('payments', 'orders-api-broken-1', 'orders-api')] }),
  { now: NOW, webhookName: 'iam-for-pods.amazonaws.com' },
).report;
const report: AuditReport = { schemaVersion: '1', generatedAt: NOW.toISOString(), clusters: [clusterReport] };

describe('ReportStore over moto_server', () => {
  const moto = useMoto();
  const clients = () => motoSinkClients(moto.endpoint, REGION);

  beforeEach(async () => {
    await clients().s3.send(
      new CreateBucketCommand({ Bucket: BUCKET, CreateBucketConfiguration: { LocationConstraint: REGION } }),
    );
  });

  async function getObject(key: string) {
    const object = await clients().s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    return { object, body: (await object.Body?.transformToString()) ?? '' };
  }

  it('writes latest.json as the §6 JSON of the cluster, SSE-S3 encrypted, tagged with the run', async () => {
    const store = new ReportStore(clients().s3, BUCKET);

    const key = await store.saveLatest(MOTO_ACCOUNT_ID, REGION, CLUSTER_NAME, report, 'run-42');

    const { object, body } = await getObject(`${PREFIX}/latest.json`);
    expect(key).toBe(`${PREFIX}/latest.json`);
    expect(store.objectUri(key)).toBe(`s3://${BUCKET}/${PREFIX}/latest.json`);
    expect(JSON.parse(body)).toEqual(report);
    expect(object.ServerSideEncryption).toBe('AES256');
    expect(object.ContentType).toBe('application/json');
    expect(object.Metadata).toEqual({ 'run-id': 'run-42', 'generated-at': NOW.toISOString() });
  });

  it('writes one history object per run under history/<ISO-8601>.json, in time order', async () => {
    const store = new ReportStore(clients().s3, BUCKET);
    const later = new Date('2026-11-28T13:00:00.000Z');

    await store.saveHistory(MOTO_ACCOUNT_ID, REGION, CLUSTER_NAME, report, later);
    await store.saveHistory(MOTO_ACCOUNT_ID, REGION, CLUSTER_NAME, report, NOW);

    const listed = await clients().s3.send(
      new ListObjectsV2Command({ Bucket: BUCKET, Prefix: `${PREFIX}/` }),
    );
    expect((listed.Contents ?? []).map((object) => object.Key)).toEqual([
      `${PREFIX}/history/2026-11-28T12:00:00.000Z.json`,
      `${PREFIX}/history/2026-11-28T13:00:00.000Z.json`,
    ]);
    const { object, body } = await getObject(`${PREFIX}/history/2026-11-28T12:00:00.000Z.json`);
    expect(JSON.parse(body)).toEqual(report);
    expect(object.ServerSideEncryption).toBe('AES256');
  });

  it('encrypts with the configured KMS key and an S3 Bucket Key', async () => {
    const store = new ReportStore(clients().s3, BUCKET, { kmsKeyId: KMS_KEY });

    const key = await store.saveHistory(MOTO_ACCOUNT_ID, REGION, CLUSTER_NAME, report, NOW);

    const { object } = await getObject(key);
    expect(object.ServerSideEncryption).toBe('aws:kms');
    expect(object.SSEKMSKeyId).toBe(KMS_KEY);
    expect(object.BucketKeyEnabled).toBe(true);
  });

  it('reads latest back as the typed report with its run, and nothing before the first run', async () => {
    const store = new ReportStore(clients().s3, BUCKET);

    const before = await store.latest(MOTO_ACCOUNT_ID, REGION, CLUSTER_NAME);
    await store.saveLatest(MOTO_ACCOUNT_ID, REGION, CLUSTER_NAME, report, 'run-42');
    const after = await store.latest(MOTO_ACCOUNT_ID, REGION, CLUSTER_NAME);

    expect(before).toBeUndefined();
    expect(after).toEqual({ report, runId: 'run-42' });
  });

  it('tells when the baseline was generated from its metadata, without downloading it', async () => {
    const store = new ReportStore(clients().s3, BUCKET);
    const pending = 'runs/run-43/baselines/pending.json';
    const later = '2026-11-28T13:00:00.000Z';
    await store.putJson(pending, { ...report, generatedAt: later }, 'run-43');

    const before = await store.latestGeneratedAt(MOTO_ACCOUNT_ID, REGION, CLUSTER_NAME);
    await store.saveLatest(MOTO_ACCOUNT_ID, REGION, CLUSTER_NAME, report, 'run-42');
    const saved = await store.latestGeneratedAt(MOTO_ACCOUNT_ID, REGION, CLUSTER_NAME);
    await store.copy(pending, `${PREFIX}/latest.json`, 'run-43', later);
    const copied = await store.latestGeneratedAt(MOTO_ACCOUNT_ID, REGION, CLUSTER_NAME);
    const { object } = await getObject(`${PREFIX}/latest.json`);

    expect(before).toBeUndefined();
    expect(saved).toBe(NOW.toISOString());
    expect(copied).toBe(later);
    expect(object.Metadata).toEqual({ 'run-id': 'run-43', 'generated-at': later });
  });

  it('reads the time from the body of a baseline written before the metadata existed', async () => {
    const store = new ReportStore(clients().s3, BUCKET);
    await clients().s3.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: `${PREFIX}/latest.json`, Body: JSON.stringify(report) }),
    );

    const generatedAt = await store.latestGeneratedAt(MOTO_ACCOUNT_ID, REGION, CLUSTER_NAME);

    expect(generatedAt).toBe(NOW.toISOString());
  });

  it('names the JSON path when latest.json is not a §6 report', async () => {
    const store = new ReportStore(clients().s3, BUCKET);
    const damaged = JSON.parse(JSON.stringify(report)) as {
      clusters: { findings: { severity: string }[] }[];
    };
    const first = damaged.clusters[0]?.findings[0];
    if (first !== undefined) first.severity = 'urgent';
    await clients().s3.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: `${PREFIX}/latest.json`, Body: JSON.stringify(damaged) }),
    );

    const read = store.latest(MOTO_ACCOUNT_ID, REGION, CLUSTER_NAME);

    await expect(read).rejects.toThrow(ReportStoreError);
    await expect(read).rejects.toThrow(
      `could not use s3://${BUCKET}/${PREFIX}/latest.json: not a §6 report: $.clusters[0].findings[0].severity is not one of critical, high, medium, low, info`,
    );
  });

  it('refuses a report of another cluster, and a key part that would add a path level', async () => {
    const store = new ReportStore(clients().s3, BUCKET);

    await expect(store.saveLatest(MOTO_ACCOUNT_ID, REGION, 'search-prod', report, 'run-1')).rejects.toThrow(
      'the report must hold exactly cluster search-prod',
    );
    await expect(store.saveHistory(MOTO_ACCOUNT_ID, REGION, '../other', report, NOW)).rejects.toThrow(
      'invalid cluster "../other"',
    );
  });

  it('reports an S3 error with the object it concerns', async () => {
    const store = new ReportStore(clients().s3, 'irsa-auditor-no-such-bucket');

    const written = store.saveLatest(MOTO_ACCOUNT_ID, REGION, CLUSTER_NAME, report, 'run-1');

    await expect(written).rejects.toThrow(
      `could not write s3://irsa-auditor-no-such-bucket/${PREFIX}/latest.json: NoSuchBucket: The specified bucket does not exist`,
    );
  });
});
