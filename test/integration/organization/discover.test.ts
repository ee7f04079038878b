// The discover step against moto_server with several member accounts (moto's AssumeRole admits any role, and
// its credentials act in the role's account): accounts from the configuration or from AWS Organizations, the
// clusters of each account × region as items, and targets that fail (a denied member role) recorded, not fatal.
// moto's Step Functions keeps every execution RUNNING with its start date, so a run started while an earlier one is
// in progress is a real ListExecutions answer.

import { CreateClusterCommand } from '@aws-sdk/client-eks';
import {
  CloseAccountCommand,
  CreateAccountCommand,
  CreateOrganizationCommand,
  OrganizationsClient,
} from '@aws-sdk/client-organizations';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import {
  CreateStateMachineCommand,
  DescribeExecutionCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  accountClients,
  assumeRoleFaults,
  MOTO_CREDENTIALS,
  MOTO_DEFAULT_ACCOUNT_ID,
  stsError,
} from '../../../lambda/emulators/moto';
import {
  createDiscoverDependencies,
  createDiscoverHandler,
  discoverTargets,
} from '../../../lambda/organization/discover';
import { loadDiscoverConfig } from '../../../lambda/organization/organization-config';
import type { DiscoveryDocument, TargetItem } from '../../../lambda/organization/run-objects';
import type { LogValue } from '../../../lambda/pipeline/structured-log';
import type { AwsClients } from '../../../lambda/sources/aws/aws-clients';
import { useMoto } from '../../support/use-moto';
import { type AlertSinks, createAlertSinks } from '../handler/emulated-account';

// Without MOTO_ACCOUNT_ID, the auditor's own credentials act in moto's default account.
const AUDITOR = MOTO_DEFAULT_ACCOUNT_ID;
const PAYMENTS = '111122223333';
const SEARCH = '222233334444';
const DENIED = '333344445555';
const EXTERNAL_ID = 'irsa-auditor-test-external-id';
const REGIONS = ['eu-west-1', 'us-east-1'];

const moto = useMoto({ multiAccount: true });
let sinks: AlertSinks;

beforeEach(async () => {
  sinks = await createAlertSinks(moto.endpoint, 'irsa-org-discover');
});

async function createClusters(clients: AwsClients, names: readonly string[]): Promise<void> {
  for (const name of names) {
    await clients.eks.send(
      new CreateClusterCommand({
        name,
        roleArn: 'arn:aws:iam::111122223333:role/cluster-role',
        resourcesVpcConfig: { subnetIds: ['subnet-0179024df634511da'] },
      }),
    );
  }
}

function discoverWith(env: Record<string, string>, denied: ReadonlySet<string> = new Set()) {
  const assumed: { roleArn: string; externalId?: string; sessionName?: string }[] = [];
  const handler = createDiscoverHandler(
    {
      AWS_REGION: 'eu-west-1',
      AWS_ENDPOINT_URL: moto.endpoint,
      REPORTS_BUCKET: sinks.bucket,
      EXTERNAL_ID,
      REGIONS: REGIONS.join(','),
      ...env,
    },
    {
      credentials: MOTO_CREDENTIALS,
      log: () => undefined,
      stsPlugins: [
        assumeRoleFaults(
          (roleArn) =>
            denied.has(roleArn.split(':')[4] ?? '')
              ? stsError(
                  'AccessDenied',
                  `User is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`,
                  403,
                )
              : undefined,
          assumed,
        ),
      ],
    },
  );
  return { handler, assumed };
}

async function readJson<T>(key: string): Promise<T> {
  const object = await sinks.s3.send(new GetObjectCommand({ Bucket: sinks.bucket, Key: key }));
  return JSON.parse((await object.Body?.transformToString('utf-8')) ?? '') as T;
}

const run = (runId: string) => ({ runId, generatedAt: new Date().toISOString() });

