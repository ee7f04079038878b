// The aggregate step against moto_server (S3, SNS with an SQS subscriber, CloudWatch), over run objects written as
// discover and audit-target write them. Faults (SPEC §9 allows injecting them) are thrown by middleware on the real
// S3 and CloudWatch clients before a request leaves: retried attempts of the same run alert and count metrics once
// (every datum once, also after CloudWatch accepted only some batches), an older run never copies over a newer
// baseline, unreadable results are errors (not findings), accounts and regions that left the configuration are no
// longer audited, and the audit steps' notes and errors reach the alert.

import {
  type Dimension,
  GetMetricDataCommand,
  ListMetricsCommand,
  type MetricDataQuery,
  type PutMetricDataCommandInput,
} from '@aws-sdk/client-cloudwatch';
import { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { beforeEach, describe, expect, it } from 'vitest';
import { summarize } from '../../../lambda/core/engine/audit-cluster';
import type { AuditReport, Finding, Severity } from '../../../lambda/core/model/finding';
import { MOTO_CREDENTIALS } from '../../../lambda/emulators/moto';
import {
  type AggregateDependencies,
  createAggregateDependencies,
} from '../../../lambda/organization/aggregate/aggregate-dependencies';
import { aggregateRun } from '../../../lambda/organization/aggregate/aggregate-run';
import { loadAggregateConfig } from '../../../lambda/organization/organization-config';
import {
  baselineKey,
  type ClusterResultRecord,
  type DiscoveredTarget,
  discoveryKey,
  itemsKey,
  ORGANIZATION_LATEST_KEY,
  resultKey,
  type TargetItem,
} from '../../../lambda/organization/run-objects';
import { ReportStore } from '../../../lambda/sinks/report-store';
import { useMoto } from '../../support/use-moto';
import {
  type AlertSinks,
  createAlertSinks,
  metricSum,
  objectKeys,
  readReportObject,
  receiveAlerts,
  rollUpSum,
} from '../handler/emulated-account';

const HOME = 'eu-west-1';
const OTHER = 'us-east-1';
const PAYMENTS = '111122223333';
const SEARCH = '222233334444';
const REMOVED = '333344445555';

const moto = useMoto();
let sinks: AlertSinks;
let store: ReportStore;

beforeEach(async () => {
  sinks = await createAlertSinks(moto.endpoint, 'irsa-org-aggregate');
  store = new ReportStore(sinks.s3, sinks.bucket);
});

function finding(
  check: string,
  name: string,
  severity: Severity,
  evidence: Finding['evidence'] = {},
): Finding {
  return {
    id: `${check}-${name}`,
    check,
    severity,
    title: `${check} holds.`,
    resource: { kind: 'ServiceAccount', namespace: 'payments', name },
    message: `${check} fails for ${name}.`,
    evidence,
    remediation: `Fix ${name}.`,
  };
}

/** A target-level IRSA-X01 as an earlier aggregate kept it in reports/organization/latest.json. */
function targetX01(account: string, region: string, cluster?: string): Finding {
  const name = cluster === undefined ? `${account}/${region}` : `${account}/${region}/${cluster}`;
  return {
    ...finding('IRSA-X01', name, 'high', {
      account,
      region,
      ...(cluster === undefined ? {} : { cluster }),
      reason: 'access-denied',
    }),
    resource: { kind: cluster === undefined ? 'Target' : 'Cluster', name },
  };
}

interface ClusterSpec {
  readonly item: TargetItem;
  readonly findings?: readonly Finding[];
  /** The drift the audit step recorded: these are new at the threshold (high). */
  readonly newFindings?: readonly Finding[];
  readonly firstAudit?: boolean;
  readonly baselineUnreadable?: boolean;
  readonly errors?: readonly string[];
}

interface RunSpec {
  readonly accounts: readonly string[];
  readonly regions: readonly string[];
  readonly clusters: readonly ClusterSpec[];
  readonly failedTargets?: readonly DiscoveredTarget[];
}

const item = (account: string, region: string, cluster: string): TargetItem => ({ account, region, cluster });

/** A run's objects, as discover and every audit-target of it would have left them. */
async function writeRun(runId: string, generatedAt: string, spec: RunSpec): Promise<void> {
  const failed = spec.failedTargets ?? [];
  const listed = spec.accounts.flatMap((account) =>
    spec.regions
      .filter((region) => !failed.some((target) => target.account === account && target.region === region))
      .map((region) => ({
        account,
        region,
        clusters: spec.clusters
          .filter((cluster) => cluster.item.account === account && cluster.item.region === region)
          .map((cluster) => cluster.item.cluster),
      })),
  );
  await store.putJson(
    discoveryKey(runId),
    { runId, generatedAt, accounts: spec.accounts, regions: spec.regions, targets: [...listed, ...failed] },
    runId,
  );
  await store.putJson(
    itemsKey(runId),
    spec.clusters.map((cluster) => cluster.item),
    runId,
  );
  for (const cluster of spec.clusters) {
    const findings = [...(cluster.findings ?? []), ...(cluster.newFindings ?? [])];
    const report: AuditReport = {
      schemaVersion: '1',
      generatedAt,
      clusters: [{ name: cluster.item.cluster, summary: summarize(findings), findings }],
    };
    const pending = baselineKey(runId, cluster.item);
    await store.putJson(pending, report, runId);
    const news = cluster.newFindings ?? [];
    const record: ClusterResultRecord = {
      schemaVersion: '1',
      runId,
      generatedAt,
      ...cluster.item,
      status: 'audited',
      auditError: false,
      summary: summarize(findings),
      serviceAccountsAudited: 3,
      podsAudited: 5,
      durationMs: 1200,
      firstAudit: cluster.firstAudit ?? false,
      baselineUnreadable: cluster.baselineUnreadable ?? false,
      historyKey: `reports/${cluster.item.account}/${cluster.item.region}/${cluster.item.cluster}/history/${generatedAt}.json`,
      baselineKey: pending,
      drift: {
        newCount: news.length,
        newBySeverity: summarize(news),
        resolvedCount: 0,
        new: news,
        resolved: [],
      },
      errors: cluster.errors ?? [],
    };
    await store.putJson(resultKey(runId, cluster.item), record, runId);
  }
}

type S3Fault = (command: string, key: string) => Error | undefined;
/** Fails the `call`-th PutMetricData of the client (1-based), or lets it through. */
type CloudWatchFault = (call: number) => Error | undefined;

const serverError = (code: string, status: number) =>
  Object.assign(new Error(`We encountered an internal error (${code}).`), {
    name: code,
    $fault: 'server',
    $metadata: { httpStatusCode: status },
  });

/** The step's dependencies, each attempt with its own clients: S3 and CloudWatch fail where `faults` say. */
function dependencies(
  faults: { readonly s3?: S3Fault; readonly cloudwatch?: CloudWatchFault } = {},
): AggregateDependencies {
  const deps = createAggregateDependencies(
    loadAggregateConfig({
      AWS_REGION: HOME,
      AWS_ENDPOINT_URL: moto.endpoint,
      REPORTS_BUCKET: sinks.bucket,
      TOPIC_ARN: sinks.topicArn,
    }),
    { credentials: MOTO_CREDENTIALS, log: () => undefined },
  );
  const cloudwatchFault = faults.cloudwatch;
  if (cloudwatchFault !== undefined) {
    let calls = 0;
    deps.cloudwatch.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName !== 'PutMetricDataCommand') return next(args);
        calls += 1;
        const error = cloudwatchFault(calls);
        if (error !== undefined) throw error;
        return next(args);
      },
      { step: 'initialize', name: 'cloudwatchFaults' },
    );
  }
  const s3Fault = faults.s3;
  if (s3Fault === undefined) return deps;
  const s3 = new S3Client({
    region: HOME,
    endpoint: moto.endpoint,
    credentials: MOTO_CREDENTIALS,
    forcePathStyle: true,
  });
  s3.middlewareStack.add(
    (next, context) => async (args) => {
      const error = s3Fault(context.commandName ?? '', (args.input as { Key?: string }).Key ?? '');
      if (error !== undefined) throw error;
      return next(args);
    },
    { step: 'initialize', name: 's3Faults' },
  );
  return { ...deps, store: new ReportStore(s3, sinks.bucket) };
}

