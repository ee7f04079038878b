// Organization runs end to end, the state machine emulated in-process: discover → audit-target for every item
// (the Distributed Map) → aggregate, over three member accounts × two regions in moto_server with clusters served
// by the fake Kubernetes API server. One account's member role is denied. Each run is read back from S3, SNS
// (an SQS subscriber) and CloudWatch: a complete summary with that target's IRSA-X01, one alert per run, the
// X01 resolved when the role is fixed, a failed publish that advances nothing and alerts again next run, a retried
// aggregate that does not alert twice, and a cluster whose audit step left no result.

import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditReport } from '../../../lambda/core/model/finding';
import { assumeRoleFaults, MOTO_CREDENTIALS, stsError } from '../../../lambda/emulators/moto';
import { createAggregateHandler } from '../../../lambda/organization/aggregate/aggregate-handler';
import type { OrganizationSummaryOutput } from '../../../lambda/organization/aggregate/aggregate-run';
import { auditTarget, createAuditTargetDependencies } from '../../../lambda/organization/audit-target';
import { createDiscoverHandler } from '../../../lambda/organization/discover';
import { loadAuditTargetConfig } from '../../../lambda/organization/organization-config';
import type { ClusterResultRecord, TargetItem } from '../../../lambda/organization/run-objects';
import {
  type AlertSinks,
  createAlertSinks,
  listedSeries,
  metricSum,
  readReportObject,
  receiveAlerts,
  rollUpSum,
} from '../handler/emulated-account';
import {
  ANALYTICS,
  type EmulatedOrganization,
  EXTERNAL_ID,
  HEALTHY_CLUSTER,
  HOME_REGION,
  INCIDENT_CLUSTER,
  OTHER_REGION,
  PAYMENTS,
  REFUSING_CLUSTER,
  SEARCH,
  STAGING_CLUSTER,
  startEmulatedOrganization,
} from './emulated-organization';

const ACCOUNTS = [PAYMENTS, SEARCH, ANALYTICS];
const CLUSTERS = [
  `${PAYMENTS}/${HOME_REGION}/${INCIDENT_CLUSTER}`,
  `${PAYMENTS}/${HOME_REGION}/${STAGING_CLUSTER}`,
  `${SEARCH}/${HOME_REGION}/${HEALTHY_CLUSTER}`,
  `${SEARCH}/${OTHER_REGION}/${REFUSING_CLUSTER}`,
];

let organization: EmulatedOrganization;
let sinks: AlertSinks;
const denied = new Set<string>();

beforeAll(async () => {
  organization = await startEmulatedOrganization();
  sinks = await createAlertSinks(organization.moto.endpoint, 'irsa-organization-run');
  console.info(`organization run: moto_server at ${organization.moto.endpoint}`);
}, 120_000);

afterAll(async () => {
  await organization?.stop();
});

const environment = (extra: Record<string, string> = {}) => ({
  AWS_REGION: HOME_REGION,
  AWS_ENDPOINT_URL: organization.moto.endpoint,
  REPORTS_BUCKET: sinks.bucket,
  EXTERNAL_ID,
  ACCOUNTS: ACCOUNTS.join(','),
  REGIONS: `${HOME_REGION},${OTHER_REGION}`,
  TOPIC_ARN: sinks.topicArn,
  ...extra,
});

const options = () => ({
  credentials: MOTO_CREDENTIALS,
  log: () => undefined,
  stsPlugins: [
    assumeRoleFaults((roleArn) =>
      denied.has(roleArn.split(':')[4] ?? '')
        ? stsError('AccessDenied', `not authorized to perform: sts:AssumeRole on resource: ${roleArn}`, 403)
        : undefined,
    ),
  ],
});

interface RunOptions {
  /** Items whose map iteration "fails": audit-target is not run for them. */
  readonly skip?: readonly string[];
  readonly topicArn?: string;
}

