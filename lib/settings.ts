// The app's configuration (SPEC §8), read from CDK context (`cdk.json`, `-c key=value`) and validated at
// synth: a mistake is one readable error naming the context key and its value, before anything is deployed.
// Two modes: `single` (one IrsaAuditor stack per account and region, the default) and `organization` (the
// Step Functions fan-out over accounts and regions, and the member account stack; README "Organization mode").

import { z } from 'zod';
import {
  ACCOUNT_ID,
  CLUSTER_NAME,
  EXTERNAL_ID,
  REGION_NAME,
  ROLE_NAME,
} from '../lambda/core/model/aws-identifiers';
import { isSeverity, SEVERITIES, type Severity } from '../lambda/core/model/finding';
import { DEFAULT_MEMBER_ROLE_NAME } from '../lambda/organization/organization-config';
import { DEFAULT_ALERT_SEVERITY } from '../lambda/pipeline/config';
import { NAMESPACE_NAME } from '../lambda/pipeline/environment-variables';
import { type AuditSchedule, parseSchedule } from './schedule';

/** The context keys the app reads; `-c <key>=<value>` or `cdk.json` sets them. */
export const CONTEXT_KEYS = {
  schedule: 'schedule',
  clusters: 'clusters',
  excludeNamespaces: 'excludeNamespaces',
  alertEmail: 'alertEmail',
  alertSeverity: 'alertSeverity',
  vpcId: 'vpcId',
  subnetIds: 'subnetIds',
  securityGroupIds: 'securityGroupIds',
  probe: 'probe',
  historyRetentionDays: 'historyRetentionDays',
  mode: 'mode',
  accounts: 'accounts',
  regions: 'regions',
  maxConcurrency: 'maxConcurrency',
  toleratedFailurePercentage: 'toleratedFailurePercentage',
  memberRoleName: 'memberRoleName',
  externalId: 'externalId',
  auditorAccount: 'auditorAccount',
  memberClusters: 'memberClusters',
  eventBus: 'eventBus',
  securityHub: 'securityHub',
} as const;

/** What `-c mode=...` accepts: one stack per account and region, or the organization fan-out. */
export const DEPLOYMENT_MODES = ['single', 'organization'] as const;
/** A deployment mode. */
export type DeploymentMode = (typeof DEPLOYMENT_MODES)[number];
/** The mode without `-c mode=...`: single-account, as before organization mode existed. */
export const DEFAULT_MODE: DeploymentMode = 'single';

/** How many clusters the Distributed Map audits at once without `-c maxConcurrency=...`. */
export const DEFAULT_MAX_CONCURRENCY = 20;
// Step Functions runs up to 10,000 child executions of a Distributed Map at once; beyond 1,000 concurrent
// audits, Lambda's default account concurrency (1,000) throttles them anyway.
const MAX_CONCURRENCY = 1000;
/** The percentage of failed cluster audits a run tolerates without `-c toleratedFailurePercentage=...`. */
export const DEFAULT_TOLERATED_FAILURE_PERCENTAGE = 10;
/** The member accounts' role name without `-c memberRoleName=...`: the runtime's MEMBER_ROLE_NAME default. */
export { DEFAULT_MEMBER_ROLE_NAME };
/**
 * The external ID without `-c externalId=...`. It is public (it is in this repository), so it only makes the
 * deployment work out of the box: the README tells every organization to set its own.
 */
export const DEFAULT_EXTERNAL_ID = 'irsa-auditor-organization';

/** How often the audit runs without `-c schedule=...`. */
export const DEFAULT_SCHEDULE = 'rate(1 hour)';
/** How long reports are kept without `-c historyRetentionDays=...`. */
export const DEFAULT_HISTORY_RETENTION_DAYS = 90;
// S3 lifecycle expiration takes whole days; ten years is far beyond any audit retention policy.
const MAX_HISTORY_RETENTION_DAYS = 3650;

/** Where the function runs when the clusters' API endpoints are private. */
export interface VpcSettings {
  readonly vpcId: string;
  readonly subnetIds: readonly string[];
  readonly securityGroupIds: readonly string[];
}

/** The settings both modes share: when the audit runs, what it skips and alerts on, how long reports stay. */
export interface SharedSettings {
  readonly schedule: AuditSchedule;
  readonly excludeNamespaces: readonly string[];
  readonly alertEmail?: string;
  readonly alertSeverity: Severity;
  readonly probe: boolean;
  /** Reports under `reports/` expire after this many days (history; the baseline is rewritten every run). */
  readonly historyRetentionDays: number;
}

