import { describe, expect, it } from 'vitest';
import type { Drift } from '../../../lambda/core/drift/drift';
import { summarize } from '../../../lambda/core/engine/audit-cluster';
import type { ClusterReport, Finding, Severity } from '../../../lambda/core/model/finding';
import { alertSubject, buildAlert } from '../../../lambda/sinks/alerts';

const RUN_AT = new Date('2026-11-28T12:00:00Z');
const REPORT_URI =
  's3://irsa-reports/reports/111122223333/eu-west-1/platform-prod/history/2026-11-28T12:00:00.000Z.json';
// SNS's documented Publish limit: 256 KiB in UTF-8 bytes.
const SNS_LIMIT_BYTES = 262_144;

function finding(check: string, severity: Severity, name: string, extra: Partial<Finding> = {}): Finding {
  return {
    id: `${check}:${name}`,
    check,
    severity,
    title: 'The pod was mutated by the pod identity webhook.',
    resource: { kind: 'Pod', namespace: 'payments', name },
    message: `Pod payments/${name} uses ServiceAccount orders-api but was not mutated, so it runs with the node role.`,
    evidence: { serviceAccount: 'orders-api', containers: ['app'] },
    remediation: `Fix the webhook, then restart it: kubectl -n payments delete pod ${name}`,
    ...extra,
  };
}

function cluster(findings: Finding[], name = 'platform-prod'): ClusterReport {
  return {
    name,
    arn: `arn:aws:eks:eu-west-1:111122223333:cluster/${name}`,
    region: 'eu-west-1',
    accountId: '111122223333',
    summary: summarize(findings),
    findings,
  };
}

interface Envelope {
  readonly default: string;
  readonly email: string;
}
interface Delta {
  readonly newCount: number;
  readonly resolvedCount: number;
  readonly notShown: { readonly new: number; readonly resolved: number };
  readonly new: Finding[];
  readonly resolved: Finding[];
  readonly report: string;
  readonly notes?: string[];
  readonly cluster: { readonly name: string };
}
const envelopeOf = (message: string) => JSON.parse(message) as Envelope;
const deltaOf = (message: string) => JSON.parse(envelopeOf(message).default) as Delta;

describe('alertSubject', () => {
  it('reads "[IRSA] <cluster>: 2 new critical, 1 resolved" as SPEC §7 shows', () => {
    const drift: Drift = {
      newFindings: [finding('IRSA-P01', 'critical', 'a'), finding('IRSA-W02', 'critical', 'b')],
      resolved: [finding('IRSA-S07', 'high', 'c')],
    };

    expect(alertSubject('platform-prod', drift)).toBe('[IRSA] platform-prod: 2 new critical, 1 resolved');
  });

  it('counts new findings per severity, most severe first', () => {
    const drift: Drift = {
      newFindings: [
        finding('IRSA-S07', 'high', 'a'),
        finding('IRSA-P01', 'critical', 'b'),
        finding('IRSA-S08', 'high', 'c'),
      ],
      resolved: [],
    };

    expect(alertSubject('platform-prod', drift)).toBe('[IRSA] platform-prod: 1 new critical, 2 new high');
  });

  it.each([
    ['a 100-character cluster name', 'c'.repeat(100), ['critical', 'high']],
    ['every severity at once', 'platform-prod-eu-west-1-blue', ['critical', 'high', 'medium', 'low', 'info']],
    ['a long name and every severity', `x${'y'.repeat(99)}`, ['critical', 'high', 'medium', 'low', 'info']],
    ['a non-ASCII name', 'prod-ü-€', ['critical']],
  ] as const)('stays within 100 printable ASCII characters with %s', (_, name, severities) => {
    const drift: Drift = {
      newFindings: severities.flatMap((severity) =>
        Array.from({ length: 12_345 }, (_unused, index) =>
          finding('IRSA-P01', severity, `${severity}-${index}`),
        ),
      ),
      resolved: Array.from({ length: 67_890 }, (_unused, index) => finding('IRSA-P01', 'high', `r-${index}`)),
    };

    const subject = alertSubject(name, drift);

    expect(subject.length).toBeLessThanOrEqual(100);
    expect(subject).toMatch(/^\[IRSA\] [\x20-\x7e]+$/);
    expect(subject).toContain('67890 resolved');
  });
});