/** One organization run as the state machine drives it; the aggregate's rejection is returned, not thrown. */
async function runOrganization(runId: string, runOptions: RunOptions = {}) {
  const generatedAt = new Date().toISOString();
  const discovered = await createDiscoverHandler(environment(), options())({ runId, generatedAt });
  const items = (await readJson<TargetItem[]>(discovered.itemsKey)).filter(
    (item) => !(runOptions.skip ?? []).includes(`${item.account}/${item.region}/${item.cluster}`),
  );
  const deps = organization.recordingSessions(
    createAuditTargetDependencies(loadAuditTargetConfig(environment()), options()),
  );
  for (const item of items) {
    const started = Date.now();
    await auditTarget(
      deps,
      { runId, generatedAt, ...item },
      { getRemainingTimeInMillis: () => started + 60_000 - Date.now() },
    );
  }
  const aggregate = createAggregateHandler(
    environment(runOptions.topicArn === undefined ? {} : { TOPIC_ARN: runOptions.topicArn }),
    options(),
  );
  const event = { runId, generatedAt };
  const summary = await aggregate(event).catch((error: unknown) => error as Error);
  return { discovered, generatedAt, summary, aggregate: () => aggregate(event) };
}

async function readJson<T>(key: string): Promise<T> {
  return (await readReportObject(sinks, key)).report as unknown as T;
}

async function runIdOf(key: string): Promise<string | undefined> {
  const head = await sinks.s3.send(new HeadObjectCommand({ Bucket: sinks.bucket, Key: key }));
  return head.Metadata?.['run-id'];
}

const latestKeys = [
  ...CLUSTERS.map((cluster) => `reports/${cluster}/latest.json`),
  'reports/organization/latest.json',
];

interface Delta {
  readonly newCount: number;
  readonly resolvedCount: number;
  readonly summary: string;
  readonly new: readonly { account: string; region: string; cluster?: string; finding: { check: string } }[];
  readonly resolved: readonly {
    account: string;
    region: string;
    cluster?: string;
    finding: { check: string };
  }[];
}

interface Summary {
  readonly clusters: readonly (ClusterResultRecord & { report: string })[];
  readonly targetFindings: readonly { check: string; resource: { kind: string; name: string } }[];
  readonly failedTargets: readonly { account: string; region: string }[];
}

