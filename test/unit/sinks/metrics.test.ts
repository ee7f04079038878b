import type { MetricDatum } from '@aws-sdk/client-cloudwatch';
import { describe, expect, it } from 'vitest';
import { CHECKS } from '../../../lambda/core/checks/registry';
import { summarize } from '../../../lambda/core/engine/audit-cluster';
import type { ClusterReport, Finding, Severity } from '../../../lambda/core/model/finding';
import { type ClusterRunResult, metricBatches, metricData } from '../../../lambda/sinks/metrics';

const AT = new Date('2026-11-28T12:00:00Z');

// The check IDs of SPEC §4; the registry may hold more (IRSA-X04), never fewer.
const SPEC_CHECK_IDS = [
  ...['C01', 'C02', 'C03'],
  ...['W01', 'W02', 'W03', 'W04', 'W05', 'W06', 'W07'],
  ...Array.from({ length: 14 }, (_, index) => `S${String(index + 1).padStart(2, '0')}`),
  ...['P01', 'P02', 'P03', 'P04', 'P05', 'P06'],
  ...['A01', 'X01', 'X02', 'X03'],
].map((id) => `IRSA-${id}`);

function finding(check: string, severity: Severity, name: string): Finding {
  return {
    id: `${check}-${name}`,
    check,
    severity,
    title: 'Healthy.',
    resource: { kind: 'Pod', namespace: 'payments', name },
    message: 'Broken.',
    evidence: {},
    remediation: 'Fix it.',
  };
}

function clusterReport(name: string, findings: Finding[]): ClusterReport {
  return { name, summary: summarize(findings), findings };
}

function run(report: ClusterReport, overrides: Partial<ClusterRunResult> = {}): ClusterRunResult {
  return { report, serviceAccountsAudited: 0, podsAudited: 0, auditError: false, ...overrides };
}

/** The value of the one datum with exactly this name and these dimensions. */
function datumValue(
  data: readonly MetricDatum[],
  name: string,
  dimensions: Record<string, string> = {},
): number {
  const wanted = Object.entries(dimensions).sort();
  const matches = data.filter(
    (datum) =>
      datum.MetricName === name &&
      JSON.stringify((datum.Dimensions ?? []).map((d) => [d.Name, d.Value]).sort()) ===
        JSON.stringify(wanted),
  );
  expect(matches, `${name} ${JSON.stringify(dimensions)}`).toHaveLength(1);
  return matches[0]?.Value ?? Number.NaN;
}