describe('buildAlert', () => {
  const broken = finding('IRSA-P01', 'critical', 'orders-api-1');
  const resolved = finding('IRSA-S07', 'high', 'ledger-1', {
    resource: { kind: 'ServiceAccount', namespace: 'payments', name: 'ledger' },
    message: 'The trust policy of role ledger does not admit system:serviceaccount:payments:ledger.',
  });
  const report = cluster([broken]);
  const drift: Drift = { newFindings: [broken], resolved: [resolved] };

  it('sends the JSON delta as "default" and readable text as "email"', () => {
    const alert = buildAlert(report, drift, REPORT_URI, RUN_AT);

    const envelope = envelopeOf(alert.message);
    const delta = deltaOf(alert.message);
    expect(Object.keys(envelope).sort()).toEqual(['default', 'email']);
    expect(delta.new.map((item) => item.id)).toEqual([broken.id]);
    expect(delta.resolved.map((item) => item.id)).toEqual([resolved.id]);
    expect(delta).toMatchObject({
      newCount: 1,
      resolvedCount: 1,
      notShown: { new: 0, resolved: 0 },
      report: REPORT_URI,
      cluster: { name: 'platform-prod' },
    });
  });

  it('writes what changed, each new finding with its remediation, and the link to the report', () => {
    const { email } = envelopeOf(buildAlert(report, drift, REPORT_URI, RUN_AT).message);

    expect(email).toContain(
      'IRSA audit of cluster platform-prod (arn:aws:eks:eu-west-1:111122223333:cluster/platform-prod) at 2026-11-28T12:00:00.000Z: 1 new critical, 1 resolved.',
    );
    expect(email).toContain('New findings (1):');
    expect(email).toContain(
      `[CRITICAL] IRSA-P01 Pod payments/orders-api-1\n${broken.message}\nFix: ${broken.remediation}`,
    );
    expect(email).toContain('Resolved findings (1):');
    expect(email).toContain(`[HIGH] IRSA-S07 ServiceAccount payments/ledger\nWas: ${resolved.message}`);
    expect(email).toContain('Findings in platform-prod now: 1 critical, 0 high, 0 medium, 0 low, 0 info.');
    expect(email).toContain(`Full report: ${REPORT_URI}`);
    expect(email).toContain(
      'https://eu-west-1.console.aws.amazon.com/s3/object/irsa-reports?region=eu-west-1&prefix=reports%2F111122223333%2Feu-west-1%2Fplatform-prod%2Fhistory%2F2026-11-28T12%3A00%3A00.000Z.json',
    );
    expect(email).not.toContain('not shown');
  });

  it('puts the notes it is given first in both bodies', () => {
    const note = 'First audit of this cluster: every current finding at or above high is listed.';

    const alert = buildAlert(report, drift, REPORT_URI, RUN_AT, { notes: [note] });

    expect(envelopeOf(alert.message).email.split('\n')[1]).toBe(note);
    expect(deltaOf(alert.message).notes).toEqual([note]);
  });

  it('truncates a huge drift to under 256 KB, most severe first, and says how many are not shown', () => {
    // 20,000 pods lost their credentials at once, and 5,000 old problems were fixed.
    const newFindings = Array.from({ length: 20_000 }, (_, index) =>
      finding('IRSA-P01', index < 100 ? 'critical' : 'high', `orders-api-${index}`),
    );
    const resolvedFindings = Array.from({ length: 5_000 }, (_, index) =>
      finding('IRSA-S07', 'high', `old-${index}`),
    );
    const huge = { newFindings, resolved: resolvedFindings };

    const alert = buildAlert(cluster(newFindings), huge, REPORT_URI, RUN_AT);

    const bytes = Buffer.byteLength(alert.message, 'utf8') + Buffer.byteLength(alert.subject, 'utf8');
    const delta = deltaOf(alert.message);
    const { email } = envelopeOf(alert.message);
    expect(bytes).toBeLessThanOrEqual(SNS_LIMIT_BYTES);
    // Truncation fills the message rather than giving up early.
    expect(bytes).toBeGreaterThan(SNS_LIMIT_BYTES * 0.95);
    // Most of the room goes to new findings, some to resolved ones.
    expect(delta.new.length).toBeGreaterThan(delta.resolved.length);
    expect(delta.resolved.length).toBeGreaterThan(0);
    expect(delta.new.length + delta.notShown.new).toBe(20_000);
    expect(delta.resolved.length + delta.notShown.resolved).toBe(5_000);
    expect(delta.new.map((item) => item.id)).toEqual(
      newFindings.slice(0, delta.new.length).map((item) => item.id),
    );
    expect(email).toContain(`... and ${delta.notShown.new} more new findings not shown`);
    expect(email).toContain(`... and ${delta.notShown.resolved} more resolved findings not shown`);
    expect(email).toContain(`Full report: ${REPORT_URI}`);
    expect(alert.subject).toBe('[IRSA] platform-prod: 100 new critical, 19900 new high, 5000 resolved');
  });

  it('counts bytes, not characters, when the findings are not ASCII', () => {
    const wide = Array.from({ length: 5_000 }, (_, index) =>
      finding('IRSA-P01', 'critical', `zahlungsdienst-${index}`, {
        message: `Pod zahlungsdienst-${index} läuft mit der Knotenrolle 🚨 ${'ü€'.repeat(100)}`,
      }),
    );

    const alert = buildAlert(cluster(wide), { newFindings: wide, resolved: [] }, REPORT_URI, RUN_AT);

    expect(Buffer.byteLength(alert.message, 'utf8')).toBeLessThanOrEqual(SNS_LIMIT_BYTES - 100);
    expect(deltaOf(alert.message).notShown.new).toBeGreaterThan(0);
  });

  it('leaves evidence over 8 KB to the report instead of dropping the finding', () => {
    const bulky = finding('IRSA-W02', 'critical', 'pod-identity-webhook', {
      evidence: { caBundle: 'A'.repeat(1_000_000) },
    });

    const alert = buildAlert(cluster([bulky]), { newFindings: [bulky], resolved: [] }, REPORT_URI, RUN_AT);

    const [shown] = deltaOf(alert.message).new;
    expect(Buffer.byteLength(alert.message, 'utf8')).toBeLessThan(SNS_LIMIT_BYTES);
    expect(shown?.id).toBe(bulky.id);
    expect(shown?.evidence).toEqual({ omitted: '1000015 bytes of evidence; see the full report' });
  });
});