describe('the first run, with the analytics account denying its member role', () => {
  let summary: OrganizationSummaryOutput;
  let alerts: Awaited<ReturnType<typeof receiveAlerts>>;
  let retried: OrganizationSummaryOutput;

  beforeAll(async () => {
    denied.add(ANALYTICS);
    const run = await runOrganization('org-run-1');
    if (run.summary instanceof Error) throw run.summary;
    summary = run.summary;
    alerts = await receiveAlerts(sinks);
    retried = await run.aggregate();
  }, 120_000);

  it('discovers every cluster of the reachable accounts and records the denied account per region', () => {
    expect(summary).toMatchObject({
      accounts: 3,
      targets: 6,
      failedTargets: 2,
      clustersAudited: CLUSTERS.length,
    });
    expect(summary.errors).toEqual([]);
  });

  it('writes a complete summary: every cluster with the counts of its own report, and the denied targets as IRSA-X01', async () => {
    const written = await readJson<Summary>(summary.summaryKey ?? '');

    expect(
      written.clusters.map((cluster) => `${cluster.account}/${cluster.region}/${cluster.cluster}`),
    ).toEqual(CLUSTERS);
    for (const cluster of written.clusters) {
      const history = await readJson<AuditReport>(cluster.report);
      expect(history.clusters[0]?.summary).toEqual(cluster.summary);
    }
    // From the fixtures: the incident README's 5 critical, 3 high, 2 info. The healthy example's W06 (info), and
    // W03 (medium): its webhook trusts the fake API server's CA, issued for one day, so it expires soon. Each
    // cluster whose API server refuses the connection: its IRSA-X01 (high); platform-staging also the incident
    // account's stale provider (A01), low there since no role could be read through its API server.
    expect(Object.fromEntries(written.clusters.map((cluster) => [cluster.cluster, cluster.summary]))).toEqual(
      {
        [INCIDENT_CLUSTER]: { critical: 5, high: 3, medium: 0, low: 0, info: 2 },
        [STAGING_CLUSTER]: { critical: 0, high: 1, medium: 0, low: 1, info: 0 },
        [HEALTHY_CLUSTER]: { critical: 0, high: 0, medium: 1, low: 0, info: 1 },
        [REFUSING_CLUSTER]: { critical: 0, high: 1, medium: 0, low: 0, info: 0 },
      },
    );
    expect(written.failedTargets.map((target) => `${target.account}/${target.region}`)).toEqual([
      `${ANALYTICS}/${HOME_REGION}`,
      `${ANALYTICS}/${OTHER_REGION}`,
    ]);
    expect(
      written.targetFindings.map(
        (finding) => `${finding.check} ${finding.resource.kind} ${finding.resource.name}`,
      ),
    ).toEqual([
      `IRSA-X01 Target ${ANALYTICS}/${HOME_REGION}`,
      `IRSA-X01 Target ${ANALYTICS}/${OTHER_REGION}`,
    ]);
  });

  it('counts as audit errors the denied targets and the clusters that could not be reached', async () => {
    const written = await readJson<Summary>(summary.summaryKey ?? '');
    const unreachable = written.clusters.filter((cluster) => cluster.status !== 'audited');

    expect(unreachable.map((cluster) => cluster.cluster).sort()).toEqual(
      [REFUSING_CLUSTER, STAGING_CLUSTER].sort(),
    );
    // Two denied targets (analytics in both regions) and two unreachable clusters.
    expect(summary.auditErrors).toBe(4);
  });

  it('sends one summary alert with every change, grouped by where it is, and a short subject', () => {
    expect(alerts).toHaveLength(1);
    const [alert] = alerts;
    const delta = JSON.parse(alert?.message ?? '{}') as Delta;

    expect(alert?.subject.startsWith('[IRSA] organization: ')).toBe(true);
    expect(alert?.subject.length).toBeLessThanOrEqual(100);
    // At the default threshold (high), all new: the critical and high findings of the four summaries above (5
    // critical, 5 high) and the IRSA-X01 of the two denied analytics targets; nothing of the healthy cluster.
    expect(delta.newCount).toBe(12);
    expect(summary.newFindings).toBe(12);
    expect(alert?.subject).toBe('[IRSA] organization: 5 new critical, 7 new high');
    expect(delta.new.filter((change) => change.cluster === HEALTHY_CLUSTER)).toEqual([]);
    expect(
      delta.new
        .filter((change) => change.account === ANALYTICS)
        .map((change) => `${change.region} ${change.finding.check}`),
    ).toEqual([`${HOME_REGION} IRSA-X01`, `${OTHER_REGION} IRSA-X01`]);
    expect(
      delta.new.some((change) => change.cluster === INCIDENT_CLUSTER && change.finding.check === 'IRSA-W02'),
    ).toBe(true);
    expect(delta.summary).toBe(`s3://${sinks.bucket}/${summary.summaryKey}`);
  });

  it('publishes the organization metrics by account, zeros included', async () => {
    const accounts = ACCOUNTS.map((account) => ({ Account: account }));

    // The incident's 5 critical (W02 and 4 × P01); its unreachable staging cluster adds a high, not a critical.
    expect(await metricSum(sinks, 'Findings', { Account: PAYMENTS, Severity: 'critical' })).toBe(5);
    expect(await metricSum(sinks, 'Findings', { Account: PAYMENTS, Severity: 'high' })).toBe(4);
    // The search account: its healthy cluster's W03 (medium), and the refusing cluster's IRSA-X01 (high).
    expect(await metricSum(sinks, 'Findings', { Account: SEARCH, Severity: 'critical' })).toBe(0);
    expect(await metricSum(sinks, 'Findings', { Account: SEARCH, Severity: 'high' })).toBe(1);
    expect(await metricSum(sinks, 'Findings', { Account: SEARCH, Severity: 'medium' })).toBe(1);
    expect(await metricSum(sinks, 'Findings', { Account: ANALYTICS, Severity: 'high' })).toBe(2);
    expect(await metricSum(sinks, 'AuditErrors', { Account: ANALYTICS })).toBe(2);
    expect(await metricSum(sinks, 'ClustersAudited', { Account: ANALYTICS })).toBe(0);
    expect(await metricSum(sinks, 'ClustersAudited', { Account: SEARCH })).toBe(2);
    expect(await rollUpSum(sinks, 'ClustersAudited', accounts)).toBe(CLUSTERS.length);
    expect(await rollUpSum(sinks, 'AuditErrors', accounts)).toBe(4);
    expect(await listedSeries(sinks)).toEqual(
      expect.arrayContaining([
        `Findings{Account=${ANALYTICS},Severity=info}`,
        'Findings{Severity=critical}',
        'AuditDurationMs{}',
      ]),
    );
  });

  it('advances every baseline to this run once the alert is out', async () => {
    for (const key of latestKeys) expect(await runIdOf(key)).toBe('org-run-1');
  });

  it('does not alert again when the aggregate of the same run is retried', async () => {
    expect(retried).toMatchObject({ runId: 'org-run-1', alerted: false, errors: [] });
    expect(await receiveAlerts(sinks)).toEqual([]);
  });
});

