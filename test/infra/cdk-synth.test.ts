// `npx cdk synth` as a user runs it on a fresh clone (issue acceptance): offline, with no AWS credentials in
// the environment, it writes the template and the function's bundle. The in-process helper the bundle smoke
// test uses finds the same bundle the CLI wrote, the one `cdk deploy` would upload.

import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join, relative } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT, synthesizedHandlerAsset } from '../support/cdk-asset';

const run = promisify(execFile);
const CLI_TIMEOUT_MS = 240_000;
const BANNER = "import { createRequire } from 'module'; const require = createRequire(import.meta.url);";

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

async function cdkSynth(outdir: string, ...args: string[]): Promise<CliResult> {
  const home = await mkdtemp(join(scratch, 'home-'));
  try {
    const { stdout, stderr } = await run(
      'npx',
      ['cdk', 'synth', '--quiet', '--no-notices', '-o', outdir, ...args],
      {
        cwd: PROJECT_ROOT,
        env: offlineEnvironment(home),
        timeout: CLI_TIMEOUT_MS,
        maxBuffer: 16 * 1024 * 1024,
      },
    );
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number | string; stdout?: string; stderr?: string };
    if (typeof failed.code !== 'number') throw error;
    return { code: failed.code, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

/** The bundled file of the function in a cloud assembly, through its asset manifest. */
async function functionBundle(outdir: string): Promise<{ key: string; file: string }> {
  const template = JSON.parse(await readFile(join(outdir, 'IrsaAuditor.template.json'), 'utf8')) as {
    Resources: Record<string, { Type: string; Properties: { Code?: { S3Key?: string } } }>;
  };
  const fn = Object.values(template.Resources).find((resource) => resource.Type === 'AWS::Lambda::Function');
  const key = fn?.Properties.Code?.S3Key ?? '';
  const manifest = JSON.parse(await readFile(join(outdir, 'IrsaAuditor.assets.json'), 'utf8')) as {
    files: Record<string, { source: { path: string } }>;
  };
  const asset = manifest.files[key.replace(/\.zip$/, '')];
  return { key, file: join(outdir, asset?.source.path ?? 'missing-asset', 'index.mjs') };
}

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'irsa-cdk-synth-'));
});

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describe('npx cdk synth with no AWS credentials', () => {
  let outdir: string;
  let result: CliResult;

  beforeAll(async () => {
    outdir = join(scratch, 'cdk.out');
    result = await cdkSynth(outdir);
  }, CLI_TIMEOUT_MS);

  it('succeeds, cdk-nag included', () => {
    // Assess
    expect(result.code, result.stderr).toBe(0);
  });

  it('writes a template with the function, schedule, topic, buckets, queue, alarms and dashboard', async () => {
    // Act
    const template = JSON.parse(await readFile(join(outdir, 'IrsaAuditor.template.json'), 'utf8')) as {
      Resources: Record<string, { Type: string }>;
    };
    const types = Object.values(template.Resources).map((resource) => resource.Type);
    const count = (type: string) => types.filter((candidate) => candidate === type).length;

    // Assess
    expect({
      function: count('AWS::Lambda::Function'),
      rule: count('AWS::Events::Rule'),
      topic: count('AWS::SNS::Topic'),
      key: count('AWS::KMS::Key'),
      buckets: count('AWS::S3::Bucket'),
      queue: count('AWS::SQS::Queue'),
      alarms: count('AWS::CloudWatch::Alarm'),
      dashboard: count('AWS::CloudWatch::Dashboard'),
    }).toEqual({ function: 1, rule: 1, topic: 1, key: 1, buckets: 2, queue: 1, alarms: 5, dashboard: 1 });
  });

  it('bakes no account into the template, since none is known without credentials', async () => {
    // Act
    const text = await readFile(join(outdir, 'IrsaAuditor.template.json'), 'utf8');

    // Assess
    expect(text).not.toMatch(/\b\d{12}\b/);
    expect(text).toContain('"Ref": "AWS::AccountId"');
  });

  it('bundles the function as one ESM file that can require Node built-ins', async () => {
    // Act
    const { file } = await functionBundle(outdir);
    const bundle = await readFile(file, 'utf8');

    // Assess
    expect(file.endsWith('.mjs')).toBe(true);
    expect(bundle.startsWith(BANNER)).toBe(true);
    // Everything bundled: no import of a package the Lambda runtime may lack or ship in another version.
    expect(bundle).not.toMatch(/\bfrom\s*["'](@aws-sdk|@kubernetes|@smithy)\//);
  });

  it(
    'stops at a bad context value with one line naming it, not a stack trace',
    async () => {
      // Act
      const failed = await cdkSynth(
        join(scratch, 'bad.out'),
        '-c',
        'schedule=rate(5 minute)',
        '-c',
        'alertSeverity=urgent',
      );

      // Assess
      expect(failed.code).not.toBe(0);
      expect(failed.stderr).toContain('schedule="rate(5 minute)"');
      expect(failed.stderr).toContain('alertSeverity="urgent"');
      expect(failed.stderr).not.toMatch(/^\s+at /m);
    },
    CLI_TIMEOUT_MS,
  );

  it(
    'bundles what the in-process helper finds: the same asset, an absolute path to its index.mjs',
    async () => {
      // Prepare
      const helperOutdir = join(scratch, 'helper.out');

      // Act
      const asset = await synthesizedHandlerAsset(helperOutdir);

      // Assess
      expect(isAbsolute(asset)).toBe(true);
      expect(relative(helperOutdir, asset).startsWith('..')).toBe(false);
      expect((await stat(asset)).isFile()).toBe(true);
      // The asset hash is the hash of the bundle: the same source bundles to the same asset.
      expect(relative(helperOutdir, asset)).toBe(relative(outdir, (await functionBundle(outdir)).file));
    },
    CLI_TIMEOUT_MS,
  );
});
