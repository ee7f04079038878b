// The check catalogue as a markdown table, generated from the registry so docs never drift from code.

import type { Check } from '../checks/check';
import { CHECKS } from '../checks/registry';

export function catalogueMarkdown(checks: readonly Check[] = CHECKS): string {
  const rows = checks.map(
    (check) => `| ${check.id} | ${check.severity} | ${check.title} | ${check.remediation} |`,
  );
  return ['| ID | Severity | Healthy when | Remediation |', '|---|---|---|---|', ...rows].join('\n');
}

/** Replaces the text between `<!-- NAME:start ... -->` and `<!-- NAME:end -->` of a document. */
export function replaceGeneratedBlock(document: string, name: string, content: string): string {
  const start = document.indexOf(`<!-- ${name}:start`);
  const startEnd = document.indexOf('-->', start);
  const end = document.indexOf(`<!-- ${name}:end -->`);
  if (start < 0 || startEnd < 0 || end < startEnd) throw new Error(`the document has no ${name} markers`);
  return `${document.slice(0, startEnd + 3)}\n${content}\n${document.slice(end)}`;
}
