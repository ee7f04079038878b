// The baselines an organization run compares against and then advances: the organization's own
// (reports/organization/latest.json, the target-level findings, scoped to this run's accounts × regions) and each
// cluster's latest.json (its pending baseline copied on). Neither is ever turned back over a newer run's, so a
// retried or redriven aggregate of an older run leaves them as they are.

import { sortFindings, summarize } from '../../core/engine/audit-cluster';
import { errorText } from '../../core/error-text';
import type { AuditReport, ClusterReport, Finding } from '../../core/model/finding';
import { parseStoredReport, type ReportStore } from '../../sinks/report-store';
import { createConcurrencyLimit } from '../../sources/aws/concurrency-limit';
import {
  type ClusterResultRecord,
  type DiscoveryDocument,
  ORGANIZATION_LATEST_KEY,
  ORGANIZATION_REPORT_NAME,
  type TargetItem,
} from '../run-objects';
import { placeOf, READ_CONCURRENCY } from './run-records';

/** reports/organization/latest.json as the run found it: the report, and which run wrote it when. */
export interface OrganizationBaseline {
  readonly report?: ClusterReport;
  readonly runId?: string;
  readonly generatedAt?: string;
}

export async function readOrganizationBaseline(store: ReportStore): Promise<OrganizationBaseline> {
  const object = await store.getJson(ORGANIZATION_LATEST_KEY);
  if (object === undefined) return {};
  const report = parseStoredReport(JSON.stringify(object.value), store.objectUri(ORGANIZATION_LATEST_KEY));
  const cluster = report.clusters.find((candidate) => candidate.name === ORGANIZATION_REPORT_NAME);
  return {
    ...(cluster === undefined ? {} : { report: cluster }),
    ...(object.runId === undefined ? {} : { runId: object.runId }),
    generatedAt: report.generatedAt,
  };
}

/**
 * The previous organization baseline as this run can compare it: findings of targets outside this run's accounts ×
 * regions are no longer audited (dropped: neither resolved nor kept), findings of clusters whose result could not be
 * read are unknown (carried into the next baseline, not compared).
 */
export function scopedBaseline(
  previous: ClusterReport | undefined,
  discovery: DiscoveryDocument,
  unread: readonly { readonly item: TargetItem }[],
): { readonly compared?: ClusterReport; readonly carried: readonly Finding[]; readonly dropped: number } {
  if (previous === undefined) return { carried: [], dropped: 0 };
  const accounts = new Set(discovery.accounts);
  const regions = new Set(discovery.regions);
  const unknown = new Set(unread.map(({ item }) => placeOf(item)));
  const compared: Finding[] = [];
  const carried: Finding[] = [];
  let dropped = 0;
  for (const finding of previous.findings) {
    const { account, region, cluster } = finding.evidence;
    if (typeof account === 'string' && typeof region === 'string') {
      if (!accounts.has(account) || !regions.has(region)) {
        dropped += 1;
        continue;
      }
      if (typeof cluster === 'string' && unknown.has(placeOf({ account, region, cluster }))) {
        carried.push(finding);
        continue;
      }
    }
    compared.push(finding);
  }
  return {
    compared: { ...previous, summary: summarize(compared), findings: compared },
    carried,
    dropped,
  };
}

export function withCarried(report: ClusterReport, carried: readonly Finding[]): ClusterReport {
  if (carried.length === 0) return report;
  const findings = sortFindings([...report.findings, ...carried]);
  return { ...report, summary: summarize(findings), findings };
}

/**
 * Advances the baseline of every cluster with a record; returns how many a newer run had written already (kept).
 * The copies go as many at a time as the records were read.
 */
export async function advanceClusterBaselines(
  store: ReportStore,
  records: readonly ClusterResultRecord[],
  run: { readonly runId: string; readonly at: Date },
  errors: string[],
): Promise<number> {
  const limit = createConcurrencyLimit(READ_CONCURRENCY);
  const copies = await Promise.all(
    records.map((record) => limit.run(() => advanceBaseline(store, record, run))),
  );
  errors.push(...copies.flatMap((copy) => (typeof copy === 'object' ? [copy.error] : [])));
  return copies.filter((copy) => copy === NEWER_KEPT).length;
}

/** Writes the run's organization report as reports/organization/latest.json, unless a newer run wrote that. */
export async function advanceOrganizationBaseline(
  store: ReportStore,
  run: { readonly runId: string; readonly generatedAt: string; readonly at: Date },
  report: ClusterReport,
  previous: OrganizationBaseline,
  errors: string[],
): Promise<void> {
  const newerOrganization = previous.generatedAt !== undefined && isLater(previous.generatedAt, run.at);
  if (newerOrganization) return;
  try {
    await store.putJson(ORGANIZATION_LATEST_KEY, asAuditReport(report, run.generatedAt), run.runId);
  } catch (error) {
    errors.push(
      `the organization baseline was not advanced, so the next run repeats this alert: ${errorText(error, { named: true })}`,
    );
  }
}

const ADVANCED = 'advanced';
const NEWER_KEPT = 'newer-kept';

/**
 * Copies the cluster's pending baseline onto its latest.json, unless a newer run already wrote that (a retried or
 * redriven aggregate of an older run must not turn a cluster's baseline back); the error line on failure.
 */
async function advanceBaseline(
  store: ReportStore,
  record: ClusterResultRecord,
  run: { readonly runId: string; readonly at: Date },
): Promise<typeof ADVANCED | typeof NEWER_KEPT | { readonly error: string }> {
  const { account, region, cluster } = record;
  try {
    // The report's own time (generatedAt, the run's start), not the object's: a retry writes it again later.
    // From the object's metadata: the baseline itself may be tens of megabytes.
    const existing = await store.latestGeneratedAt(account, region, cluster);
    if (existing !== undefined && isLater(existing, run.at)) return NEWER_KEPT;
  } catch {
    // A latest.json that cannot be read or parsed is replaced, as single mode replaces an unreadable baseline.
  }
  try {
    await store.copy(
      record.baselineKey,
      store.latestKey(account, region, cluster),
      run.runId,
      run.at.toISOString(),
    );
    return ADVANCED;
  } catch (error) {
    return {
      error: `${account}/${region}/${cluster}: the baseline was not advanced, so the next run repeats its changes: ${errorText(error, { named: true })}`,
    };
  }
}

/** True when `generatedAt` is a time after `than`. */
function isLater(generatedAt: string, than: Date): boolean {
  const at = new Date(generatedAt).getTime();
  return !Number.isNaN(at) && at > than.getTime();
}

function asAuditReport(report: ClusterReport, generatedAt: string): AuditReport {
  return { schemaVersion: '1', generatedAt, clusters: [report] };
}
