// The discover step of an organization run: the accounts (configured, or every ACTIVE account of the
// organization), and in each account × region the EKS clusters listed as the member role. Writes the Distributed
// Map's items (runs/<runId>/items.json, dealt round-robin across accounts) and what was found or failed
// (runs/<runId>/discovery.json). A target that cannot be listed is recorded, never a failed discovery: the
// aggregate reports it as IRSA-X01. Throttling is not a property of the target: it is retried, and beyond that the
// step fails as TargetThrottled for the state machine to retry. A run started while an earlier one of the same
// state machine is still running (a manual start-execution) skips itself: two runs would compare against the
// same baselines and both alert the same change.

import { OrganizationsClient, paginateListAccounts } from '@aws-sdk/client-organizations';
import { ExecutionStatus, paginateListExecutions, SFNClient } from '@aws-sdk/client-sfn';
import { errorText } from '../core/error-text';
import { atColdStart, auditorCredentials, homeClientConfig, reportStoreFor } from '../pipeline/cold-start';
import type { Environment } from '../pipeline/config';
import type { StructuredLog } from '../pipeline/structured-log';
import { jsonLineLog } from '../pipeline/structured-log';
import type { ReportStore } from '../sinks/report-store';
import { listClusterNames } from '../sources/aws/collect-aws';
import { createConcurrencyLimit } from '../sources/aws/concurrency-limit';
import {
  MemberAccessError,
  type MemberSession,
  regionCallFailure,
  TargetThrottledError,
} from './member-session';
import {
  ALL_ACCOUNTS,
  type DiscoverConfig,
  loadDiscoverConfig,
  ORGANIZATION_VARIABLES,
} from './organization-config';
import {
  type DiscoveredTarget,
  type DiscoveryDocument,
  discoveryKey,
  itemsKey,
  parseRunEvent,
  RunObjectError,
  type TargetItem,
} from './run-objects';
import { memberSessions, type StepOptions } from './step-runtime';

/**
 * What the discover step returns to the state machine: where the items are, and how many of what; or, skipped, that
 * an earlier run is still in progress (no items: itemsKey is empty and the state machine ends the run).
 */
export interface DiscoverOutput {
  readonly runId: string;
  readonly generatedAt: string;
  /** An earlier execution of the state machine is still running, so this run discovered nothing. */
  readonly skipped: boolean;
  readonly itemsBucket: string;
  readonly itemsKey: string;
  readonly clusters: number;
  readonly targets: number;
  readonly failedTargets: number;
  /** Skipped only: when the earlier execution started (ISO-8601). */
  readonly runningSince?: string;
}

/** The execution running this step, as the state machine passes it from its context object. */
export interface ExecutionRef {
  readonly stateMachineArn: string;
  readonly executionArn: string;
}

/** An earlier execution of the same state machine that is still running. */
export interface EarlierExecution {
  readonly executionArn: string;
  readonly startDate: Date;
}

/** What discovery needs, built once per container or by a test. */
export interface DiscoverDependencies {
  readonly config: DiscoverConfig;
  /** The organization's accounts (ACCOUNTS=all); the management account's or a delegated administrator's. */
  readonly organizations: OrganizationsClient;
  /** The state machine's running executions, to tell whether an earlier run is still in progress. */
  readonly stepFunctions: SFNClient;
  readonly sessionFor: (account: string) => MemberSession;
  readonly store: ReportStore;
  readonly log: StructuredLog;
  /** Waits between the attempts at a throttled target; a test passes one that does not wait. */
  readonly sleep?: (ms: number) => Promise<void>;
}

/** Nothing can be discovered (the organization's accounts cannot be listed, or the run's objects not written). */
export class DiscoverError extends Error {
  override readonly name = 'DiscoverError';
}

