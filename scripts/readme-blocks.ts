// The generated parts of README.md: the check catalogue and the sample output of the shipped example.

import { join } from 'node:path';
import { catalogueMarkdown, replaceGeneratedBlock } from '../lambda/core/report/catalogue';
import { renderReport } from '../lambda/core/report/render';
import { runAudit } from '../lambda/pipeline/run-audit';
import { loadSnapshot } from '../lambda/sources/snapshot/snapshot';

const EXAMPLE = join(import.meta.dirname, '..', 'examples', 'blog-incident');

/** The README with its generated blocks brought up to date. */
export async function generatedReadme(readme: string): Promise<string> {
  const report = await runAudit([{ label: EXAMPLE, collect: () => loadSnapshot(EXAMPLE) }], {
    now: new Date(),
    webhookName: 'iam-for-pods.amazonaws.com',
  });
  const sample = ['```text', renderReport(report, 'table').trimEnd(), '```'].join('\n');
  return replaceGeneratedBlock(
    replaceGeneratedBlock(readme, 'check-catalogue', catalogueMarkdown()),
    'sample-output',
    sample,
  );
}
