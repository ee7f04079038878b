// npm run bench (last part) — the Lambda bundle as `cdk deploy` would upload it: its size, and how long
// Node 22 (the nodejs22.x runtime) takes to import it in a fresh process, as a cold start pays it (SPEC §10).

import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { synthesizedHandlerAsset } from '../test/support/cdk-asset';
import { runOnNode22 } from '../test/support/node22';

const RUNS = Number(process.env.BENCH_IMPORT_RUNS ?? 5);

// Timed inside the Node 22 process, so process start-up is not counted, only loading and evaluating the bundle.
const IMPORT_SCRIPT = `
const started = performance.now();
await import(process.argv[1]);
console.log(JSON.stringify({ importMs: performance.now() - started, rssMb: process.memoryUsage().rss / 1048576 }));
`;

const outDir = await mkdtemp(join(tmpdir(), 'irsa-bench-bundle-'));
try {
  const bundle = await synthesizedHandlerAsset(outDir);
  const { size } = await stat(bundle);
  const times: number[] = [];
  let rssMb = 0;
  for (let run = 0; run < RUNS; run += 1) {
    const result = await runOnNode22(IMPORT_SCRIPT, [pathToFileURL(bundle).href], {
      AWS_REGION: 'eu-west-1',
      PATH: '/usr/bin:/bin',
    });
    const line = result.stdout.trim().split('\n').at(-1) ?? '';
    if (result.code !== 0 || !line.startsWith('{')) {
      throw new Error(
        `importing the bundle on Node 22 failed (exit ${result.code}): ${result.stderr.slice(-500)}`,
      );
    }
    const measured = JSON.parse(line) as { importMs: number; rssMb: number };
    times.push(measured.importMs);
    rssMb = Math.max(rssMb, measured.rssMb);
  }
  times.sort((a, b) => a - b);
  console.log(
    `bundle: index.mjs ${(size / 1024).toFixed(0)} KiB; import on Node 22 ${(times[Math.floor(times.length / 2)] ?? 0).toFixed(0)} ms median of ${times.length} fresh processes (best ${(times[0] ?? 0).toFixed(0)} ms), RSS after import ${rssMb.toFixed(0)} MB`,
  );
} finally {
  await rm(outDir, { recursive: true, force: true });
}
