import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { S3Client } from '@aws-sdk/client-s3';
import { SNSClient } from '@aws-sdk/client-sns';
import { describe, expect, it } from 'vitest';
import { auditCluster } from '../../../lambda/core/engine/audit-cluster';
import {
  clusterDeadlineMs,
  collectWithin,
  withoutNamespaces,
} from '../../../lambda/pipeline/audit-one-cluster';
import { loadConfig } from '../../../lambda/pipeline/config';
import {
  runIdOf,
  runScheduledAudit,
  type ScheduledAuditDependencies,
  ScheduledAuditError,
} from '../../../lambda/pipeline/run-scheduled-audit';
import { jsonLineLog } from '../../../lambda/pipeline/structured-log';
import { ReportStore } from '../../../lambda/sinks/report-store';
import {
  healthyState,
  irsaServiceAccount,
  NOW,
  pod,
  roleArn,
  serviceAccount,
} from '../../support/state-builder';

const options = { now: NOW, webhookName: 'iam-for-pods.amazonaws.com' };
const context = (awsRequestId?: string) => ({
  ...(awsRequestId === undefined ? {} : { awsRequestId }),
  getRemainingTimeInMillis: () => 60_000,
});

describe('runIdOf', () => {
  it('is the EventBridge event ID, which every retry of the event repeats', () => {
    const event = { id: '7bf73129-1428-4cd3-a780-95db273d1602', time: '2026-11-28T17:00:00Z' };

    expect(runIdOf(event, context('request-1'))).toBe('7bf73129-1428-4cd3-a780-95db273d1602');
    expect(runIdOf(event, context('request-2'))).toBe('7bf73129-1428-4cd3-a780-95db273d1602');
  });

  it('is a hash of the event time when the event has no ID, the same for the same time', () => {
    const first = runIdOf({ time: '2026-11-28T17:00:00Z' }, context('request-1'));
    const again = runIdOf({ time: '2026-11-28T17:00:00Z' }, context('request-2'));
    const later = runIdOf({ time: '2026-11-28T18:00:00Z' }, context('request-3'));

    expect(first).toMatch(/^time-[0-9a-f]{16}$/);
    expect(again).toBe(first);
    expect(later).not.toBe(first);
  });

  it('falls back to the request ID, which Lambda keeps across the retries of an asynchronous invocation', () => {
    expect(runIdOf({}, context('0f1e2d3c-request'))).toBe('0f1e2d3c-request');
    expect(runIdOf(undefined, context('0f1e2d3c-request'))).toBe('0f1e2d3c-request');
  });
});

describe('clusterDeadlineMs', () => {
  it.each([
    [900_000, 870_000],
    [100_000, 80_000],
    [10_000, 8_000],
    [5_000, 3_000],
    [1_500, 0],
    [-20, 0],
  ])('leaves time to publish out of %i ms remaining: %i ms for the cluster', (remaining, deadline) => {
    expect(clusterDeadlineMs(remaining)).toBe(deadline);
  });
});

describe('collectWithin', () => {
  it('returns the collected state when the source answers in time', async () => {
    const state = healthyState();

    const collected = await collectWithin(
      { label: 'fast', collect: async () => state },
      'platform-prod',
      1_000,
    );

    expect(collected).toEqual({ status: 'collected', state });
  });

  it('gives up at the deadline on a source that never answers, with an IRSA-X01 that says how long it waited', async () => {
    const started = Date.now();

    const collected = await collectWithin(
      { label: 'hangs', collect: () => new Promise(() => undefined) },
      'platform-dr',
      200,
    );
    const report = auditCluster(collected.state, options).report;

    expect(Date.now() - started).toBeGreaterThanOrEqual(195);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(collected.status).toBe('timed-out');
    expect(report.name).toBe('platform-dr');
    expect(report.findings.map((finding) => finding.check)).toEqual(['IRSA-X01']);
    expect(report.findings[0]?.evidence).toEqual({
      reason: 'timeout',
      error: "timed out after 200 ms (this cluster's share of the invocation's remaining time)",
    });
  });

  it('does not start a cluster when no time is left', async () => {
    let started = false;

    const collected = await collectWithin(
      {
        label: 'late',
        collect: async () => {
          started = true;
          return healthyState();
        },
      },
      'platform-late',
      0,
    );

    expect(started).toBe(false);
    expect(collected.status).toBe('timed-out');
    expect(collected.state.collectionErrors[0]?.message).toBe(
      'timed out after 0 ms: the invocation had no time left for this cluster',
    );
  });

  it('turns a source that throws before returning a promise into IRSA-X01 as well', async () => {
    const collected = await collectWithin(
      {
        label: 'throws at once',
        collect: () => {
          throw new RangeError('no endpoint');
        },
      },
      'platform-prod',
      1_000,
    );

    expect(collected.status).toBe('failed');
    expect(collected.state.collectionErrors[0]?.message).toBe(
      'the collection failed: RangeError: no endpoint',
    );
  });

  it('turns a source that throws into IRSA-X01 with the error, not a failed run', async () => {
    const collected = await collectWithin(
      {
        label: 'throws',
        collect: () => Promise.reject(new TypeError('boom')),
      },
      'platform-prod',
      1_000,
    );

    expect(collected.status).toBe('failed');
    expect(collected.state.collectionErrors).toEqual([
      { resource: 'cluster-connection', reason: 'error', message: 'the collection failed: TypeError: boom' },
    ]);
  });
});

