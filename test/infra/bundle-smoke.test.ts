// SPEC §9: "a smoke test that imports the synthesized Lambda bundle and runs it". The asset `cdk synth`
// bundled (offline) is imported on Node 22, Lambda's nodejs22.x, in a process of its own with a Lambda-like
// environment, and invoked once with a scheduled EventBridge event against moto and the fake API server
// seeded with examples/blog-incident. An ESM bundle that cannot load (`Dynamic require of "node:assert" is
// not supported`) fails the first test; one that loads but cannot audit or publish fails the second.

import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { CreateTopicCommand } from '@aws-sdk/client-sns';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditReport } from '../../lambda/core/model/finding';
import { type FakeKubeApi, startFakeKubeApi } from '../../lambda/emulators/fake-kube-api';
import {
  type AlertInbox,
  MOTO_ACCOUNT_ID,
  MOTO_CREDENTIALS,
  type MotoServer,
  type MotoSinkClients,
  motoClients,
  motoSinkClients,
  startMoto,
  subscribeInbox,
} from '../../lambda/emulators/moto';
import { exampleEksIdentities, seedMotoWithExample } from '../../lambda/emulators/seed-moto';
import type { ScheduledAuditSummary } from '../../lambda/pipeline/run-scheduled-audit';
import { synthesizedHandlerAsset } from '../support/cdk-asset';
import { type Node22Result, runOnNode22 } from '../support/node22';
import { EXAMPLES } from '../support/snapshot-dir';

const EXAMPLE = join(EXAMPLES, 'blog-incident');
const CLUSTER = 'platform-prod';
const REGION = 'eu-west-1';
const SINK = 'irsa-bundle-smoke';
const IMPORT_RUNS = 3;
// moto does not check that an SSE-KMS key exists; the stack's own key is a CloudFormation reference.
const REPORTS_KEY = `arn:aws:kms:${REGION}:${MOTO_ACCOUNT_ID}:key/0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0`;

// Runs in the Node 22 child: imports the bundle as Lambda's runtime imports an ESM handler, optionally
// invokes it once, and writes what happened to a file (stdout belongs to the function's JSON log lines).
const DRIVER = `
import { writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const [mode, asset, resultFile, eventJson] = process.argv.slice(1);
const write = (result) => writeFileSync(resultFile, JSON.stringify({ node: process.version, ...result }));
const started = performance.now();
let module;
try {
  module = await import(pathToFileURL(asset).href);
} catch (error) {
  write({ imported: false, error: String(error && error.stack ? error.stack : error) });
  process.exit(1);
}
const importMs = performance.now() - started;
const base = { imported: true, importMs, handlerType: typeof module.handler };
if (mode === 'invoke') {
  const deadline = Date.now() + 60000;
  const context = {
    awsRequestId: 'bundle-smoke-request',
    functionName: 'irsa-auditor',
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => deadline - Date.now(),
  };
  try {
    write({ ...base, summary: await module.handler(JSON.parse(eventJson), context) });
  } catch (error) {
    write({ ...base, error: String(error && error.stack ? error.stack : error) });
  }
} else {
  write(base);
}
// Lambda freezes the container after the invocation; this process has to end instead.
process.exit(0);
`;

/** What the driver wrote. */
interface DriverResult {
  readonly node: string;
  readonly imported: boolean;
  readonly importMs?: number;
  readonly handlerType?: string;
  readonly summary?: ScheduledAuditSummary;
  readonly error?: string;
}

let scratch: string;
let asset: string;
let functionEnvironment: Record<string, unknown>;
let kube: FakeKubeApi;
let moto: MotoServer;
let sinks: MotoSinkClients;
let inbox: AlertInbox;
let topicArn: string;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'irsa-bundle-smoke-'));
  // The CDK app synthesized offline, as `cdk synth` does; the asset is what `cdk deploy` uploads.
  asset = await synthesizedHandlerAsset(join(scratch, 'cdk.out'));
  functionEnvironment = await synthesizedEnvironment(asset);
  kube = await startFakeKubeApi({
    snapshotDirectory: EXAMPLE,
    eks: { clusterName: CLUSTER, credentials: MOTO_CREDENTIALS },
  });
  const identities = await exampleEksIdentities(EXAMPLE);
  moto = await startMoto({
    eksClusters: {
      ...identities,
      [CLUSTER]: { ...identities[CLUSTER], endpoint: kube.url, caData: kube.caData },
    },
  });
  await seedMotoWithExample(motoClients(moto.endpoint, REGION), EXAMPLE);
  sinks = motoSinkClients(moto.endpoint, REGION);
  await sinks.s3.send(
    new CreateBucketCommand({ Bucket: SINK, CreateBucketConfiguration: { LocationConstraint: REGION } }),
  );
  topicArn = (await sinks.sns.send(new CreateTopicCommand({ Name: SINK }))).TopicArn ?? '';
  inbox = await subscribeInbox(sinks, topicArn, SINK);
}, 300_000);