/** Everything the single-account stack is configured with, validated. */
export interface AuditorSettings extends SharedSettings {
  /** The clusters to audit; undefined: every cluster `ListClusters` returns (no access entries are created). */
  readonly clusters?: readonly string[];
  readonly vpc?: VpcSettings;
  /** The EventBridge bus of one event per new and resolved finding (`default`, or a bus name); off when absent. */
  readonly eventBus?: string;
  /** Import new findings into Security Hub, archive resolved ones. */
  readonly securityHub: boolean;
}

/** Everything the organization and member stacks are configured with, validated. */
export interface OrganizationSettings extends SharedSettings {
  /** The audited accounts; `all`: every active account AWS Organizations lists at each run. */
  readonly accounts: 'all' | readonly string[];
  /** The regions audited in every account. */
  readonly regions: readonly string[];
  /** How many clusters the Distributed Map audits at once. */
  readonly maxConcurrency: number;
  /** The percentage of cluster audits that may fail before the run fails (its summary is published anyway). */
  readonly toleratedFailurePercentage: number;
  /** The name of the role in each member account (no path). */
  readonly memberRoleName: string;
  /** The external ID the auditor's roles present when they assume a member role. */
  readonly externalId: string;
  /** The account the auditor runs in: the member role trusts it; undefined when neither context nor CLI says. */
  readonly auditorAccount?: string;
  /** The member account's clusters that get an access entry for the member role. */
  readonly memberClusters: readonly string[];
}

/** The validated settings of the mode the context asks for. */
export type AppSettings =
  | { readonly mode: 'single'; readonly settings: AuditorSettings }
  | { readonly mode: 'organization'; readonly settings: OrganizationSettings };

/** The process environment the cdk CLI sets (CDK_DEFAULT_ACCOUNT when it has credentials). */
export type SettingsEnvironment = Readonly<Record<string, string | undefined>>;

/** One context value that cannot be used. */
export interface ContextProblem {
  readonly key: string;
  readonly value: unknown;
  readonly reason: string;
}

/** The CDK context cannot configure the stack; `problems` lists every reason, the message joins them on one line. */
export class InvalidContextError extends Error {
  override readonly name = 'InvalidContextError';

  constructor(readonly problems: readonly ContextProblem[]) {
    super(
      `invalid CDK context (${problems.length} problem${problems.length === 1 ? '' : 's'}): ${problems
        .map(({ key, value, reason }) => `${key}=${JSON.stringify(value)}: ${reason}`)
        .join('; ')}`,
    );
  }
}

/** Reads one context value (`node.tryGetContext`); undefined when unset. */
export type ContextReader = (key: string) => unknown;

// What SNS accepts as an email endpoint, roughly: one @, no spaces, a dot in the domain.
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
// EC2 resource IDs: the prefix and 8 (older) or 17 hexadecimal characters.
const VPC_ID = /^vpc-([0-9a-f]{8}|[0-9a-f]{17})$/;
const SUBNET_ID = /^subnet-([0-9a-f]{8}|[0-9a-f]{17})$/;
const SECURITY_GROUP_ID = /^sg-([0-9a-f]{8}|[0-9a-f]{17})$/;

/** Validates the single-account context into settings; throws InvalidContextError naming every problem at once. */
export function settingsFromContext(read: ContextReader): AuditorSettings {
  const problems: ContextProblem[] = [];
  const settings = singleSettings(read, collector(problems));
  if (problems.length > 0) throw new InvalidContextError(problems);
  return settings;
}

/**
 * Validates the context of either mode (`mode`, default single) into its settings; throws InvalidContextError
 * naming every problem at once, keys of the other mode included. `environment` gives the auditor account's
 * default (CDK_DEFAULT_ACCOUNT).
 */
export function appSettingsFromContext(
  read: ContextReader,
  environment: SettingsEnvironment = {},
): AppSettings {
  const problems: ContextProblem[] = [];
  const problem = collector(problems);
  const modeValue = read(CONTEXT_KEYS.mode) ?? DEFAULT_MODE;
  const mode = typeof modeValue === 'string' ? modeValue.trim().toLowerCase() : '';
  let result: AppSettings | undefined;
  if (mode === 'organization') result = { mode, settings: organizationSettings(read, environment, problem) };
  else if (mode === 'single') {
    for (const key of ORGANIZATION_ONLY_KEYS.filter((candidate) => read(candidate) !== undefined))
      problem(key, read(key), `is only read with ${CONTEXT_KEYS.mode}=organization`);
    result = { mode, settings: singleSettings(read, problem) };
  } else {
    problem(CONTEXT_KEYS.mode, modeValue, `must be one of ${DEPLOYMENT_MODES.join(', ')}`);
    // The keys both modes read are still checked, so one synth names every mistake.
    sharedSettings(read, problem);
  }
  if (problems.length > 0 || result === undefined) throw new InvalidContextError(problems);
  return result;
}

