/// <reference types="vite/client" />
// Discovers every fixture under test/fixtures/checks/<check-id>/ and runs its check against it.

import { describe, expect, it } from 'vitest';
import { AuditContext } from '../../../lambda/core/analysis/context';
import type { FindingDraft } from '../../../lambda/core/checks/check';
import { CHECKS } from '../../../lambda/core/checks/registry';
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

const resourceOf = (draft: FindingDraft) =>
  `${draft.resource.kind} ${draft.resource.namespace === undefined ? '' : `${draft.resource.namespace}/`}${draft.resource.name}`;

function runCheck(testCase: Case): FindingDraft[] {
  const check = CHECKS.find((candidate) => candidate.id === testCase.checkId);
  if (check === undefined)
    throw new Error(`fixture ${testCase.file} is filed under unknown check ${testCase.checkId}`);
  return [...check.run(new AuditContext(testCase.fixture.state, optionsOf(testCase.fixture)))];
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

  it.each(cases.filter((testCase) => testCase.kind === 'pass'))(
    'reports nothing for $checkId $file',
    (testCase) => {
      const drafts = runCheck(testCase);

      expect(drafts.map((draft) => `${resourceOf(draft)}: ${draft.message}`)).toEqual([]);
    },
  );

  it.each(cases.filter((testCase) => testCase.kind === 'fail'))('reports $checkId for $file', (testCase) => {
    const check = CHECKS.find((candidate) => candidate.id === testCase.checkId)!;
    const expected = testCase.fixture.expected ?? [];

    const drafts = runCheck(testCase);

    expect(expected.length).toBeGreaterThan(0);
    expect(drafts.map(resourceOf).sort()).toEqual(expected.map((finding) => finding.resource).sort());
    for (const finding of expected) {
      const draft = drafts.find((candidate) => resourceOf(candidate) === finding.resource)!;
      expect(draft.severity ?? check.severity).toBe(finding.severity ?? check.severity);
      if (finding.mentions !== undefined) expect(draft.message).toContain(finding.mentions);
      expect(draft.remediation).toMatch(/\.$/);
      expect(draft.message.length).toBeGreaterThan(20);
    }
  });
});