// ListAccounts returns at most 20 accounts per page.
const LIST_ACCOUNTS_PAGE_SIZE = 20;
// The one account state (State, or the retiring Status) whose clusters are audited.
const ACTIVE = 'ACTIVE';
// A throttled target is tried this many times in all, after the SDK's own (adaptive) retries of each call: STS and
// EKS throttle per account for seconds, and the state machine retries the whole step after that.
const THROTTLED_ATTEMPTS = 3;
// The first wait between attempts; it doubles, with full jitter, so targets throttled together spread out.
const THROTTLED_BACKOFF_MS = 1000;
// ListExecutions returns at most 1,000 executions per page; a state machine has one or two running at a time.
const LIST_EXECUTIONS_PAGE_SIZE = 1000;

/** Lists the clusters of every account × region and writes items.json and discovery.json. */
export async function discoverTargets(deps: DiscoverDependencies, event: unknown): Promise<DiscoverOutput> {
  const run = parseRunEvent(event);
  const { config, log } = deps;
  const execution = parseExecutionRef(event);
  const earlier =
    execution === undefined ? undefined : await earlierRunningExecution(deps, execution, run.at, run.runId);
  if (earlier !== undefined) {
    const runningSince = earlier.startDate.toISOString();
    log('warn', 'run skipped: an earlier run is still in progress', {
      runId: run.runId,
      earlierExecutionArn: earlier.executionArn,
      runningSince,
    });
    return {
      runId: run.runId,
      generatedAt: run.generatedAt,
      skipped: true,
      itemsBucket: deps.store.bucket,
      itemsKey: '',
      clusters: 0,
      targets: 0,
      failedTargets: 0,
      runningSince,
    };
  }
  const accounts = config.accounts === ALL_ACCOUNTS ? await activeAccounts(deps) : config.accounts;
  log('info', 'discovery started', {
    runId: run.runId,
    accounts: accounts.length,
    regions: [...config.regions],
    source: config.accounts === ALL_ACCOUNTS ? 'ListAccounts' : ORGANIZATION_VARIABLES.accounts,
  });

  const limit = createConcurrencyLimit(config.discoveryConcurrency);
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const targets = await Promise.all(
    accounts.flatMap((account) =>
      config.regions.map((region) =>
        limit.run(() => discoverUnthrottled(deps.sessionFor(account), region, sleep)),
      ),
    ),
  );
  for (const target of targets) {
    if ('error' in target)
      log('warn', 'target not discovered', {
        runId: run.runId,
        account: target.account,
        region: target.region,
        reason: target.error.reason,
        error: target.error.message,
      });
  }

  const items = interleavedItems(targets);
  const discovery: DiscoveryDocument = {
    runId: run.runId,
    generatedAt: run.generatedAt,
    accounts: [...accounts],
    regions: [...config.regions],
    targets,
  };
  const key = itemsKey(run.runId);
  try {
    // discovery.json first: the aggregate needs it, and items.json without it would be a map with no account.
    await deps.store.putJson(discoveryKey(run.runId), discovery, run.runId);
    await deps.store.putJson(key, items, run.runId);
  } catch (error) {
    throw new DiscoverError(
      `run ${run.runId}: the discovery was not saved: ${errorText(error, { named: true })}`,
      {
        cause: error,
      },
    );
  }
  const output: DiscoverOutput = {
    runId: run.runId,
    generatedAt: run.generatedAt,
    skipped: false,
    itemsBucket: deps.store.bucket,
    itemsKey: key,
    clusters: items.length,
    targets: targets.length,
    failedTargets: targets.filter((target) => 'error' in target).length,
  };
  log('info', 'discovery finished', { ...output });
  return output;
}

/**
 * The state machine and execution of the event (the state machine passes both from its context object), or
 * undefined without them (tests and older callers, which discover without asking Step Functions).
 */
export function parseExecutionRef(event: unknown): ExecutionRef | undefined {
  const fields = event as Readonly<Record<string, unknown>>;
  const arn = (field: 'stateMachineArn' | 'executionArn') => {
    const value = fields[field];
    if (value !== undefined && (typeof value !== 'string' || value === ''))
      throw new RunObjectError(`the event.${field} is not a non-empty string`);
    return value;
  };
  const stateMachineArn = arn('stateMachineArn');
  const executionArn = arn('executionArn');
  if (stateMachineArn === undefined && executionArn === undefined) return undefined;
  if (stateMachineArn === undefined || executionArn === undefined)
    throw new RunObjectError(
      'the event has one of stateMachineArn and executionArn without the other: pass both ($$.StateMachine.Id and $$.Execution.Id) or neither',
    );
  return { stateMachineArn, executionArn };
}

