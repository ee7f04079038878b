// SPEC §9's bundle smoke test for organization mode's three steps: the assets `cdk synth` bundles (offline)
// are imported on Node 22, Lambda's nodejs22.x, each in a process of its own with the environment the stack
// gives that function (tokens replaced by placeholder values), and must export a `handler` function. An ESM
// bundle that cannot load (`Dynamic require of "node:assert" is not supported`), or a cold start that rejects
// the stack's environment, fails here. Then the three bundles run one organization run the way the state machine
// would: Discover, the per-cluster step for every item it wrote, Aggregate — against moto (two member accounts)
// and the fake API server serving the §1 incident.

import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateClusterCommand } from '@aws-sdk/client-eks';
import { CreateBucketCommand, GetObjectCommand } from '@aws-sdk/client-s3';
import { CreateTopicCommand } from '@aws-sdk/client-sns';
import type { CfnElement } from 'aws-cdk-lib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditReport } from '../../lambda/core/model/finding';
import { type FakeKubeApi, startFakeKubeApi } from '../../lambda/emulators/fake-kube-api';
import {
  type AlertInbox,
  accountClients,
  MOTO_CREDENTIALS,
  type MotoServer,
  type MotoSinkClients,
  motoSinkClients,
  startMoto,
  subscribeInbox,
} from '../../lambda/emulators/moto';
import { exampleEksIdentities, seedMotoWithExample } from '../../lambda/emulators/seed-moto';
import {
  ORGANIZATION_STEPS,
  type OrganizationStepName,
  synthesizedOrganizationAssets,
  synthesizeOrganization,
} from '../support/cdk-asset';
import { runOnNode22 } from '../support/node22';
import { EXAMPLES } from '../support/snapshot-dir';

const REGION = 'eu-west-1';
const ACCOUNT = '111122223333';
// Port 1 on loopback refuses at once: a cluster whose API server cannot be reached.
const REFUSED_ENDPOINT = 'https://127.0.0.1:1';
// What CloudFormation would put where the template has a reference (Ref, Fn::GetAtt).
const PLACEHOLDERS: Readonly<Record<string, string>> = {
  REPORTS_BUCKET: 'irsa-auditor-reports-placeholder',
  REPORTS_KMS_KEY_ID: `arn:aws:kms:${REGION}:${ACCOUNT}:key/0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0`,
  TOPIC_ARN: `arn:aws:sns:${REGION}:${ACCOUNT}:irsa-auditor-alerts`,
};

// Runs in the Node 22 child: imports the bundle as Lambda's runtime imports an ESM handler and writes what
// happened to a file.
const DRIVER = `
import { writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const [asset, resultFile, eventJson] = process.argv.slice(1);
const write = (result) => writeFileSync(resultFile, JSON.stringify({ node: process.version, ...result }));
let module;
try {
  module = await import(pathToFileURL(asset).href);
} catch (error) {
  write({ imported: false, error: String(error && error.stack ? error.stack : error) });
  process.exit(0);
}
const base = { imported: true, handlerType: typeof module.handler };
if (eventJson === undefined) {
  write(base);
} else {
  const deadline = Date.now() + 60000;
  const context = { awsRequestId: 'bundle-smoke', getRemainingTimeInMillis: () => deadline - Date.now() };
  try {
    write({ ...base, output: await module.handler(JSON.parse(eventJson), context) });
  } catch (error) {
    write({ ...base, error: String(error && error.stack ? error.stack : error) });
  }
}
// Lambda freezes the container after the invocation; this process has to end instead.
process.exit(0);
`;

interface DriverResult {
  readonly node: string;
  readonly imported: boolean;
  readonly handlerType?: string;
  readonly output?: unknown;
  readonly error?: string;
}