type ProblemCollector = (key: string, value: unknown, reason: string) => void;

function collector(problems: ContextProblem[]): ProblemCollector {
  return (key, value, reason) => problems.push({ key, value, reason });
}

// The keys only organization mode reads: set in single mode, they are a forgotten `-c mode=organization`.
const ORGANIZATION_ONLY_KEYS = [
  CONTEXT_KEYS.accounts,
  CONTEXT_KEYS.regions,
  CONTEXT_KEYS.maxConcurrency,
  CONTEXT_KEYS.toleratedFailurePercentage,
  CONTEXT_KEYS.memberRoleName,
  CONTEXT_KEYS.externalId,
  CONTEXT_KEYS.auditorAccount,
  CONTEXT_KEYS.memberClusters,
] as const;

function singleSettings(read: ContextReader, problem: ProblemCollector): AuditorSettings {
  const shared = sharedSettings(read, problem);

  const clustersValue = read(CONTEXT_KEYS.clusters);
  const clusterNames = names(clustersValue);
  let clusters: readonly string[] | undefined;
  if (clusterNames === undefined)
    problem(CONTEXT_KEYS.clusters, clustersValue, 'must be "all" or a comma-separated list of cluster names');
  else if (!(clusterNames.length === 0 || (clusterNames.length === 1 && isAll(clusterNames[0])))) {
    for (const name of clusterNames.filter((candidate) => !isAll(candidate) && !CLUSTER_NAME.test(candidate)))
      problem(CONTEXT_KEYS.clusters, clustersValue, `"${name}" is not an EKS cluster name`);
    if (clusterNames.some(isAll))
      problem(CONTEXT_KEYS.clusters, clustersValue, '"all" cannot be combined with cluster names');
    clusters = clusterNames;
  }

  const vpc = vpcSettings(read, problem);
  const busValue = read(CONTEXT_KEYS.eventBus);
  const eventBus = typeof busValue === 'string' ? busValue.trim() : undefined;
  if (busValue !== undefined && (eventBus === undefined || !EVENT_BUS.test(eventBus)))
    problem(CONTEXT_KEYS.eventBus, busValue, 'must be "default" or the name of an EventBridge event bus');
  const hubValue = read(CONTEXT_KEYS.securityHub) ?? false;
  if (!(typeof hubValue === 'boolean' || hubValue === 'true' || hubValue === 'false'))
    problem(CONTEXT_KEYS.securityHub, hubValue, 'must be true or false');
  return {
    schedule: shared.schedule,
    ...(clusters === undefined ? {} : { clusters }),
    excludeNamespaces: shared.excludeNamespaces,
    ...(shared.alertEmail === undefined ? {} : { alertEmail: shared.alertEmail }),
    alertSeverity: shared.alertSeverity,
    ...(vpc === undefined ? {} : { vpc }),
    probe: shared.probe,
    historyRetentionDays: shared.historyRetentionDays,
    ...(eventBus === undefined || eventBus === '' ? {} : { eventBus }),
    securityHub: hubValue === true || hubValue === 'true',
  };
}

/** An EventBridge bus name (the events:PutEvents resource is event-bus/<name>). */
const EVENT_BUS = /^[A-Za-z0-9._-]{1,256}$/;

