// SPEC §9's bundle smoke test for organization mode's three steps: the assets `cdk synth` bundles (offline)
// are imported on Node 22, Lambda's nodejs22.x, each in a process of its own with the environment the stack
// gives that function (tokens replaced by placeholder values), and must export a `handler` function. An ESM
// bundle that cannot load (`Dynamic require of "node:assert" is not supported`), or a cold start that rejects
// the stack's environment, fails here. Running the steps against moto is the runtime's tests' business.

import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CfnElement } from 'aws-cdk-lib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ORGANIZATION_STEPS,
  type OrganizationStepName,
  synthesizedOrganizationAssets,
  synthesizeOrganization,
} from '../support/cdk-asset';
import { runOnNode22 } from '../support/node22';

const REGION = 'eu-west-1';
const ACCOUNT = '111122223333';
// What CloudFormation would put where the template has a reference (Ref, Fn::GetAtt).
const PLACEHOLDERS: Readonly<Record<string, string>> = {
  REPORTS_BUCKET: 'irsa-auditor-reports-placeholder',
  REPORTS_KMS_KEY_ID: `arn:aws:kms:${REGION}:${ACCOUNT}:key/0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0`,
  TOPIC_ARN: `arn:aws:sns:${REGION}:${ACCOUNT}:irsa-auditor-alerts`,
};

// Runs in the Node 22 child: imports the bundle as Lambda's runtime imports an ESM handler and writes what
// happened to a file.
const DRIVER = `
import { writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const [asset, resultFile] = process.argv.slice(1);
const write = (result) => writeFileSync(resultFile, JSON.stringify({ node: process.version, ...result }));
try {
  const module = await import(pathToFileURL(asset).href);
  write({ imported: true, handlerType: typeof module.handler });
} catch (error) {
  write({ imported: false, error: String(error && error.stack ? error.stack : error) });
}
process.exit(0);
`;

interface DriverResult {
  readonly node: string;
  readonly imported: boolean;
  readonly handlerType?: string;
  readonly error?: string;
}

let scratch: string;
let assets: Record<OrganizationStepName, string>;
let environments: Record<OrganizationStepName, Record<string, string>>;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'irsa-org-bundle-smoke-'));
  assets = await synthesizedOrganizationAssets(join(scratch, 'cdk.out'));
  // The environment as the template sets it (same context, no bundling needed to read it).
  const { organization, organizationTemplate } = synthesizeOrganization();
  const functions = organizationTemplate.findResources('AWS::Lambda::Function');
  const environmentOf = (step: OrganizationStepName): Record<string, string> => {
    const id = organization.getLogicalId(
      organization.functions[step].function.node.defaultChild as CfnElement,
    );
    const variables = (
      functions[id] as { Properties: { Environment: { Variables: Record<string, unknown> } } }
    ).Properties.Environment.Variables;
    return Object.fromEntries(
      Object.entries(variables).map(([name, value]) => {
        if (typeof value === 'string') return [name, value];
        const placeholder = PLACEHOLDERS[name];
        if (placeholder === undefined) throw new Error(`no placeholder for ${name}=${JSON.stringify(value)}`);
        return [name, placeholder];
      }),
    );
  };
  environments = {
    discover: environmentOf('discover'),
    auditTarget: environmentOf('auditTarget'),
    aggregate: environmentOf('aggregate'),
  };
}, 240_000);

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describe.each(ORGANIZATION_STEPS)('the %s bundle on Node.js 22', (step) => {
  it('imports as Lambda imports it and exports a handler function', async () => {
    // Prepare: what Lambda sets besides the function's own variables.
    const resultFile = join(scratch, `${step}.json`);
    const env = {
      ...environments[step],
      AWS_REGION: REGION,
      AWS_DEFAULT_REGION: REGION,
      AWS_LAMBDA_FUNCTION_NAME: `irsa-auditor-${step}`,
      AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
      LAMBDA_TASK_ROOT: join(assets[step], '..'),
    };

    // Act
    const run = await runOnNode22(DRIVER, [assets[step], resultFile], env, { timeoutMs: 60_000 });
    const result = JSON.parse(await readFile(resultFile, 'utf8')) as DriverResult;

    // Assess
    expect(run.code, run.stderr).toBe(0);
    expect(result.node).toMatch(/^v22\./);
    expect(result.error).toBeUndefined();
    expect(result.imported).toBe(true);
    expect(result.handlerType).toBe('function');
  });
});