describe('discover with listed accounts', () => {
  it('writes one item per cluster of every account × region, and assumes each member role once', async () => {
    await createClusters(await accountClients(moto.endpoint, PAYMENTS, 'eu-west-1'), [
      'payments-prod',
      'payments-dr',
    ]);
    await createClusters(await accountClients(moto.endpoint, SEARCH, 'us-east-1'), ['search-prod']);
    const { handler, assumed } = discoverWith({ ACCOUNTS: `${PAYMENTS},${SEARCH}` });

    const output = await handler(run('run-listed'));

    const items = await readJson<TargetItem[]>(output.itemsKey);
    // Dealt round-robin across accounts: the second payments cluster waits for the first search one.
    expect(items).toEqual([
      { account: PAYMENTS, region: 'eu-west-1', cluster: 'payments-dr' },
      { account: SEARCH, region: 'us-east-1', cluster: 'search-prod' },
      { account: PAYMENTS, region: 'eu-west-1', cluster: 'payments-prod' },
    ]);
    expect(output).toMatchObject({
      runId: 'run-listed',
      itemsBucket: sinks.bucket,
      itemsKey: 'runs/run-listed/items.json',
      clusters: 3,
      targets: 4,
      failedTargets: 0,
    });
    const discovery = await readJson<DiscoveryDocument>('runs/run-listed/discovery.json');
    expect(discovery.targets).toEqual([
      { account: PAYMENTS, region: 'eu-west-1', clusters: ['payments-dr', 'payments-prod'] },
      { account: PAYMENTS, region: 'us-east-1', clusters: [] },
      { account: SEARCH, region: 'eu-west-1', clusters: [] },
      { account: SEARCH, region: 'us-east-1', clusters: ['search-prod'] },
    ]);
    expect(assumed).toEqual([
      {
        roleArn: `arn:aws:iam::${PAYMENTS}:role/IrsaAuditorMember`,
        externalId: EXTERNAL_ID,
        sessionName: 'irsa-auditor-discover',
      },
      {
        roleArn: `arn:aws:iam::${SEARCH}:role/IrsaAuditorMember`,
        externalId: EXTERNAL_ID,
        sessionName: 'irsa-auditor-discover',
      },
    ]);
  });

  it('records a denied member role as failed targets and still lists the other accounts', async () => {
    await createClusters(await accountClients(moto.endpoint, PAYMENTS, 'eu-west-1'), ['payments-prod']);
    await createClusters(await accountClients(moto.endpoint, DENIED, 'eu-west-1'), ['hidden-prod']);
    const { handler } = discoverWith(
      { ACCOUNTS: `${PAYMENTS},${DENIED}`, MEMBER_ROLE_NAME: 'AuditReader' },
      new Set([DENIED]),
    );

    const output = await handler(run('run-denied'));

    expect(await readJson<TargetItem[]>(output.itemsKey)).toEqual([
      { account: PAYMENTS, region: 'eu-west-1', cluster: 'payments-prod' },
    ]);
    expect(output.failedTargets).toBe(2);
    const discovery = await readJson<DiscoveryDocument>('runs/run-denied/discovery.json');
    const failed = discovery.targets.filter((target) => 'error' in target);
    expect(failed.map((target) => `${target.account} ${target.region}`)).toEqual([
      `${DENIED} eu-west-1`,
      `${DENIED} us-east-1`,
    ]);
    for (const target of failed) {
      if (!('error' in target)) continue;
      expect(target.error.reason).toBe('access-denied');
      expect(target.error.message).toContain(`arn:aws:iam::${DENIED}:role/AuditReader`);
      expect(target.error.message).toContain(`deploy MemberAccountStack in account ${DENIED}`);
    }
  });

  it('records an AssumeRole refused for a disabled STS region as that region not enabled, naming the home region', async () => {
    const handler = createDiscoverHandler(
      {
        AWS_REGION: 'eu-west-1',
        AWS_ENDPOINT_URL: moto.endpoint,
        REPORTS_BUCKET: sinks.bucket,
        EXTERNAL_ID,
        REGIONS: REGIONS.join(','),
        ACCOUNTS: PAYMENTS,
      },
      {
        credentials: MOTO_CREDENTIALS,
        log: () => undefined,
        stsPlugins: [
          assumeRoleFaults(() =>
            stsError(
              'RegionDisabledException',
              `STS is not activated in this region for account:${PAYMENTS}`,
              403,
            ),
          ),
        ],
      },
    );

    await handler(run('run-region-disabled'));

    const discovery = await readJson<DiscoveryDocument>('runs/run-region-disabled/discovery.json');
    expect(
      discovery.targets.map((target) =>
        'error' in target
          ? `${target.region} ${target.error.reason} ${target.error.stsRegion}`
          : target.region,
      ),
    ).toEqual(['eu-west-1 region-not-enabled eu-west-1', 'us-east-1 region-not-enabled eu-west-1']);
  });

  it('follows ListClusters past its first page of 100 clusters', async () => {
    const names = Array.from({ length: 103 }, (_, index) => `cluster-${String(index).padStart(3, '0')}`);
    await createClusters(await accountClients(moto.endpoint, SEARCH, 'us-east-1'), names);
    const { handler } = discoverWith({ ACCOUNTS: SEARCH, REGIONS: 'us-east-1' });

    const output = await handler(run('run-many'));

    const items = await readJson<TargetItem[]>(output.itemsKey);
    expect(items.map((item) => item.cluster)).toEqual(names);
    expect(output.clusters).toBe(103);
  }, 60_000);

  it('refuses an event without a run ID, naming the field', async () => {
    const { handler } = discoverWith({ ACCOUNTS: PAYMENTS });

    await expect(handler({ generatedAt: new Date().toISOString() })).rejects.toThrow(
      /the event\.runId is not a non-empty string/,
    );
  });
});

