// The irsa-audit process: main() wired to this process's streams, environment and clock. The repository's bin
// runs it through tsx; the packed CLI (scripts/build-cli.ts) is this file bundled.

import { join } from 'node:path';
import { main } from './cli';

/** Runs the CLI on this process's arguments; `examplesDirectory` holds the shipped examples (for `demo`). */
export async function runProcess(examplesDirectory: string): Promise<void> {
  process.exitCode = await main(process.argv.slice(2), {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    stdoutIsTty: process.stdout.isTTY === true,
    stderrIsTty: process.stderr.isTTY === true,
    env: process.env,
    now: () => new Date(),
    examplesDirectory,
  });
}

/** The examples next to a bundle in dist/cli/: the package's examples/. */
export const packagedExamples = (bundleDirectory: string) => join(bundleDirectory, '..', '..', 'examples');