afterAll(async () => {
  await kube?.stop();
  await moto?.stop();
  if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
});

/** The function's `Environment.Variables` in the template next to the asset (`Code.S3Key` is `<asset hash>.zip`). */
async function synthesizedEnvironment(assetPath: string): Promise<Record<string, unknown>> {
  const assembly = dirname(dirname(assetPath));
  const hash = basename(dirname(assetPath)).replace(/^asset\./, '');
  const found: Record<string, unknown>[] = [];
  for (const file of (await readdir(assembly)).filter((name) => name.endsWith('.template.json'))) {
    const template = JSON.parse(await readFile(join(assembly, file), 'utf8')) as {
      Resources?: Record<string, { Type?: string; Properties?: Record<string, unknown> }>;
    };
    for (const resource of Object.values(template.Resources ?? {})) {
      const properties = resource.Properties ?? {};
      const code = properties.Code as { S3Key?: unknown } | undefined;
      if (resource.Type !== 'AWS::Lambda::Function' || code?.S3Key !== `${hash}.zip`) continue;
      const environment = properties.Environment as { Variables?: Record<string, unknown> } | undefined;
      found.push(environment?.Variables ?? {});
    }
  }
  if (found.length !== 1) throw new Error(`${found.length} functions in ${assembly} run the asset ${hash}`);
  return found[0] as Record<string, unknown>;
}

/**
 * The environment Lambda gives the function: the stack's variables as synthesized, with the values that are
 * CloudFormation references (the topic, bucket and key the stack creates) replaced by moto's, and CLUSTERS
 * naming the one cluster the fake API server serves (the default context audits every cluster).
 */
