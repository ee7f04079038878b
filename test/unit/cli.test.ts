import { describe, expect, it } from 'vitest';
import type { AuditReport } from '../../lambda/core/model/finding';
import { runCli, runCommand } from '../support/run-cli';
import { copyExample, EXAMPLES, exampleItems } from '../support/snapshot-dir';

const blogIncident = `${EXAMPLES}/blog-incident`;
const healthy = `${EXAMPLES}/healthy`;

/** Pods of annotated ServiceAccounts without the injected token file, read straight from the example files. */
async function unmutatedIrsaPods(example: string): Promise<string[]> {
  const serviceAccounts = await exampleItems(example, 'serviceaccounts.json');
  const annotated = new Set(
    serviceAccounts
      .filter((sa) => JSON.stringify(sa).includes('eks.amazonaws.com/role-arn'))
      .map((sa) => {
        const metadata = sa.metadata as { namespace: string; name: string };
        return `${metadata.namespace}/${metadata.name}`;
      }),
  );
  const pods = await exampleItems(example, 'pods.json');
  return pods
    .filter((pod) => {
      const metadata = pod.metadata as { namespace: string };
      const spec = pod.spec as { serviceAccountName: string };
      return (
        annotated.has(`${metadata.namespace}/${spec.serviceAccountName}`) &&
        !JSON.stringify(pod).includes('AWS_WEB_IDENTITY_TOKEN_FILE')
      );
    })
    .map((pod) => {
      const metadata = pod.metadata as { namespace: string; name: string };
      return `${metadata.namespace}/${metadata.name}`;
    })
    .sort();
}

describe('irsa-audit audit --snapshot', () => {
  it('reports the wrong caBundle and every unmutated pod of the blog incident, and exits 1', async () => {
    const expectedPods = await unmutatedIrsaPods('blog-incident');

    const result = await runCli(['audit', '--snapshot', blogIncident, '--format', 'json']);

    const report = JSON.parse(result.stdout) as AuditReport;
    const findings = report.clusters[0]!.findings;
    expect(result.code).toBe(1);
    expect(findings.filter((f) => f.check === 'IRSA-W02').map((f) => f.resource)).toEqual([
      { kind: 'MutatingWebhookConfiguration', name: 'pod-identity-webhook' },
    ]);
    const p01 = findings.filter((f) => f.check === 'IRSA-P01');
    expect(p01.map((f) => `${f.resource.namespace}/${f.resource.name}`).sort()).toEqual(expectedPods);
    expect(expectedPods.length).toBeGreaterThanOrEqual(3);
    expect(p01.every((f) => f.severity === 'critical' && f.resource.kind === 'Pod')).toBe(true);
  });

  it('finds the other faults of the blog incident', async () => {
    const result = await runCli(['audit', '--snapshot', blogIncident, '--format', 'json']);

    const findings = (JSON.parse(result.stdout) as AuditReport).clusters[0]!.findings;
    const found = findings.map((f) => `${f.check} ${f.resource.namespace ?? ''}/${f.resource.name}`);
    expect(found).toEqual(
      expect.arrayContaining([
        'IRSA-S07 payments/invoice-worker',
        'IRSA-S05 monitoring/cloudwatch-agent',
        'IRSA-P02 kube-system/aws-load-balancer-controller-5d7c6b9f84-srj99',
        'IRSA-A01 /arn:aws:iam::111122223333:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/B51A9A8EA9E64DC08D5013C64D7C5325',
      ]),
    );
  });

  it('exits 0 on the healthy example with nothing above info', async () => {
    const result = await runCli(['audit', '--snapshot', healthy, '--format', 'json']);

    const report = JSON.parse(result.stdout) as AuditReport;
    expect(result.code).toBe(0);
    expect(report.clusters[0]!.findings.filter((f) => f.severity !== 'info')).toEqual([]);
    expect(report.clusters[0]!.summary).toEqual({ critical: 0, high: 0, medium: 0, low: 0, info: 1 });
  });

  it('reports exactly the findings examples/pod-identity-migration/README.md lists, and exits 1', async () => {
    const result = await runCli([
      'audit',
      '--snapshot',
      `${EXAMPLES}/pod-identity-migration`,
      '--format',
      'json',
    ]);

    const report = JSON.parse(result.stdout) as AuditReport;
    const found = report.clusters[0]!.findings.map(
      (f) => `${f.check} ${f.severity} ${f.resource.kind} ${f.resource.namespace ?? ''}/${f.resource.name}`,
    );
    expect(result.code).toBe(1);
    expect(found.sort()).toEqual([
      'IRSA-P08 high Pod data/etl-runner-29935620-r7x2m',
      'IRSA-P08 high Pod monitoring/cloudwatch-agent-hqsg8',
      'IRSA-P09 medium Node /ip-10-42-78-214.eu-west-1.compute.internal',
      'IRSA-S04 info PodIdentityAssociation data/a-2et4r6y8u0i2o4p6a',
      'IRSA-S12 medium ServiceAccount payments/orders-api',
      'IRSA-S13 high PodIdentityAssociation kube-system/a-3eb1s5c9d3f7g1h5j',
      'IRSA-S15 high Role /arn:aws:iam::111122223333:role/orders-api-pod-identity',
      'IRSA-W06 info MutatingWebhookConfiguration /pod-identity-webhook',
    ]);
  });

  it('prints exactly the documented JSON report shape', async () => {
    const result = await runCli(['audit', '--snapshot', blogIncident, '--format', 'json']);

    const report = JSON.parse(result.stdout) as Record<string, unknown>;
    expect(Object.keys(report).sort()).toEqual(['clusters', 'generatedAt', 'schemaVersion']);
    expect(report.schemaVersion).toBe('1');
    const cluster = (report.clusters as Record<string, unknown>[])[0]!;
    expect(Object.keys(cluster).sort()).toEqual([
      'accountId',
      'arn',
      'findings',
      'name',
      'region',
      'summary',
    ]);
    expect(Object.keys(cluster.summary as object)).toEqual(['critical', 'high', 'medium', 'low', 'info']);
    for (const finding of cluster.findings as Record<string, unknown>[]) {
      expect(Object.keys(finding).sort()).toEqual(
        ['check', 'evidence', 'id', 'message', 'remediation', 'resource', 'severity', 'title'].sort(),
      );
      expect(finding.id).toMatch(/^[0-9a-f]{16}$/);
    }
  });

  it('gives the same finding IDs on every run', async () => {
    const first = await runCli(['audit', '--snapshot', blogIncident, '--format', 'json']);
    const second = await runCli(['audit', '--snapshot', blogIncident, '--format', 'json']);

    const ids = (result: { stdout: string }) =>
      (JSON.parse(result.stdout) as AuditReport).clusters[0]!.findings.map((f) => f.id);
    expect(ids(second)).toEqual(ids(first));
    expect(new Set(ids(first)).size).toBe(ids(first).length);
  });

  it.each([
    ['critical', 1],
    ['none', 0],
    ['info', 1],
  ])('exits as --fail-on %s says', async (failOn, code) => {
    const result = await runCli([
      'audit',
      '--snapshot',
      blogIncident,
      '--fail-on',
      failOn,
      '--format',
      'json',
    ]);

    expect(result.code).toBe(code);
  });

  it('audits only the namespaces named by --namespace', async () => {
    const result = await runCli([
      'audit',
      '--snapshot',
      blogIncident,
      '--format',
      'json',
      '--namespace',
      'data',
    ]);

    const findings = (JSON.parse(result.stdout) as AuditReport).clusters[0]!.findings;
    const namespaced = findings.filter((f) => f.resource.namespace !== undefined);
    expect(namespaced.length).toBeGreaterThan(0);
    expect(namespaced.every((f) => f.resource.namespace === 'data')).toBe(true);
  });

  it('groups the table by severity, with a remediation under each finding and a summary line', async () => {
    const result = await runCli(['audit', '--snapshot', blogIncident]);

    const lines = result.stdout.trimEnd().split('\n');
    expect(lines.indexOf('CRITICAL (5)')).toBeLessThan(lines.indexOf('HIGH (3)'));
    expect(lines.filter((line) => line.trimStart().startsWith('fix: ')).length).toBe(10);
    expect(lines.at(-1)).toBe('Summary: 5 critical, 3 high, 0 medium, 0 low, 2 info in 1 cluster.');
    expect(result.stdout).not.toContain('\u001b[');
  });

  it('colours the table only on a terminal', async () => {
    const result = await runCli(['audit', '--snapshot', blogIncident], { tty: true });

    expect(result.stdout).toContain('\u001b[1;31mCRITICAL');
  });

  it('prints a markdown table', async () => {
    const result = await runCli(['audit', '--snapshot', blogIncident, '--format', 'markdown']);

    expect(result.stdout).toContain('| Severity | Check | Resource | Finding | Remediation |');
    expect(result.stdout).toContain(
      '| critical | IRSA-W02 | MutatingWebhookConfiguration pod-identity-webhook |',
    );
  });
});