describe('a second run after the member role is fixed', () => {
  let summary: OrganizationSummaryOutput;
  let alerts: Awaited<ReturnType<typeof receiveAlerts>>;

  beforeAll(async () => {
    denied.clear();
    const run = await runOrganization('org-run-2');
    if (run.summary instanceof Error) throw run.summary;
    summary = run.summary;
    alerts = await receiveAlerts(sinks);
  }, 120_000);

  it('reports the two IRSA-X01 of the analytics account resolved, and nothing new', () => {
    expect(summary).toMatchObject({ failedTargets: 0, newFindings: 0, resolvedFindings: 2, alerted: true });
    expect(alerts.map((alert) => alert.subject)).toEqual(['[IRSA] organization: 2 resolved']);
    const delta = JSON.parse(alerts[0]?.message ?? '{}') as Delta;
    expect(delta.resolved.map((change) => `${change.account} ${change.finding.check}`)).toEqual([
      `${ANALYTICS} IRSA-X01`,
      `${ANALYTICS} IRSA-X01`,
    ]);
  });
});

describe('a run whose summary alert cannot be published, then the next run', () => {
  let failed: OrganizationSummaryOutput | Error;
  let failedAlerts: Awaited<ReturnType<typeof receiveAlerts>>;
  const keptRunIds: (string | undefined)[] = [];
  let next: OrganizationSummaryOutput | Error;
  let nextAlerts: Awaited<ReturnType<typeof receiveAlerts>>;

  beforeAll(async () => {
    denied.add(ANALYTICS);
    const missingTopic = `arn:aws:sns:${HOME_REGION}:123456789012:no-such-topic`;
    failed = (await runOrganization('org-run-3', { topicArn: missingTopic })).summary;
    failedAlerts = await receiveAlerts(sinks);
    for (const key of latestKeys) keptRunIds.push(await runIdOf(key));
    next = (await runOrganization('org-run-4')).summary;
    nextAlerts = await receiveAlerts(sinks);
  }, 180_000);

  it('fails the aggregate with the publishing problem, after writing the summary', () => {
    expect(failed).toBeInstanceOf(Error);
    expect((failed as Error).name).toBe('OrganizationPublishError');
    expect((failed as Error).message).toMatch(/the summary alert was not published/);
    expect(failedAlerts).toEqual([]);
  });

  it('leaves every latest.json where the last published run put it', () => {
    expect(keptRunIds).toEqual(latestKeys.map(() => 'org-run-2'));
  });

  it('alerts the same changes again on the next run, and advances then', async () => {
    expect(next).toMatchObject({ alerted: true, newFindings: 2, errors: [] });
    expect(nextAlerts.map((alert) => alert.subject)).toEqual(['[IRSA] organization: 2 new high']);
    for (const key of latestKeys) expect(await runIdOf(key)).toBe('org-run-4');
  });
});

describe('a run in which one cluster’s audit step left no result', () => {
  const lost = `${SEARCH}/${OTHER_REGION}/${REFUSING_CLUSTER}`;
  let summary: OrganizationSummaryOutput | Error;
  let alerts: Awaited<ReturnType<typeof receiveAlerts>>;

  beforeAll(async () => {
    summary = (await runOrganization('org-run-5', { skip: [lost] })).summary;
    alerts = await receiveAlerts(sinks);
  }, 120_000);

  it('reports that cluster as a target-level IRSA-X01 and alerts it', async () => {
    if (summary instanceof Error) throw summary;
    const written = await readJson<Summary>(summary.summaryKey ?? '');

    expect(
      written.targetFindings.map((finding) => `${finding.resource.kind} ${finding.resource.name}`),
    ).toContain(`Cluster ${lost}`);
    expect(written.clusters.map((cluster) => cluster.cluster)).not.toContain(REFUSING_CLUSTER);
    expect(summary).toMatchObject({ clustersAudited: CLUSTERS.length - 1, newFindings: 1 });
    expect(alerts.map((alert) => alert.subject)).toEqual(['[IRSA] organization: 1 new high']);
    expect(await runIdOf(`reports/${lost}/latest.json`)).toBe('org-run-4');
  });
});
