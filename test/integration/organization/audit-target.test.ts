// The audit-target step against moto_server (member accounts) and the fake Kubernetes API server: one cluster
// audited as its account's member role (the fake accepts only tokens signed with that role's credentials), its
// history report, pending baseline and result record; a denied role as IRSA-X01; retries; throttling.

import { ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { AuditReport } from '../../../lambda/core/model/finding';
import { assumeRoleFaults, MOTO_CREDENTIALS, stsError } from '../../../lambda/emulators/moto';
import {
  type AuditTargetDependencies,
  auditTarget,
  createAuditTargetDependencies,
  createAuditTargetHandler,
} from '../../../lambda/organization/audit-target';
import { loadAuditTargetConfig } from '../../../lambda/organization/organization-config';
import type { ClusterResultRecord } from '../../../lambda/organization/run-objects';
import { type AlertSinks, createAlertSinks, readReportObject } from '../handler/emulated-account';
import {
  type EmulatedOrganization,
  EXTERNAL_ID,
  HEALTHY_CLUSTER,
  HOME_REGION,
  INCIDENT_CLUSTER,
  PAYMENTS,
  SEARCH,
  startEmulatedOrganization,
} from './emulated-organization';

let organization: EmulatedOrganization;
let sinks: AlertSinks;
let bucketCount = 0;

beforeAll(async () => {
  organization = await startEmulatedOrganization();
  console.info(`audit-target: moto_server at ${organization.moto.endpoint}`);
}, 120_000);

afterAll(async () => {
  await organization?.stop();
});

async function freshSinks(): Promise<void> {
  bucketCount += 1;
  sinks = await createAlertSinks(organization.moto.endpoint, `irsa-org-target-${bucketCount}`);
  organization.memberCredentials.clear();
}

const environment = (extra: Record<string, string> = {}) => ({
  AWS_REGION: HOME_REGION,
  AWS_ENDPOINT_URL: organization.moto.endpoint,
  REPORTS_BUCKET: sinks.bucket,
  EXTERNAL_ID,
  ...extra,
});

type Fault = Parameters<typeof assumeRoleFaults>[0];

function dependencies(
  fault: Fault = () => undefined,
  assumed: Parameters<typeof assumeRoleFaults>[1] = [],
  extra: Record<string, string> = {},
): AuditTargetDependencies {
  const config = loadAuditTargetConfig(environment(extra));
  const deps = createAuditTargetDependencies(config, {
    credentials: MOTO_CREDENTIALS,
    log: () => undefined,
    stsPlugins: [assumeRoleFaults(fault, assumed)],
  });
  return organization.recordingSessions(deps);
}

const invocation = () => {
  const started = Date.now();
  return { getRemainingTimeInMillis: () => started + 60_000 - Date.now() };
};

const GENERATED_AT = '2026-03-02T10:00:00.000Z';
const eventFor = (account: string, cluster: string, runId = 'run-target') => ({
  runId,
  generatedAt: GENERATED_AT,
  account,
  region: HOME_REGION,
  cluster,
});

// What examples/healthy has (its README: IRSA-W06, info) and, served by the fake, IRSA-W03 at medium: the webhook
// trusts the fake's CA, issued for one day (lambda/emulators/fake-kube-api/certificates.ts), so it rightly expires soon.
const HEALTHY_FINDINGS = [
  ['IRSA-W03', 'medium', true],
  ['IRSA-W06', 'info', undefined],
];

async function keysUnder(prefix: string): Promise<string[]> {
  const listed = await sinks.s3.send(new ListObjectsV2Command({ Bucket: sinks.bucket, Prefix: prefix }));
  return (listed.Contents ?? []).map((object) => object.Key ?? '').sort();
}

async function readJson<T>(key: string): Promise<T> {
  return (await readReportObject(sinks, key)).report as unknown as T;
}

describe('audit-target of the incident cluster, as the member role', () => {
  let record: ClusterResultRecord;
  const assumed: Parameters<typeof assumeRoleFaults>[1] = [];

  beforeAll(async () => {
    await freshSinks();
    organization.incident.clearRequests();
    record = await auditTarget(
      dependencies(undefined, assumed),
      eventFor(PAYMENTS, INCIDENT_CLUSTER),
      invocation(),
    );
  }, 60_000);

  it('reaches the API server with a token signed as the member role of that account', async () => {
    const credentials = organization.memberCredentials.get(PAYMENTS);

    expect(credentials?.accessKeyId).not.toBe(MOTO_CREDENTIALS.accessKeyId);
    expect(await organization.callerArn(credentials ?? MOTO_CREDENTIALS)).toBe(
      `arn:aws:sts::${PAYMENTS}:assumed-role/IrsaAuditorMember/irsa-auditor-audit`,
    );
    expect(assumed).toEqual([
      {
        roleArn: `arn:aws:iam::${PAYMENTS}:role/IrsaAuditorMember`,
        externalId: EXTERNAL_ID,
        sessionName: 'irsa-auditor-audit',
      },
    ]);
    const lists = organization.incident.requests.filter((request) => request.verb === 'list');
    expect(lists.length).toBeGreaterThan(0);
    expect(organization.incident.requests.filter((request) => request.status === 401)).toEqual([]);
  });

  it('writes the history report with the incident findings, keyed by account, region and run time', async () => {
    const historyKey = `reports/${PAYMENTS}/${HOME_REGION}/${INCIDENT_CLUSTER}/history/${GENERATED_AT}.json`;

    const history = await readJson<AuditReport>(historyKey);

    expect(record.historyKey).toBe(historyKey);
    const checks = history.clusters[0]?.findings.map((finding) => finding.check) ?? [];
    expect(checks).toEqual(expect.arrayContaining(['IRSA-W02', 'IRSA-P01', 'IRSA-S07']));
    expect(checks).not.toContain('IRSA-X01');
    expect(history.clusters[0]?.accountId).toBe(PAYMENTS);
  });

  it('writes the pending baseline under the run, and leaves latest.json to the aggregate', async () => {
    const baseline = await readJson<AuditReport>(
      `runs/run-target/baselines/${PAYMENTS}/${HOME_REGION}/${INCIDENT_CLUSTER}.json`,
    );
    const history = await readJson<AuditReport>(record.historyKey);

    expect(baseline.clusters[0]?.findings.map((finding) => finding.id)).toEqual(
      history.clusters[0]?.findings.map((finding) => finding.id),
    );
    expect(await keysUnder(`reports/${PAYMENTS}/${HOME_REGION}/${INCIDENT_CLUSTER}/latest.json`)).toEqual([]);
  });

  it('writes a result record whose first-audit drift lists every finding at or above the threshold', async () => {
    const stored = await readJson<ClusterResultRecord>(
      `runs/run-target/results/${PAYMENTS}/${HOME_REGION}/${INCIDENT_CLUSTER}.json`,
    );
    const history = await readJson<AuditReport>(record.historyKey);
    const alerting = (history.clusters[0]?.findings ?? []).filter((finding) =>
      ['critical', 'high'].includes(finding.severity),
    );

    expect(stored).toEqual(record);
    expect(stored).toMatchObject({
      status: 'audited',
      auditError: false,
      firstAudit: true,
      summary: history.clusters[0]?.summary,
    });
    expect(stored.drift.newCount).toBe(alerting.length);
    expect(stored.drift.new.map((finding) => finding.id).sort()).toEqual(
      alerting.map((finding) => finding.id).sort(),
    );
    expect(stored.drift.resolvedCount).toBe(0);
    expect(stored.serviceAccountsAudited).toBeGreaterThan(0);
  });
});

describe('audit-target of other clusters', () => {
  beforeEach(freshSinks);

  it('audits the healthy cluster of a second account with no finding at high or above', async () => {
    const record = await auditTarget(dependencies(), eventFor(SEARCH, HEALTHY_CLUSTER), invocation());

    const history = await readJson<AuditReport>(record.historyKey);
    expect(record.status).toBe('audited');
    expect(
      history.clusters[0]?.findings.map((finding) => [
        finding.check,
        finding.severity,
        finding.evidence.isClusterCa,
      ]),
    ).toEqual(HEALTHY_FINDINGS);
    expect(record.summary).toEqual(history.clusters[0]?.summary);
    expect(record.podsAudited).toBeGreaterThan(0);
    expect(
      await organization.callerArn(organization.memberCredentials.get(SEARCH) ?? MOTO_CREDENTIALS),
    ).toContain(`arn:aws:sts::${SEARCH}:assumed-role/IrsaAuditorMember/`);
  });

  it('reports a member role that cannot be assumed as IRSA-X01 naming the role and the member stack', async () => {
    const handler = createAuditTargetHandler(environment(), {
      credentials: MOTO_CREDENTIALS,
      log: () => undefined,
      stsPlugins: [
        assumeRoleFaults((roleArn) =>
          stsError('AccessDenied', `not authorized to perform: sts:AssumeRole on resource: ${roleArn}`, 403),
        ),
      ],
    });

    const output = await handler(eventFor(PAYMENTS, INCIDENT_CLUSTER, 'run-denied'), invocation());

    expect(output).toEqual({
      account: PAYMENTS,
      region: HOME_REGION,
      cluster: INCIDENT_CLUSTER,
      status: 'unreachable',
    });
    const history = await readJson<AuditReport>(
      `reports/${PAYMENTS}/${HOME_REGION}/${INCIDENT_CLUSTER}/history/${GENERATED_AT}.json`,
    );
    const findings = history.clusters[0]?.findings ?? [];
    expect(findings.map((finding) => finding.check)).toEqual(['IRSA-X01']);
    expect(findings[0]?.message).toContain(`arn:aws:iam::${PAYMENTS}:role/IrsaAuditorMember`);
    expect(findings[0]?.evidence.reason).toBe('access-denied');
    expect(findings[0]?.remediation).toContain(`Deploy MemberAccountStack in account ${PAYMENTS}`);
    const record = await readJson<ClusterResultRecord>(
      `runs/run-denied/results/${PAYMENTS}/${HOME_REGION}/${INCIDENT_CLUSTER}.json`,
    );
    expect(record).toMatchObject({ status: 'unreachable', auditError: true, drift: { newCount: 1 } });
  });

  it('writes the same keys, and only those, when the same run retries the item', async () => {
    const deps = dependencies();
    await auditTarget(deps, eventFor(SEARCH, HEALTHY_CLUSTER, 'run-retried'), invocation());
    const first = [...(await keysUnder('runs/')), ...(await keysUnder('reports/'))];

    await auditTarget(deps, eventFor(SEARCH, HEALTHY_CLUSTER, 'run-retried'), invocation());

    expect([...(await keysUnder('runs/')), ...(await keysUnder('reports/'))]).toEqual(first);
    expect(first).toEqual([
      `runs/run-retried/baselines/${SEARCH}/${HOME_REGION}/${HEALTHY_CLUSTER}.json`,
      `runs/run-retried/results/${SEARCH}/${HOME_REGION}/${HEALTHY_CLUSTER}.json`,
      `reports/${SEARCH}/${HOME_REGION}/${HEALTHY_CLUSTER}/history/${GENERATED_AT}.json`,
    ]);
  });

  it('throws TargetThrottled when STS throttles AssumeRole beyond the retries, and writes nothing', async () => {
    const deps = dependencies(() => stsError('Throttling', 'Rate exceeded', 400));

    const attempt = auditTarget(deps, eventFor(PAYMENTS, INCIDENT_CLUSTER, 'run-throttled'), invocation());

    await expect(attempt).rejects.toMatchObject({ name: 'TargetThrottled' });
    await expect(attempt).rejects.toThrow(/Rate exceeded/);
    expect(await keysUnder('runs/run-throttled/')).toEqual([]);
  });

  it('throws TargetThrottled when EKS throttles DescribeCluster beyond the retries, and writes nothing', async () => {
    const base = dependencies();
    // Fault injection (SPEC §9): the member session's EKS client answers DescribeCluster as a throttled EKS does.
    const deps: AuditTargetDependencies = {
      ...base,
      sessionFor: (account) => {
        const session = base.sessionFor(account);
        return {
          ...session,
          clients: (region) => {
            const clients = session.clients(region);
            clients.eks.middlewareStack.add(
              (next, context) => async (args) => {
                if (context.commandName !== 'DescribeClusterCommand') return next(args);
                throw Object.assign(new Error('Rate exceeded'), {
                  name: 'ThrottlingException',
                  $fault: 'client',
                  $metadata: { httpStatusCode: 429 },
                });
              },
              { step: 'initialize', name: 'describeClusterThrottled', override: true },
            );
            return clients;
          },
        };
      },
    };

    const attempt = auditTarget(
      deps,
      eventFor(PAYMENTS, INCIDENT_CLUSTER, 'run-eks-throttled'),
      invocation(),
    );

    await expect(attempt).rejects.toMatchObject({ name: 'TargetThrottled' });
    await expect(attempt).rejects.toThrow(/DescribeCluster failed: ThrottlingException: Rate exceeded/);
    expect(await keysUnder('runs/run-eks-throttled/')).toEqual([]);
  });

  it('refuses an item that is not an EKS cluster name, naming the field', async () => {
    await expect(auditTarget(dependencies(), eventFor(PAYMENTS, '../escape'), invocation())).rejects.toThrow(
      /the event\.cluster "\.\.\/escape" is not an EKS cluster name/,
    );
  });
});

describe('audit-target of a cluster whose collection did not happen, after an audited run', () => {
  const denied = () =>
    stsError('AccessDenied', 'not authorized to perform: sts:AssumeRole on the member role', 403);
  // Every severity alerts, so that the incident's IRSA-A01 (info, an AWS-only check) is part of the drift.
  const everySeverity = { ALERT_SEVERITY: 'info' };

  it.each([
    ['the member role is denied', denied, invocation],
    ['the invocation has no time left', () => undefined, () => ({ getRemainingTimeInMillis: () => 0 })],
  ])('resolves nothing and keeps the whole baseline when %s', async (_case, fault, context) => {
    await freshSinks();
    const audited = await auditTarget(
      dependencies(undefined, [], everySeverity),
      eventFor(PAYMENTS, INCIDENT_CLUSTER, 'run-audited'),
      invocation(),
    );
    const baseline = await readJson<AuditReport>(audited.baselineKey);
    const before = baseline.clusters[0]?.findings ?? [];
    // What the aggregate does once the alert is out: the pending baseline becomes latest.json.
    await sinks.s3.send(
      new PutObjectCommand({
        Bucket: sinks.bucket,
        Key: `reports/${PAYMENTS}/${HOME_REGION}/${INCIDENT_CLUSTER}/latest.json`,
        Body: JSON.stringify(baseline),
        Metadata: { 'run-id': 'run-audited' },
      }),
    );

    const record = await auditTarget(
      dependencies(fault, [], everySeverity),
      eventFor(PAYMENTS, INCIDENT_CLUSTER, 'run-not-collected'),
      context(),
    );

    // The incident example's findings (its README): W02, 4 × P01, S05, S07, P02, A01, W06.
    expect(before.map((finding) => finding.check).sort()).toEqual([
      'IRSA-A01',
      'IRSA-P01',
      'IRSA-P01',
      'IRSA-P01',
      'IRSA-P01',
      'IRSA-P02',
      'IRSA-S05',
      'IRSA-S07',
      'IRSA-W02',
      'IRSA-W06',
    ]);
    expect(record.status).not.toBe('audited');
    expect(record.drift).toMatchObject({ newCount: 1, resolvedCount: 0, resolved: [] });
    expect(record.drift.new.map((finding) => finding.check)).toEqual(['IRSA-X01']);
    const kept = await readJson<AuditReport>(record.baselineKey);
    const keptIds = kept.clusters[0]?.findings.map((finding) => finding.id) ?? [];
    expect(keptIds).toEqual(expect.arrayContaining(before.map((finding) => finding.id)));
    expect(keptIds).toHaveLength(before.length + 1);
  });
});
