// --format sarif and --format junit, checked against their published schemas (test/support/schemas): SARIF
// 2.1.0 with ajv, JUnit with xmllint. What each holds is compared with the JSON report of the same audit.

import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Ajv from 'ajv-draft-04';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHECKS } from '../../../lambda/core/checks/registry';
import type { AuditReport } from '../../../lambda/core/model/finding';
import { TOOL_VERSION } from '../../../lambda/core/report/tool';
import { requireTool } from '../../support/faketime';
import { ROOT, runCli } from '../../support/run-cli';
import { EXAMPLES } from '../../support/snapshot-dir';

const SCHEMAS = join(ROOT, 'test', 'support', 'schemas');
const BLOG_INCIDENT = join(EXAMPLES, 'blog-incident');

interface SarifResult {
  ruleId: string;
  ruleIndex: number;
  level: string;
  message: { text: string };
  partialFingerprints: Record<string, string>;
  locations: { logicalLocations: { fullyQualifiedName: string; kind: string }[] }[];
}
interface SarifRule {
  id: string;
  shortDescription: { text: string };
  help: { text: string };
  defaultConfiguration: { level: string };
  properties: { 'security-severity': string };
}
interface SarifLog {
  version: string;
  runs: { tool: { driver: { name: string; version: string; rules: SarifRule[] } }; results: SarifResult[] }[];
}

let validateSarif: ReturnType<Ajv['compile']>;
let scratch: string;
let report: AuditReport;

beforeAll(async () => {
  const schema = JSON.parse(await readFile(join(SCHEMAS, 'sarif-2.1.0.json'), 'utf8'));
  validateSarif = new Ajv({ allErrors: true, strict: false, unicodeRegExp: false }).compile(schema);
  scratch = await mkdtemp(join(tmpdir(), 'irsa-interchange-'));
  report = JSON.parse((await runCli(['audit', '--snapshot', BLOG_INCIDENT, '--format', 'json'])).stdout);
});

afterAll(async () => {
  if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
});

const findingsOf = (audit: AuditReport) => audit.clusters.flatMap((cluster) => cluster.findings);

describe('--format sarif', () => {
  it('validates against the SARIF 2.1.0 schema and holds one result per finding, W02 and P01 among them', async () => {
    const result = await runCli(['audit', '--snapshot', BLOG_INCIDENT, '--format', 'sarif']);
    const log = JSON.parse(result.stdout) as SarifLog;

    expect(validateSarif(log), JSON.stringify(validateSarif.errors)).toBe(true);
    expect(result.code).toBe(1);
    const results = log.runs[0]?.results ?? [];
    const findings = findingsOf(report);
    expect(results.map((entry) => entry.partialFingerprints['irsaFindingId/v1'])).toEqual(
      findings.map((finding) => finding.id),
    );
    expect(results.map((entry) => entry.ruleId)).toEqual(findings.map((finding) => finding.check));
    expect(results.map((entry) => entry.ruleId)).toEqual(expect.arrayContaining(['IRSA-W02', 'IRSA-P01']));
    const p01 = results.find((entry) => entry.ruleId === 'IRSA-P01');
    expect(p01?.level).toBe('error');
    expect(p01?.locations[0]?.logicalLocations[0]).toMatchObject({
      kind: 'Pod',
      fullyQualifiedName: expect.stringMatching(/^platform-prod\/Pod\/[a-z-]+\/[a-z0-9-]+$/),
    });
  });

  it('has one rule per check with its title, remediation as help, level and security-severity', async () => {
    const log = JSON.parse(
      (await runCli(['audit', '--snapshot', BLOG_INCIDENT, '--format', 'sarif'])).stdout,
    ) as SarifLog;
    const driver = log.runs[0]?.tool.driver;

    expect(driver?.name).toBe('irsa-auditor');
    expect(driver?.rules.map((rule) => rule.id)).toEqual(CHECKS.map((check) => check.id));
    const byId = new Map(driver?.rules.map((rule) => [rule.id, rule]));
    // W02 is critical and S07 high (SPEC §4); GitHub reads 9.0+ as critical, 7.0 to 8.9 as high.
    expect(Number(byId.get('IRSA-W02')?.properties['security-severity'])).toBeGreaterThanOrEqual(9);
    expect(Number(byId.get('IRSA-S07')?.properties['security-severity'])).toBeGreaterThanOrEqual(7);
    expect(Number(byId.get('IRSA-S07')?.properties['security-severity'])).toBeLessThan(9);
    const levels = { critical: 'error', high: 'error', medium: 'warning', low: 'note', info: 'note' };
    for (const check of CHECKS) {
      expect(byId.get(check.id)?.shortDescription.text).toBe(check.title);
      expect(byId.get(check.id)?.help.text).toBe(check.remediation);
      expect(byId.get(check.id)?.defaultConfiguration.level).toBe(levels[check.severity]);
    }
    expect(log.runs[0]?.results.every((entry) => driver?.rules[entry.ruleIndex]?.id === entry.ruleId)).toBe(
      true,
    );
  });

  it('is checked for real: the validator refuses a log that breaks the schema', () => {
    expect(validateSarif({ version: '2.0.0', runs: [] })).toBe(false);
    expect(validateSarif({ version: '2.1.0', runs: [{ tool: { driver: {} } }] })).toBe(false);
  });

  it('names the version of package.json', async () => {
    const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(TOOL_VERSION).toBe(pkg.version);
  });
});

