import { describe, expect, it } from 'vitest';
import type { Check } from '../../../lambda/core/checks/check';
import { CHECKS } from '../../../lambda/core/checks/registry';
import {
  auditCluster,
  compareFindings,
  fingerprint,
  sortFindings,
} from '../../../lambda/core/engine/audit-cluster';
import { SEVERITIES } from '../../../lambda/core/model/finding';
import { healthyState, NOW, pod } from '../../support/state-builder';

const options = { now: NOW, webhookName: 'iam-for-pods.amazonaws.com' };

const throwing: Check = {
  id: 'IRSA-Z01',
  title: 'Never fails.',
  severity: 'high',
  remediation: 'Nothing.',
  needs: [],
  run: () => {
    throw new TypeError("Cannot read properties of undefined (reading 'spec')");
  },
};

describe('auditCluster', () => {
  it('reports only the informational failurePolicy note for a healthy cluster', () => {
    const report = auditCluster(healthyState(), options).report;

    expect(report.findings.map((finding) => finding.check)).toEqual(['IRSA-W06']);
    expect(report.summary).toEqual({ critical: 0, high: 0, medium: 0, low: 0, info: 1 });
  });

  it('turns a check that throws into IRSA-X03 naming the check, and runs the others', () => {
    const state = healthyState({ pods: [pod('payments', 'orders-api-1', 'orders-api')] });

    const report = auditCluster(state, options, [...CHECKS, throwing]).report;

    const x03 = report.findings.filter((finding) => finding.check === 'IRSA-X03');
    expect(x03).toHaveLength(1);
    expect(x03[0]?.message).toContain('IRSA-Z01');
    expect(x03[0]?.evidence.error).toContain("reading 'spec'");
    expect(report.findings.some((finding) => finding.check === 'IRSA-P01')).toBe(true);
  });

  it('skips the checks whose input could not be collected, and says so with IRSA-X02', () => {
    const state = healthyState({
      pods: [pod('payments', 'orders-api-1', 'orders-api')],
      collectionErrors: [{ resource: 'pods', reason: 'forbidden', message: 'pods is forbidden' }],
    });

    const report = auditCluster(state, options).report;

    expect(report.findings.map((finding) => finding.check)).not.toContain('IRSA-P01');
    expect(report.findings.filter((finding) => finding.check === 'IRSA-X02')).toEqual([
      expect.objectContaining({ severity: 'high', evidence: expect.objectContaining({ resource: 'pods' }) }),
    ]);
    const x02 = report.findings.find((finding) => finding.check === 'IRSA-X02')!;
    expect(x02.evidence.skippedChecks).toEqual(expect.arrayContaining(['IRSA-P01', 'IRSA-P02', 'IRSA-W05']));
    expect(x02.evidence.skippedChecks).not.toContain('IRSA-S05');
    expect(x02.message).toContain('IRSA-P01');
  });

  it('audits only AWS-side checks of an unreachable cluster and reports IRSA-X01', () => {
    const state = healthyState({
      serviceAccounts: [],
      pods: [],
      mutatingWebhookConfigurations: [],
      collectionErrors: [{ resource: 'cluster-connection', reason: 'timeout', message: 'connect ETIMEDOUT' }],
    });

    const report = auditCluster(state, options).report;

    expect(report.findings.map((finding) => finding.check)).toEqual(['IRSA-X01']);
  });

  it('sorts findings by severity first', () => {
    const state = healthyState({
      pods: [pod('payments', 'orders-api-1', 'orders-api')],
      malformedObjects: [
        {
          source: 'pods.json',
          kind: 'Pod',
          namespace: 'payments',
          name: 'x',
          path: '$.items[3].spec',
          problem: 'missing',
        },
      ],
    });

    const report = auditCluster(state, options).report;

    const ranks = report.findings.map((finding) => SEVERITIES.indexOf(finding.severity));
    expect(ranks).toEqual([...ranks].sort((a, b) => a - b));
    expect(report.findings.map((finding) => finding.check)).toEqual(['IRSA-P01', 'IRSA-X04', 'IRSA-W06']);
  });

  it('fingerprints a finding by check, resource and key, not by message', () => {
    const first = auditCluster(
      healthyState({ pods: [pod('payments', 'orders-api-1', 'orders-api')] }),
      options,
    ).report;
    const changedPhase = auditCluster(
      healthyState({
        pods: [pod('payments', 'orders-api-1', 'orders-api', undefined, { phase: 'Pending' })],
      }),
      options,
    ).report;

    const p01 = (report: typeof first) => report.findings.find((finding) => finding.check === 'IRSA-P01')!;
    expect(p01(changedPhase).id).toBe(p01(first).id);
    expect(fingerprint(['a', 'b'])).not.toBe(fingerprint(['ab']));
  });
});

describe('sortFindings', () => {
  it('orders exactly as compareFindings does', () => {
    const state = healthyState({
      pods: [
        pod('payments', 'b', 'orders-api'),
        pod('payments', 'a', 'orders-api'),
        pod('data', 'c', 'orders-api'),
      ],
    });
    const findings = auditCluster(state, options).report.findings;

    const shuffled = [...findings].reverse();

    expect(sortFindings(shuffled)).toEqual([...shuffled].sort(compareFindings));
  });
});
