/// <reference types="vite/client" />
// Discovers every fixture under test/fixtures/checks/<check-id>/ and audits it with the engine and every
// registered check, then reads the findings of the check the fixture is filed under.

import { describe, expect, it } from 'vitest';
import type { Check } from '../../../lambda/core/checks/check';
import { CHECKS } from '../../../lambda/core/checks/registry';
import { auditCluster } from '../../../lambda/core/engine/audit-cluster';
import type { AuditResult } from '../../../lambda/core/model/audit-result';
import type { Finding } from '../../../lambda/core/model/finding';
import { type CheckFixture, optionsOf } from '../../support/check-fixture';

const modules = import.meta.glob<{ default: CheckFixture }>('../../fixtures/checks/*/*.ts', { eager: true });

interface Case {
  readonly checkId: string;
  readonly kind: 'pass' | 'fail';
  readonly file: string;
  readonly fixture: CheckFixture;
}

const cases: Case[] = Object.entries(modules).map(([path, module]) => {
  const [, directory = '', file = ''] = /fixtures\/checks\/([^/]+)\/([^/]+)$/.exec(path) ?? [];
  return {
    checkId: directory.toUpperCase(),
    kind: file.startsWith('pass.') ? 'pass' : 'fail',
    file,
    fixture: module.default,
  };
});

const resourceOf = (finding: Finding) =>
  `${finding.resource.kind} ${finding.resource.namespace === undefined ? '' : `${finding.resource.namespace}/`}${finding.resource.name}`;

interface Audit {
  readonly result: AuditResult;
  /** The findings of the check the fixture is filed under. */
  readonly findings: readonly Finding[];
  /** How many drafts the checks yielded in all: the engine keeps one finding per fingerprint. */
  readonly drafts: number;
}

function audit(testCase: Case): Audit {
  if (!CHECKS.some((check) => check.id === testCase.checkId))
    throw new Error(`fixture ${testCase.file} is filed under unknown check ${testCase.checkId}`);
  let drafts = 0;
  const counted = CHECKS.map(
    (check): Check => ({
      ...check,
      run: (context) => {
        const yielded = [...check.run(context)];
        drafts += yielded.length;
        return yielded;
      },
    }),
  );
  const result = auditCluster(testCase.fixture.state, optionsOf(testCase.fixture), counted);
  const findings = result.report.findings.filter((finding) => finding.check === testCase.checkId);
  return { result, findings, drafts };
}

describe('check fixtures', () => {
  it.each(CHECKS.filter((check) => check.id !== 'IRSA-X03').map((check) => check.id))(
    'has pass and fail fixtures for %s',
    (id) => {
      const kinds = new Set(
        cases.filter((testCase) => testCase.checkId === id).map((testCase) => testCase.kind),
      );

      expect([...kinds].sort()).toEqual(['fail', 'pass']);
    },
  );

  it.each(cases)(
    'evaluates $checkId on $file, no check throws and no two findings share a fingerprint',
    (testCase) => {
      const { result, drafts } = audit(testCase);
      const ids = result.report.findings.map((finding) => finding.id);

      expect(result.evaluated).toContain(testCase.checkId);
      expect(result.failed).toEqual([]);
      expect(new Set(ids).size).toBe(ids.length);
      // Two drafts with one fingerprint would be one finding: a problem the report silently drops.
      expect(ids).toHaveLength(drafts);
    },
  );

  it.each(cases.filter((testCase) => testCase.kind === 'pass'))(
    'reports nothing for $checkId $file',
    (testCase) => {
      const { findings } = audit(testCase);

      expect(findings.map((finding) => `${resourceOf(finding)}: ${finding.message}`)).toEqual([]);
    },
  );

  it.each(cases.filter((testCase) => testCase.kind === 'fail'))('reports $checkId for $file', (testCase) => {
    const check = CHECKS.find((candidate) => candidate.id === testCase.checkId)!;
    const expected = testCase.fixture.expected ?? [];

    const { findings } = audit(testCase);

    expect(expected.length).toBeGreaterThan(0);
    expect(findings.map(resourceOf).sort()).toEqual(expected.map((finding) => finding.resource).sort());
    for (const finding of expected) {
      const reported = findings.find((candidate) => resourceOf(candidate) === finding.resource)!;
      expect(reported.severity).toBe(finding.severity ?? check.severity);
      if (finding.mentions !== undefined) expect(reported.message).toContain(finding.mentions);
      expect(reported.remediation).toMatch(/\.$/);
      expect(reported.message.length).toBeGreaterThan(20);
    }
  });
});
