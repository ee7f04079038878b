import { describe, expect, it } from 'vitest';
import { baselineAfter, driftOf, hasDrift, unevaluatedChecks } from '../../../lambda/core/drift/drift';
import { auditCluster } from '../../../lambda/core/engine/audit-cluster';
import type { ClusterState } from '../../../lambda/core/model/cluster-state';
import type { ClusterReport, Finding } from '../../../lambda/core/model/finding';
import { healthyState, NOW, pod, roleArn } from '../../support/state-builder';

const options = { now: NOW, webhookName: 'iam-for-pods.amazonaws.com' };
const run = (overrides: Partial<ClusterState> = {}) => auditCluster(healthyState(overrides), options);
const audit = (overrides: Partial<ClusterState> = {}) => run(overrides).report;
const checks = (findings: readonly Finding[]) => findings.map((finding) => finding.check);

// The healthy cluster plus pods of orders-api that the webhook did not mutate (IRSA-P01, critical).
const unmutated = (...names: string[]) => ({
  pods: [
    pod('payments', 'orders-api-7d9f8b6c5-x2x9q', 'orders-api', roleArn('orders-api')),
    ...names.map((name) => pod('payments', name, 'orders-api')),
  ],
});
const unreachable: Partial<ClusterState> = {
  collectionErrors: [
    { resource: 'cluster-connection', reason: 'timeout', message: 'connect ETIMEDOUT 10.0.0.1:443' },
  ],
};

describe('driftOf', () => {
  it('calls every current finding at or above the threshold new on a first run', () => {
    const current = audit(unmutated('orders-api-broken-1'));

    const drift = driftOf(undefined, current, 'high');

    expect(checks(drift.newFindings)).toEqual(['IRSA-P01']);
    expect(drift.resolved).toEqual([]);
  });

  it('finds no drift between two runs over the same state', () => {
    const previous = audit(unmutated('orders-api-broken-1'));
    const current = audit(unmutated('orders-api-broken-1'));

    const drift = driftOf(previous, current, 'info');

    expect(hasDrift(drift)).toBe(false);
  });

  it('reports a new problem and a resolved one by fingerprint', () => {
    const previous = audit(unmutated('orders-api-broken-1'));
    const current = audit(unmutated('orders-api-broken-2'));

    const drift = driftOf(previous, current, 'high');

    expect(drift.newFindings.map((finding) => finding.resource.name)).toEqual(['orders-api-broken-2']);
    expect(drift.resolved.map((finding) => finding.resource.name)).toEqual(['orders-api-broken-1']);
  });

  it('ignores message text and evidence: the same fingerprint is the same problem', () => {
    const previous = audit(unmutated('orders-api-broken-1'));
    const current: ClusterReport = {
      ...previous,
      findings: previous.findings.map((finding) => ({
        ...finding,
        message: 'Reworded.',
        evidence: { at: 1 },
      })),
    };

    expect(hasDrift(driftOf(previous, current, 'info'))).toBe(false);
  });

  it('ignores findings below the threshold', () => {
    const previous = audit();
    const current = audit(unmutated('orders-api-broken-1'));

    const drift = driftOf(previous, current, 'critical');
    const below = driftOf(audit({ mutatingWebhookConfigurations: [] }), audit(), 'critical');

    expect(checks(drift.newFindings)).toEqual(['IRSA-P01']);
    // Fixing the webhook resolves W01 (critical), while W06 (info) appearing is below the threshold.
    expect(checks(below.resolved)).toEqual(['IRSA-W01']);
    expect(below.newFindings).toEqual([]);
  });

  it('treats a finding that crosses the threshold as new there, and one that drops below as resolved', () => {
    const high = audit(unmutated('orders-api-broken-1'));
    const p01 = high.findings.find((finding) => finding.check === 'IRSA-P01');
    const downgraded: ClusterReport = {
      ...high,
      findings: high.findings.map((finding) =>
        finding === p01 ? { ...finding, severity: 'medium' } : finding,
      ),
    };

    expect(checks(driftOf(downgraded, high, 'high').newFindings)).toEqual(['IRSA-P01']);
    expect(checks(driftOf(high, downgraded, 'high').resolved)).toEqual(['IRSA-P01']);
  });

  it('does not resolve what an unreachable cluster could not check, and reports the outage as new', () => {
    const previous = audit(unmutated('orders-api-broken-1'));
    const current = run(unreachable);

    const drift = driftOf(previous, current.report, 'high', unevaluatedChecks(current));

    expect(checks(drift.newFindings)).toEqual(['IRSA-X01']);
    expect(drift.resolved).toEqual([]);
  });

  it('does not resolve the findings of the checks a partial audit skipped (IRSA-X02)', () => {
    const previous = audit(unmutated('orders-api-broken-1'));
    const current = run({
      pods: [],
      collectionErrors: [{ resource: 'pods', reason: 'Forbidden', message: 'pods is forbidden' }],
    });

    const drift = driftOf(previous, current.report, 'high', unevaluatedChecks(current));

    expect(checks(drift.newFindings)).toEqual(['IRSA-X02']);
    expect(drift.resolved).toEqual([]);
  });

  it('resolves the outage itself once the cluster answers again', () => {
    const outage = audit(unreachable);
    const back = audit();

    const drift = driftOf(outage, back, 'high');

    expect(checks(drift.resolved)).toEqual(['IRSA-X01']);
    expect(drift.newFindings).toEqual([]);
  });
});

describe('unevaluatedChecks', () => {
  it('lists the checks that need the Kubernetes API when the cluster is unreachable', () => {
    const unevaluated = unevaluatedChecks(run(unreachable));

    expect(unevaluated).toContain('IRSA-P01');
    expect(unevaluated).toContain('IRSA-W02');
    expect(unevaluated).toContain('IRSA-S07');
    // Checks of AWS data alone still ran.
    expect(unevaluated).not.toContain('IRSA-A01');
    expect(unevaluated).not.toContain('IRSA-X01');
  });

  it('lists nothing for a complete audit', () => {
    expect(unevaluatedChecks(run(unmutated('orders-api-broken-1'))).size).toBe(0);
  });
});

describe('baselineAfter', () => {
  it('keeps the last known findings of the checks an unreachable cluster could not run', () => {
    const previous = audit(unmutated('orders-api-broken-1'));
    const outage = run(unreachable);

    const baseline = baselineAfter(previous, outage.report, unevaluatedChecks(outage));
    const recovered = driftOf(baseline, audit(unmutated('orders-api-broken-1')), 'high');

    expect(checks(baseline.findings).sort()).toEqual(['IRSA-P01', 'IRSA-W06', 'IRSA-X01']);
    expect(baseline.summary).toEqual({ critical: 1, high: 1, medium: 0, low: 0, info: 1 });
    // Back online with the same problem: only the outage's end is news.
    expect(checks(recovered.newFindings)).toEqual([]);
    expect(checks(recovered.resolved)).toEqual(['IRSA-X01']);
  });

  it('is the current report when the audit was complete', () => {
    const current = audit();

    expect(baselineAfter(audit(unmutated('orders-api-broken-1')), current)).toBe(current);
    expect(baselineAfter(undefined, current)).toBe(current);
  });
});
