// npm run bench (last part) — the Lambda bundle as `cdk deploy` would upload it: its size, how long Node 22 (the
// nodejs22.x runtime) takes to import it in a fresh process, as a cold start pays it, how long the first
// invocation then takes (one cluster of examples/blog-incident, from moto and the fake API server), and what
// the bundle is made of: its largest packages, from esbuild's metafile of the same entry (SPEC §10).

import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { CreateTopicCommand } from '@aws-sdk/client-sns';
import { build } from 'esbuild';
import { startFakeKubeApi } from '../lambda/emulators/fake-kube-api';
import { MOTO_CREDENTIALS, motoClients, motoSinkClients, startMoto } from '../lambda/emulators/moto';
import { exampleEksIdentities, seedMotoWithExample } from '../lambda/emulators/seed-moto';
import { synthesizedHandlerAsset } from '../test/support/cdk-asset';
import { runOnNode22 } from '../test/support/node22';
import { LAMBDA_BUILD_OPTIONS } from './lambda-build';

const RUNS = Number(process.env.BENCH_IMPORT_RUNS ?? 5);
const ROOT = join(import.meta.dirname, '..');
const EXAMPLE = join(ROOT, 'examples', 'blog-incident');
const CLUSTER = 'platform-prod';
const REGION = 'eu-west-1';
const SINK = 'irsa-bench-bundle';
const LARGEST = 8;

// Timed inside the Node 22 process, so process start-up is not counted: loading and evaluating the bundle, then
// (with `invoke`) the first invocation, which also pays the clients' first requests.
const DRIVER = `
const [mode, asset] = process.argv.slice(1);
const started = performance.now();
const module = await import(asset);
const importMs = performance.now() - started;
const rssMb = process.memoryUsage().rss / 1048576;
let invokeMs;
if (mode === 'invoke') {
  const invoked = performance.now();
  const context = { awsRequestId: 'bench', getRemainingTimeInMillis: () => 60000 };
  const summary = await module.handler({ id: 'bench-' + Date.now(), time: new Date().toISOString() }, context);
  if (summary.clusters.length !== 1) throw new Error('the first invocation audited ' + summary.clusters.length + ' clusters');
  invokeMs = performance.now() - invoked;
}
process.stderr.write(JSON.stringify({ importMs, rssMb, invokeMs }) + '\\n');
process.exit(0);
`;

interface Measured {
  readonly importMs: number;
  readonly rssMb: number;
  readonly invokeMs?: number;
}

const median = (values: readonly number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;

async function drive(
  mode: 'import' | 'invoke',
  bundle: string,
  env: Record<string, string>,
): Promise<Measured> {
  const result = await runOnNode22(DRIVER, [mode, pathToFileURL(bundle).href], env);
  const line = result.stderr.trim().split('\n').at(-1) ?? '';
  if (result.code !== 0 || !line.startsWith('{'))
    throw new Error(`the bundle on Node 22 failed (exit ${result.code}): ${result.stderr.slice(-500)}`);
  return JSON.parse(line) as Measured;
}

/** The packages (or the project's own files) that take the most bytes of the handler's bundle. */
async function largestPackages(): Promise<{ name: string; bytes: number }[]> {
  const result = await build({
    ...LAMBDA_BUILD_OPTIONS,
    entryPoints: [join(ROOT, 'lambda', 'handlers', 'scheduled.ts')],
    write: false,
    metafile: true,
  });
  const byPackage = new Map<string, number>();
  for (const output of Object.values(result.metafile.outputs)) {
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input);
      const name = match?.[1] ?? `(project) ${input.split('/').slice(0, 2).join('/')}`;
      byPackage.set(name, (byPackage.get(name) ?? 0) + bytesInOutput);
    }
  }
  return [...byPackage]
    .map(([name, bytes]) => ({ name, bytes }))
    .sort((a, b) => b.bytes - a.bytes)
    .slice(0, LARGEST);
}

const outDir = await mkdtemp(join(tmpdir(), 'irsa-bench-bundle-'));
const kube = await startFakeKubeApi({
  snapshotDirectory: EXAMPLE,
  eks: { clusterName: CLUSTER, credentials: MOTO_CREDENTIALS },
});
const identities = await exampleEksIdentities(EXAMPLE);
const moto = await startMoto({
  eksClusters: {
    ...identities,
    [CLUSTER]: { ...identities[CLUSTER], endpoint: kube.url, caData: kube.caData },
  },
});
try {
  await seedMotoWithExample(motoClients(moto.endpoint, REGION), EXAMPLE);
  const sinks = motoSinkClients(moto.endpoint, REGION);
  await sinks.s3.send(
    new CreateBucketCommand({ Bucket: SINK, CreateBucketConfiguration: { LocationConstraint: REGION } }),
  );
  const topicArn = (await sinks.sns.send(new CreateTopicCommand({ Name: SINK }))).TopicArn ?? '';
  const env = {
    PATH: '/usr/bin:/bin',
    HOME: outDir,
    AWS_REGION: REGION,
    AWS_ACCESS_KEY_ID: MOTO_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: MOTO_CREDENTIALS.secretAccessKey,
    AWS_ENDPOINT_URL: moto.endpoint,
    AWS_EC2_METADATA_DISABLED: 'true',
    TOPIC_ARN: topicArn,
    REPORTS_BUCKET: SINK,
    CLUSTERS: CLUSTER,
  };
  const bundle = await synthesizedHandlerAsset(outDir);
  const { size } = await stat(bundle);
  const imports: Measured[] = [];
  const invocations: Measured[] = [];
  for (let run = 0; run < RUNS; run += 1) {
    imports.push(await drive('import', bundle, env));
    invocations.push(await drive('invoke', bundle, env));
  }
  const importMs = imports.map((measured) => measured.importMs);
  console.log(
    `bundle: index.mjs ${(size / 1024).toFixed(0)} KiB; import on Node 22 ${median(importMs).toFixed(0)} ms median of ${RUNS} fresh processes (best ${Math.min(...importMs).toFixed(0)} ms), RSS after import ${Math.max(...imports.map((measured) => measured.rssMb)).toFixed(0)} MB; first invocation (one cluster of examples/blog-incident over moto and the fake API server) ${median(invocations.map((measured) => measured.invokeMs ?? 0)).toFixed(0)} ms median`,
  );
  const largest = await largestPackages();
  console.log(
    `bundle: largest parts (minified bytes): ${largest.map(({ name, bytes }) => `${name} ${(bytes / 1024).toFixed(0)} KiB`).join(', ')}`,
  );
} finally {
  await kube.stop();
  await moto.stop();
  await rm(outDir, { recursive: true, force: true });
}
