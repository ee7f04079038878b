// The stack's configuration (SPEC §8), read from CDK context (`cdk.json`, `-c key=value`) and validated at
// synth: a mistake is one readable error naming the context key and its value, before anything is deployed.

import { DEFAULT_ALERT_SEVERITY } from '../lambda/config';
import { isSeverity, SEVERITIES, type Severity } from '../lambda/model/finding';
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
} as const;

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

/** Everything the stack is configured with, validated. */
export interface AuditorSettings {
  readonly schedule: AuditSchedule;
  /** The clusters to audit; undefined: every cluster `ListClusters` returns (no access entries are created). */
  readonly clusters?: readonly string[];
  readonly excludeNamespaces: readonly string[];
  readonly alertEmail?: string;
  readonly alertSeverity: Severity;
  readonly vpc?: VpcSettings;
  readonly probe: boolean;
  /** Reports under `reports/` expire after this many days (history; the baseline is rewritten every run). */
  readonly historyRetentionDays: number;
}

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

// EKS: "The name can contain only alphanumeric characters (case-sensitive), hyphens, and underscores. It must
// start with an alphanumeric character and can't be longer than 100 characters." (as lambda/config.ts)
const CLUSTER_NAME = /^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$/;
// A Kubernetes namespace name is an RFC 1123 DNS label.
const NAMESPACE_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
// What SNS accepts as an email endpoint, roughly: one @, no spaces, a dot in the domain.
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
// EC2 resource IDs: the prefix and 8 (older) or 17 hexadecimal characters.
const VPC_ID = /^vpc-([0-9a-f]{8}|[0-9a-f]{17})$/;
const SUBNET_ID = /^subnet-([0-9a-f]{8}|[0-9a-f]{17})$/;
const SECURITY_GROUP_ID = /^sg-([0-9a-f]{8}|[0-9a-f]{17})$/;

/** Validates the context into settings; throws InvalidContextError naming every problem at once. */
export function settingsFromContext(read: ContextReader): AuditorSettings {
  const problems: ContextProblem[] = [];
  const problem = (key: string, value: unknown, reason: string) => problems.push({ key, value, reason });

  const scheduleValue = read(CONTEXT_KEYS.schedule) ?? DEFAULT_SCHEDULE;
  let schedule: AuditSchedule = { expression: DEFAULT_SCHEDULE, intervalSeconds: 3600 };
  if (typeof scheduleValue !== 'string') problem(CONTEXT_KEYS.schedule, scheduleValue, 'must be a string');
  else {
    const parsed = parseSchedule(scheduleValue.trim());
    if (typeof parsed === 'string') problem(CONTEXT_KEYS.schedule, scheduleValue, parsed);
    else schedule = parsed;
  }

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

  const vpc = vpcSettings(read, problem);

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

  if (problems.length > 0) throw new InvalidContextError(problems);
  return {
    schedule,
    ...(clusters === undefined ? {} : { clusters }),
    excludeNamespaces,
    ...(alertEmail === undefined || alertEmail === '' ? {} : { alertEmail }),
    alertSeverity: severity as Severity,
    ...(vpc === undefined ? {} : { vpc }),
    probe,
    historyRetentionDays: historyRetentionDays as number,
  };
}

function vpcSettings(
  read: ContextReader,
  problem: (key: string, value: unknown, reason: string) => void,
): VpcSettings | undefined {
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
// entries mean nothing. Undefined when the value is neither.
function names(value: unknown): string[] | undefined {
  if (value === undefined || value === null) return [];
  const parts =
    typeof value === 'string'
      ? value.split(',')
      : Array.isArray(value) && value.every((item) => typeof item === 'string')
        ? (value as string[])
        : undefined;
  if (parts === undefined) return undefined;
  return [...new Set(parts.map((part) => part.trim()))].filter((part) => part !== '');
}

// `all` (any case) stands for every cluster in the region, as an absent or empty value does.
function isAll(name: string | undefined): boolean {
  return name?.toLowerCase() === 'all';
}

// A number from cdk.json or a numeric string from `-c`.
function wholeNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isInteger(value) ? value : undefined;
  if (typeof value === 'string' && /^\s*\d+\s*$/.test(value)) return Number(value);
  return undefined;
}