let scratch: string;
let assets: Record<OrganizationStepName, string>;
let environments: Record<OrganizationStepName, Record<string, string>>;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'irsa-org-bundle-smoke-'));
  assets = await synthesizedOrganizationAssets(join(scratch, 'cdk.out'));
  // The environment as the template sets it (same context, no bundling needed to read it).
  const { organization, organizationTemplate } = synthesizeOrganization();
  const functions = organizationTemplate.findResources('AWS::Lambda::Function');
  const environmentOf = (step: OrganizationStepName): Record<string, string> => {
    const id = organization.getLogicalId(
      organization.functions[step].function.node.defaultChild as CfnElement,
    );
    const variables = (
      functions[id] as { Properties: { Environment: { Variables: Record<string, unknown> } } }
    ).Properties.Environment.Variables;
    return Object.fromEntries(
      Object.entries(variables).map(([name, value]) => {
        if (typeof value === 'string') return [name, value];
        const placeholder = PLACEHOLDERS[name];
        if (placeholder === undefined) throw new Error(`no placeholder for ${name}=${JSON.stringify(value)}`);
        return [name, placeholder];
      }),
    );
  };
  environments = {
    discover: environmentOf('discover'),
    auditTarget: environmentOf('auditTarget'),
    aggregate: environmentOf('aggregate'),
  };
}, 240_000);

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describe.each(ORGANIZATION_STEPS)('the %s bundle on Node.js 22', (step) => {
  it('imports as Lambda imports it and exports a handler function', async () => {
    // Prepare: what Lambda sets besides the function's own variables.
    const resultFile = join(scratch, `${step}.json`);
    const env = {
      ...environments[step],
      AWS_REGION: REGION,
      AWS_DEFAULT_REGION: REGION,
      AWS_LAMBDA_FUNCTION_NAME: `irsa-auditor-${step}`,
      AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
      LAMBDA_TASK_ROOT: join(assets[step], '..'),
    };

    // Act
    const run = await runOnNode22(DRIVER, [assets[step], resultFile], env, { timeoutMs: 60_000 });
    const result = JSON.parse(await readFile(resultFile, 'utf8')) as DriverResult;

    // Assess
    expect(run.code, run.stderr).toBe(0);
    expect(result.node).toMatch(/^v22\./);
    expect(result.error).toBeUndefined();
    expect(result.imported).toBe(true);
    expect(result.handlerType).toBe('function');
  });
});