function sharedSettings(read: ContextReader, problem: ProblemCollector): SharedSettings {
  const scheduleValue = read(CONTEXT_KEYS.schedule) ?? DEFAULT_SCHEDULE;
  let schedule: AuditSchedule = { expression: DEFAULT_SCHEDULE, intervalSeconds: 3600 };
  if (typeof scheduleValue !== 'string') problem(CONTEXT_KEYS.schedule, scheduleValue, 'must be a string');
  else {
    const parsed = parseSchedule(scheduleValue.trim());
    if (typeof parsed === 'string') problem(CONTEXT_KEYS.schedule, scheduleValue, parsed);
    else schedule = parsed;
  }

  const namespacesValue = read(CONTEXT_KEYS.excludeNamespaces);
  const excludeNamespaces = names(namespacesValue) ?? [];
  if (names(namespacesValue) === undefined)
    problem(CONTEXT_KEYS.excludeNamespaces, namespacesValue, 'must be a comma-separated list of namespaces');
  for (const name of excludeNamespaces.filter((candidate) => !NAMESPACE_NAME.test(candidate)))
    problem(CONTEXT_KEYS.excludeNamespaces, namespacesValue, `"${name}" is not a Kubernetes namespace name`);

  const emailValue = read(CONTEXT_KEYS.alertEmail);
  const alertEmail = typeof emailValue === 'string' ? emailValue.trim() : undefined;
  if (
    emailValue !== undefined &&
    (alertEmail === undefined || (alertEmail !== '' && !EMAIL.test(alertEmail)))
  )
    problem(CONTEXT_KEYS.alertEmail, emailValue, 'must be an email address (name@example.com)');

  const severityValue = read(CONTEXT_KEYS.alertSeverity) ?? DEFAULT_ALERT_SEVERITY;
  const severity = typeof severityValue === 'string' ? severityValue.trim().toLowerCase() : '';
  if (!isSeverity(severity))
    problem(CONTEXT_KEYS.alertSeverity, severityValue, `must be one of ${SEVERITIES.join(', ')}`);

  const probeValue = read(CONTEXT_KEYS.probe) ?? false;
  const probe = probeValue === true || probeValue === 'true';
  if (!(typeof probeValue === 'boolean' || probeValue === 'true' || probeValue === 'false'))
    problem(CONTEXT_KEYS.probe, probeValue, 'must be true or false');

  const retentionValue = read(CONTEXT_KEYS.historyRetentionDays) ?? DEFAULT_HISTORY_RETENTION_DAYS;
  const historyRetentionDays = wholeNumber(retentionValue);
  if (
    historyRetentionDays === undefined ||
    historyRetentionDays < 1 ||
    historyRetentionDays > MAX_HISTORY_RETENTION_DAYS
  )
    problem(
      CONTEXT_KEYS.historyRetentionDays,
      retentionValue,
      `must be a whole number of days from 1 to ${MAX_HISTORY_RETENTION_DAYS}`,
    );
  // The rule expires everything under reports/, and each run rewrites latest.json: a retention shorter than
  // the time between runs would delete every baseline, and every run would alert as if it were the first.
  else if (
    schedule.intervalSeconds !== undefined &&
    historyRetentionDays * 86_400 <= schedule.intervalSeconds
  )
    problem(
      CONTEXT_KEYS.historyRetentionDays,
      retentionValue,
      `must be longer than the time between two runs (${schedule.expression})`,
    );

  return {
    schedule,
    excludeNamespaces,
    ...(alertEmail === undefined || alertEmail === '' ? {} : { alertEmail }),
    alertSeverity: severity as Severity,
    probe,
    historyRetentionDays: historyRetentionDays as number,
  };
}

// The single-mode keys organization mode cannot honour: it audits every cluster ListClusters returns in each
// target, and its functions reach the member clusters' public endpoints.
// The finding sinks are sent by single mode's per-cluster publisher; the organization run's batch publisher
// does not send them yet.
const SINGLE_ONLY_KEYS = [
  CONTEXT_KEYS.vpcId,
  CONTEXT_KEYS.subnetIds,
  CONTEXT_KEYS.securityGroupIds,
  CONTEXT_KEYS.eventBus,
  CONTEXT_KEYS.securityHub,
] as const;

