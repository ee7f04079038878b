// cfn-lint (SPEC §9, on the machine; elsewhere `pip install cfn-lint`) on organization mode's two synthesized
// templates, as test/infra/cfn-lint.test.ts does for single mode: no error in any configuration, and no
// warning but the reviewed ones.

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { synthesizeOrganization } from '../support/cdk-asset';
import { cfnLint, describeMatch, type LintMatch, REVIEWED_WARNINGS } from '../support/cfn-lint';

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

let scratch: string;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'irsa-org-cfn-lint-'));
});

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

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
