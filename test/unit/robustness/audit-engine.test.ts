// Runs the engine over random ClusterStates and over states loaded from damaged snapshots: it never
// throws, every finding is well formed, and a check that throws becomes one IRSA-X03 finding.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AuditOptions } from '../../../lambda/core/analysis/context';
import type { Check, FindingDraft } from '../../../lambda/core/checks/check';
import { CHECKS } from '../../../lambda/core/checks/registry';
import { auditCluster } from '../../../lambda/core/engine/audit-cluster';
import type { ClusterState } from '../../../lambda/core/model/cluster-state';
import { type ClusterReport, SEVERITIES } from '../../../lambda/core/model/finding';
import { SnapshotError, stateFromSnapshot } from '../../../lambda/sources/snapshot/snapshot';
import {
  auditTime,
  clusterState,
  damagedSnapshot,
  exampleDocuments,
  runs,
  WEBHOOK_NAME,
} from '../../support/arbitraries';

const CHECK_IDS = new Set(CHECKS.map((check) => check.id));
const NOW = new Date('2026-11-28T12:00:00Z');

const optionsAt = (now: Date, namespaces?: readonly string[]): AuditOptions => ({
  now,
  webhookName: WEBHOOK_NAME,
  ...(namespaces === undefined ? {} : { namespaces }),
});

/** The report contract of SPEC §6 that holds for any input. */
function expectWellFormed(report: ClusterReport, checkIds: ReadonlySet<string> = CHECK_IDS): void {
  for (const finding of report.findings) {
    expect(checkIds.has(finding.check), `unknown check ${finding.check}`).toBe(true);
    expect(finding.id).toMatch(/^[0-9a-f]{16}$/);
    expect(SEVERITIES).toContain(finding.severity);
    expect(finding.title.trim()).not.toBe('');
    expect(finding.message.trim(), `${finding.check} message`).not.toBe('');
    expect(finding.remediation, `${finding.check} remediation`).toMatch(/\.$/);
    expect(finding.resource.name, `${finding.check} resource`).toEqual(expect.any(String));
  }
  for (const severity of SEVERITIES) {
    expect(report.summary[severity]).toBe(report.findings.filter((f) => f.severity === severity).length);
  }
  expect(new Set(report.findings.map((finding) => finding.id)).size).toBe(report.findings.length);
}

const failedChecks = (report: ClusterReport) =>
  report.findings.filter((finding) => finding.check === 'IRSA-X03').map((finding) => finding.message);

