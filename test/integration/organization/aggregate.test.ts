// The aggregate step against moto_server (S3, SNS with an SQS subscriber, CloudWatch), over run objects written as
// discover and audit-target write them. Faults (SPEC §9 allows injecting them) are thrown by middleware on the real
// S3 and CloudWatch clients before a request leaves: retried attempts of the same run alert and count metrics once,
// an older run never copies over a newer baseline, unreadable results are errors (not findings), accounts and
// regions that left the configuration are no longer audited, and the audit steps' notes and errors reach the alert.

import { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { beforeEach, describe, expect, it } from 'vitest';
import { summarize } from '../../../lambda/engine/audit-cluster';
import type { AuditReport, Finding, Severity } from '../../../lambda/model/finding';
import {
  type AggregateDependencies,
  aggregateRun,
  createAggregateDependencies,
} from '../../../lambda/organization/aggregate';
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
import { MOTO_CREDENTIALS } from '../../support/moto';
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

const serverError = (code: string, status: number) =>
  Object.assign(new Error(`We encountered an internal error (${code}).`), {
    name: code,
    $fault: 'server',
    $metadata: { httpStatusCode: status },
  });

/** The step's dependencies, each attempt with its own clients: S3 and CloudWatch fail where `faults` say. */
function dependencies(
  faults: { readonly s3?: S3Fault; readonly cloudwatch?: boolean } = {},
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
  if (faults.cloudwatch === true)
    deps.cloudwatch.middlewareStack.add(
      () => async () => {
        throw serverError('InternalFailure', 500);
      },
      { step: 'initialize', name: 'cloudwatchDown' },
    );
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
    const first = await aggregateRun(dependencies({ cloudwatch: true }), {
      runId: 'run-metrics-failed',
      generatedAt,
    });
    const markersAfterFirst = await objectKeys(sinks, 'runs/run-metrics-failed/metrics.json');

    const retried = await aggregateRun(dependencies(), { runId: 'run-metrics-failed', generatedAt });

    expect(first.errors).toEqual([expect.stringMatching(/^metrics: MetricsPublishError: .*InternalFailure/)]);
    expect(markersAfterFirst).toEqual([]);
    expect(retried.errors).toEqual([]);
    expect(await metricSum(sinks, 'ClustersAudited', { Account: PAYMENTS })).toBe(1);
    expect(await rollUpSum(sinks, 'ClustersAudited', [{ Account: PAYMENTS }])).toBe(1);
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
