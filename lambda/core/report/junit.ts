// The report as JUnit XML (the Jenkins/Ant schema CI systems read): one test suite per cluster, one test case
// per check, failing with one <failure> per finding at or above --fail-on; findings below it are listed in the
// case's system-out, so a pipeline shows them without failing on them.

import type { Check } from '../checks/check';
import { CHECKS } from '../checks/registry';
import { type AuditReport, type Finding, resourceLabel, type Severity, severityRank } from '../model/finding';
import { TOOL_NAME } from './tool';

// XML 1.0 allows tab, newline, carriage return and everything from U+0020 but the surrogates and U+FFFE/U+FFFF.
const NOT_XML = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

function xmlEscape(text: string): string {
  return text
    .replace(NOT_XML, '\uFFFD')
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&apos;');
}

const describe = (finding: Finding) =>
  `${finding.severity} ${resourceLabel(finding)}: ${finding.message}\nfix: ${finding.remediation}\nid: ${finding.id}`;

/** JUnit XML of the report; `failOn` none makes every case pass (the findings still appear in system-out). */
export function renderJunit(
  report: AuditReport,
  failOn: Severity | 'none',
  checks: readonly Check[] = CHECKS,
): string {
  const fails = (finding: Finding) =>
    failOn !== 'none' && severityRank(finding.severity) <= severityRank(failOn);
  const suites = report.clusters.map((cluster) => {
    const cases = checks.map((check) => {
      const findings = cluster.findings.filter((finding) => finding.check === check.id);
      const failing = findings.filter(fails);
      const passing = findings.filter((finding) => !fails(finding));
      const body = [
        ...failing.map(
          (finding) =>
            `      <failure type="${finding.severity}" message="${xmlEscape(`${resourceLabel(finding)}: ${finding.message}`)}">${xmlEscape(describe(finding))}</failure>`,
        ),
        ...(passing.length === 0
          ? []
          : [`      <system-out>${xmlEscape(passing.map(describe).join('\n\n'))}</system-out>`]),
      ];
      const open = `    <testcase name="${xmlEscape(`${check.id} ${check.title}`)}" classname="${xmlEscape(`${TOOL_NAME}.${cluster.name}`)}" time="0"`;
      return {
        failures: failing.length > 0 ? 1 : 0,
        xml: body.length === 0 ? `${open}/>` : `${open}>\n${body.join('\n')}\n    </testcase>`,
      };
    });
    const failures = cases.reduce((sum, { failures }) => sum + failures, 0);
    const properties = [
      ['cluster', cluster.name],
      ...(cluster.arn === undefined ? [] : [['arn', cluster.arn]]),
      ['fail-on', failOn],
    ].map(
      ([name, value]) =>
        `      <property name="${xmlEscape(name ?? '')}" value="${xmlEscape(value ?? '')}"/>`,
    );
    return [
      `  <testsuite name="${xmlEscape(`${TOOL_NAME} ${cluster.name}`)}" tests="${cases.length}" failures="${failures}" errors="0" skipped="0" time="0" timestamp="${xmlEscape(report.generatedAt.replace(/\.\d+Z$|Z$/, ''))}">`,
      `    <properties>\n${properties.join('\n')}\n    </properties>`,
      ...cases.map(({ xml }) => xml),
      '  </testsuite>',
    ].join('\n');
  });
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites>\n${suites.join('\n')}\n</testsuites>\n`;
}