function organizationSettings(
  read: ContextReader,
  environment: SettingsEnvironment,
  problem: ProblemCollector,
): OrganizationSettings {
  const shared = sharedSettings(read, problem);

  const clusterNames = names(read(CONTEXT_KEYS.clusters));
  if (!clusterNames?.every(isAll))
    problem(
      CONTEXT_KEYS.clusters,
      read(CONTEXT_KEYS.clusters),
      'organization mode audits every cluster of each account and region: leave clusters at "all" (memberClusters names the clusters that get access entries)',
    );
  for (const key of SINGLE_ONLY_KEYS.filter((candidate) => read(candidate) !== undefined))
    problem(
      key,
      read(key),
      key === CONTEXT_KEYS.eventBus || key === CONTEXT_KEYS.securityHub
        ? 'is not supported in organization mode yet (its run publishes one alert for all clusters)'
        : 'is not supported in organization mode (the functions do not run in a VPC)',
    );

  const accountsValue = read(CONTEXT_KEYS.accounts);
  const accountIds = names(accountsValue);
  let accounts: 'all' | readonly string[] = [];
  if (accountIds === undefined || accountIds.length === 0)
    problem(
      CONTEXT_KEYS.accounts,
      accountsValue,
      'is required: "all" (every account of the organization) or a comma-separated list of 12-digit account IDs',
    );
  else if (accountIds.length === 1 && isAll(accountIds[0])) accounts = 'all';
  else {
    if (accountIds.some(isAll))
      problem(CONTEXT_KEYS.accounts, accountsValue, '"all" cannot be combined with account IDs');
    for (const id of accountIds.filter((candidate) => !isAll(candidate) && !ACCOUNT_ID.test(candidate)))
      problem(CONTEXT_KEYS.accounts, accountsValue, `"${id}" is not a 12-digit AWS account ID`);
    accounts = accountIds;
  }

  const regionsValue = read(CONTEXT_KEYS.regions);
  const regions = names(regionsValue) ?? [];
  if (names(regionsValue) === undefined || regions.length === 0)
    problem(
      CONTEXT_KEYS.regions,
      regionsValue,
      'is required: a comma-separated list of regions (eu-west-1,us-east-1)',
    );
  for (const region of regions.filter((candidate) => !REGION_NAME.test(candidate)))
    problem(CONTEXT_KEYS.regions, regionsValue, `"${region}" is not a region name like eu-west-1`);

  const concurrencyValue = read(CONTEXT_KEYS.maxConcurrency) ?? DEFAULT_MAX_CONCURRENCY;
  const maxConcurrency = wholeNumber(concurrencyValue);
  if (maxConcurrency === undefined || maxConcurrency < 1 || maxConcurrency > MAX_CONCURRENCY)
    problem(
      CONTEXT_KEYS.maxConcurrency,
      concurrencyValue,
      `must be a whole number from 1 to ${MAX_CONCURRENCY} (clusters audited at once)`,
    );

  const toleratedValue =
    read(CONTEXT_KEYS.toleratedFailurePercentage) ?? DEFAULT_TOLERATED_FAILURE_PERCENTAGE;
  const toleratedFailurePercentage = percentage(toleratedValue);
  if (toleratedFailurePercentage === undefined)
    problem(CONTEXT_KEYS.toleratedFailurePercentage, toleratedValue, 'must be a number from 0 to 100');

  const roleValue = read(CONTEXT_KEYS.memberRoleName) ?? DEFAULT_MEMBER_ROLE_NAME;
  const memberRoleName = typeof roleValue === 'string' ? roleValue.trim() : '';
  if (!ROLE_NAME.test(memberRoleName))
    problem(
      CONTEXT_KEYS.memberRoleName,
      roleValue,
      'must be an IAM role name without a path (up to 64 letters, digits and +=,.@_-)',
    );

  const externalValue = read(CONTEXT_KEYS.externalId) ?? DEFAULT_EXTERNAL_ID;
  const externalId = typeof externalValue === 'string' ? externalValue.trim() : '';
  if (!EXTERNAL_ID.test(externalId))
    problem(
      CONTEXT_KEYS.externalId,
      externalValue,
      'must be 2 to 1224 letters, digits and +=,.@:/_- (what sts:AssumeRole accepts as ExternalId)',
    );

  const auditorValue = read(CONTEXT_KEYS.auditorAccount) ?? environment.CDK_DEFAULT_ACCOUNT;
  const auditorAccount = typeof auditorValue === 'string' ? auditorValue.trim() : undefined;
  if (auditorValue !== undefined && (auditorAccount === undefined || !ACCOUNT_ID.test(auditorAccount)))
    problem(CONTEXT_KEYS.auditorAccount, auditorValue, 'must be a 12-digit AWS account ID');

  const membersValue = read(CONTEXT_KEYS.memberClusters);
  const memberClusters = names(membersValue) ?? [];
  if (names(membersValue) === undefined)
    problem(CONTEXT_KEYS.memberClusters, membersValue, 'must be a comma-separated list of cluster names');
  for (const name of memberClusters.filter((candidate) => !CLUSTER_NAME.test(candidate)))
    problem(CONTEXT_KEYS.memberClusters, membersValue, `"${name}" is not an EKS cluster name`);

  return {
    ...shared,
    accounts,
    regions,
    maxConcurrency: maxConcurrency ?? DEFAULT_MAX_CONCURRENCY,
    toleratedFailurePercentage: toleratedFailurePercentage ?? DEFAULT_TOLERATED_FAILURE_PERCENTAGE,
    memberRoleName,
    externalId,
    ...(auditorAccount === undefined || !ACCOUNT_ID.test(auditorAccount) ? {} : { auditorAccount }),
    memberClusters,
  };
}

