// The organization's summary alert: subject, grouping by account/region/cluster, and SNS's size limit.

import { describe, expect, it } from 'vitest';
import type { Finding } from '../../../lambda/core/model/finding';
import {
  buildOrganizationAlert,
  type ChangeGroup,
  MAX_PLACES_SHOWN,
} from '../../../lambda/organization/organization-alert';

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

// SNS counts the Message's UTF-8 bytes (the JSON envelope included) and the subject against 256 KB.
const SNS_LIMIT_BYTES = 262_144;

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

const input = (groups: ChangeGroup[], notes: string[] = []) => ({
  runId: 'run-1',
  runAt: new Date('2026-03-02T10:00:00.000Z'),
  summaryUri: 's3://irsa-reports/reports/organization/history/2026-03-02T10:00:00.000Z.json',
  findings: { ...ZERO, critical: 2 },
  groups,
  notes,
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

    expect(Buffer.byteLength(alert.message) + alert.subject.length).toBeLessThan(SNS_LIMIT_BYTES);
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

  it('stays under 256 KB for 10,000 changed places, listing the first ones and saying how many more', () => {
    const places = Array.from({ length: 10_000 }, (_, index) =>
      group(
        String(100_000_000_000 + Math.floor(index / 20)),
        `cluster-${String(index).padStart(5, '0')}-${'x'.repeat(40)}`,
        [finding(`n${index}`, 'high')],
        index % 3 === 0 ? [finding(`r${index}`, 'critical')] : [],
      ),
    );

    const alert = buildOrganizationAlert(input(places));

    expect(Buffer.byteLength(alert.message) + alert.subject.length).toBeLessThan(SNS_LIMIT_BYTES);
    const envelope = JSON.parse(alert.message) as { default: string; email: string };
    const delta = JSON.parse(envelope.default) as {
      newCount: number;
      resolvedCount: number;
      places: number;
      notShown: { places: number };
    };
    expect(delta).toMatchObject({ newCount: 10_000, resolvedCount: 3334, places: 10_000 });
    const placeLines = envelope.email.split('\n').filter((line) => /^ {2}eu-west-1 \/ cluster-/.test(line));
    expect(placeLines.length).toBeGreaterThan(0);
    expect(placeLines.length).toBeLessThanOrEqual(MAX_PLACES_SHOWN);
    expect(delta.notShown.places).toBe(10_000 - placeLines.length);
    expect(envelope.email).toContain(
      `… and ${10_000 - placeLines.length} more places, see s3://irsa-reports/reports/organization/history/2026-03-02T10:00:00.000Z.json`,
    );
    expect(alert.subject).toBe('[IRSA] organization: 10000 new high, 3334 resolved');
  });

  it('falls back to the counts alone when not even the capped place lines fit', () => {
    const notes = Array.from({ length: 30 }, (_, index) => `Note ${index}: ${'n'.repeat(5000)}`);
    const places = Array.from({ length: 10_000 }, (_, index) =>
      group(
        '111122223333',
        `cluster-${index}`,
        [finding(`n${index}`, 'critical')],
        [finding(`r${index}`, 'high')],
      ),
    );

    // A budget the capped place lines exceed (SNS's own is reached only by names far longer than EKS allows).
    const alert = buildOrganizationAlert(input(places, notes), 60_000);

    expect(Buffer.byteLength(alert.message)).toBeLessThan(60_000);
    const envelope = JSON.parse(alert.message) as { default: string; email: string };
    const delta = JSON.parse(envelope.default) as { new: unknown[]; newCount: number; notes: string[] };
    expect(delta).toMatchObject({ newCount: 10_000, new: [], resolvedCount: 10_000, places: 10_000 });
    // Ten notes, each cut to 1,000 characters, and a line saying how many more there were.
    expect(delta.notes).toHaveLength(11);
    expect(delta.notes[0]).toHaveLength(1000);
    expect(delta.notes[10]).toBe('… and 20 more notes: the summary has every error.');
    expect(envelope.email).toContain(
      "10000 new and 10000 resolved findings in 10000 places: the list does not fit SNS's 256 KB, see s3://irsa-reports/",
    );
    expect(envelope.email).not.toContain('cluster-0');
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