describe('metricData', () => {
  // Prepare: two clusters, one with problems and one clean but unreachable.
  const payments = clusterReport('payments-prod', [
    finding('IRSA-P01', 'critical', 'orders-1'),
    finding('IRSA-P01', 'critical', 'orders-2'),
    finding('IRSA-S07', 'high', 'ledger'),
    finding('IRSA-W06', 'info', 'webhook'),
  ]);
  const search = clusterReport('search-prod', [finding('IRSA-X01', 'high', 'search-prod')]);
  const results = [
    run(payments, { serviceAccountsAudited: 12, podsAudited: 40 }),
    run(search, { auditError: true }),
  ];

  it('counts Findings per cluster and severity, zeros included', () => {
    const data = metricData(results, 1234, AT);

    expect(datumValue(data, 'Findings', { Cluster: 'payments-prod', Severity: 'critical' })).toBe(2);
    expect(datumValue(data, 'Findings', { Cluster: 'payments-prod', Severity: 'high' })).toBe(1);
    expect(datumValue(data, 'Findings', { Cluster: 'payments-prod', Severity: 'medium' })).toBe(0);
    expect(datumValue(data, 'Findings', { Cluster: 'payments-prod', Severity: 'low' })).toBe(0);
    expect(datumValue(data, 'Findings', { Cluster: 'payments-prod', Severity: 'info' })).toBe(1);
    expect(datumValue(data, 'Findings', { Cluster: 'search-prod', Severity: 'critical' })).toBe(0);
    expect(datumValue(data, 'Findings', { Cluster: 'search-prod', Severity: 'high' })).toBe(1);
  });

  it('rolls Findings up per severity for the account', () => {
    const data = metricData(results, 1234, AT);

    expect(datumValue(data, 'Findings', { Severity: 'critical' })).toBe(2);
    expect(datumValue(data, 'Findings', { Severity: 'high' })).toBe(2);
    expect(datumValue(data, 'Findings', { Severity: 'medium' })).toBe(0);
    expect(datumValue(data, 'Findings', { Severity: 'low' })).toBe(0);
    expect(datumValue(data, 'Findings', { Severity: 'info' })).toBe(1);
  });

  it('publishes FindingsByCheck for every registered check of every cluster, zeros included', () => {
    const data = metricData(results, 1234, AT);

    const byCheck = data.filter((datum) => datum.MetricName === 'FindingsByCheck');
    const checksOf = (cluster: string) =>
      byCheck
        .filter((datum) => datum.Dimensions?.some((d) => d.Name === 'Cluster' && d.Value === cluster))
        .map((datum) => datum.Dimensions?.find((d) => d.Name === 'Check')?.Value);
    expect(checksOf('payments-prod')).toEqual(CHECKS.map((check) => check.id));
    expect(checksOf('search-prod')).toEqual(CHECKS.map((check) => check.id));
    expect(CHECKS.map((check) => check.id)).toEqual(expect.arrayContaining(SPEC_CHECK_IDS));
    expect(datumValue(data, 'FindingsByCheck', { Cluster: 'payments-prod', Check: 'IRSA-P01' })).toBe(2);
    expect(datumValue(data, 'FindingsByCheck', { Cluster: 'payments-prod', Check: 'IRSA-S07' })).toBe(1);
    expect(datumValue(data, 'FindingsByCheck', { Cluster: 'payments-prod', Check: 'IRSA-C02' })).toBe(0);
    expect(datumValue(data, 'FindingsByCheck', { Cluster: 'search-prod', Check: 'IRSA-X01' })).toBe(1);
  });

  it('publishes what was audited per cluster, the clusters, the audit errors and the duration', () => {
    const data = metricData(results, 1234, AT);

    expect(datumValue(data, 'ServiceAccountsAudited', { Cluster: 'payments-prod' })).toBe(12);
    expect(datumValue(data, 'PodsAudited', { Cluster: 'payments-prod' })).toBe(40);
    expect(datumValue(data, 'ServiceAccountsAudited', { Cluster: 'search-prod' })).toBe(0);
    expect(datumValue(data, 'PodsAudited', { Cluster: 'search-prod' })).toBe(0);
    expect(datumValue(data, 'AuditErrors', { Cluster: 'payments-prod' })).toBe(0);
    expect(datumValue(data, 'AuditErrors', { Cluster: 'search-prod' })).toBe(1);
    expect(datumValue(data, 'AuditErrors')).toBe(1);
    expect(datumValue(data, 'ClustersAudited')).toBe(2);
    expect(datumValue(data, 'AuditDurationMs')).toBe(1234);
  });

  it.each([
    ['Findings', [['Cluster', 'Severity'], ['Severity']]],
    ['FindingsByCheck', [['Check', 'Cluster']]],
    ['ServiceAccountsAudited', [['Cluster']]],
    ['PodsAudited', [['Cluster']]],
    ['ClustersAudited', [[]]],
    ['AuditErrors', [['Cluster'], []]],
    ['AuditDurationMs', [[]]],
  ])('gives %s exactly the dimension sets of SPEC §7', (name, dimensionSets) => {
    const data = metricData(results, 1234, AT);

    const seen = new Set(
      data
        .filter((datum) => datum.MetricName === name)
        .map((datum) => JSON.stringify((datum.Dimensions ?? []).map((d) => d.Name).sort())),
    );
    expect([...seen].sort()).toEqual(dimensionSets.map((set) => JSON.stringify(set)).sort());
  });

  it('publishes only the metric names of SPEC §7, each datum at the run time with its unit', () => {
    const data = metricData(results, 1234, AT);

    expect(new Set(data.map((datum) => datum.MetricName))).toEqual(
      new Set([
        'Findings',
        'FindingsByCheck',
        'ServiceAccountsAudited',
        'PodsAudited',
        'ClustersAudited',
        'AuditErrors',
        'AuditDurationMs',
      ]),
    );
    expect(data.every((datum) => datum.Timestamp === AT)).toBe(true);
    expect(data.filter((datum) => datum.Unit === 'Milliseconds').map((datum) => datum.MetricName)).toEqual([
      'AuditDurationMs',
    ]);
    expect(data.filter((datum) => datum.Unit !== 'Count')).toHaveLength(1);
  });

  it('publishes the account-level zeros when no cluster was audited', () => {
    const data = metricData([], 10, AT);

    expect(datumValue(data, 'ClustersAudited')).toBe(0);
    expect(datumValue(data, 'AuditErrors')).toBe(0);
    expect(datumValue(data, 'Findings', { Severity: 'critical' })).toBe(0);
    expect(data).toHaveLength(5 + 3);
  });
});

describe('metricBatches', () => {
  const datum = (index: number, valueLength = 10): MetricDatum => ({
    MetricName: 'FindingsByCheck',
    Dimensions: [
      { Name: 'Cluster', Value: `cluster-${index}`.padEnd(valueLength, 'x') },
      { Name: 'Check', Value: 'IRSA-P01' },
    ],
    Value: 0,
    Unit: 'Count',
    Timestamp: AT,
  });

  it('puts at most 1,000 datums in one call', () => {
    const data = Array.from({ length: 2500 }, (_, index) => datum(index));

    const batches = metricBatches(data);

    expect(batches.map((batch) => batch.length)).toEqual([1000, 1000, 500]);
    expect(batches.flat()).toEqual(data);
  });

  it('keeps each call under 1 MB when the datums are large', () => {
    // A dimension value may be 1,024 characters long.
    const data = Array.from({ length: 1500 }, (_, index) => datum(index, 1024));

    const batches = metricBatches(data);

    expect(batches.length).toBeGreaterThan(1);
    for (const batch of batches) {
      const body = JSON.stringify({ Namespace: 'IrsaAuditor', MetricData: batch });
      expect(Buffer.byteLength(body)).toBeLessThanOrEqual(1_000_000);
      expect(batch.length).toBeLessThanOrEqual(1000);
    }
    expect(batches.flat()).toEqual(data);
  });

  it('makes no call for no data', () => {
    expect(metricBatches([])).toEqual([]);
  });
});
