// publishMetrics against moto_server through the real CloudWatch client, read back with ListMetrics and
// GetMetricData; a failing call is injected with aws-sdk-client-mock, the other calls still reaching moto.

import {
  CloudWatchServiceException,
  GetMetricDataCommand,
  ListMetricsCommand,
  type Metric,
  PutMetricDataCommand,
  type PutMetricDataCommandInput,
} from '@aws-sdk/client-cloudwatch';
import { type AwsStub, mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { CHECKS } from '../../../lambda/core/checks/registry';
import { auditCluster } from '../../../lambda/core/engine/audit-cluster';
import type { ClusterState } from '../../../lambda/core/model/cluster-state';
import { motoSinkClients } from '../../../lambda/emulators/moto';
import {
  type ClusterRunResult,
  MetricsPublishError,
  metricData,
  publishMetrics,
} from '../../../lambda/sinks/metrics';
import { healthyState, NOW, pod, roleArn } from '../../support/state-builder';
import { useMoto } from '../../support/use-moto';

const SEVERITIES = ['critical', 'high', 'medium', 'low', 'info'];
const options = { now: NOW, webhookName: 'iam-for-pods.amazonaws.com' };

function result(name: string, overrides: Partial<ClusterState>, counts: Partial<ClusterRunResult> = {}) {
  const state = healthyState(overrides);
  const report = auditCluster({ ...state, cluster: { ...state.cluster, name } }, options).report;
  return { report, serviceAccountsAudited: 2, podsAudited: 2, auditError: false, ...counts };
}

// Three clusters: one with an unmutated pod (IRSA-P01), one healthy, one unreachable (IRSA-X01).
const THREE = [
  result('payments-prod', {
    pods: [
      pod('payments', 'orders-api-7d9f8b6c5-x2x9q', 'orders-api', roleArn('orders-api')),
      pod('payments', 'orders-api-broken-1', 'orders-api'),
    ],
  }),
  result('search-prod', {}),
  result(
    'batch-prod',
    {
      collectionErrors: [{ resource: 'cluster-connection', reason: 'timeout', message: 'connect ETIMEDOUT' }],
    },
    { serviceAccountsAudited: 0, podsAudited: 0, auditError: true },
  ),
];

/** `Name{Dim=Value,...}` with the dimensions sorted, as CloudWatch identifies a metric. */
const metricKey = (metric: Metric) =>
  `${metric.MetricName}{${(metric.Dimensions ?? [])
    .map((dimension) => `${dimension.Name}=${dimension.Value}`)
    .sort()
    .join(',')}}`;

// biome-ignore lint/suspicious/noExplicitAny: aws-sdk-client-mock's stubs are typed for any client.
const mocks: AwsStub<any, any, any>[] = [];
afterEach(() => {
  for (const mock of mocks.splice(0)) mock.restore();
});

describe('publishMetrics over moto_server', () => {
  const moto = useMoto();

  async function listAll(): Promise<string[]> {
    const { cloudwatch } = motoSinkClients(moto.endpoint);
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await cloudwatch.send(
        new ListMetricsCommand({ Namespace: 'IrsaAuditor', NextToken: token }),
      );
      keys.push(...(page.Metrics ?? []).map(metricKey));
      token = page.NextToken;
    } while (token !== undefined);
    return keys.sort();
  }

  async function storedValues(
    name: string,
    dimensions: Record<string, string>,
    stat: 'Sum' | 'SampleCount' = 'Sum',
  ): Promise<number[]> {
    const { cloudwatch } = motoSinkClients(moto.endpoint);
    const answer = await cloudwatch.send(
      new GetMetricDataCommand({
        StartTime: new Date(NOW.getTime() - 60_000),
        EndTime: new Date(NOW.getTime() + 60_000),
        MetricDataQueries: [
          {
            Id: 'm0',
            MetricStat: {
              Metric: {
                Namespace: 'IrsaAuditor',
                MetricName: name,
                Dimensions: Object.entries(dimensions).map(([Name, Value]) => ({ Name, Value })),
              },
              Period: 60,
              Stat: stat,
            },
          },
        ],
      }),
    );
    return answer.MetricDataResults?.[0]?.Values ?? [];
  }

  it('publishes every §7 metric of three clusters, one unreachable, with zeros', async () => {
    const { cloudwatch } = motoSinkClients(moto.endpoint);

    const { calls } = await publishMetrics(cloudwatch, metricData(THREE, 4321, NOW));

    const clusters = ['payments-prod', 'search-prod', 'batch-prod'];
    const expected = [
      ...clusters.flatMap((cluster) => [
        ...SEVERITIES.map((severity) => `Findings{Cluster=${cluster},Severity=${severity}}`),
        ...CHECKS.map((check) => `FindingsByCheck{Check=${check.id},Cluster=${cluster}}`),
        `ServiceAccountsAudited{Cluster=${cluster}}`,
        `PodsAudited{Cluster=${cluster}}`,
        `AuditErrors{Cluster=${cluster}}`,
      ]),
      ...SEVERITIES.map((severity) => `Findings{Severity=${severity}}`),
      'ClustersAudited{}',
      'AuditErrors{}',
      'AuditDurationMs{}',
    ].sort();
    expect(calls).toBe(1);
    expect(await listAll()).toEqual(expected);
    expect(await storedValues('Findings', { Cluster: 'payments-prod', Severity: 'critical' })).toEqual([1]);
    expect(await storedValues('Findings', { Cluster: 'search-prod', Severity: 'critical' })).toEqual([0]);
    expect(await storedValues('Findings', { Cluster: 'batch-prod', Severity: 'high' })).toEqual([1]);
    expect(await storedValues('Findings', { Severity: 'critical' })).toEqual([1]);
    expect(await storedValues('FindingsByCheck', { Cluster: 'payments-prod', Check: 'IRSA-P01' })).toEqual([
      1,
    ]);
    expect(await storedValues('FindingsByCheck', { Cluster: 'batch-prod', Check: 'IRSA-X01' })).toEqual([1]);
    expect(await storedValues('FindingsByCheck', { Cluster: 'search-prod', Check: 'IRSA-P01' })).toEqual([0]);
    expect(await storedValues('AuditErrors', { Cluster: 'batch-prod' })).toEqual([1]);
    expect(await storedValues('AuditErrors', { Cluster: 'payments-prod' })).toEqual([0]);
    expect(await storedValues('PodsAudited', { Cluster: 'payments-prod' })).toEqual([2]);
    // moto matches a query without dimensions to every series of the name, so only names with one series here.
    expect(await storedValues('ClustersAudited', {})).toEqual([3]);
    expect(await storedValues('AuditDurationMs', {})).toEqual([4321]);
  });

  it('splits more than 1,000 datums into calls of at most 1,000', async () => {
    const { cloudwatch } = motoSinkClients(moto.endpoint);
    const sizes: number[] = [];
    cloudwatch.middlewareStack.add(
      (next, context) => (args) => {
        if (context.commandName === 'PutMetricDataCommand') {
          sizes.push((args.input as PutMetricDataCommandInput).MetricData?.length ?? 0);
        }
        return next(args);
      },
      { step: 'initialize', name: 'countPutMetricData' },
    );
    const many = Array.from({ length: 25 }, (_, index) => result(`cluster-${index}`, {}));

    const { calls } = await publishMetrics(cloudwatch, metricData(many, 1, NOW));

    // Per cluster: 5 Findings, one FindingsByCheck per check, ServiceAccountsAudited, PodsAudited, AuditErrors;
    // then 5 Findings by severity, ClustersAudited, AuditErrors and AuditDurationMs.
    const total = 25 * (5 + CHECKS.length + 3) + 5 + 3;
    expect(calls).toBe(2);
    expect(sizes).toEqual([1000, total - 1000]);
    expect(await listAll()).toHaveLength(total);
  });

  it('makes every call when one fails, then says how many datums are missing', async () => {
    const { cloudwatch } = motoSinkClients(moto.endpoint, 'eu-west-1', 1);
    const send = cloudwatch.send.bind(cloudwatch);
    const mock = mockClient(cloudwatch);
    mocks.push(mock);
    mock
      .on(PutMetricDataCommand)
      .rejectsOnce(
        new CloudWatchServiceException({
          name: 'Throttling',
          $fault: 'client',
          $metadata: { httpStatusCode: 400 },
          message: 'Rate exceeded',
        }),
      )
      .callsFake((input) => send(new PutMetricDataCommand(input)));
    const many = Array.from({ length: 25 }, (_, index) => result(`cluster-${index}`, {}));
    const total = 25 * (5 + CHECKS.length + 3) + 5 + 3;

    const published = publishMetrics(cloudwatch, metricData(many, 1, NOW));

    await expect(published).rejects.toThrow(MetricsPublishError);
    await expect(published).rejects.toThrow(
      '1 of 2 PutMetricData calls to namespace IrsaAuditor failed (1000 datums not published): Throttling: Rate exceeded',
    );
    mock.restore();
    expect(await listAll()).toHaveLength(total - 1000);
    await expect(published).rejects.toMatchObject({ calls: 2, acceptedBatches: [1] });
  });

  it('sends only the batches not skipped, so a retry after a partial failure completes the data once', async () => {
    const { cloudwatch } = motoSinkClients(moto.endpoint, 'eu-west-1', 1);
    const sizes: number[] = [];
    cloudwatch.middlewareStack.add(
      (next, context) => (args) => {
        if (context.commandName === 'PutMetricDataCommand') {
          sizes.push((args.input as PutMetricDataCommandInput).MetricData?.length ?? 0);
        }
        return next(args);
      },
      { step: 'initialize', name: 'countPutMetricData' },
    );
    const many = Array.from({ length: 25 }, (_, index) => result(`cluster-${index}`, {}));
    const data = metricData(many, 1, NOW);
    const total = 25 * (5 + CHECKS.length + 3) + 5 + 3;
    const first = await publishMetrics(cloudwatch, data);
    sizes.splice(0);

    const resumed = await publishMetrics(cloudwatch, data, { skipBatches: [0] });

    expect(first).toEqual({ calls: 2, batches: 2, acceptedBatches: [0, 1] });
    expect(resumed).toEqual({ calls: 1, batches: 2, acceptedBatches: [1] });
    expect(sizes).toEqual([total - 1000]);
    // The series of the first batch hold one datum, those of the second (sent twice here) two.
    expect(await storedValues('PodsAudited', { Cluster: 'cluster-0' }, 'SampleCount')).toEqual([1]);
    expect(await storedValues('AuditDurationMs', {}, 'SampleCount')).toEqual([2]);
  });
});