describe('discover with ACCOUNTS=all', () => {
  it('lists every ACTIVE account of the organization, across ListAccounts pages', async () => {
    const organizations = new OrganizationsClient({
      region: 'us-east-1',
      endpoint: moto.endpoint,
      credentials: MOTO_CREDENTIALS,
    });
    await organizations.send(new CreateOrganizationCommand({ FeatureSet: 'ALL' }));
    const created: string[] = [];
    for (let index = 0; index < 23; index += 1) {
      const { CreateAccountStatus: status } = await organizations.send(
        new CreateAccountCommand({ AccountName: `member-${index}`, Email: `member-${index}@example.com` }),
      );
      created.push(status?.AccountId ?? '');
    }
    const [closed, withCluster] = created;
    await organizations.send(new CloseAccountCommand({ AccountId: closed }));
    await createClusters(await accountClients(moto.endpoint, withCluster ?? '', 'eu-west-1'), [
      'member-prod',
    ]);
    const { handler } = discoverWith({ ACCOUNTS: 'all', REGIONS: 'eu-west-1' });

    const output = await handler(run('run-all'));

    const discovery = await readJson<DiscoveryDocument>('runs/run-all/discovery.json');
    // The management account (the auditor's, here) is a member too; the closed account is SUSPENDED.
    expect(discovery.accounts).toEqual([AUDITOR, ...created.filter((id) => id !== closed)].sort());
    expect(await readJson<TargetItem[]>(output.itemsKey)).toEqual([
      { account: withCluster, region: 'eu-west-1', cluster: 'member-prod' },
    ]);
    expect(output).toMatchObject({ targets: 23, failedTargets: 0, clusters: 1 });
  }, 60_000);
});