/**
 * The earliest other RUNNING execution of the state machine that started before this one (`startedAt`, the
 * execution's start time), or undefined. When Step Functions cannot be asked (denied, throttled beyond the SDK's
 * retries), undefined and a warning: an audit that runs twice is better than one that never runs.
 */
export async function earlierRunningExecution(
  deps: Pick<DiscoverDependencies, 'stepFunctions' | 'log'>,
  execution: ExecutionRef,
  startedAt: Date,
  runId: string,
): Promise<EarlierExecution | undefined> {
  let earliest: EarlierExecution | undefined;
  try {
    const pages = paginateListExecutions(
      { client: deps.stepFunctions, pageSize: LIST_EXECUTIONS_PAGE_SIZE },
      { stateMachineArn: execution.stateMachineArn, statusFilter: ExecutionStatus.RUNNING },
    );
    for await (const page of pages) {
      for (const listed of page.executions ?? []) {
        const { executionArn, startDate } = listed;
        if (executionArn === undefined || startDate === undefined) continue;
        if (executionArn === execution.executionArn || startDate.getTime() >= startedAt.getTime()) continue;
        if (earliest === undefined || startDate.getTime() < earliest.startDate.getTime())
          earliest = { executionArn, startDate };
      }
    }
  } catch (error) {
    deps.log('warn', 'cannot tell whether an earlier run is still in progress; discovering anyway', {
      runId,
      stateMachineArn: execution.stateMachineArn,
      error: errorText(error, { named: true }),
    });
    return undefined;
  }
  return earliest;
}

/**
 * Every ACTIVE account of the organization (suspended and closing accounts have nothing to audit). An organization
 * that lists accounts but none ACTIVE is a DiscoverError, never an empty (and silently green) run.
 */
export async function activeAccounts(deps: Pick<DiscoverDependencies, 'organizations'>): Promise<string[]> {
  const accounts: string[] = [];
  let listed = 0;
  try {
    const pages = paginateListAccounts({ client: deps.organizations, pageSize: LIST_ACCOUNTS_PAGE_SIZE }, {});
    for await (const page of pages) {
      for (const account of page.Accounts ?? []) {
        listed += 1;
        // Organizations retires Status (September 2026) in favour of State; an answer may carry either.
        if ((account.State ?? account.Status) === ACTIVE && account.Id !== undefined)
          accounts.push(account.Id);
      }
    }
  } catch (error) {
    throw new DiscoverError(
      `cannot list the organization's accounts (${errorText(error, { named: true })}): run discover in the management account or a delegated administrator, or set ${ORGANIZATION_VARIABLES.accounts} to a list of account IDs`,
      { cause: error },
    );
  }
  if (accounts.length === 0)
    throw new DiscoverError(
      `the organization lists ${listed} account(s) but none whose State (or Status) is ${ACTIVE}, so there is nothing to audit: check ListAccounts in the management account, or set ${ORGANIZATION_VARIABLES.accounts} to a list of account IDs`,
    );
  return [...new Set(accounts)].sort();
}

/**
 * The map's items, dealt round-robin across accounts (and within an account across its regions): the map starts
 * them in this order, so an account with 20 clusters does not get 20 audits of its IAM at once while the others wait.
 */
export function interleavedItems(targets: readonly DiscoveredTarget[]): TargetItem[] {
  const byAccount = new Map<string, TargetItem[][]>();
  for (const target of targets) {
    if (!('clusters' in target)) continue;
    const { account, region } = target;
    const regions = byAccount.get(account) ?? [];
    regions.push(target.clusters.map((cluster) => ({ account, region, cluster })));
    byAccount.set(account, regions);
  }
  return roundRobin([...byAccount.values()].map(roundRobin));
}

