// The organization's target-level IRSA-X01 findings are made by the engine's own path (findingOf), so their IDs
// follow the one fingerprint scheme of every finding: report name, check, resource kind, namespace, name, key.

import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { targetLevelReport } from '../../../lambda/organization/aggregate/missing-targets';
import type { DiscoveryDocument } from '../../../lambda/organization/run-objects';

const discovery: DiscoveryDocument = {
  runId: 'run-1',
  generatedAt: '2026-12-07T12:00:00.000Z',
  accounts: ['111122223333', '444455556666'],
  regions: ['eu-west-1'],
  targets: [
    {
      account: '111122223333',
      region: 'eu-west-1',
      error: { reason: 'access-denied', message: 'not authorized to perform sts:AssumeRole' },
    },
    { account: '444455556666', region: 'eu-west-1', clusters: ['platform-prod'] },
  ],
};
const missing = [
  {
    item: { account: '444455556666', region: 'eu-west-1', cluster: 'platform-prod' },
    missing: 'no-result' as const,
  },
];

// The fingerprint written out: sha256 of the parts joined by NUL, first 16 hex digits.
const idOf = (...parts: string[]) =>
  createHash('sha256').update(parts.join('\u0000')).digest('hex').slice(0, 16);

describe('targetLevelReport', () => {
  it('gives each failed target and each cluster without a result an IRSA-X01 fingerprinted like any finding', () => {
    const report = targetLevelReport(discovery, missing, false);

    expect(report.name).toBe('organization');
    expect(
      report.findings.map((finding) => [
        finding.check,
        finding.resource.kind,
        finding.resource.name,
        finding.id,
      ]),
    ).toEqual([
      [
        'IRSA-X01',
        'Cluster',
        '444455556666/eu-west-1/platform-prod',
        idOf('organization', 'IRSA-X01', 'Cluster', '', '444455556666/eu-west-1/platform-prod', 'no-result'),
      ],
      [
        'IRSA-X01',
        'Target',
        '111122223333/eu-west-1',
        idOf('organization', 'IRSA-X01', 'Target', '', '111122223333/eu-west-1', 'access-denied'),
      ],
    ]);
    expect(report.summary.high).toBe(2);
  });

  it('gives the same problem the same ID run after run, and another reason another ID', () => {
    const first = targetLevelReport(discovery, missing, false).findings.map((finding) => finding.id);
    const again = targetLevelReport(discovery, missing, true).findings.map((finding) => finding.id);
    const unreadable = targetLevelReport(
      discovery,
      [{ ...missing[0]!, missing: 'result-unreadable' }],
      false,
    );

    expect(again).toEqual(first);
    expect(unreadable.findings.map((finding) => finding.id)).not.toContain(first[0]);
  });
});