describe('irsa-audit input and usage errors', () => {
  it('exits 2 with one line naming pods.json when the snapshot lacks it', async () => {
    const copy = await copyExample('blog-incident');
    await copy.remove('pods.json');

    const result = await runCli(['audit', '--snapshot', copy.directory]);
    await copy.dispose();

    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(result.stderr).toContain('pods.json');
  });

  it('exits 2 when the snapshot directory does not exist', async () => {
    const result = await runCli(['audit', '--snapshot', '/nonexistent/snapshot']);

    expect(result.code).toBe(2);
    expect(result.stderr).toBe('irsa-audit: snapshot directory /nonexistent/snapshot does not exist\n');
  });

  it.each([
    [['audit', '--snapshot', healthy, '--format', 'yaml'], '--format must be one of table, json, markdown'],
    [['audit', '--snapshot', healthy, '--fail-on', 'severe'], '--fail-on must be'],
    [['audit', '--snapshot', healthy, '--colour'], "Unknown option '--colour'"],
    [['audit'], 'audit needs exactly one of --snapshot DIR, --cluster NAME or --kubeconfig [PATH]'],
    [['audit', '--snapshot', healthy, '--cluster', 'x'], 'audit needs exactly one of'],
    [['snapshot', '--cluster', 'x'], 'snapshot needs --out DIR'],
    [['frobnicate'], 'unknown command "frobnicate"'],
  ])('exits 2 with a usage message for %j', async (argv, message) => {
    const result = await runCli(argv);

    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('runs as npx irsa-audit from the repository', async () => {
    const result = await runCommand('npx', [
      'irsa-audit',
      'audit',
      '--snapshot',
      'examples/healthy',
      '--format',
      'json',
    ]);

    expect(result.code).toBe(0);
    expect((JSON.parse(result.stdout) as AuditReport).clusters[0]!.name).toBe('platform-prod');
  });
});
