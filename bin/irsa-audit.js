#!/usr/bin/env node
// Runs the TypeScript CLI directly (no build step), so `npx irsa-audit` works right after `npm ci`.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../lambda/cli/cli.ts');
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
process.exitCode = await main(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  stdoutIsTty: process.stdout.isTTY === true,
  stderrIsTty: process.stderr.isTTY === true,
  env: process.env,
  now: () => new Date(),
  examplesDirectory: join(root, 'examples'),
});