describe('audit engine robustness', () => {
  it('audits random cluster states without throwing and with well-formed findings', () => {
    fc.assert(
      fc.property(
        clusterState,
        auditTime,
        fc.option(fc.subarray(['default', 'payments', 'data']), { nil: undefined }),
        (state, now, namespaces) => {
          const report = auditCluster(state, optionsAt(now, namespaces)).report;

          expectWellFormed(report);
          expect(failedChecks(report)).toEqual([]);
        },
      ),
      { numRuns: runs(400) },
    );
  });

  it('audits the same state to the same report', () => {
    fc.assert(
      fc.property(clusterState, auditTime, (state, now) => {
        expect(auditCluster(state, optionsAt(now)).report).toEqual(
          auditCluster(state, optionsAt(now)).report,
        );
      }),
      { numRuns: runs(100) },
    );
  });

  it('audits states loaded from damaged snapshots and reports each malformed object once', () => {
    fc.assert(
      fc.property(damagedSnapshot, ({ documents }) => {
        let state: ClusterState;
        try {
          state = stateFromSnapshot(documents);
        } catch (error) {
          if (error instanceof SnapshotError) return;
          throw error;
        }

        const report = auditCluster(state, optionsAt(NOW)).report;

        expectWellFormed(report);
        expect(failedChecks(report)).toEqual([]);
        expect(report.findings.filter((finding) => finding.check === 'IRSA-X04')).toHaveLength(
          state.malformedObjects.length,
        );
      }),
      { numRuns: runs(200) },
    );
  });

  const thrownValue = fc.oneof(
    fc.string().map((message) => new Error(message)),
    fc.string().map((message) => new TypeError(`${message}\nsecond line`)),
    fc.anything({ withNullPrototype: true, withMap: true, withSet: true, withBigInt: true, withDate: true }),
    fc.constant(Object.create(null) as unknown),
    fc.constant({
      toString() {
        throw new Error('toString throws too');
      },
    } as unknown),
  );

  it('turns a check that throws into exactly one IRSA-X03 finding and keeps the others intact', () => {
    const healthy = stateFromSnapshot(exampleDocuments('healthy'));
    const incident = stateFromSnapshot(exampleDocuments('blog-incident'));
    fc.assert(
      fc.property(
        fc.constantFrom(healthy, incident),
        thrownValue,
        fc.nat({ max: CHECKS.length }),
        fc.boolean(),
        (state, thrown, position, yieldsFirst) => {
          const broken: Check = {
            id: 'IRSA-Z99',
            title: 'A check that throws.',
            severity: 'high',
            remediation: 'None.',
            needs: [],
            *run(): Iterable<FindingDraft> {
              if (yieldsFirst) {
                yield {
                  resource: { kind: 'Cluster', name: 'partial' },
                  message: 'Partial.',
                  evidence: {},
                  remediation: 'None.',
                };
              }
              throw thrown;
            },
          };
          const checks = [...CHECKS.slice(0, position), broken, ...CHECKS.slice(position)];
          const baseline = auditCluster(state, optionsAt(NOW)).report;

          const report = auditCluster(state, optionsAt(NOW), checks).report;

          const failures = report.findings.filter((finding) => finding.check === 'IRSA-X03');
          expect(failures).toHaveLength(1);
          expect(failures[0]?.resource).toEqual({ kind: 'Check', name: 'IRSA-Z99' });
          expect(failures[0]?.message).toContain('IRSA-Z99');
          expect(failures[0]?.severity).toBe('high');
          expectWellFormed(report, new Set([...CHECK_IDS, 'IRSA-Z99']));
          expect(report.findings.filter((f) => f.check !== 'IRSA-X03' && f.check !== 'IRSA-Z99')).toEqual(
            baseline.findings,
          );
        },
      ),
      { numRuns: runs(200) },
    );
  });

  it.each([
    ['an object without a prototype', Object.create(null), 'a thrown Object that cannot be printed'],
    ['an Error without a message', new RangeError(''), 'RangeError'],
    ['a multi-line message', new Error('first line\nsecond line'), 'first line\nsecond line'],
    ['a string', 'plain text', 'plain text'],
  ])('describes a check that throws %s', (_what, thrown: unknown, error) => {
    const state = stateFromSnapshot(exampleDocuments('healthy'));
    const broken: Check = {
      id: 'IRSA-Z99',
      title: 'A check that throws.',
      severity: 'high',
      remediation: 'None.',
      needs: [],
      run: () => {
        throw thrown;
      },
    };

    const report = auditCluster(state, optionsAt(NOW), [broken]).report;

    expect(report.findings).toHaveLength(1);
    expect(report.findings[0]?.evidence.error).toBe(error);
    expect(report.findings[0]?.message).not.toContain('\n');
  });

  it('reports every throwing check of a run by name', () => {
    const state = stateFromSnapshot(exampleDocuments('blog-incident'));
    const throwing = (id: string): Check => ({
      id,
      title: `Check ${id} runs.`,
      severity: 'low',
      remediation: 'None.',
      needs: [],
      run: () => {
        throw new RangeError(`${id} exploded`);
      },
    });

    const report = auditCluster(state, optionsAt(NOW), [
      throwing('IRSA-Z01'),
      ...CHECKS,
      throwing('IRSA-Z02'),
    ]).report;

    expect(report.findings.filter((f) => f.check === 'IRSA-X03').map((f) => f.resource.name)).toEqual([
      'IRSA-Z01',
      'IRSA-Z02',
    ]);
    expect(report.findings.find((f) => f.resource.name === 'IRSA-Z02')?.evidence.error).toBe(
      'IRSA-Z02 exploded',
    );
  });
});
