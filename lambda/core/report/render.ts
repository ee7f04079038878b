// Renders an AuditReport for people (table, markdown) and machines (JSON, SPEC §6; SARIF; JUnit).

import { type AuditReport, resourceLabel, SEVERITIES, type Severity } from '../model/finding';
import { renderJunit } from './junit';
import { renderSarif } from './sarif';

export const FORMATS = ['table', 'json', 'markdown', 'sarif', 'junit'] as const;
export type Format = (typeof FORMATS)[number];

const COLOURS: Record<Severity, string> = {
  critical: '\u001b[1;31m',
  high: '\u001b[31m',
  medium: '\u001b[33m',
  low: '\u001b[36m',
  info: '\u001b[2m',
};
const RESET = '\u001b[0m';
const DIM = '\u001b[2m';

/** `failOn` decides which findings fail a JUnit test case (the CLI's --fail-on); the other formats show all. */
export function renderReport(
  report: AuditReport,
  format: Format,
  colour = false,
  failOn: Severity | 'none' = 'high',
): string {
  switch (format) {
    case 'json':
      return `${JSON.stringify(report, null, 2)}\n`;
    case 'sarif':
      return renderSarif(report);
    case 'junit':
      return renderJunit(report, failOn);
    case 'markdown':
      return renderMarkdown(report);
    case 'table':
      return renderTable(report, colour);
  }
}

/** One line per finding plus its remediation, grouped by severity then resource; summary last. */
export function renderTable(report: AuditReport, colour: boolean): string {
  const paint = (code: string, text: string) => (colour ? `${code}${text}${RESET}` : text);
  const lines: string[] = [];
  for (const cluster of report.clusters) {
    lines.push(
      paint('\u001b[1m', `Cluster ${cluster.name}${cluster.arn === undefined ? '' : ` (${cluster.arn})`}`),
      '',
    );
    for (const severity of SEVERITIES) {
      const findings = cluster.findings.filter((finding) => finding.severity === severity);
      if (findings.length === 0) continue;
      lines.push(paint(COLOURS[severity], `${severity.toUpperCase()} (${findings.length})`));
      let resource = '';
      for (const finding of findings) {
        const label = resourceLabel(finding);
        if (label !== resource) {
          lines.push(`  ${label}`);
          resource = label;
        }
        lines.push(`    ${paint(COLOURS[severity], finding.check)}  ${finding.message}`);
        lines.push(`    ${' '.repeat(finding.check.length)}  ${paint(DIM, `fix: ${finding.remediation}`)}`);
      }
      lines.push('');
    }
    if (cluster.findings.length === 0) lines.push('  No findings.', '');
  }
  lines.push(summaryLine(report));
  return `${lines.join('\n')}\n`;
}

/** `2 critical, 1 high, 0 medium, 0 low, 1 info in 1 cluster`. */
export function summaryLine(report: AuditReport): string {
  const totals = SEVERITIES.map(
    (severity) =>
      `${report.clusters.reduce((sum, cluster) => sum + cluster.summary[severity], 0)} ${severity}`,
  );
  const clusters = report.clusters.length;
  return `Summary: ${totals.join(', ')} in ${clusters} cluster${clusters === 1 ? '' : 's'}.`;
}

const cell = (text: string) => text.replaceAll('|', '\\|').replaceAll('\n', ' ');

export function renderMarkdown(report: AuditReport): string {
  const lines = [`# IRSA audit (${report.generatedAt})`, ''];
  for (const cluster of report.clusters) {
    lines.push(`## ${cluster.name}`, '');
    lines.push(SEVERITIES.map((severity) => `${cluster.summary[severity]} ${severity}`).join(' · '), '');
    if (cluster.findings.length === 0) {
      lines.push('No findings.', '');
      continue;
    }
    lines.push('| Severity | Check | Resource | Finding | Remediation |', '|---|---|---|---|---|');
    for (const finding of cluster.findings) {
      lines.push(
        `| ${finding.severity} | ${finding.check} | ${cell(resourceLabel(finding))} | ${cell(finding.message)} | ${cell(finding.remediation)} |`,
      );
    }
    lines.push('');
  }
  lines.push(summaryLine(report));
  return `${lines.join('\n')}\n`;
}
