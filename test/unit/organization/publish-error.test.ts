// The error a failed aggregate throws: Step Functions keeps 32,768 characters of its cause, so it names the first
// problems and how many more there were (no network: the summary is built here).

import { describe, expect, it } from 'vitest';
import { OrganizationPublishError } from '../../../lambda/organization/aggregate/aggregate-handler';
import type { OrganizationSummaryOutput } from '../../../lambda/organization/aggregate/aggregate-run';

const summary = (errors: string[]): OrganizationSummaryOutput => ({
  runId: 'run-1',
  generatedAt: '2026-03-02T10:00:00.000Z',
  accounts: 400,
  targets: 800,
  clustersAudited: 5000,
  auditErrors: 0,
  failedTargets: 0,
  findings: { critical: 0, high: 0, medium: 0, low: 0, info: 0 },
  alerted: true,
  newFindings: 0,
  resolvedFindings: 0,
  summaryKey: 'reports/organization/history/2026-03-02T10:00:00.000Z.json',
  errors,
});

describe('OrganizationPublishError', () => {
  it('names the first 20 problems and how many more, within the 32,768 characters of a Step Functions cause', () => {
    const errors = Array.from(
      { length: 5000 },
      (_, index) =>
        `111122223333/eu-west-1/cluster-${index}: the baseline was not advanced, so the next run repeats its changes: ReportStoreError: ${'x'.repeat(200)}`,
    );

    const error = new OrganizationPublishError(summary(errors));

    expect(error.message.length).toBeLessThan(32_768);
    expect(error.message).toMatch(
      /^run run-1: 5000 publishing problem\(s\) \(the summary reports\/organization\/history\/2026-03-02T10:00:00\.000Z\.json has them all\): 111122223333\/eu-west-1\/cluster-0: /,
    );
    expect(error.message).toContain('cluster-19: ');
    expect(error.message).not.toContain('cluster-20: ');
    expect(error.message.endsWith('; … and 4980 more')).toBe(true);
    expect(error.summary.errors).toHaveLength(5000);
  });

  it('cuts a message whose few problems are themselves too long', () => {
    const error = new OrganizationPublishError(summary(['y'.repeat(50_000)]));

    expect(error.message.length).toBeLessThanOrEqual(30_000);
    expect(error.message.endsWith('…')).toBe(true);
  });

  it('lists every problem when there are few', () => {
    const error = new OrganizationPublishError(summary(['metrics: InternalFailure', 'alert: NotFound']));

    expect(error.message).toBe(
      'run run-1: 2 publishing problem(s) (the summary reports/organization/history/2026-03-02T10:00:00.000Z.json has them all): metrics: InternalFailure; alert: NotFound',
    );
  });
});
