// Reads cdk-nag's compliance report of one stack (<outdir>/AwsSolutions-<stack>-NagReport.csv), for the
// infrastructure tests of both modes.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** One row of cdk-nag's compliance report. */
export interface ReportRow {
  readonly ruleId: string;
  readonly resource: string;
  readonly compliance: string;
  readonly reason: string;
}

/** The rows of `stackName`'s report in `outdir`. */
export function nagReport(outdir: string, stackName: string): ReportRow[] {
  const file = readdirSync(outdir).find((name) => name.endsWith(`-${stackName}-NagReport.csv`));
  if (file === undefined) throw new Error(`no cdk-nag report for ${stackName} in ${outdir}`);
  // Each synthesis of the app (Template.fromStack synthesizes again) appends its rows: one of each is enough.
  const [, ...lines] = new Set(readFileSync(join(outdir, file), 'utf8').trim().split('\n'));
  return lines.map((line) => {
    // Each field is quoted, a quote inside doubled.
    const fields = [...line.matchAll(/"((?:[^"]|"")*)"/g)].map((match) =>
      (match[1] ?? '').replaceAll('""', '"'),
    );
    const [ruleId = '', resource = '', compliance = '', reason = ''] = fields;
    return { ruleId, resource, compliance, reason };
  });
}