/** The first of every list, then the second of every list, and so on. */
function roundRobin<T>(lists: readonly (readonly T[])[]): T[] {
  const dealt: T[] = [];
  const longest = lists.reduce((most, list) => Math.max(most, list.length), 0);
  for (let index = 0; index < longest; index += 1) {
    for (const list of lists) if (index < list.length) dealt.push(list[index] as T);
  }
  return dealt;
}

/** discoverTarget, tried again while throttled (backoff with full jitter); TargetThrottled when that is not enough. */
async function discoverUnthrottled(
  session: MemberSession,
  region: string,
  sleep: (ms: number) => Promise<void>,
): Promise<DiscoveredTarget> {
  for (let attempt = 1; ; attempt += 1) {
    const target = await discoverTarget(session, region);
    if (!('error' in target) || target.error.reason !== 'throttled') return target;
    if (attempt >= THROTTLED_ATTEMPTS)
      throw new TargetThrottledError(
        `${session.account}/${region}: still throttled after ${THROTTLED_ATTEMPTS} attempts (${target.error.message}); the state machine retries the discover step`,
      );
    await sleep(Math.random() * THROTTLED_BACKOFF_MS * 2 ** (attempt - 1));
  }
}

/** The clusters of one account × region as its member role sees them, or why they could not be listed. */
async function discoverTarget(session: MemberSession, region: string): Promise<DiscoveredTarget> {
  const { account } = session;
  try {
    // Once per account (the session keeps the credentials), so a refused role is told apart from a refused region.
    await session.assume();
  } catch (error) {
    return failedTarget(account, region, error, 'AssumeRole');
  }
  try {
    const clusters = await listClusterNames(session.clients(region));
    return { account, region, clusters: [...new Set(clusters)].sort() };
  } catch (error) {
    return failedTarget(account, region, regionCallFailure(error, session, region, 'EKS ListClusters'));
  }
}

function failedTarget(
  account: string,
  region: string,
  error: unknown,
  operation?: 'AssumeRole',
): DiscoveredTarget {
  if (!(error instanceof MemberAccessError))
    return { account, region, error: { reason: 'error', message: errorText(error, { named: true }) } };
  // AssumeRole's region is the home region's STS endpoint, not the target's: the remediation must name it.
  const stsRegion =
    operation === 'AssumeRole' && error.reason === 'region-not-enabled' && error.region !== undefined
      ? { stsRegion: error.region }
      : {};
  return { account, region, error: { reason: error.reason, message: error.message, ...stsRegion } };
}

/** The discover step's Lambda handler. */
export type DiscoverHandler = (event: unknown) => Promise<DiscoverOutput>;

/** The dependencies of one container, from a valid configuration. */
export function createDiscoverDependencies(
  config: DiscoverConfig,
  options: StepOptions = {},
): DiscoverDependencies {
  const credentials = auditorCredentials(options);
  return {
    config,
    organizations: new OrganizationsClient(homeClientConfig(config, credentials)),
    stepFunctions: new SFNClient(homeClientConfig(config, credentials)),
    sessionFor: memberSessions(config, 'discover', options, credentials),
    store: reportStoreFor(config, credentials),
    log: options.log ?? jsonLineLog(),
  };
}

/** Validates the configuration at cold start and returns the handler (see atColdStart). */
export function createDiscoverHandler(env: Environment, options: StepOptions = {}): DiscoverHandler {
  const log = options.log ?? jsonLineLog();
  return atColdStart(
    'discover',
    () => loadDiscoverConfig(env),
    (config) => {
      const deps = createDiscoverDependencies(config, { ...options, log });
      return (event: unknown) => discoverTargets(deps, event);
    },
    (config) => ({
      accounts: config.accounts === ALL_ACCOUNTS ? ALL_ACCOUNTS : [...config.accounts],
      regions: [...config.regions],
      memberRoleName: config.memberRoleName,
      discoveryConcurrency: config.discoveryConcurrency,
    }),
    log,
  );
}