// Recent: the metrics are read back from the last ten minutes.
const runAt = (offsetMs = 0) => new Date(Date.now() - 60_000 + offsetMs).toISOString();

async function runIdOf(key: string): Promise<string | undefined> {
  const head = await sinks.s3.send(new HeadObjectCommand({ Bucket: sinks.bucket, Key: key }));
  return head.Metadata?.['run-id'];
}

async function readJson<T>(key: string): Promise<T> {
  return (await readReportObject(sinks, key)).report as unknown as T;
}

const latestOf = ({ account, region, cluster }: TargetItem) =>
  `reports/${account}/${region}/${cluster}/latest.json`;

interface Delta {
  readonly notes?: readonly string[];
  readonly newCount: number;
  readonly resolvedCount: number;
  readonly resolved: readonly { account: string; region: string; cluster?: string }[];
}

interface Summary {
  readonly drift: { readonly noLongerAudited: number; readonly newerBaselinesKept: number };
  readonly targetFindings: readonly Finding[];
  readonly errors: readonly string[];
  readonly metricsPublished: boolean;
}

const PROD = item(PAYMENTS, HOME, 'payments-prod');
const BATCH = item(SEARCH, HOME, 'search-batch');
const ONE_CHANGE: RunSpec = {
  accounts: [PAYMENTS],
  regions: [HOME],
  clusters: [{ item: PROD, newFindings: [finding('IRSA-S07', 'orders', 'high')] }],
};

