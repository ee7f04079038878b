// Runs the irsa-audit CLI in-process with captured output, or as a real child process.

import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { type CliIo, main } from '../../lambda/cli/cli';
import { EXAMPLES } from './snapshot-dir';
import { NOW } from './state-builder';

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export async function runCli(
  argv: readonly string[],
  { tty = false, io = {} }: { tty?: boolean; io?: Partial<CliIo> } = {},
): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, {
    stdout: (text) => {
      stdout += text;
    },
    stderr: (text) => {
      stderr += text;
    },
    stdoutIsTty: tty,
    now: () => NOW,
    examplesDirectory: EXAMPLES,
    env: {},
    ...io,
  });
  return { code, stdout, stderr };
}

export const ROOT = join(import.meta.dirname, '..', '..');

/** Runs a command in the repository root as a user would, e.g. `npx irsa-audit ...`. */
export function runCommand(command: string, args: readonly string[]): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      command,
      [...args],
      { cwd: ROOT, env: { ...process.env, NO_COLOR: '1' } },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}
