// `npm run demo` (SPEC §6): the scheduled handler against moto and the fake API server seeded with
// examples/blog-incident, run twice. The expected findings are those of the example's README.

import { describe, expect, it } from 'vitest';
import { runDemo } from '../../../lambda/cli/demo';
import { runCli, runCommand } from '../../support/run-cli';
import { EXAMPLES } from '../../support/snapshot-dir';

interface Captured {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

async function demo(searchPath?: string): Promise<Captured> {
  let stdout = '';
  let stderr = '';
  const code = await runDemo({
    stdout: (text) => {
      stdout += text;
    },
    stderr: (text) => {
      stderr += text;
    },
    colour: false,
    examplesDirectory: EXAMPLES,
    ...(searchPath === undefined ? {} : { searchPath }),
  });
  return { code, stdout, stderr };
}

// The faults examples/blog-incident/README.md lists, as the table prints each resource and check.
const EXPECTED_FINDINGS = [
  ['MutatingWebhookConfiguration pod-identity-webhook', 'IRSA-W02'],
  ['Pod payments/orders-api-6c8f7d9b4d-49rw9', 'IRSA-P01'],
  ['Pod payments/orders-api-6c8f7d9b4d-qhhfj', 'IRSA-P01'],
  ['Pod payments/orders-api-6c8f7d9b4d-gpbl8', 'IRSA-P01'],
  ['Pod data/etl-runner-29931300-wblf9', 'IRSA-P01'],
  ['ServiceAccount payments/invoice-worker', 'IRSA-S07'],
  ['ServiceAccount monitoring/cloudwatch-agent', 'IRSA-S05'],
  ['Pod kube-system/aws-load-balancer-controller-5d7c6b9f84-srj99', 'IRSA-P02'],
] as const;

function expectBlogIncidentReport(stdout: string): void {
  for (const [resource, check] of EXPECTED_FINDINGS) {
    expect(stdout).toMatch(
      new RegExp(`  ${resource}\\n(    IRSA-.*\\n(              .*\\n)?)*    ${check} `),
    );
  }
  expect(stdout).toContain('Summary: 5 critical, 3 high, 0 medium, 0 low, 2 info in 1 cluster.');
}

describe('npm run demo', () => {
  it('prints the report stored in S3, the metrics read back from CloudWatch and exactly one alert over two runs', async () => {
    const { code, stdout, stderr } = await demo();

    expect(stderr).not.toContain('offline');
    expect(code).toBe(0);
    expectBlogIncidentReport(stdout);
    expect(stdout).toMatch(
      /Report, read back from s3:\/\/irsa-auditor-reports-demo\/reports\/111122223333\/eu-west-1\/platform-prod\/history\/\S+\.json:/,
    );
    // SPEC §7 metrics with the example's counts: 5 critical, 3 high, 4 unmutated pods; one cluster, no audit error.
    expect(stdout).toMatch(/\n {2}Findings Cluster=platform-prod Severity=critical +5\n/);
    expect(stdout).toMatch(/\n {2}Findings Cluster=platform-prod Severity=high +3\n/);
    expect(stdout).toMatch(/\n {2}Findings Severity=critical +5\n/);
    expect(stdout).toMatch(/\n {2}FindingsByCheck Check=IRSA-P01 Cluster=platform-prod +4\n/);
    expect(stdout).toMatch(/\n {2}ClustersAudited +1\n/);
    expect(stdout).toMatch(/\n {2}AuditErrors +0\n/);
    expect(stdout).toMatch(/\n {2}AuditDurationMs +\d+\n/);
    // One alert, on the first run: every current finding at or above high is new.
    expect(stdout.match(/ {2}Subject: /g)).toHaveLength(1);
    expect(stdout).toContain('  Subject: [IRSA] platform-prod: 5 new critical, 3 new high\n');
    expect(stdout).toContain('[CRITICAL] IRSA-W02 MutatingWebhookConfiguration pod-identity-webhook');
    expect(stdout).toContain('alerts received by the SQS queue: 0.');
    expect(stdout).toContain('Two consecutive runs over unchanged state sent 1 alert ');
  }, 60_000);

  it('says that moto_server is missing and audits the example offline, exiting 0', async () => {
    const { code, stdout, stderr } = await demo('/nonexistent-directory');

    expect(code).toBe(0);
    expect(stderr).toContain('moto_server is not installed (pip install "moto[server]")');
    expect(stderr).toContain('offline instead');
    expectBlogIncidentReport(stdout);
    expect(stdout).toContain('no metrics were published and no alert was sent');
  });

  it('is what irsa-audit demo runs', async () => {
    const result = await runCli(['demo'], { io: { env: { PATH: '/nonexistent-directory' } } });

    expect(result.code).toBe(0);
    expect(result.stderr).toContain('moto_server is not installed');
    expectBlogIncidentReport(result.stdout);
  });

  it('runs from the command line as the README says, within a minute', async () => {
    const started = Date.now();

    const result = await runCommand('npm', ['run', '--silent', 'demo']);

    expect(result.code).toBe(0);
    expect(Date.now() - started).toBeLessThan(60_000);
    expectBlogIncidentReport(result.stdout);
    expect(result.stdout).toContain('Two consecutive runs over unchanged state sent 1 alert ');
  }, 90_000);
});
