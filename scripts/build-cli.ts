// Bundles the irsa-audit CLI for the package `npm pack` makes (the prepack script): dist/cli/irsa-audit.mjs and
// the chunks of what it loads only when a command needs it (the AWS SDK and the Kubernetes client for live
// audits, the emulators for `demo`), so `irsa-audit --help` starts without them. Node 20 or later runs it.

import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { build } from 'esbuild';
import { BUNDLE_ALIASES, ESM_REQUIRE_BANNER } from '../lib/auditor-function';

const root = join(import.meta.dirname, '..');
const out = join(root, 'dist', 'cli');

await rm(out, { recursive: true, force: true });
const result = await build({
  entryPoints: { 'irsa-audit': join(root, 'lambda', 'cli', 'bundle-entry.ts') },
  outdir: out,
  outExtension: { '.js': '.mjs' },
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  chunkNames: 'chunks/[name]-[hash]',
  banner: { js: ESM_REQUIRE_BANNER },
  alias: BUNDLE_ALIASES,
  legalComments: 'linked',
  metafile: true,
  logLevel: 'warning',
});
const bytes = Object.values(result.metafile.outputs).reduce((sum, output) => sum + output.bytes, 0);
console.log(`dist/cli: ${Object.keys(result.metafile.outputs).length} files, ${(bytes / 1e6).toFixed(1)} MB`);