describe('aggregate retried after a partial attempt', () => {
  it('does not alert twice when the retry comes after the publish but before latest.json was written', async () => {
    const generatedAt = runAt();
    await writeRun('run-partial', generatedAt, ONE_CHANGE);
    const latestWritesFail: S3Fault = (command, key) =>
      (command === 'CopyObjectCommand' || command === 'PutObjectCommand') && key.endsWith('/latest.json')
        ? serverError('InternalError', 500)
        : undefined;
    const first = await aggregateRun(dependencies({ s3: latestWritesFail }), {
      runId: 'run-partial',
      generatedAt,
    });
    const firstAlerts = await receiveAlerts(sinks);

    const retried = await aggregateRun(dependencies(), { runId: 'run-partial', generatedAt });

    expect(first.alerted).toBe(true);
    expect(first.errors).toHaveLength(2);
    expect(firstAlerts).toHaveLength(1);
    expect(await objectKeys(sinks, 'runs/run-partial/alerted.json')).toEqual([
      'runs/run-partial/alerted.json',
    ]);
    expect(retried).toMatchObject({ alerted: false, errors: [] });
    expect(await receiveAlerts(sinks)).toEqual([]);
    expect(await runIdOf(latestOf(PROD))).toBe('run-partial');
    expect(await runIdOf(ORGANIZATION_LATEST_KEY)).toBe('run-partial');
  });

  it('does not send the metrics again when a redrive follows an attempt that sent them and then failed', async () => {
    const generatedAt = runAt();
    await writeRun('run-redriven', generatedAt, ONE_CHANGE);
    // Everything after the metrics that records the run fails: the organization baseline and the summary.
    const laterWritesFail: S3Fault = (command, key) =>
      command === 'PutObjectCommand' && key.startsWith('reports/organization/')
        ? serverError('InternalError', 500)
        : undefined;
    const first = await aggregateRun(dependencies({ s3: laterWritesFail }), {
      runId: 'run-redriven',
      generatedAt,
    });

    const redriven = await aggregateRun(dependencies(), { runId: 'run-redriven', generatedAt });

    expect(first.errors.length).toBeGreaterThan(0);
    expect(redriven.errors).toEqual([]);
    expect(await metricSum(sinks, 'ClustersAudited', { Account: PAYMENTS })).toBe(1);
    expect(await rollUpSum(sinks, 'ClustersAudited', [{ Account: PAYMENTS }])).toBe(1);
    expect(await objectKeys(sinks, 'runs/run-redriven/metrics.json')).toEqual([
      'runs/run-redriven/metrics.json',
    ]);
    expect((await readJson<Summary>(redriven.summaryKey ?? '')).metricsPublished).toBe(true);
  });

  it('sends the metrics on the retry of an attempt whose metrics CloudWatch refused', async () => {
    const generatedAt = runAt();
    await writeRun('run-metrics-failed', generatedAt, ONE_CHANGE);
    const first = await aggregateRun(
      dependencies({ cloudwatch: () => serverError('InternalFailure', 500) }),
      {
        runId: 'run-metrics-failed',
        generatedAt,
      },
    );
    const markersAfterFirst = await objectKeys(sinks, 'runs/run-metrics-failed/metrics.json');

    const retried = await aggregateRun(dependencies(), { runId: 'run-metrics-failed', generatedAt });

    expect(first.errors).toEqual([expect.stringMatching(/^metrics: MetricsPublishError: .*InternalFailure/)]);
    expect(markersAfterFirst).toEqual([]);
    expect(retried.errors).toEqual([]);
    expect(await metricSum(sinks, 'ClustersAudited', { Account: PAYMENTS })).toBe(1);
    expect(await rollUpSum(sinks, 'ClustersAudited', [{ Account: PAYMENTS }])).toBe(1);
  });
});

