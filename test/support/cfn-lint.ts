// Runs cfn-lint (SPEC §9: on the machine; elsewhere `pip install cfn-lint`) on a template file, for the
// infrastructure tests of both modes.

import { spawnSync } from 'node:child_process';

/** One match of `cfn-lint --format json`. */
export interface LintMatch {
  readonly Level: 'Error' | 'Warning' | 'Informational';
  readonly Message: string;
  readonly Rule: { readonly Id: string };
  readonly Location: { readonly Path: readonly (string | number)[] | null };
}

// W3005 "DependsOn already enforced by a GetAtt": the CDK makes each function (and the state machine) depend on
// its role and the role's policy, so the policy exists before Lambda checks the role (VPC functions), the first
// invocation or the first execution.
export const REVIEWED_WARNINGS: ReadonlySet<string> = new Set(['W3005']);

/** Lints one template file; a missing cfn-lint fails with the command that installs it. */
export function cfnLint(templateFile: string): LintMatch[] {
  const run = spawnSync('cfn-lint', ['--format', 'json', '--', templateFile], {
    encoding: 'utf8',
    timeout: 120_000,
  });
  if (run.error !== undefined && (run.error as NodeJS.ErrnoException).code === 'ENOENT')
    throw new Error(
      'cfn-lint is not installed: install it with `pip install cfn-lint` (Python 3) and run the tests again',
    );
  if (run.error !== undefined) throw run.error;
  // Exit status: a bit field of 2 (errors), 4 (warnings), 8 (informational); anything else is a failure to lint.
  if (run.status === null || (run.status & ~(2 | 4 | 8)) !== 0)
    throw new Error(`cfn-lint failed (status ${run.status}): ${run.stderr}`);
  return JSON.parse(run.stdout || '[]') as LintMatch[];
}

/** A match as one line: rule, where, what. */
export const describeMatch = (match: LintMatch): string =>
  `${match.Rule.Id} at ${(match.Location.Path ?? []).join('/')}: ${match.Message}`;