function lambdaEnvironment(): Record<string, string> {
  const emulated: Record<string, string> = {
    TOPIC_ARN: topicArn,
    REPORTS_BUCKET: SINK,
    REPORTS_KMS_KEY_ID: REPORTS_KEY,
  };
  const stackVariables: Record<string, string> = {};
  for (const [name, value] of Object.entries(functionEnvironment)) {
    const replacement = emulated[name];
    if (replacement !== undefined) stackVariables[name] = replacement;
    else if (typeof value === 'string') stackVariables[name] = value;
    else
      throw new Error(`the stack sets ${name} to ${JSON.stringify(value)}: say which moto value stands in`);
  }
  return {
    PATH: '/usr/local/bin:/usr/bin:/bin',
    // No profile, shared config or instance metadata: the default chain must find the keys below, as in Lambda.
    HOME: scratch,
    AWS_CONFIG_FILE: join(scratch, 'no-aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(scratch, 'no-aws-credentials'),
    AWS_EC2_METADATA_DISABLED: 'true',
    TZ: ':UTC',
    LANG: 'en_US.UTF-8',
    AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
    AWS_LAMBDA_FUNCTION_NAME: 'irsa-auditor',
    AWS_REGION: REGION,
    AWS_DEFAULT_REGION: REGION,
    AWS_ACCESS_KEY_ID: MOTO_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: MOTO_CREDENTIALS.secretAccessKey,
    AWS_ENDPOINT_URL: moto.endpoint,
    ...stackVariables,
    CLUSTERS: CLUSTER,
  };
}

/** Runs the driver on Node 22 in the asset's directory (Lambda's /var/task) and reads back its result. */
async function drive(
  mode: 'import' | 'invoke',
  event: unknown = {},
): Promise<{ run: Node22Result; result: DriverResult | undefined }> {
  const resultFile = join(scratch, `driver-${mode}-${Date.now()}.json`);
  const args = [mode, asset, resultFile, JSON.stringify(event)];
  const run = await runOnNode22(DRIVER, args, lambdaEnvironment(), { cwd: dirname(asset) });
  let result: DriverResult | undefined;
  try {
    result = JSON.parse(await readFile(resultFile, 'utf8')) as DriverResult;
  } catch {
    result = undefined;
  }
  return { run, result };
}

const explain = ({ run, result }: { run: Node22Result; result: DriverResult | undefined }) =>
  `exit ${run.code}${run.timedOut ? ' (timed out)' : ''}; ${result?.error ?? ''}\nstderr: ${run.stderr.slice(-4000)}`;

async function directoryBytes(directory: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(directory, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += (await stat(join(entry.parentPath, entry.name))).size;
  }
  return total;
}

const kib = (bytes: number) => `${(bytes / 1024).toFixed(0)} KiB`;

describe('the synthesized Lambda bundle on Node 22', () => {
  it('imports as an ES module and exports the handler', async () => {
    const runs = [];
    for (let index = 0; index < IMPORT_RUNS; index += 1) runs.push(await drive('import'));

    for (const outcome of runs) {
      expect(outcome.result?.imported, explain(outcome)).toBe(true);
      expect(outcome.result?.handlerType).toBe('function');
      expect(outcome.result?.node).toMatch(/^v22\./);
    }
    // SPEC §10: report the bundle size and its import time (a fresh process each: a cold start's import).
    const times = runs.map((outcome) => outcome.result?.importMs ?? Number.NaN).sort((a, b) => a - b);
    const bundle = await readFile(asset);
    console.info(
      `Lambda bundle: ${asset}: ${kib(bundle.length)} (${bundle.length} bytes, ${kib(gzipSync(bundle).length)} gzipped); ` +
        `asset directory ${kib(await directoryBytes(dirname(asset)))}; import on Node ${runs[0]?.result?.node}: ` +
        `median ${times[Math.floor(times.length / 2)]?.toFixed(0)} ms ` +
        `(${times.map((time) => time.toFixed(0)).join(', ')} ms over ${IMPORT_RUNS} cold processes)`,
    );
  }, 120_000);

  it('carries neither zod’s classic API nor tr46’s mapping table, which the handler never uses', async () => {
    const bundle = await readFile(asset, 'utf8');

    // A status of tr46's table (lambda/shims/tr46.cjs answers instead), and a message of zod's English locale.
    expect(bundle).not.toContain('disallowed_STD3_valid');
    expect(bundle).not.toContain('Too big: expected');
    // What the shim calls, and the handler's own messages, are there.
    expect(bundle).toContain('domainToASCII');
    expect(bundle).toContain('is not an SNS topic ARN');
  });

  it('runs one scheduled invocation: audits the cluster, stores the report and sends the alert', async () => {
    kube.clearRequests();
    const event = {
      version: '0',
      id: '7bf73129-1428-4cd3-a780-95db273d1602',
      'detail-type': 'Scheduled Event',
      source: 'aws.events',
      account: MOTO_ACCOUNT_ID,
      time: new Date().toISOString(),
      region: REGION,
      resources: [`arn:aws:events:${REGION}:${MOTO_ACCOUNT_ID}:rule/irsa-auditor-schedule`],
      detail: {},
    };

    const outcome = await drive('invoke', event);
    const prefix = `reports/${MOTO_ACCOUNT_ID}/${REGION}/${CLUSTER}/`;
    const listed = await sinks.s3.send(new ListObjectsV2Command({ Bucket: SINK, Prefix: prefix }));
    const latest = await sinks.s3.send(new GetObjectCommand({ Bucket: SINK, Key: `${prefix}latest.json` }));
    const report = JSON.parse((await latest.Body?.transformToString('utf-8')) ?? '') as AuditReport;
    const alerts = await inbox.drain();

    const summary = outcome.result?.summary;
    expect(summary, explain(outcome)).toBeDefined();
    expect(summary?.errors).toEqual([]);
    expect(summary?.clustersAudited).toBe(1);
    expect(summary?.clusters.map((cluster) => [cluster.cluster, cluster.status])).toEqual([
      [CLUSTER, 'audited'],
    ]);
    expect(summary?.alertsSent).toBe(1);
    // The API server saw the bundle's own EKS token (k8s-aws-v1., signed with moto's keys) and no refusal.
    expect(kube.requests.some((request) => request.resource === 'pods' && request.status === 200)).toBe(true);
    expect(kube.requests.filter((request) => request.status === 401)).toEqual([]);
    // SPEC §7: latest.json plus one history object for the run.
    const keys = (listed.Contents ?? []).map((object) => object.Key ?? '').sort();
    expect(keys).toHaveLength(2);
    expect(keys).toContain(`${prefix}latest.json`);
    expect(keys.filter((key) => key.startsWith(`${prefix}history/`))).toHaveLength(1);
    // The stack's REPORTS_KMS_KEY_ID reached the function: the report is encrypted with that key.
    expect([latest.ServerSideEncryption, latest.SSEKMSKeyId]).toEqual(['aws:kms', REPORTS_KEY]);
    // The example's README: W02 and four P01 are critical; S07, S05 and P02 are high.
    expect(
      report.clusters.map((cluster) => [cluster.name, cluster.summary.critical, cluster.summary.high]),
    ).toEqual([[CLUSTER, 5, 3]]);
    expect(alerts.map((alert) => alert.subject)).toEqual([
      '[IRSA] platform-prod: 5 new critical, 3 new high',
    ]);
    expect(alerts[0]?.topicArn).toBe(topicArn);
    // SPEC §7 logs: one JSON object per stdout line, and never the credentials.
    const lines = outcome.run.stdout.split('\n').filter((line) => line !== '');
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(() => JSON.parse(line), line).not.toThrow();
    expect(outcome.run.stdout + outcome.run.stderr).not.toContain(MOTO_CREDENTIALS.secretAccessKey);
  }, 120_000);
});