// With payments, 150 accounts: 7 series each and 8 roll-ups, 1,058 datums, so two PutMetricData calls (1,000 and
// 58 datums).
const MANY_ACCOUNTS = Array.from({ length: 149 }, (_, index) => String(900_000_000_000 + index));
const SEVERITY_NAMES = ['critical', 'high', 'medium', 'low', 'info'];

/** The organization series of these accounts as `Name{Dim=Value,...}`, dimensions sorted (see listedSeries). */
const organizationSeries = (accounts: readonly string[]) =>
  [
    ...accounts.flatMap((account) => [
      ...SEVERITY_NAMES.map((severity) => `Findings{Account=${account},Severity=${severity}}`),
      `ClustersAudited{Account=${account}}`,
      `AuditErrors{Account=${account}}`,
    ]),
    ...SEVERITY_NAMES.map((severity) => `Findings{Severity=${severity}}`),
    'ClustersAudited{}',
    'AuditErrors{}',
    'AuditDurationMs{}',
  ].sort();

const seriesName = (name: string, dimensions: readonly Dimension[]) =>
  `${name}{${dimensions
    .map((dimension) => `${dimension.Name}=${dimension.Value}`)
    .sort()
    .join(',')}}`;

/**
 * How many datums CloudWatch holds of every series of namespace IrsaAuditor (ListMetrics, then GetMetricData's
 * SampleCount). moto's GetMetricData sums every series of the name for a query without dimensions
 * (moto/cloudwatch/models.py: `if dimensions:`), so a series without dimensions is that total less the others.
 */
async function datumsPerSeries(at: Date): Promise<Map<string, number>> {
  const metrics: { readonly name: string; readonly dimensions: readonly Dimension[] }[] = [];
  let nextToken: string | undefined;
  do {
    const page = await sinks.cloudwatch.send(
      new ListMetricsCommand({
        Namespace: 'IrsaAuditor',
        ...(nextToken === undefined ? {} : { NextToken: nextToken }),
      }),
    );
    for (const metric of page.Metrics ?? [])
      metrics.push({ name: metric.MetricName ?? '', dimensions: metric.Dimensions ?? [] });
    nextToken = page.NextToken;
  } while (nextToken !== undefined);
  const queries: MetricDataQuery[] = metrics.map((metric, index) => ({
    Id: `m${index}`,
    MetricStat: {
      Metric: { Namespace: 'IrsaAuditor', MetricName: metric.name, Dimensions: [...metric.dimensions] },
      Period: 60,
      Stat: 'SampleCount',
    },
  }));
  const counts = new Map<string, number>();
  // GetMetricData takes at most 500 queries.
  for (let start = 0; start < queries.length; start += 500) {
    const output = await sinks.cloudwatch.send(
      new GetMetricDataCommand({
        StartTime: new Date(at.getTime() - 60_000),
        EndTime: new Date(at.getTime() + 60_000),
        MetricDataQueries: queries.slice(start, start + 500),
      }),
    );
    for (const result of output.MetricDataResults ?? []) {
      const metric = metrics[Number(result.Id?.slice(1))];
      if (metric === undefined) continue;
      const samples = (result.Values ?? []).reduce((sum, value) => sum + value, 0);
      counts.set(seriesName(metric.name, metric.dimensions), samples);
    }
  }
  for (const metric of metrics) {
    if (metric.dimensions.length > 0) continue;
    const key = seriesName(metric.name, []);
    let others = 0;
    for (const other of metrics)
      if (other.name === metric.name && other.dimensions.length > 0)
        others += counts.get(seriesName(other.name, other.dimensions)) ?? 0;
    counts.set(key, (counts.get(key) ?? 0) - others);
  }
  return counts;
}

