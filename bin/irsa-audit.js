#!/usr/bin/env node
// irsa-audit. In a clone of the repository it runs the TypeScript sources through tsx (no build step), so
// `npx irsa-audit` works right after `npm ci`; in the package `npm pack` makes, which ships no sources, it runs
// the bundle scripts/build-cli.ts built (dist/cli/irsa-audit.mjs), with nothing else installed.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const sources = join(root, 'lambda', 'cli', 'process-main.ts');
if (existsSync(sources)) {
  const { register } = await import('tsx/esm/api');
  register();
  const { runProcess } = await import(pathToFileURL(sources).href);
  await runProcess(join(root, 'examples'));
} else {
  await import(pathToFileURL(join(root, 'dist', 'cli', 'irsa-audit.mjs')).href);
}
