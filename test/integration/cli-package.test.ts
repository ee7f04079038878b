// The CLI that installs anywhere: `npm pack` builds the bundle (prepack) and packs it; the tarball is installed
// into an empty temporary prefix, offline, and the installed irsa-audit (and kubectl's plugin of it) audits
// copies of the shipped examples from an empty directory, with no access to the repository or its node_modules.

import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditReport } from '../../lambda/core/model/finding';
import { requireTool } from '../support/faketime';
import { ROOT } from '../support/run-cli';
import { EXAMPLES } from '../support/snapshot-dir';

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function run(command: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      command,
      [...args],
      { cwd, env, timeout: 180_000, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) =>
        resolve({
          code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1,
          stdout,
          stderr,
        }),
    );
  });
}

let scratch: string;
let prefix: string;
let empty: string;
let tarball: string;
/** Only the prefix's bin, node itself and the system's tools: no repository path, no NODE_PATH. */
let isolated: NodeJS.ProcessEnv;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'irsa-cli-package-'));
  prefix = join(scratch, 'prefix');
  empty = join(scratch, 'work');
  await mkdir(empty);
  const packed = await run('npm', ['pack', '--pack-destination', scratch, '--silent'], ROOT, process.env);
  if (packed.code !== 0) throw new Error(`npm pack failed: ${packed.stderr}`);
  tarball = join(scratch, packed.stdout.trim().split('\n').pop() ?? '');
  isolated = {
    PATH: [join(prefix, 'bin'), dirname(process.execPath), '/usr/local/bin', '/usr/bin', '/bin'].join(':'),
    HOME: scratch,
    NO_COLOR: '1',
  };
  // --offline: the package needs nothing from the registry; its bundle is all it runs.
  const installed = await run(
    'npm',
    ['install', '--global', '--prefix', prefix, '--offline', '--no-audit', '--no-fund', tarball],
    empty,
    { ...isolated, npm_config_cache: join(scratch, 'npm-cache') },
  );
  if (installed.code !== 0) throw new Error(`npm install of ${tarball} failed: ${installed.stderr}`);
}, 300_000);

afterAll(async () => {
  if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
});

async function filesUnder(directory: string): Promise<string[]> {
  const entries = await readdir(directory, { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name));
}

describe('the packed irsa-audit CLI', () => {
  it('installs with no dependency and no TypeScript: the bin runs the bundle', async () => {
    const installedRoot = join(prefix, 'lib', 'node_modules', 'irsa-auditor');
    const files = await filesUnder(installedRoot);

    expect(files.filter((file) => file.endsWith('.ts'))).toEqual([]);
    expect(files.some((file) => file.includes(`${join(installedRoot, 'node_modules')}`))).toBe(false);
    expect(files).toContain(join(installedRoot, 'dist', 'cli', 'irsa-audit.mjs'));
    expect((await readdir(join(prefix, 'bin'))).sort()).toEqual(['irsa-audit', 'kubectl-irsa_audit']);
  });

  it('audits a copy of examples/healthy from an empty directory and exits 0', async () => {
    const snapshot = join(scratch, 'healthy');
    await cp(join(EXAMPLES, 'healthy'), snapshot, { recursive: true });

    const result = await run('irsa-audit', ['audit', '--snapshot', snapshot], empty, isolated);

    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Summary: 0 critical, 0 high, 0 medium, 0 low, 1 info in 1 cluster.');
  });

  it('answers as a kubectl plugin: kubectl irsa-audit audit --format json on the blog incident', async () => {
    requireTool(
      'kubectl',
      ['version', '--client'],
      'install kubectl (https://kubernetes.io/docs/tasks/tools/)',
    );
    const snapshot = join(scratch, 'blog-incident');
    await cp(join(EXAMPLES, 'blog-incident'), snapshot, { recursive: true });

    const result = await run(
      'kubectl',
      ['irsa-audit', 'audit', '--snapshot', snapshot, '--format', 'json'],
      empty,
      isolated,
    );

    expect(result.code).toBe(1);
    const checks = (JSON.parse(result.stdout) as AuditReport).clusters[0]?.findings.map((f) => f.check) ?? [];
    expect(checks).toEqual(expect.arrayContaining(['IRSA-W02', 'IRSA-P01']));
  });

  it('fails like the repository CLI on an unreadable snapshot: one line, exit 2', async () => {
    const result = await run(
      'irsa-audit',
      ['audit', '--snapshot', join(scratch, 'missing')],
      empty,
      isolated,
    );

    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toContain('does not exist');
  });
});