function vpcSettings(read: ContextReader, problem: ProblemCollector): VpcSettings | undefined {
  const vpcIdValue = read(CONTEXT_KEYS.vpcId);
  const subnetsValue = read(CONTEXT_KEYS.subnetIds);
  const groupsValue = read(CONTEXT_KEYS.securityGroupIds);
  const vpcId = typeof vpcIdValue === 'string' ? vpcIdValue.trim() : vpcIdValue;
  const subnetIds = names(subnetsValue);
  const securityGroupIds = names(groupsValue);
  const given = {
    [CONTEXT_KEYS.vpcId]: vpcId !== undefined && vpcId !== '',
    [CONTEXT_KEYS.subnetIds]: subnetIds === undefined || subnetIds.length > 0,
    [CONTEXT_KEYS.securityGroupIds]: securityGroupIds === undefined || securityGroupIds.length > 0,
  };
  const present = Object.entries(given).filter(([, isGiven]) => isGiven);
  if (present.length === 0) return undefined;
  if (present.length < 3) {
    // A function in a VPC needs all three: the VPC, the subnets for its network interfaces, their security groups.
    for (const [key, isGiven] of Object.entries(given)) {
      if (!isGiven)
        problem(
          key,
          read(key),
          `${CONTEXT_KEYS.vpcId}, ${CONTEXT_KEYS.subnetIds} and ${CONTEXT_KEYS.securityGroupIds} are set together or not at all (${present.map(([name]) => name).join(', ')} ${present.length === 1 ? 'is' : 'are'} set)`,
        );
    }
    return undefined;
  }
  let valid = true;
  if (typeof vpcId !== 'string' || !VPC_ID.test(vpcId)) {
    problem(CONTEXT_KEYS.vpcId, vpcIdValue, 'must be a VPC ID (vpc-0123456789abcdef0)');
    valid = false;
  }
  for (const [key, value, ids, pattern, example] of [
    [CONTEXT_KEYS.subnetIds, subnetsValue, subnetIds, SUBNET_ID, 'subnet-0123456789abcdef0'],
    [CONTEXT_KEYS.securityGroupIds, groupsValue, securityGroupIds, SECURITY_GROUP_ID, 'sg-0123456789abcdef0'],
  ] as const) {
    if (ids === undefined) {
      problem(key, value, `must be a comma-separated list of IDs (${example})`);
      valid = false;
      continue;
    }
    for (const id of ids.filter((candidate) => !pattern.test(candidate))) {
      problem(key, value, `"${id}" is not an ID like ${example}`);
      valid = false;
    }
  }
  return valid
    ? { vpcId: vpcId as string, subnetIds: subnetIds ?? [], securityGroupIds: securityGroupIds ?? [] }
    : undefined;
}

// A list as `-c key=a,b` gives it (one string) or as cdk.json gives it (an array of strings); spaces and empty
// entries mean nothing, and an absent value is an empty list.
const contextList = z
  .union([z.undefined(), z.null(), z.string().transform((text) => text.split(',')), z.array(z.string())])
  .transform((parts) => [...new Set((parts ?? []).map((part) => part.trim()))].filter((part) => part !== ''));

// A number from cdk.json or a numeric string from `-c`.
const contextWholeNumber = z.union([
  z.int(),
  z
    .string()
    .regex(/^\s*\d+\s*$/)
    .transform(Number),
]);

// A number from 0 to 100 (Step Functions' ToleratedFailurePercentage), from cdk.json or a numeric `-c` string.
const contextPercentage = z
  .union([
    z.number(),
    z
      .string()
      .regex(/^\s*\d+(\.\d+)?\s*$/)
      .transform(Number),
  ])
  .pipe(z.number().min(0).max(100));

// The list a context value gives; undefined when it is not one.
function names(value: unknown): string[] | undefined {
  return contextList.safeParse(value).data;
}

// `all` (any case) stands for every cluster in the region, as an absent or empty value does.
function isAll(name: string | undefined): boolean {
  return name?.toLowerCase() === 'all';
}

function wholeNumber(value: unknown): number | undefined {
  return contextWholeNumber.safeParse(value).data;
}

function percentage(value: unknown): number | undefined {
  return contextPercentage.safeParse(value).data;
}