describe('the three bundles on Node.js 22 run one organization run against moto and the fake API server', () => {
  const PAYMENTS = '111122223333';
  const SEARCH = '222233334444';
  const OTHER_REGION = 'us-east-1';
  const INCIDENT = 'platform-prod';
  const REFUSING = 'search-batch';
  const SINK = 'irsa-org-bundle-smoke';
  const EXAMPLE = join(EXAMPLES, 'blog-incident');
  const RUN = { runId: 'bundle-smoke-run', generatedAt: '2026-11-28T12:00:00.000Z' };
  let kube: FakeKubeApi;
  let moto: MotoServer;
  let sinks: MotoSinkClients;
  let inbox: AlertInbox;
  let topicArn: string;

  beforeAll(async () => {
    // The member role's keys are moto's, made up at AssumeRole inside the bundle: the fake checks the token's
    // form and cluster, not which keys signed it (the runtime's own tests check the signer).
    kube = await startFakeKubeApi({ snapshotDirectory: EXAMPLE, eks: { clusterName: INCIDENT } });
    const identities = await exampleEksIdentities(EXAMPLE);
    moto = await startMoto({
      multiAccount: true,
      eksClusters: {
        ...Object.fromEntries(
          Object.entries(identities).map(([name, identity]) => [
            name,
            { ...identity, endpoint: REFUSED_ENDPOINT, caData: kube.caData },
          ]),
        ),
        [INCIDENT]: { ...identities[INCIDENT], endpoint: kube.url, caData: kube.caData },
        [REFUSING]: { endpoint: REFUSED_ENDPOINT, caData: kube.caData },
      },
    });
    await seedMotoWithExample(await accountClients(moto.endpoint, PAYMENTS, REGION), EXAMPLE);
    await (await accountClients(moto.endpoint, SEARCH, OTHER_REGION)).eks.send(
      new CreateClusterCommand({
        name: REFUSING,
        roleArn: `arn:aws:iam::${SEARCH}:role/${REFUSING}-cluster-role`,
        resourcesVpcConfig: { subnetIds: ['subnet-0179024df634511da'] },
      }),
    );
    sinks = motoSinkClients(moto.endpoint, REGION);
    await sinks.s3.send(
      new CreateBucketCommand({ Bucket: SINK, CreateBucketConfiguration: { LocationConstraint: REGION } }),
    );
    topicArn = (await sinks.sns.send(new CreateTopicCommand({ Name: SINK }))).TopicArn ?? '';
    inbox = await subscribeInbox(sinks, topicArn, SINK);
  }, 240_000);

  afterAll(async () => {
    await kube?.stop();
    await moto?.stop();
  });

  /** Invokes a step's bundle once on Node 22 with the stack's environment, moto standing in for AWS. */
  async function invoke(step: OrganizationStepName, event: unknown): Promise<DriverResult> {
    const resultFile = join(scratch, `${step}-${Date.now()}.json`);
    const env = {
      ...environments[step],
      PATH: '/usr/local/bin:/usr/bin:/bin',
      // No profile, shared config or instance metadata: the default chain must find the keys below, as in Lambda.
      HOME: scratch,
      AWS_CONFIG_FILE: join(scratch, 'no-aws-config'),
      AWS_SHARED_CREDENTIALS_FILE: join(scratch, 'no-aws-credentials'),
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_REGION: REGION,
      AWS_DEFAULT_REGION: REGION,
      AWS_LAMBDA_FUNCTION_NAME: `irsa-auditor-${step}`,
      AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
      AWS_ACCESS_KEY_ID: MOTO_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: MOTO_CREDENTIALS.secretAccessKey,
      AWS_ENDPOINT_URL: moto.endpoint,
      REPORTS_BUCKET: SINK,
      ...(environments[step].TOPIC_ARN === undefined ? {} : { TOPIC_ARN: topicArn }),
      ...(environments[step].ACCOUNTS === undefined
        ? {}
        : { ACCOUNTS: `${PAYMENTS},${SEARCH}`, REGIONS: `${REGION},${OTHER_REGION}` }),
    };
    const run = await runOnNode22(DRIVER, [assets[step], resultFile, JSON.stringify(event)], env, {
      cwd: join(assets[step], '..'),
      timeoutMs: 90_000,
    });
    expect(run.code, run.stderr).toBe(0);
    return JSON.parse(await readFile(resultFile, 'utf8')) as DriverResult;
  }

  it('discovers every cluster, audits each as its member role, and publishes one summary', async () => {
    // Act: Discover
    const discovered = await invoke('discover', RUN);
    expect(discovered.error).toBeUndefined();
    const output = discovered.output as { itemsKey: string; clusters: number; targets: number };
    // 2 accounts × 2 regions; the incident example's two clusters (platform-prod, and platform-staging from its
    // clusters.json) in eu-west-1 of one account, the refusing cluster in us-east-1 of the other.
    expect(output.targets).toBe(4);
    expect(output.clusters).toBe(3);

    // Act: the map, one per-cluster step per item of items.json
    const itemsObject = await sinks.s3.send(new GetObjectCommand({ Bucket: SINK, Key: output.itemsKey }));
    const items = JSON.parse((await itemsObject.Body?.transformToString()) ?? '[]') as {
      account: string;
      region: string;
      cluster: string;
    }[];
    const statuses: Record<string, unknown> = {};
    for (const item of items) {
      const step = await invoke('auditTarget', { ...RUN, ...item });
      expect(step.error).toBeUndefined();
      statuses[`${item.account}/${item.region}/${item.cluster}`] = (step.output as { status: string }).status;
    }
    expect(statuses).toEqual({
      [`${PAYMENTS}/${REGION}/${INCIDENT}`]: 'audited',
      [`${PAYMENTS}/${REGION}/platform-staging`]: 'unreachable',
      [`${SEARCH}/${OTHER_REGION}/${REFUSING}`]: 'unreachable',
    });

    // Act: Aggregate
    const aggregated = await invoke('aggregate', { ...RUN, mapFailed: false });

    // Assess: the summary, the incident's report, one alert
    expect(aggregated.error).toBeUndefined();
    const summary = aggregated.output as {
      clustersAudited: number;
      auditErrors: number;
      findings: Record<string, number>;
      alerted: boolean;
    };
    expect(summary.clustersAudited).toBe(3);
    expect(summary.auditErrors).toBe(2);
    expect(summary.findings.critical).toBeGreaterThan(0);
    expect(summary.alerted).toBe(true);
    const latest = await sinks.s3.send(
      new GetObjectCommand({ Bucket: SINK, Key: `reports/${PAYMENTS}/${REGION}/${INCIDENT}/latest.json` }),
    );
    const report = JSON.parse((await latest.Body?.transformToString()) ?? '{}') as AuditReport;
    expect(report.clusters[0]?.findings.map((finding) => finding.check)).toEqual(
      expect.arrayContaining(['IRSA-W02', 'IRSA-P01', 'IRSA-S07']),
    );
    const alerts = await inbox.drain();
    expect(alerts).toHaveLength(1);
    expect(alerts[0]?.subject).toMatch(/^\[IRSA\] organization: /);
  }, 300_000);
});
