// The acceptance command run as a user runs it on a fresh clone, offline with no AWS credentials:
// `npx cdk synth -c mode=organization -c accounts=111111111111,222222222222 -c regions=eu-west-1,us-east-1`
// writes the organization template (a state machine with a Distributed Map) and the member template. Then
// `cdk deploy IrsaAuditorMember` against moto's CloudFormation: an account that was never bootstrapped, as
// every member account is.

import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { GetRoleCommand } from '@aws-sdk/client-iam';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MOTO_ACCOUNT_ID, MOTO_CREDENTIALS, motoClients } from '../../lambda/emulators/moto';
import { PROJECT_ROOT } from '../support/cdk-asset';
import { useMoto } from '../support/use-moto';

const run = promisify(execFile);
const CLI_TIMEOUT_MS = 300_000;
const BANNER = "import { createRequire } from 'module'; const require = createRequire(import.meta.url);";
const ACCEPTANCE = [
  '-c',
  'mode=organization',
  '-c',
  'accounts=111111111111,222222222222',
  '-c',
  'regions=eu-west-1,us-east-1',
];
const REGION = 'eu-west-1';
const AUDITOR_ACCOUNT = '999999999999';

const moto = useMoto({ resetBeforeEach: false });
let scratch: string;

/** The environment of a machine with no AWS configuration at all: no keys, no profile, no instance role. */
function offlineEnvironment(home: string): NodeJS.ProcessEnv {
  const environment = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !/^(AWS_|CDK_)/.test(name)),
  );
  return {
    ...environment,
    HOME: home,
    AWS_CONFIG_FILE: join(home, 'no-aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(home, 'no-aws-credentials'),
    // Otherwise the SDK asks the EC2 instance metadata service for credentials, and waits for it.
    AWS_EC2_METADATA_DISABLED: 'true',
    CDK_DISABLE_CLI_TELEMETRY: 'true',
  };
}

interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

