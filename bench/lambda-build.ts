// The esbuild options of the Lambda's bundle (lib/auditor-function.ts bundledHandler: ESM for Node 22 with the
// createRequire banner and aliases, minified, names kept), for the benches that build an entry of their own the same way:
// bench/bundle.ts (what the handler's bundle is made of) and bench/live.ts (the audit measured as the Lambda runs it).

import type { BuildOptions } from 'esbuild';
import { BUNDLE_ALIASES, ESM_REQUIRE_BANNER } from '../lib/auditor-function';

export const LAMBDA_BUILD_OPTIONS = {
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node22',
  mainFields: ['module', 'main'],
  minify: true,
  keepNames: true,
  banner: { js: ESM_REQUIRE_BANNER },
  alias: BUNDLE_ALIASES,
  logLevel: 'silent',
} as const satisfies BuildOptions;
