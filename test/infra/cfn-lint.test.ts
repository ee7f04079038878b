// cfn-lint (SPEC §9, on the machine; elsewhere `pip install cfn-lint`) on the synthesized templates: no error
// in any configuration. Its warnings are listed and must each be one reviewed here.

import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { synthesizeAuditor } from '../support/cdk-asset';

const CONFIGURATIONS = {
  'every cluster (defaults)': {},
  'configured clusters, VPC, email, probe, cron schedule': {
    context: {
      schedule: 'cron(0 6 ? * MON-FRI *)',
      clusters: 'prod,staging',
      vpcId: 'vpc-0123456789abcdef0',
      subnetIds: 'subnet-0123456789abcdef0,subnet-0fedcba9876543210',
      securityGroupIds: 'sg-0123456789abcdef0',
      alertEmail: 'oncall@example.com',
      probe: true,
    },
  },
  'a known account and region': {
    context: { clusters: 'prod' },
    environment: { CDK_DEFAULT_ACCOUNT: '111122223333', CDK_DEFAULT_REGION: 'eu-west-1' },
  },
};

// W3005 "DependsOn already enforced by a GetAtt": the CDK makes the function depend on its role and the role's
// policy, so the policy exists before Lambda checks the role (VPC functions) or the first invocation.
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
  scratch = await mkdtemp(join(tmpdir(), 'irsa-cfn-lint-'));
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

describe.each(Object.entries(CONFIGURATIONS))('cfn-lint on the template for %s', (name, options) => {
  let matches: LintMatch[];

  beforeAll(async () => {
    const { template } = synthesizeAuditor(options);
    const file = join(scratch, `${name.replace(/\W+/g, '-')}.template.json`);
    await writeFile(file, JSON.stringify(template.toJSON(), null, 1));
    matches = cfnLint(file);
  }, 120_000);

  const describeMatch = (match: LintMatch) =>
    `${match.Rule.Id} at ${(match.Location.Path ?? []).join('/')}: ${match.Message}`;

  it('finds no error', () => {
    // Assess
    expect(matches.filter((match) => match.Level === 'Error').map(describeMatch)).toEqual([]);
  });

  it('finds no warning but the reviewed ones', () => {
    // Assess
    expect(
      matches
        .filter((match) => match.Level !== 'Error' && !REVIEWED_WARNINGS.has(match.Rule.Id))
        .map(describeMatch),
    ).toEqual([]);
  });
});
