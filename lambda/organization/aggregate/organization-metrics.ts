// The organization metrics of a run (namespace IrsaAuditor); sinks/metrics-once.ts publishes them exactly once.

import type { MetricDatum } from '@aws-sdk/client-cloudwatch';
import { type Finding, SEVERITIES, type Severity } from '../../core/model/finding';
import { countDatum } from '../../sinks/metrics';
import type { ClusterResultRecord, DiscoveryDocument } from '../run-objects';

/**
 * The organization metrics (namespace IrsaAuditor): Findings {Account, Severity} and {Severity}; ClustersAudited
 * {Account} and {}; AuditErrors {Account} and {} (failed targets, clusters without a result, unreachable or failed
 * clusters); AuditDurationMs {}. Every discovered account gets every series, zeros included, so alarms resolve.
 */
export function organizationMetricData(
  discovery: DiscoveryDocument,
  records: readonly ClusterResultRecord[],
  targetFindings: readonly Finding[],
  durationMs: number,
  timestamp: Date,
): MetricDatum[] {
  const accounts = [...new Set([...discovery.accounts, ...records.map((record) => record.account)])].sort();
  const perAccount = new Map(
    accounts.map((account) => [
      account,
      {
        findings: { critical: 0, high: 0, medium: 0, low: 0, info: 0 } as Record<Severity, number>,
        clusters: 0,
        errors: 0,
      },
    ]),
  );
  const of = (account: string) => {
    let entry = perAccount.get(account);
    if (entry === undefined) {
      entry = { findings: { critical: 0, high: 0, medium: 0, low: 0, info: 0 }, clusters: 0, errors: 0 };
      perAccount.set(account, entry);
    }
    return entry;
  };
  for (const record of records) {
    const entry = of(record.account);
    entry.clusters += 1;
    if (record.auditError) entry.errors += 1;
    for (const severity of SEVERITIES) entry.findings[severity] += record.summary[severity];
  }
  for (const finding of targetFindings) {
    const account = finding.evidence.account;
    if (typeof account !== 'string') continue;
    const entry = of(account);
    entry.errors += 1;
    entry.findings[finding.severity] += 1;
  }
  const data: MetricDatum[] = [];
  const count = (name: string, value: number, dimensions: Readonly<Record<string, string>> = {}) =>
    data.push(countDatum(name, value, dimensions, timestamp));
  for (const [account, entry] of perAccount) {
    for (const severity of SEVERITIES)
      count('Findings', entry.findings[severity], { Account: account, Severity: severity });
    count('ClustersAudited', entry.clusters, { Account: account });
    count('AuditErrors', entry.errors, { Account: account });
  }
  const entries = [...perAccount.values()];
  for (const severity of SEVERITIES)
    count(
      'Findings',
      entries.reduce((sum, entry) => sum + entry.findings[severity], 0),
      { Severity: severity },
    );
  count('ClustersAudited', records.length);
  count(
    'AuditErrors',
    entries.reduce((sum, entry) => sum + entry.errors, 0),
  );
  data.push({
    MetricName: 'AuditDurationMs',
    Dimensions: [],
    Value: durationMs,
    Unit: 'Milliseconds',
    Timestamp: timestamp,
  });
  return data;
}