describe('discover under throttling', () => {
  const environment = (accounts: string) => ({
    AWS_REGION: 'eu-west-1',
    AWS_ENDPOINT_URL: moto.endpoint,
    REPORTS_BUCKET: sinks.bucket,
    EXTERNAL_ID,
    ACCOUNTS: accounts,
    REGIONS: 'eu-west-1',
  });
  const throttling = () => stsError('Throttling', 'Rate exceeded', 400);

  /** The step's dependencies with an STS fault and a sleep that records its waits instead of waiting. */
  function throttledDeps(accounts: string, fault: Parameters<typeof assumeRoleFaults>[0]) {
    const waits: number[] = [];
    const deps = {
      ...createDiscoverDependencies(loadDiscoverConfig(environment(accounts)), {
        credentials: MOTO_CREDENTIALS,
        log: () => undefined,
        stsPlugins: [assumeRoleFaults(fault)],
      }),
      sleep: async (ms: number) => {
        waits.push(ms);
      },
    };
    return { deps, waits };
  }

  async function keysUnder(prefix: string): Promise<string[]> {
    const listed = await sinks.s3.send(new ListObjectsV2Command({ Bucket: sinks.bucket, Prefix: prefix }));
    return (listed.Contents ?? []).map((object) => object.Key ?? '');
  }

  it('tries a throttled AssumeRole again and lists the target once STS answers, instead of an IRSA-X01', async () => {
    await createClusters(await accountClients(moto.endpoint, PAYMENTS, 'eu-west-1'), ['payments-prod']);
    let throttled = 2;
    const { deps, waits } = throttledDeps(PAYMENTS, () => {
      if (throttled === 0) return undefined;
      throttled -= 1;
      return throttling();
    });

    const output = await discoverTargets(deps, run('run-throttled-once'));

    expect(output).toMatchObject({ failedTargets: 0, clusters: 1 });
    expect(await readJson<TargetItem[]>(output.itemsKey)).toEqual([
      { account: PAYMENTS, region: 'eu-west-1', cluster: 'payments-prod' },
    ]);
    expect(waits).toHaveLength(2);
    // Full jitter below a doubling ceiling: the second wait is drawn from [0, 2 s).
    expect(waits[0]).toBeLessThan(1000);
    expect(waits[1]).toBeLessThan(2000);
  });

  it('fails the step as TargetThrottled when AssumeRole stays throttled, and writes no items', async () => {
    const { deps, waits } = throttledDeps(`${PAYMENTS},${SEARCH}`, (roleArn) =>
      roleArn.includes(SEARCH) ? throttling() : undefined,
    );

    const attempt = discoverTargets(deps, run('run-throttled'));

    await expect(attempt).rejects.toMatchObject({ name: 'TargetThrottled' });
    await expect(attempt).rejects.toThrow(`${SEARCH}/eu-west-1: still throttled after 3 attempts`);
    expect(waits).toHaveLength(2);
    expect(await keysUnder('runs/run-throttled/')).toEqual([]);
  });

  it('fails the step as TargetThrottled when EKS ListClusters stays throttled', async () => {
    const { deps } = throttledDeps(PAYMENTS, () => undefined);
    const sessionFor = (account: string) => {
      const session = deps.sessionFor(account);
      return {
        ...session,
        clients: (region: string) => {
          const clients = session.clients(region);
          clients.eks.middlewareStack.add(
            () => async () => {
              throw Object.assign(new Error('Rate exceeded'), {
                name: 'ThrottlingException',
                $fault: 'client',
                $metadata: { httpStatusCode: 429 },
              });
            },
            { step: 'initialize', name: 'listClustersThrottled' },
          );
          return clients;
        },
      };
    };

    const attempt = discoverTargets({ ...deps, sessionFor }, run('run-list-throttled'));

    await expect(attempt).rejects.toMatchObject({ name: 'TargetThrottled' });
    await expect(attempt).rejects.toThrow(/EKS ListClusters in eu-west-1 was throttled/);
  });
});

