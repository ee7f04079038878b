// cfn-lint (SPEC §9, on the machine; elsewhere `pip install cfn-lint`) on organization mode's two synthesized
// templates, as test/infra/cfn-lint.test.ts does for single mode: no error in any configuration, and no
// warning but the reviewed ones.

import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { synthesizeOrganization } from '../support/cdk-asset';

const CONFIGURATIONS = {
  'listed accounts (acceptance command)': {},
  'every account, email, probe, member clusters, cron schedule': {
    context: {
      accounts: 'all',
      schedule: 'cron(0 6 ? * MON-FRI *)',
      alertEmail: 'oncall@example.com',
      probe: true,
      memberClusters: 'prod,staging',
      auditorAccount: '111122223333',
    },
  },
  'a known account and region': {
    context: { memberClusters: 'prod' },
    environment: { CDK_DEFAULT_ACCOUNT: '111122223333', CDK_DEFAULT_REGION: 'eu-west-1' },
  },
};

// W3005 "DependsOn already enforced by a GetAtt": the CDK makes each function (and the state machine) depend on
// its role and the role's policy, so the policy exists before the first invocation (execution).
const REVIEWED_WARNINGS = new Set(['W3005']);

/** One match of `cfn-lint --format json`. */
interface LintMatch {
  readonly Level: 'Error' | 'Warning' | 'Informational';
  readonly Message: string;
  readonly Rule: { readonly Id: string };
  readonly Location: { readonly Path: readonly (string | number)[] | null };
}

let scratch: string;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'irsa-org-cfn-lint-'));
});

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

function cfnLint(templateFile: string): LintMatch[] {
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

const describeMatch = (match: LintMatch) =>
  `${match.Rule.Id} at ${(match.Location.Path ?? []).join('/')}: ${match.Message}`;

describe.each(Object.entries(CONFIGURATIONS))('cfn-lint on the templates for %s', (name, options) => {
  const matches: Record<string, LintMatch[]> = {};

  beforeAll(async () => {
    const { organizationTemplate, memberTemplate } = synthesizeOrganization(options);
    for (const [stack, template] of [
      ['organization', organizationTemplate],
      ['member', memberTemplate],
    ] as const) {
      const file = join(scratch, `${name.replace(/\W+/g, '-')}-${stack}.template.json`);
      await writeFile(file, JSON.stringify(template.toJSON(), null, 1));
      matches[stack] = cfnLint(file);
    }
  }, 180_000);

  it.each(['organization', 'member'])('finds no error in the %s template', (stack) => {
    // Assess
    expect((matches[stack] ?? []).filter((match) => match.Level === 'Error').map(describeMatch)).toEqual([]);
  });

  it.each(['organization', 'member'])(
    'finds no warning but the reviewed ones in the %s template',
    (stack) => {
      // Assess
      expect(
        (matches[stack] ?? [])
          .filter((match) => match.Level !== 'Error' && !REVIEWED_WARNINGS.has(match.Rule.Id))
          .map(describeMatch),
      ).toEqual([]);
    },
  );
});