const run = promisify(execFile);

/** `xmllint --schema` on a document: its exit code and messages. */
async function xmllint(xml: string): Promise<{ code: number; output: string }> {
  requireTool('xmllint', ['--version'], 'apt-get install libxml2-utils');
  const file = join(scratch, `report-${Date.now()}-${Math.random()}.xml`);
  await writeFile(file, xml);
  try {
    const { stderr } = await run('xmllint', ['--noout', '--schema', join(SCHEMAS, 'junit-4.xsd'), file]);
    return { code: 0, output: stderr };
  } catch (error) {
    const failed = error as { code?: number; stderr?: string };
    return { code: failed.code ?? 1, output: failed.stderr ?? String(error) };
  }
}

describe('--format junit', () => {
  it('validates against the JUnit schema: a case per check, failures for findings at or above --fail-on', async () => {
    const result = await runCli([
      'audit',
      '--snapshot',
      BLOG_INCIDENT,
      '--format',
      'junit',
      '--fail-on',
      'critical',
    ]);

    const checked = await xmllint(result.stdout);
    expect(checked.output).toContain('validates');
    expect(checked.code).toBe(0);
    expect(result.code).toBe(1);
    const cases = [...result.stdout.matchAll(/<testcase name="(IRSA-[A-Z]\d+) /g)].map((match) => match[1]);
    expect(cases).toEqual(CHECKS.map((check) => check.id));
    const findings = findingsOf(report);
    const critical = [...new Set(findings.filter((f) => f.severity === 'critical').map((f) => f.check))];
    expect(result.stdout).toContain(`failures="${critical.length}"`);
    expect([...result.stdout.matchAll(/<failure type="critical"/g)]).toHaveLength(
      findings.filter((finding) => finding.severity === 'critical').length,
    );
    expect(result.stdout).not.toContain('<failure type="high"');
    // Below --fail-on, a finding is shown but does not fail its case.
    const high = findings.find((finding) => finding.severity === 'high');
    expect(result.stdout).toContain(`<system-out>high `);
    expect(result.stdout).toContain(`id: ${high?.id}`);
  });

  it('escapes what XML cannot hold as text, and the schema check is real', async () => {
    const incident = report.clusters[0]!;
    const odd = {
      ...report,
      clusters: [
        {
          ...incident,
          findings: incident.findings.map((finding, index) =>
            index === 0 ? { ...finding, message: `<&"'> \u0001 ${finding.message}` } : finding,
          ),
        },
      ],
    };
    const { renderJunit } = await import('../../../lambda/core/report/junit');

    expect((await xmllint(renderJunit(odd, 'high'))).code).toBe(0);
    expect((await xmllint('<testsuites><testsuite name="x"/></testsuites>')).code).not.toBe(0);
  });
});