describe('withoutNamespaces', () => {
  it('drops the ServiceAccounts, pods and Pod Identity associations of excluded namespaces only', () => {
    const state = healthyState({
      serviceAccounts: [
        irsaServiceAccount('payments', 'orders-api'),
        irsaServiceAccount('sandbox', 'experiment'),
        serviceAccount('sandbox', 'default'),
      ],
      pods: [
        pod('payments', 'orders-api-1', 'orders-api', roleArn('orders-api')),
        pod('sandbox', 'experiment-1', 'experiment'),
      ],
      podIdentityAssociations: [
        { associationId: 'a-1', namespace: 'sandbox', serviceAccount: 'agent', roleArn: roleArn('agent') },
        { associationId: 'a-2', namespace: 'payments', serviceAccount: 'ledger', roleArn: roleArn('ledger') },
      ],
      malformedObjects: [
        {
          source: 'pods',
          kind: 'Pod',
          namespace: 'sandbox',
          name: 'broken',
          path: '$.items[3]',
          problem: 'x',
        },
        { source: 'roles', kind: 'Role', name: 'arn', path: '$.Roles[0]', problem: 'y' },
      ],
    });

    const kept = withoutNamespaces(state, ['sandbox', 'kube-system']);

    expect(kept.serviceAccounts.map((sa) => `${sa.namespace}/${sa.name}`)).toEqual(['payments/orders-api']);
    expect(kept.pods.map((p) => `${p.namespace}/${p.name}`)).toEqual(['payments/orders-api-1']);
    expect(kept.podIdentityAssociations?.map((a) => a.associationId)).toEqual(['a-2']);
    expect(kept.malformedObjects.map((object) => object.name)).toEqual(['arn']);
    expect(kept.namespaces).toEqual(state.namespaces);
    expect(kept.roles).toEqual(state.roles);
  });

  it('leaves an unmutated pod in an excluded namespace out of the report', () => {
    const state = healthyState({
      serviceAccounts: [
        irsaServiceAccount('payments', 'orders-api'),
        irsaServiceAccount('sandbox', 'orders-api'),
      ],
      pods: [
        pod('payments', 'orders-api-1', 'orders-api', roleArn('orders-api')),
        pod('sandbox', 'orders-api-2', 'orders-api'),
      ],
    });

    const before = auditCluster(state, options).report;
    const after = auditCluster(withoutNamespaces(state, ['sandbox']), options).report;

    expect(before.findings.some((finding) => finding.resource.namespace === 'sandbox')).toBe(true);
    expect(after.findings.some((finding) => finding.resource.namespace === 'sandbox')).toBe(false);
  });

  it('returns the state itself when nothing is excluded', () => {
    const state = healthyState();

    expect(withoutNamespaces(state, [])).toBe(state);
  });
});

describe('jsonLineLog', () => {
  it('writes one JSON object per line with a timestamp, level and message', () => {
    const lines: string[] = [];
    const log = jsonLineLog((line) => lines.push(line));

    log('warn', 'cluster audited', { cluster: 'platform-prod', findings: { critical: 1 } });

    expect(lines).toHaveLength(1);
    expect(lines[0]?.endsWith('\n')).toBe(true);
    expect(lines[0]?.slice(0, -1)).not.toContain('\n');
    expect(JSON.parse(lines[0] ?? '')).toMatchObject({
      level: 'warn',
      message: 'cluster audited',
      cluster: 'platform-prod',
      findings: { critical: 1 },
      timestamp: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/),
    });
  });
});

describe('runScheduledAudit without a cluster list', () => {
  it('fails the run with ScheduledAuditError, logged, when ListClusters fails', async () => {
    const lines: string[] = [];
    // Clients that are never called: the run stops before any of them is needed.
    const unused = { region: 'eu-west-1' };
    const deps: ScheduledAuditDependencies = {
      config: loadConfig({
        AWS_REGION: 'eu-west-1',
        TOPIC_ARN: 'arn:aws:sns:eu-west-1:111122223333:alerts',
        REPORTS_BUCKET: 'reports',
      }),
      collectorForRun: () => ({
        listClusters: () =>
          Promise.reject(new Error('AccessDeniedException: not authorized to eks:ListClusters')),
        sourceFor: () => ({ label: 'never', collect: async () => healthyState() }),
      }),
      accountId: async () => '111122223333',
      cloudwatch: new CloudWatchClient(unused),
      sns: new SNSClient(unused),
      store: new ReportStore(new S3Client(unused), 'reports'),
      log: (level, message, fields) => lines.push(JSON.stringify({ level, message, ...fields })),
    };

    const run = runScheduledAudit(deps, { id: 'event-1' }, context('request-1'));

    await expect(run).rejects.toBeInstanceOf(ScheduledAuditError);
    await expect(run).rejects.toThrow(
      'cannot list the EKS clusters in eu-west-1: Error: AccessDeniedException: not authorized to eks:ListClusters',
    );
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0] ?? '')).toMatchObject({ level: 'error', runId: 'event-1' });
  });
});