describe('aggregate retried after CloudWatch accepted only some of the metric batches', () => {
  it.each([
    ['the second PutMetricData call fails', 2, 58],
    ['the first PutMetricData call fails', 1, 1000],
  ])(
    'sends only the missing batch on the retry, so each datum is in CloudWatch once, when %s',
    async (_case, failing, resent) => {
      const generatedAt = runAt();
      const at = new Date(generatedAt);
      await writeRun('run-metrics-partial', generatedAt, {
        accounts: [PAYMENTS, ...MANY_ACCOUNTS],
        regions: [HOME],
        clusters: [{ item: PROD }],
      });
      // The same container's clients for both attempts (Lambda retries in a warm container): that call fails, once.
      const deps = dependencies({
        cloudwatch: (call) => (call === failing ? serverError('InternalFailure', 500) : undefined),
      });
      const sent: number[] = [];
      deps.cloudwatch.middlewareStack.add(
        (next, context) => (args) => {
          if (context.commandName === 'PutMetricDataCommand')
            sent.push((args.input as PutMetricDataCommandInput).MetricData?.length ?? 0);
          return next(args);
        },
        { step: 'initialize', name: 'countPutMetricData', priority: 'high' },
      );
      const event = { runId: 'run-metrics-partial', generatedAt };
      const first = await aggregateRun({ ...deps, now: () => new Date(at.getTime() + 4321) }, event);
      const marker = await readJson<{ complete: boolean; acceptedBatches: number[] }>(
        'runs/run-metrics-partial/metrics.json',
      );
      const sentByFirst = sent.splice(0);

      const retried = await aggregateRun({ ...deps, now: () => new Date(at.getTime() + 50_000) }, event);

      expect(first.errors).toEqual([
        expect.stringMatching(
          /^metrics: MetricsPublishError: 1 of 2 PutMetricData calls .* failed .*InternalFailure/,
        ),
      ]);
      expect(sentByFirst).toEqual([1000, 58]);
      expect(marker).toMatchObject({ complete: false, acceptedBatches: [failing === 1 ? 1 : 0] });
      expect(retried.errors).toEqual([]);
      expect(sent).toEqual([resent]);
      const series = organizationSeries([PAYMENTS, ...MANY_ACCOUNTS]);
      expect(series).toHaveLength(1058);
      expect(Object.fromEntries(await datumsPerSeries(at))).toEqual(
        Object.fromEntries(series.map((name) => [name, 1])),
      );
      // The retry sends the data of the first attempt: its AuditDurationMs, not the retry's.
      expect(await metricSum(sinks, 'AuditDurationMs', {})).toBe(4321);
      expect(await metricSum(sinks, 'ClustersAudited', { Account: PAYMENTS })).toBe(1);
      expect(await readJson<{ complete: boolean }>('runs/run-metrics-partial/metrics.json')).toMatchObject({
        complete: true,
        acceptedBatches: [0, 1],
      });
      expect((await readJson<Summary>(retried.summaryKey ?? '')).metricsPublished).toBe(true);
    },
  );

  it('sends nothing again once a retry completed the metrics', async () => {
    const generatedAt = runAt();
    await writeRun('run-metrics-done', generatedAt, {
      accounts: [PAYMENTS, ...MANY_ACCOUNTS],
      regions: [HOME],
      clusters: [{ item: PROD }],
    });
    const deps = dependencies({
      cloudwatch: (call) => (call === 2 ? serverError('InternalFailure', 500) : undefined),
    });
    const event = { runId: 'run-metrics-done', generatedAt };
    await aggregateRun(deps, event);
    await aggregateRun(deps, event);

    const third = await aggregateRun(
      dependencies({ cloudwatch: () => serverError('InternalFailure', 500) }),
      event,
    );

    expect(third.errors).toEqual([]);
    expect(await metricSum(sinks, 'ClustersAudited', { Account: PAYMENTS })).toBe(1);
  });

  it("sends none of the metrics when the run's data no longer has the batches an earlier attempt sent part of", async () => {
    const generatedAt = runAt();
    await writeRun('run-metrics-changed', generatedAt, ONE_CHANGE);
    await store.putJson(
      'runs/run-metrics-changed/metrics.json',
      {
        runId: 'run-metrics-changed',
        complete: false,
        batches: 2,
        datums: 1058,
        durationMs: 1,
        acceptedBatches: [0],
      },
      'run-metrics-changed',
    );

    const summary = await aggregateRun(dependencies(), { runId: 'run-metrics-changed', generatedAt });

    expect(summary.errors).toEqual([
      "metrics: an earlier attempt of this run sent part of 1058 datums in 2 batch(es), but the run's metric data is now 15 datums in 1 batch(es), so the missing ones cannot be told apart and none are sent",
    ]);
    expect(await metricSum(sinks, 'ClustersAudited', { Account: PAYMENTS })).toBeUndefined();
  });
});