describe('discover while another run of the state machine is in progress', () => {
  const STATE_MACHINE = 'IrsaAuditorOrganization';
  // Step Functions start times have millisecond precision: runs started this far apart never start together.
  const BETWEEN_STARTS_MS = 5;

  interface Execution {
    readonly runId: string;
    readonly executionArn: string;
    readonly startDate: Date;
  }
  interface LogLine {
    readonly level: string;
    readonly message: string;
    readonly fields: Readonly<Record<string, LogValue>>;
  }

  /** Creates the state machine in moto and starts an execution per name, in order; moto keeps them RUNNING. */
  async function startRuns(...runIds: string[]): Promise<{ stateMachineArn: string; runs: Execution[] }> {
    const sfn = new SFNClient({
      region: 'eu-west-1',
      endpoint: moto.endpoint,
      credentials: MOTO_CREDENTIALS,
    });
    const { stateMachineArn = '' } = await sfn.send(
      new CreateStateMachineCommand({
        name: STATE_MACHINE,
        roleArn: `arn:aws:iam::${AUDITOR}:role/irsa-auditor-state-machine`,
        definition: JSON.stringify({ StartAt: 'Wait', States: { Wait: { Type: 'Pass', End: true } } }),
      }),
    );
    const runs: Execution[] = [];
    for (const runId of runIds) {
      const { executionArn = '' } = await sfn.send(
        new StartExecutionCommand({ stateMachineArn, name: runId, input: '{}' }),
      );
      const described = await sfn.send(new DescribeExecutionCommand({ executionArn }));
      runs.push({ runId, executionArn, startDate: described.startDate ?? new Date(0) });
      await new Promise((resolve) => setTimeout(resolve, BETWEEN_STARTS_MS));
    }
    return { stateMachineArn, runs };
  }

  /** The event the state machine hands Discover for this execution (its name, start time and the two ARNs). */
  const eventOf = (stateMachineArn: string, execution: Execution) => ({
    runId: execution.runId,
    generatedAt: execution.startDate.toISOString(),
    stateMachineArn,
    executionArn: execution.executionArn,
  });

  /** The step's dependencies with the log and the member roles assumed recorded, and ListExecutions counted. */
  function overlapDeps() {
    const lines: LogLine[] = [];
    const assumed: { roleArn: string }[] = [];
    const deps = createDiscoverDependencies(
      loadDiscoverConfig({
        AWS_REGION: 'eu-west-1',
        AWS_ENDPOINT_URL: moto.endpoint,
        REPORTS_BUCKET: sinks.bucket,
        EXTERNAL_ID,
        ACCOUNTS: PAYMENTS,
        REGIONS: 'eu-west-1',
      }),
      {
        credentials: MOTO_CREDENTIALS,
        log: (level, message, fields = {}) => lines.push({ level, message, fields }),
        stsPlugins: [assumeRoleFaults(() => undefined, assumed)],
      },
    );
    const listed = { calls: 0 };
    deps.stepFunctions.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'ListExecutionsCommand') listed.calls += 1;
        return next(args);
      },
      { step: 'initialize', name: 'countListExecutions' },
    );
    return { deps, lines, assumed, listed };
  }

  async function keysUnder(prefix: string): Promise<string[]> {
    const listed = await sinks.s3.send(new ListObjectsV2Command({ Bucket: sinks.bucket, Prefix: prefix }));
    return (listed.Contents ?? []).map((object) => object.Key ?? '');
  }

  beforeEach(async () => {
    await createClusters(await accountClients(moto.endpoint, PAYMENTS, 'eu-west-1'), ['payments-prod']);
  });

  it('skips the run when an earlier execution is still running: writes nothing and names the earlier one', async () => {
    // Prepare
    const { stateMachineArn, runs } = await startRuns('run-earlier', 'run-later');
    const [earlier, later] = runs as [Execution, Execution];
    const { deps, lines, assumed } = overlapDeps();

    // Act
    const output = await discoverTargets(deps, eventOf(stateMachineArn, later));

    // Assess
    expect(output).toEqual({
      runId: 'run-later',
      generatedAt: later.startDate.toISOString(),
      skipped: true,
      itemsBucket: sinks.bucket,
      itemsKey: '',
      clusters: 0,
      targets: 0,
      failedTargets: 0,
      runningSince: earlier.startDate.toISOString(),
    });
    expect(await keysUnder('runs/run-later/')).toEqual([]);
    expect(assumed).toEqual([]);
    expect(lines).toEqual([
      {
        level: 'warn',
        message: 'run skipped: an earlier run is still in progress',
        fields: {
          runId: 'run-later',
          earlierExecutionArn: earlier.executionArn,
          runningSince: earlier.startDate.toISOString(),
        },
      },
    ]);
  });

  it('discovers as usual when this execution is the earliest running one', async () => {
    // Prepare
    const { stateMachineArn, runs } = await startRuns('run-first', 'run-second');
    const [first] = runs as [Execution, Execution];
    const { deps, listed } = overlapDeps();

    // Act
    const output = await discoverTargets(deps, eventOf(stateMachineArn, first));

    // Assess
    expect(listed.calls).toBe(1);
    expect(output).toMatchObject({ skipped: false, itemsKey: 'runs/run-first/items.json', clusters: 1 });
    expect(output.runningSince).toBeUndefined();
    expect(await readJson<TargetItem[]>(output.itemsKey)).toEqual([
      { account: PAYMENTS, region: 'eu-west-1', cluster: 'payments-prod' },
    ]);
  });

  it('discovers as usual when it is the only running execution', async () => {
    // Prepare
    const { stateMachineArn, runs } = await startRuns('run-alone');
    const [alone] = runs as [Execution];
    const { deps } = overlapDeps();

    // Act
    const output = await discoverTargets(deps, eventOf(stateMachineArn, alone));

    // Assess
    expect(output).toMatchObject({ skipped: false, clusters: 1 });
    expect(await keysUnder('runs/run-alone/')).toEqual([
      'runs/run-alone/discovery.json',
      'runs/run-alone/items.json',
    ]);
  });

  it('finds the earlier execution on a later ListExecutions page', async () => {
    // Prepare: one execution per page; Step Functions lists the newest first, so the earlier run is on page 2.
    const { stateMachineArn, runs } = await startRuns('run-paged-earlier', 'run-paged-later');
    const [earlier, later] = runs as [Execution, Execution];
    const { deps, listed } = overlapDeps();
    deps.stepFunctions.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'ListExecutionsCommand')
          return next({ ...args, input: { ...(args.input as object), maxResults: 1 } });
        return next(args);
      },
      { step: 'initialize', name: 'onePerPage' },
    );

    // Act
    const output = await discoverTargets(deps, eventOf(stateMachineArn, later));

    // Assess
    expect(listed.calls).toBeGreaterThanOrEqual(2);
    expect(output).toMatchObject({ skipped: true, runningSince: earlier.startDate.toISOString() });
    expect(await keysUnder('runs/run-paged-later/')).toEqual([]);
  });

  it('discovers as usual, with a warning, when Step Functions refuses ListExecutions', async () => {
    // Prepare
    const { stateMachineArn, runs } = await startRuns('run-denied-earlier', 'run-denied-later');
    const [, later] = runs as [Execution, Execution];
    const { deps, lines } = overlapDeps();
    deps.stepFunctions.middlewareStack.add(
      () => async () => {
        throw Object.assign(
          new Error(
            `User: arn:aws:sts::${AUDITOR}:assumed-role/IrsaAuditorDiscover/discover is not authorized to perform: states:ListExecutions`,
          ),
          { name: 'AccessDeniedException', $fault: 'client', $metadata: { httpStatusCode: 400 } },
        );
      },
      { step: 'initialize', name: 'listExecutionsDenied' },
    );

    // Act
    const output = await discoverTargets(deps, eventOf(stateMachineArn, later));

    // Assess
    expect(output).toMatchObject({
      skipped: false,
      itemsKey: 'runs/run-denied-later/items.json',
      clusters: 1,
    });
    expect(await keysUnder('runs/run-denied-later/')).toHaveLength(2);
    const warning = lines.find((line) => line.level === 'warn');
    expect(warning?.message).toBe(
      'cannot tell whether an earlier run is still in progress; discovering anyway',
    );
    expect(warning?.fields.error).toMatch(/^AccessDeniedException: .*states:ListExecutions/);
  });

  it('does not ask Step Functions without the two ARNs in the event, and discovers as today', async () => {
    // Prepare
    const { runs } = await startRuns('run-running', 'run-without-arns');
    const [, later] = runs as [Execution, Execution];
    const { deps, listed } = overlapDeps();

    // Act
    const output = await discoverTargets(deps, {
      runId: later.runId,
      generatedAt: later.startDate.toISOString(),
    });

    // Assess
    expect(listed.calls).toBe(0);
    expect(output).toMatchObject({ skipped: false, clusters: 1 });
  });

  it('refuses an event with one of the two ARNs only, naming both', async () => {
    // Prepare
    const { stateMachineArn } = await startRuns();
    const { deps } = overlapDeps();

    // Act
    const attempt = discoverTargets(deps, { ...run('run-half'), stateMachineArn });

    // Assess
    await expect(attempt).rejects.toThrow(/stateMachineArn and executionArn without the other/);
    expect(await keysUnder('runs/run-half/')).toEqual([]);
  });
});
