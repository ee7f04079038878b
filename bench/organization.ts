// npm run bench:organization — organization mode on paper, from measurement. Three parts:
// 1. The per-cluster step the Distributed Map invokes (lambda/organization/audit-target.ts, through its Lambda
//    handler) for a typical and a large cluster, served by the fake Kubernetes API server and moto behind the
//    delaying proxy of bench/live-servers.ts (10 ms per request): the first invocation of a container (it assumes
//    the member role) and warm ones, wall time and peak RSS; each size in a fresh process.
// 2. Discover over ACCOUNTS × REGIONS × CLUSTERS_PER_REGION (default 50 × 3 × 4 = 600 clusters, every account its
//    own in moto), the map's 600 per-cluster steps run in-process at the stack's concurrency (clusters whose API
//    server refuses connections: what is timed is the step's own work), and Aggregate over their 600 result records.
// 3. The projection: wall time and cost of one organization run, with the arithmetic printed.
//
// Options (env): BENCH_LATENCY_MS (10), BENCH_ORG_ACCOUNTS (50), BENCH_ORG_REGIONS (3), BENCH_ORG_CLUSTERS (4),
// BENCH_ORG_CONCURRENCY (the stack's default maxConcurrency).

import { fork, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { CreateClusterCommand } from '@aws-sdk/client-eks';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateTopicCommand, SNSClient } from '@aws-sdk/client-sns';
import { accountClients, MOTO_ACCOUNT_ID, MOTO_CREDENTIALS, startMoto } from '../lambda/emulators/moto';
import { createAggregateHandler } from '../lambda/organization/aggregate/aggregate-handler';
import { createAuditTargetHandler } from '../lambda/organization/audit-target';
import { createDiscoverHandler } from '../lambda/organization/discover';
import type { InvocationContext } from '../lambda/pipeline/structured-log';
import { createConcurrencyLimit } from '../lambda/sources/aws/concurrency-limit';
import { DEFAULT_MAX_CONCURRENCY } from '../lib/settings';
import {
  CLUSTER,
  envNumber,
  type LiveBenchSize,
  nextMessage,
  REGION,
  type ReadyMessage,
} from './live-protocol';

/** The cluster sizes the per-cluster step is timed for. */
const PROFILES = {
  typical: { pods: 2_000, serviceAccounts: 200, rolesUsed: 50, accountRoles: 300 },
  large: { pods: 20_000, serviceAccounts: 2_000, rolesUsed: 500, accountRoles: 1_500 },
} as const satisfies Record<string, Omit<LiveBenchSize, 'latencyMs'>>;
type Profile = keyof typeof PROFILES;

/** What one per-cluster measurement printed as JSON from its child process. */
interface StepResult {
  readonly profile: Profile;
  readonly size: LiveBenchSize;
  readonly coldMs: number;
  readonly warmMs: readonly number[];
  readonly peakRssMb: number;
  readonly status: string;
}

// The deployed stack's settings and public prices (us-east-1, November 2026; check the price list for your region).
const AUDIT_TARGET_MEMORY_GB = 1;
const DISCOVER_AGGREGATE_MEMORY_GB = 1;
const LAMBDA_ARM_USD_PER_GB_SECOND = 0.0000133334;
const LAMBDA_USD_PER_REQUEST = 0.2 / 1_000_000;
const STEP_FUNCTIONS_USD_PER_TRANSITION = 0.025 / 1_000;
// Parent: Discover, the map, Aggregate, start and end; child (STANDARD): start, the task, end; + a retry or two.
const PARENT_TRANSITIONS = 6;
const CHILD_TRANSITIONS = 3;
const S3_PUT_USD = 0.005 / 1_000;
const S3_GET_USD = 0.0004 / 1_000;
// audit-target: history, pending baseline, result record (PUT) and latest.json (GET); aggregate: the record and
// latest.json (GET, whether a newer run wrote it), then latest.json from the baseline (COPY, priced as a PUT).
const S3_PUTS_PER_CLUSTER = 4;
const S3_GETS_PER_CLUSTER = 3;

