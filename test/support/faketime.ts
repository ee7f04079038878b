// Runs a machine tool with its clock frozen by libfaketime, so its time-dependent output (a SigV4
// signature, an expiry) can be compared byte for byte with ours for the same instant.

import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A command-line tool a test needs is not installed; the message says how to install it. */
export class MissingToolError extends Error {
  constructor(
    readonly tool: string,
    readonly installHint: string,
  ) {
    super(`${tool} is not installed: ${installHint}`);
    this.name = 'MissingToolError';
  }
}

/** Throws a MissingToolError unless `tool` can be started from PATH. */
export function requireTool(tool: string, versionArgs: readonly string[], installHint: string): void {
  const probe = spawnSync(tool, [...versionArgs], { stdio: 'ignore', timeout: 30_000 });
  if (probe.error !== undefined) throw new MissingToolError(tool, installHint);
}

/** Runs `command` under `faketime -f` at `at` (second precision, UTC) with exactly `env`, and returns its stdout. */
export async function runAtFrozenTime(
  at: Date,
  command: string,
  args: readonly string[],
  env: Readonly<Record<string, string>>,
): Promise<string> {
  requireTool('faketime', ['--version'], 'apt-get install faketime');
  // An absolute FAKETIME without "@" stops the clock; the plain `faketime DATE` form lets it tick from
  // DATE, and Python's start-up alone can then move the signing time to the next second.
  const frozen = at.toISOString().slice(0, 19).replace('T', ' ');
  try {
    const { stdout } = await run('faketime', ['-f', frozen, command, ...args], {
      env: { ...env, TZ: 'UTC' },
      timeout: 60_000,
      maxBuffer: 1024 * 1024,
    });
    return stdout;
  } catch (error) {
    const stderr = (error as { stderr?: unknown }).stderr;
    throw new Error(
      `faketime -f '${frozen}' ${command} ${args.join(' ')} failed: ${typeof stderr === 'string' ? stderr.trim() : String(error)}`,
    );
  }
}