async function cdk(args: readonly string[], extraEnvironment: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  const home = await mkdtemp(join(scratch, 'home-'));
  try {
    const { stdout, stderr } = await run('npx', ['cdk', ...args], {
      cwd: PROJECT_ROOT,
      env: { ...offlineEnvironment(home), ...extraEnvironment },
      timeout: CLI_TIMEOUT_MS,
      maxBuffer: 16 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number | string; stdout?: string; stderr?: string };
    if (typeof failed.code !== 'number') throw error;
    return { code: failed.code, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

interface TemplateJson {
  readonly Parameters?: Record<string, unknown>;
  readonly Rules?: unknown;
  readonly Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
}

const readTemplate = async (outdir: string, stack: string) =>
  JSON.parse(await readFile(join(outdir, `${stack}.template.json`), 'utf8')) as TemplateJson;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'irsa-org-cdk-synth-'));
});

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describe('npx cdk synth of the acceptance command with no AWS credentials', () => {
  let outdir: string;
  let result: CliResult;

  beforeAll(async () => {
    outdir = join(scratch, 'cdk.out');
    result = await cdk(['synth', '--quiet', '--no-notices', '-o', outdir, ...ACCEPTANCE]);
  }, CLI_TIMEOUT_MS);

  it('succeeds, cdk-nag included, and writes exactly the two stacks', async () => {
    // Act
    const templates = (await readdir(outdir)).filter((name) => name.endsWith('.template.json')).sort();

    // Assess
    expect(result.code, result.stderr).toBe(0);
    expect(templates).toEqual(['IrsaAuditorMember.template.json', 'IrsaAuditorOrganization.template.json']);
  });

  it('writes a STANDARD state machine whose definition holds a Distributed Map, and its schedule', async () => {
    // Act
    const template = await readTemplate(outdir, 'IrsaAuditorOrganization');
    const resources = Object.values(template.Resources);
    const [machine] = resources.filter((resource) => resource.Type === 'AWS::StepFunctions::StateMachine');
    const definition = JSON.stringify(machine?.Properties.DefinitionString);

    // Assess
    expect(machine?.Properties.StateMachineType).toBe('STANDARD');
    expect(definition).toContain('\\"Mode\\":\\"DISTRIBUTED\\"');
    expect(definition).toContain('\\"ItemReader\\"');
    expect(resources.filter((resource) => resource.Type === 'AWS::Lambda::Function')).toHaveLength(3);
    expect(resources.filter((resource) => resource.Type === 'AWS::Events::Rule')).toHaveLength(1);
  });

  it('bundles the three steps as ESM files that can require Node built-ins', async () => {
    // Act
    const manifest = JSON.parse(
      await readFile(join(outdir, 'IrsaAuditorOrganization.assets.json'), 'utf8'),
    ) as {
      files: Record<string, { source: { path: string; packaging?: string } }>;
    };
    const bundles = Object.values(manifest.files).filter((asset) => asset.source.packaging === 'zip');

    // Assess
    expect(bundles).toHaveLength(3);
    for (const asset of bundles) {
      const bundle = await readFile(join(outdir, asset.source.path, 'index.mjs'), 'utf8');
      expect(bundle.startsWith(BANNER)).toBe(true);
      expect(bundle).not.toMatch(/\bfrom\s*["'](@aws-sdk|@kubernetes|@smithy)\//);
    }
  });

  it('writes a member template with no assets and no bootstrap check, for StackSets', async () => {
    // Act
    const template = await readTemplate(outdir, 'IrsaAuditorMember');
    const manifest = JSON.parse(await readFile(join(outdir, 'manifest.json'), 'utf8')) as {
      artifacts: Record<string, { type: string; properties?: Record<string, unknown> }>;
    };

    // Assess
    expect(Object.keys((template.Rules ?? {}) as object)).not.toContain('CheckBootstrapVersion');
    expect(Object.keys(template.Parameters ?? {}).sort()).toEqual([
      'AuditorAccountId',
      'CreateMemberRole',
      'ExternalId',
    ]);
    expect(manifest.artifacts['IrsaAuditorMember.assets']).toBeUndefined();
    expect(manifest.artifacts.IrsaAuditorMember?.properties?.assumeRoleArn).toBeUndefined();
    expect(Object.values(template.Resources).map(({ Type }) => Type)).toContain('AWS::IAM::Role');
  });

  it(
    'stops at bad organization context with one line naming every problem, not a stack trace',
    async () => {
      // Act
      const failed = await cdk([
        'synth',
        '--quiet',
        '--no-notices',
        '-o',
        join(scratch, 'bad.out'),
        '-c',
        'mode=organization',
        '-c',
        'accounts=1234',
        '-c',
        'maxConcurrency=0',
      ]);

      // Assess
      expect(failed.code).not.toBe(0);
      expect(failed.stderr).toContain('accounts="1234"');
      expect(failed.stderr).toContain('regions=undefined');
      expect(failed.stderr).toContain('maxConcurrency="0"');
      expect(failed.stderr).not.toMatch(/^\s+at /m);
    },
    CLI_TIMEOUT_MS,
  );
});

describe('npx cdk deploy IrsaAuditorMember into an account that was never bootstrapped (moto)', () => {
  let result: CliResult;

  beforeAll(async () => {
    result = await cdk(
      [
        'deploy',
        'IrsaAuditorMember',
        '--require-approval',
        'never',
        '--no-notices',
        '-o',
        join(scratch, 'deploy.out'),
        ...ACCEPTANCE,
        '--parameters',
        `IrsaAuditorMember:AuditorAccountId=${AUDITOR_ACCOUNT}`,
        '--parameters',
        'IrsaAuditorMember:ExternalId=acme-7f3c9e1d',
      ],
      {
        AWS_ENDPOINT_URL: moto.endpoint,
        AWS_ACCESS_KEY_ID: MOTO_CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: MOTO_CREDENTIALS.secretAccessKey,
        AWS_REGION: REGION,
        AWS_DEFAULT_REGION: REGION,
      },
    );
  }, CLI_TIMEOUT_MS);

  it('deploys with the CLI`s own credentials: no bootstrap stack, deploy role or asset bucket is needed', () => {
    // Assess
    expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);
    expect(result.stderr).not.toMatch(/bootstrap/i);
  });

  it('creates the member role, trusted by the auditor account`s two roles with the given external ID', async () => {
    // Act
    const { iam } = motoClients(moto.endpoint, REGION);
    const { Role } = await iam.send(new GetRoleCommand({ RoleName: 'IrsaAuditorMember' }));
    const trust = JSON.parse(decodeURIComponent(Role?.AssumeRolePolicyDocument ?? '{}')) as {
      Statement: { Principal: unknown; Condition: Record<string, Record<string, unknown>> }[];
    };

    // Assess
    expect(Role?.Arn).toBe(`arn:aws:iam::${MOTO_ACCOUNT_ID}:role/IrsaAuditorMember`);
    expect(trust.Statement).toHaveLength(1);
    expect(trust.Statement[0]?.Principal).toEqual({ AWS: `arn:aws:iam::${AUDITOR_ACCOUNT}:root` });
    expect(trust.Statement[0]?.Condition).toEqual({
      StringEquals: { 'sts:ExternalId': 'acme-7f3c9e1d' },
      ArnEquals: {
        'aws:PrincipalArn': [
          `arn:aws:iam::${AUDITOR_ACCOUNT}:role/IrsaAuditorDiscover`,
          `arn:aws:iam::${AUDITOR_ACCOUNT}:role/IrsaAuditorTargetAudit`,
        ],
      },
    });
  });
});