describe('aggregate of an older run', () => {
  it('does not copy its baseline over the latest.json a newer run wrote, and advances the others', async () => {
    const olderAt = runAt();
    await writeRun('run-older', olderAt, {
      accounts: [PAYMENTS, SEARCH],
      regions: [HOME],
      clusters: [
        { item: PROD, newFindings: [finding('IRSA-S07', 'orders', 'high')] },
        { item: BATCH, findings: [finding('IRSA-S03', 'batch', 'low')] },
      ],
    });
    const newer: AuditReport = {
      schemaVersion: '1',
      generatedAt: runAt(30_000),
      clusters: [{ name: PROD.cluster, summary: summarize([]), findings: [] }],
    };
    await store.saveLatest(PROD.account, PROD.region, PROD.cluster, newer, 'run-newer');

    const summary = await aggregateRun(dependencies(), { runId: 'run-older', generatedAt: olderAt });

    expect(summary.errors).toEqual([]);
    expect(await runIdOf(latestOf(PROD))).toBe('run-newer');
    expect((await readJson<AuditReport>(latestOf(PROD))).generatedAt).toBe(newer.generatedAt);
    expect(await runIdOf(latestOf(BATCH))).toBe('run-older');
    expect((await readJson<Summary>(summary.summaryKey ?? '')).drift.newerBaselinesKept).toBe(1);
  });
});

describe('aggregate reading the result records', () => {
  it('reports a record S3 fails to return as an error of the step, not as an IRSA-X01, and keeps its baseline', async () => {
    const generatedAt = runAt();
    await writeRun('run-unread', generatedAt, {
      accounts: [PAYMENTS, SEARCH],
      regions: [HOME],
      clusters: [{ item: PROD, newFindings: [finding('IRSA-S07', 'orders', 'high')] }, { item: BATCH }],
    });
    // The previous run could not audit search-batch: its X01 is in the organization baseline.
    const batchX01 = targetX01(SEARCH, HOME, BATCH.cluster);
    await store.putJson(
      ORGANIZATION_LATEST_KEY,
      {
        schemaVersion: '1',
        generatedAt: runAt(-3_600_000),
        clusters: [{ name: 'organization', summary: summarize([batchX01]), findings: [batchX01] }],
      },
      'run-before',
    );
    const recordUnavailable: S3Fault = (command, key) =>
      command === 'GetObjectCommand' && key === resultKey('run-unread', BATCH)
        ? serverError('InternalError', 500)
        : undefined;

    const summary = await aggregateRun(dependencies({ s3: recordUnavailable }), {
      runId: 'run-unread',
      generatedAt,
    });

    expect(summary.errors).toEqual([
      expect.stringMatching(
        /^222233334444\/eu-west-1\/search-batch: the result record could not be read, so this cluster is left out of the run and keeps its baseline: ReportStoreError: .*InternalError/,
      ),
    ]);
    expect(summary).toMatchObject({ clustersAudited: 1, newFindings: 1, resolvedFindings: 0 });
    const written = await readJson<Summary>(summary.summaryKey ?? '');
    expect(written.targetFindings).toEqual([]);
    const [alert] = await receiveAlerts(sinks);
    expect((JSON.parse(alert?.message ?? '{}') as Delta).notes).toEqual([
      'The results of 1 cluster(s) could not be read (222233334444/eu-west-1/search-batch): their changes are not in this alert and their baselines are kept.',
    ]);
    const baseline = await readJson<AuditReport>(ORGANIZATION_LATEST_KEY);
    expect(baseline.clusters[0]?.findings.map((kept) => kept.id)).toEqual([batchX01.id]);
  });
});