const latencyMs = envNumber('BENCH_LATENCY_MS', 10);
const quiet = () => {};
const contextOf = (id: string): InvocationContext => ({
  awsRequestId: id,
  getRemainingTimeInMillis: () => 15 * 60_000,
});

/** Part 1, in a child process: the per-cluster step's handler on one synthetic cluster, cold then warm. */
async function measureStep(profile: Profile): Promise<StepResult> {
  const size: LiveBenchSize = { ...PROFILES[profile], latencyMs };
  const servers = fork(join(import.meta.dirname, 'live-servers.ts'), [], {
    env: { ...process.env, BENCH_SIZE: JSON.stringify(size), BENCH_ANY_SIGNER: '1' },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const stopOnExit = () => servers.kill('SIGKILL');
  process.once('exit', stopOnExit);
  try {
    const ready = await nextMessage<ReadyMessage>(servers, 'ready');
    const bucket = 'bench-organization-reports';
    const s3 = new S3Client({
      region: REGION,
      endpoint: ready.endpoint,
      credentials: MOTO_CREDENTIALS,
      forcePathStyle: true,
    });
    await s3.send(
      new CreateBucketCommand({ Bucket: bucket, CreateBucketConfiguration: { LocationConstraint: REGION } }),
    );
    const handler = createAuditTargetHandler(
      {
        AWS_REGION: REGION,
        REPORTS_BUCKET: bucket,
        EXTERNAL_ID: 'bench',
        AWS_ENDPOINT_URL: ready.endpoint,
      },
      { credentials: MOTO_CREDENTIALS, log: quiet },
    );
    const invoke = async (run: number) => {
      const started = performance.now();
      const output = await handler(
        {
          runId: `bench-${run}`,
          generatedAt: new Date(Date.UTC(2026, 10, 28, 12, run)).toISOString(),
          account: MOTO_ACCOUNT_ID,
          region: REGION,
          cluster: CLUSTER,
        },
        contextOf(`bench-${run}`),
      );
      return { ms: performance.now() - started, status: output.status };
    };
    const cold = await invoke(1);
    const warm = [await invoke(2), await invoke(3)];
    return {
      profile,
      size,
      coldMs: cold.ms,
      warmMs: warm.map((run) => run.ms),
      peakRssMb: process.resourceUsage().maxRSS / 1024,
      status: [cold, ...warm].every((run) => run.status === 'audited') ? 'audited' : cold.status,
    };
  } finally {
    const exited = new Promise((resolve) => servers.once('exit', resolve));
    if (servers.connected) servers.send({ kind: 'stop' });
    else servers.kill('SIGTERM');
    await exited;
    process.off('exit', stopOnExit);
  }
}

/** Part 2: discover, the map's steps and aggregate over an organization of unreachable clusters in moto. */
async function measureOrganization(concurrency: number) {
  const accountCount = envNumber('BENCH_ORG_ACCOUNTS', 50);
  const regions = ['eu-west-1', 'us-east-1', 'ap-southeast-2'].slice(0, envNumber('BENCH_ORG_REGIONS', 3));
  const perRegion = envNumber('BENCH_ORG_CLUSTERS', 4);
  const accounts = Array.from({ length: accountCount }, (_, index) => String(200000000000 + index));
  const clusterNames = (account: string, region: string) =>
    Array.from({ length: perRegion }, (_, index) => `c${index}-${account.slice(-4)}-${region}`);
  const names = accounts.flatMap((account) => regions.flatMap((region) => clusterNames(account, region)));
  // Port 9 on loopback refuses at once: the step's collection fails fast and the report is IRSA-X01.
  const moto = await startMoto({
    multiAccount: true,
    eksClusters: Object.fromEntries(names.map((name) => [name, { endpoint: 'https://127.0.0.1:9' }])),
  });
  try {
    const seeded = performance.now();
    const seedLimit = createConcurrencyLimit(8);
    await Promise.all(
      accounts.flatMap((account) =>
        regions.map((region) =>
          seedLimit.run(async () => {
            const clients = await accountClients(moto.endpoint, account, region);
            for (const name of clusterNames(account, region)) {
              await clients.eks.send(
                new CreateClusterCommand({
                  name,
                  roleArn: `arn:aws:iam::${account}:role/cluster`,
                  resourcesVpcConfig: { subnetIds: ['subnet-0179024df634511da'] },
                }),
              );
            }
          }),
        ),
      ),
    );
    const seedMs = performance.now() - seeded;
    const home = { region: REGION, endpoint: moto.endpoint, credentials: MOTO_CREDENTIALS };
    const bucket = 'bench-organization';
    await new S3Client({ ...home, forcePathStyle: true }).send(
      new CreateBucketCommand({ Bucket: bucket, CreateBucketConfiguration: { LocationConstraint: REGION } }),
    );
    const topicArn =
      (await new SNSClient(home).send(new CreateTopicCommand({ Name: bucket }))).TopicArn ?? '';
    const env = {
      AWS_REGION: REGION,
      REPORTS_BUCKET: bucket,
      EXTERNAL_ID: 'bench',
      AWS_ENDPOINT_URL: moto.endpoint,
      ACCOUNTS: accounts.join(','),
      REGIONS: regions.join(','),
      TOPIC_ARN: topicArn,
    };
    const options = { credentials: MOTO_CREDENTIALS, log: quiet };
    const run = { runId: 'bench-organization', generatedAt: '2026-11-28T12:00:00.000Z' };

    let started = performance.now();
    const discovered = await createDiscoverHandler(env, options)(run);
    const discoverMs = performance.now() - started;

    const auditTarget = createAuditTargetHandler(env, options);
    const limit = createConcurrencyLimit(concurrency);
    started = performance.now();
    const statuses = await Promise.all(
      accounts.flatMap((account) =>
        regions.flatMap((region) =>
          clusterNames(account, region).map((cluster) =>
            limit.run(async () => {
              const output = await auditTarget(
                { ...run, account, region, cluster },
                contextOf(`${run.runId}-${cluster}`),
              );
              return output.status;
            }),
          ),
        ),
      ),
    );
    const mapMs = performance.now() - started;

    started = performance.now();
    const summary = await createAggregateHandler(env, options)(run);
    const aggregateMs = performance.now() - started;
    return {
      accounts: accountCount,
      regions: regions.length,
      clusters: discovered.clusters,
      targets: discovered.targets,
      seedMs,
      discoverMs,
      mapMs,
      steps: statuses.length,
      aggregateMs,
      summaryClusters: summary.clustersAudited,
      auditErrors: summary.auditErrors,
    };
  } finally {
    await moto.stop();
  }
}

function measureStepInChild(profile: Profile): StepResult {
  const child = spawnSync(
    process.execPath,
    [...process.execArgv, import.meta.filename, '--step', profile, '--json'],
    { env: process.env, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 },
  );
  const line = child.stdout.trim().split('\n').at(-1) ?? '';
  if (child.status !== 0 || !line.startsWith('{'))
    throw new Error(
      `the ${profile} measurement failed (exit ${child.status}): ${child.stderr.trim().split('\n').slice(-5).join(' | ')}`,
    );
  return JSON.parse(line) as StepResult;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const usd = (value: number) => `$${value < 0.01 ? value.toFixed(4) : value.toFixed(2)}`;

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const stepIndex = args.indexOf('--step');
  if (stepIndex >= 0) {
    const profile = args[stepIndex + 1] as Profile;
    if (!(profile in PROFILES)) throw new Error(`--step takes ${Object.keys(PROFILES).join(' or ')}`);
    console.log(JSON.stringify(await measureStep(profile)));
    return;
  }
  const concurrency = envNumber('BENCH_ORG_CONCURRENCY', DEFAULT_MAX_CONCURRENCY);

  console.log(`organization: the per-cluster step (audit-target handler), ${latencyMs} ms per request:`);
  const steps = (Object.keys(PROFILES) as Profile[]).map(measureStepInChild);
  for (const step of steps) {
    console.log(
      `  ${step.profile.padEnd(8)} ${String(step.size.pods).padStart(6)} pods, ${String(step.size.serviceAccounts).padStart(5)} IRSA ServiceAccounts, ${String(step.size.accountRoles).padStart(5)} roles: first invocation ${seconds(step.coldMs)}, warm ${step.warmMs.map(seconds).join(', ')}, peak RSS ${step.peakRssMb.toFixed(0)} MB (${step.status})`,
    );
  }

  const organization = await measureOrganization(concurrency);
  console.log(
    `organization: ${organization.accounts} accounts × ${organization.regions} regions = ${organization.targets} targets, ${organization.clusters} clusters (moto, no added latency; seeding took ${seconds(organization.seedMs)}, not timed):`,
  );
  console.log(`  discover            ${seconds(organization.discoverMs)}`);
  console.log(
    `  ${organization.steps} steps at concurrency ${concurrency} ${seconds(organization.mapMs)} (unreachable clusters: the steps' own overhead, AssumeRole + S3)`,
  );
  console.log(
    `  aggregate           ${seconds(organization.aggregateMs)} (${organization.summaryClusters} clusters in the summary, ${organization.auditErrors} audit errors)`,
  );

  // 3. The projection for the measured organization, every cluster typical (the first invocation, to be safe).
  const typical = steps.find((step) => step.profile === 'typical');
  const large = steps.find((step) => step.profile === 'large');
  if (typical === undefined || large === undefined) return;
  const clusters = organization.clusters;
  const waves = Math.ceil(clusters / concurrency);
  const stepS = typical.coldMs / 1000;
  const mapS = waves * stepS;
  const wallS = organization.discoverMs / 1000 + mapS + organization.aggregateMs / 1000;
  const lambdaGbS =
    clusters * stepS * AUDIT_TARGET_MEMORY_GB +
    ((organization.discoverMs + organization.aggregateMs) / 1000) * DISCOVER_AGGREGATE_MEMORY_GB;
  const lambdaUsd = lambdaGbS * LAMBDA_ARM_USD_PER_GB_SECOND + (clusters + 2) * LAMBDA_USD_PER_REQUEST;
  const transitions = PARENT_TRANSITIONS + clusters * (1 + CHILD_TRANSITIONS);
  const sfnUsd = transitions * STEP_FUNCTIONS_USD_PER_TRANSITION;
  const s3Usd = clusters * (S3_PUTS_PER_CLUSTER * S3_PUT_USD + S3_GETS_PER_CLUSTER * S3_GET_USD);
  const runUsd = lambdaUsd + sfnUsd + s3Usd;
  console.log(
    `organization run, projected (${clusters} typical clusters, maxConcurrency ${concurrency}, per-cluster step ${stepS.toFixed(1)} s):`,
  );
  console.log(
    `  wall  ≈ discover ${seconds(organization.discoverMs)} + ⌈${clusters}/${concurrency}⌉ = ${waves} waves × ${stepS.toFixed(1)} s + aggregate ${seconds(organization.aggregateMs)} ≈ ${wallS.toFixed(0)} s`,
  );
  console.log(
    `  Lambda ≈ ${clusters} × ${stepS.toFixed(1)} s × ${AUDIT_TARGET_MEMORY_GB} GB + discover/aggregate = ${lambdaGbS.toFixed(0)} GB-s × $${LAMBDA_ARM_USD_PER_GB_SECOND} + ${clusters + 2} requests ≈ ${usd(lambdaUsd)}`,
  );
  console.log(
    `  Step Functions ≈ ${PARENT_TRANSITIONS} + ${clusters} × (1 + ${CHILD_TRANSITIONS}) = ${transitions} transitions × $0.000025 ≈ ${usd(sfnUsd)}`,
  );
  console.log(
    `  S3 ≈ ${clusters} × (${S3_PUTS_PER_CLUSTER} PUT/COPY + ${S3_GETS_PER_CLUSTER} GET) ≈ ${usd(s3Usd)}`,
  );
  console.log(
    `  one run ≈ ${usd(runUsd)}; hourly (730 runs a month) ≈ ${usd(runUsd * 730)} a month, before CloudWatch metrics and logs`,
  );
  console.log(
    `  a large cluster (${large.size.pods} pods) takes ${seconds(large.coldMs)} per step: each one in the last wave adds up to that to the wall time`,
  );
}

await main();
