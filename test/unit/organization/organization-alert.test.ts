// The organization's summary alert: subject, grouping by account/region/cluster, and SNS's size limit.

import { describe, expect, it } from 'vitest';
import type { Finding } from '../../../lambda/model/finding';
import { buildOrganizationAlert, type ChangeGroup } from '../../../lambda/organization/organization-alert';

const ZERO = { critical: 0, high: 0, medium: 0, low: 0, info: 0 };

function finding(id: string, severity: Finding['severity'], extra: Partial<Finding> = {}): Finding {
  return {
    id,
    check: 'IRSA-P01',
    severity,
    title: 'Every pod of an IRSA ServiceAccount was mutated.',
    resource: { kind: 'Pod', namespace: 'payments', name: `orders-${id}` },
    message: `Pod payments/orders-${id} runs with the node role.`,
    evidence: {},
    remediation: 'kubectl -n payments rollout restart deployment/orders.',
    ...extra,
  };
}

function group(
  account: string,
  cluster: string | undefined,
  news: Finding[],
  resolved: Finding[] = [],
): ChangeGroup {
  const newBySeverity = { ...ZERO };
  for (const entry of news) newBySeverity[entry.severity] += 1;
  return {
    account,
    region: 'eu-west-1',
    ...(cluster === undefined ? {} : { cluster }),
    newBySeverity,
    resolvedCount: resolved.length,
    new: news,
    resolved,
  };
}

const input = (groups: ChangeGroup[]) => ({
  runId: 'run-1',
  runAt: new Date('2026-03-02T10:00:00.000Z'),
  summaryUri: 's3://irsa-reports/reports/organization/history/2026-03-02T10:00:00.000Z.json',
  findings: { ...ZERO, critical: 2 },
  groups,
});

describe('buildOrganizationAlert', () => {
  it('counts the changes of every group in the subject', () => {
    const alert = buildOrganizationAlert(
      input([
        group('222233334444', 'search-prod', [finding('a', 'critical')], [finding('b', 'high')]),
        group('111122223333', 'payments-prod', [finding('c', 'critical'), finding('d', 'high')]),
      ]),
    );

    expect(alert.subject).toBe('[IRSA] organization: 2 new critical, 1 new high, 1 resolved');
  });

  it('groups the email by account, then region and cluster, with each remediation', () => {
    const alert = buildOrganizationAlert(
      input([
        group('222233334444', 'search-prod', [finding('a', 'critical')]),
        group('111122223333', undefined, [
          finding('x', 'high', {
            check: 'IRSA-X01',
            resource: { kind: 'Target', name: '111122223333/eu-west-1' },
          }),
        ]),
      ]),
    );

    const { email } = JSON.parse(alert.message) as { email: string };
    const lines = email.split('\n');
    expect(lines.indexOf('Account 111122223333')).toBeLessThan(lines.indexOf('Account 222233334444'));
    expect(email).toContain('  eu-west-1 (the region itself): 1 new, 0 resolved');
    expect(email).toContain('  eu-west-1 / search-prod: 1 new, 0 resolved');
    expect(email).toContain('    Fix: kubectl -n payments rollout restart deployment/orders.');
    expect(email).toContain('Full summary: s3://irsa-reports/reports/organization/history/');
  });

  it('stays under 256 KB for thousands of changes, saying how many it left out', () => {
    const big = Array.from({ length: 4000 }, (_, index) =>
      finding(`f${index}`, 'critical', { evidence: { caBundle: 'x'.repeat(400) } }),
    );

    const alert = buildOrganizationAlert(input([group('111122223333', 'payments-prod', big)]));

    // SNS counts the Message's UTF-8 bytes (the JSON envelope included) and the subject against 256 KB.
    expect(Buffer.byteLength(alert.message) + alert.subject.length).toBeLessThan(262_144);
    const envelope = JSON.parse(alert.message) as { default: string; email: string };
    const delta = JSON.parse(envelope.default) as {
      newCount: number;
      new: unknown[];
      notShown: { new: number };
    };
    expect(delta.newCount).toBe(4000);
    expect(delta.new.length).toBeGreaterThan(0);
    expect(delta.new.length + delta.notShown.new).toBe(4000);
    expect(envelope.email).toMatch(/and \d+ more changed findings not shown/);
  });

  it('compacts a subject that would pass 100 characters', () => {
    const news = (['critical', 'high', 'medium', 'low', 'info'] as const).flatMap((severity) =>
      Array.from({ length: 1234 }, (_, index) => finding(`${severity}${index}`, severity)),
    );

    const alert = buildOrganizationAlert(
      input([group('111122223333', 'payments-prod', news, [finding('r', 'high')])]),
    );

    expect(alert.subject).toBe('[IRSA] organization: 6170 new (1234 critical), 1 resolved');
  });
});