describe('aggregate after the configuration dropped an account and a region', () => {
  it('neither resolves nor keeps the target findings of what is no longer audited, and counts them', async () => {
    const generatedAt = runAt();
    await writeRun('run-scoped', generatedAt, {
      accounts: [PAYMENTS],
      regions: [HOME],
      clusters: [{ item: PROD }],
    });
    const previous = [
      targetX01(REMOVED, HOME),
      targetX01(PAYMENTS, OTHER),
      // Still in scope, and gone: resolved.
      targetX01(PAYMENTS, HOME, 'payments-old'),
    ];
    await store.putJson(
      ORGANIZATION_LATEST_KEY,
      {
        schemaVersion: '1',
        generatedAt: runAt(-3_600_000),
        clusters: [{ name: 'organization', summary: summarize(previous), findings: previous }],
      },
      'run-before',
    );

    const summary = await aggregateRun(dependencies(), { runId: 'run-scoped', generatedAt });

    expect(summary).toMatchObject({ errors: [], alerted: true, newFindings: 0, resolvedFindings: 1 });
    const [alert] = await receiveAlerts(sinks);
    expect(alert?.subject).toBe('[IRSA] organization: 1 resolved');
    expect((JSON.parse(alert?.message ?? '{}') as Delta).resolved).toEqual([
      expect.objectContaining({ account: PAYMENTS, region: HOME, cluster: 'payments-old' }),
    ]);
    expect((await readJson<Summary>(summary.summaryKey ?? '')).drift.noLongerAudited).toBe(2);
    expect((await readJson<AuditReport>(ORGANIZATION_LATEST_KEY)).clusters[0]?.findings).toEqual([]);
  });
});

describe('aggregate passing on what the audit steps said', () => {
  it('notes first audits and unreadable baselines in the alert, and reports the records’ errors', async () => {
    const generatedAt = runAt();
    const baselineError =
      'search-batch: the baseline could not be read, so every current finding at or above high counts as new: ReportStoreError: could not read s3://irsa-org-aggregate/reports/222233334444/eu-west-1/search-batch/latest.json: AccessDenied: Access Denied (HTTP 403)';
    await writeRun('run-notes', generatedAt, {
      accounts: [PAYMENTS, SEARCH],
      regions: [HOME],
      clusters: [
        { item: PROD, firstAudit: true, newFindings: [finding('IRSA-S07', 'orders', 'high')] },
        {
          item: BATCH,
          baselineUnreadable: true,
          newFindings: [finding('IRSA-P01', 'batch', 'critical')],
          errors: [baselineError],
        },
      ],
    });

    const summary = await aggregateRun(dependencies(), { runId: 'run-notes', generatedAt });

    expect(summary.errors).toEqual([`${SEARCH}/${HOME}: ${baselineError}`]);
    expect(summary.alerted).toBe(true);
    const [alert] = await receiveAlerts(sinks);
    expect((JSON.parse(alert?.message ?? '{}') as Delta).notes).toEqual([
      'First audit of 1 cluster(s) (111122223333/eu-west-1/payments-prod): every current finding at or above high of it is listed, not only the changes.',
      'The baseline of 222233334444/eu-west-1/search-batch could not be read, so every current finding at or above high of it is listed, not only the changes.',
    ]);
    expect((await readJson<Summary>(summary.summaryKey ?? '')).errors).toEqual(summary.errors);
  });
});

describe('aggregate of targets discover could not list', () => {
  it('names the home region for an AssumeRole that met a disabled STS region, and no redeploy for an explicit deny', async () => {
    const generatedAt = runAt();
    await writeRun('run-failed-targets', generatedAt, {
      accounts: [PAYMENTS, SEARCH],
      regions: [OTHER],
      clusters: [],
      failedTargets: [
        {
          account: PAYMENTS,
          region: OTHER,
          error: {
            reason: 'region-not-enabled',
            message: 'cannot assume the member role (RegionDisabledException)',
            stsRegion: HOME,
          },
        },
        {
          account: SEARCH,
          region: OTHER,
          error: { reason: 'explicit-deny', message: 'an explicit deny in a service control policy' },
        },
      ],
    });

    const summary = await aggregateRun(dependencies(), { runId: 'run-failed-targets', generatedAt });

    const remediations = (await readJson<Summary>(summary.summaryKey ?? '')).targetFindings.map(
      (target) => `${target.evidence.account} ${target.evidence.reason}: ${target.remediation}`,
    );
    expect(remediations).toHaveLength(2);
    expect(remediations).toContainEqual(
      expect.stringMatching(
        /^111122223333 region-not-enabled: Enable eu-west-1, the auditor's home region whose STS endpoint AssumeRole goes to, in account 111122223333/,
      ),
    );
    expect(remediations).toContainEqual(
      expect.stringMatching(
        /^222233334444 explicit-deny: A policy outside the member stack .* does not lift a Deny/,
      ),
    );
    expect(remediations.join('\n')).not.toMatch(/Deploy MemberAccountStack|Enable us-east-1/);
  });
});
