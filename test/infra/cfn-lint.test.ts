// cfn-lint (SPEC §9, on the machine; elsewhere `pip install cfn-lint`) on the synthesized templates: no error
// in any configuration. Its warnings are listed and must each be one reviewed here.

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { synthesizeAuditor } from '../support/cdk-asset';
import { cfnLint, describeMatch, type LintMatch, REVIEWED_WARNINGS } from '../support/cfn-lint';

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

let scratch: string;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'irsa-cfn-lint-'));
});

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describe.each(Object.entries(CONFIGURATIONS))('cfn-lint on the template for %s', (name, options) => {
  let matches: LintMatch[];

  beforeAll(async () => {
    const { template } = synthesizeAuditor(options);
    const file = join(scratch, `${name.replace(/\W+/g, '-')}.template.json`);
    await writeFile(file, JSON.stringify(template.toJSON(), null, 1));
    matches = cfnLint(file);
  }, 120_000);

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
