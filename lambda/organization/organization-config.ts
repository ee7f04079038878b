// The configuration of organization mode's three Lambda steps (discover, audit-target, aggregate), read from the
// environment once, at cold start, like lambda/pipeline/config.ts: every problem is collected before failing, so one
// deployment fixes them all. The variable names are the contract with the stack (see ORGANIZATION_VARIABLES).

import { DEFAULT_WEBHOOK_NAME } from '../core/analysis/eks-conventions';
import { ACCOUNT_ID, EXTERNAL_ID, REGION_NAME, ROLE_NAME } from '../core/model/aws-identifiers';
import { isSeverity, SEVERITIES, type Severity } from '../core/model/finding';
import {
  BUCKET_NAME,
  CONFIG_VARIABLES,
  ConfigError,
  DEFAULT_ALERT_SEVERITY,
  type Environment,
  isHttpUrl,
  NAMESPACE_NAME,
  nameList,
  TOPIC_ARN,
} from '../pipeline/config';

/** The environment names the three steps read, for the stack that sets them and for error messages. */
export const ORGANIZATION_VARIABLES = {
  region: 'AWS_REGION',
  reportsBucket: CONFIG_VARIABLES.reportsBucket,
  reportsKmsKeyId: CONFIG_VARIABLES.reportsKmsKeyId,
  endpoint: CONFIG_VARIABLES.endpoint,
  memberRoleName: 'MEMBER_ROLE_NAME',
  externalId: 'EXTERNAL_ID',
  accounts: 'ACCOUNTS',
  regions: 'REGIONS',
  discoveryConcurrency: 'DISCOVERY_CONCURRENCY',
  excludeNamespaces: CONFIG_VARIABLES.excludeNamespaces,
  alertSeverity: CONFIG_VARIABLES.alertSeverity,
  probe: CONFIG_VARIABLES.probe,
  webhookName: CONFIG_VARIABLES.webhookName,
  topicArn: CONFIG_VARIABLES.topicArn,
} as const;

/** The role MemberAccountStack creates in each member account (no path: the trust and access entries name it). */
export const DEFAULT_MEMBER_ROLE_NAME = 'IrsaAuditorMember';
/** The fixed names of the auditor-side roles, so that the member role's trust policy can name them. */
export const DISCOVER_ROLE_NAME = 'IrsaAuditorDiscover';
export const TARGET_AUDIT_ROLE_NAME = 'IrsaAuditorTargetAudit';
/** The error name a step fails with when AWS throttles it beyond its retries; the state machine retries it. */
export const TARGET_THROTTLED_ERROR = 'TargetThrottled';
/** ACCOUNTS=all: every ACTIVE account AWS Organizations lists. */
export const ALL_ACCOUNTS = 'all';
export const DEFAULT_DISCOVERY_CONCURRENCY = 8;
// Each target in flight is one AssumeRole and a few ListClusters pages; STS and EKS throttle per account beyond this.
const MAX_DISCOVERY_CONCURRENCY = 32;

/** What every step reads: where the run's objects live and how to reach the member accounts. */
export interface OrganizationCommonConfig {
  /** The home region: the bucket's, the topic's and the STS endpoint the member roles are assumed through. */
  readonly region: string;
  readonly reportsBucket: string;
  /** A KMS key for the objects (SSE-KMS); S3's default encryption when absent. */
  readonly reportsKmsKeyId?: string;
  /** One endpoint for every AWS client (emulators such as moto); AWS's endpoints when absent. */
  readonly endpoint?: string;
}

/** How the member role of each account is assumed. */
export interface MemberRoleConfig {
  readonly memberRoleName: string;
  readonly externalId: string;
}

/** The discover step: which accounts and regions to list clusters in. */
export interface DiscoverConfig extends OrganizationCommonConfig, MemberRoleConfig {
  /** `all` (AWS Organizations ListAccounts) or the account IDs to audit. */
  readonly accounts: typeof ALL_ACCOUNTS | readonly string[];
  readonly regions: readonly string[];
  /** Account × region targets listed at once. */
  readonly discoveryConcurrency: number;
}

/** The audit-target step: as single mode's audit of one cluster (lambda/pipeline/config.ts). */
export interface AuditTargetConfig extends OrganizationCommonConfig, MemberRoleConfig {
  readonly excludeNamespaces: readonly string[];
  /** The drift recorded for the aggregate counts findings at or above this severity. */
  readonly alertSeverity: Severity;
  readonly probe: boolean;
  readonly webhookName: string;
}

/** The aggregate step: where the one summary alert goes. */
export interface AggregateConfig extends OrganizationCommonConfig {
  readonly topicArn: string;
  readonly alertSeverity: Severity;
}

/** Reads and validates the discover step's configuration; throws ConfigError naming every problem at once. */
export function loadDiscoverConfig(env: Environment): DiscoverConfig {
  const reader = new EnvironmentReader(env);
  const common = reader.common();
  const member = reader.memberRole();

  const accountsText = reader.value(ORGANIZATION_VARIABLES.accounts);
  let accounts: DiscoverConfig['accounts'] = [];
  if (accountsText === undefined)
    reader.problem(
      `${ORGANIZATION_VARIABLES.accounts} is not set (say "${ALL_ACCOUNTS}" or list 12-digit account IDs)`,
    );
  else if (accountsText.toLowerCase() === ALL_ACCOUNTS) accounts = ALL_ACCOUNTS;
  else {
    accounts = nameList(accountsText) ?? [];
    for (const account of accounts) {
      if (!ACCOUNT_ID.test(account))
        reader.problem(`${ORGANIZATION_VARIABLES.accounts}: "${account}" is not a 12-digit account ID`);
    }
    if (accounts.length === 0)
      reader.problem(
        `${ORGANIZATION_VARIABLES.accounts} names no account (say "${ALL_ACCOUNTS}" or list IDs)`,
      );
  }

  const regions = nameList(reader.value(ORGANIZATION_VARIABLES.regions)) ?? [];
  if (regions.length === 0)
    reader.problem(`${ORGANIZATION_VARIABLES.regions} is not set (a comma list of regions)`);
  for (const region of regions) {
    if (!REGION_NAME.test(region))
      reader.problem(`${ORGANIZATION_VARIABLES.regions}: "${region}" is not an AWS region name`);
  }

  const discoveryConcurrency = reader.wholeNumber(
    ORGANIZATION_VARIABLES.discoveryConcurrency,
    DEFAULT_DISCOVERY_CONCURRENCY,
    MAX_DISCOVERY_CONCURRENCY,
  );
  reader.finish();
  return { ...common, ...member, accounts, regions, discoveryConcurrency };
}

/** Reads and validates the audit-target step's configuration; throws ConfigError naming every problem at once. */
export function loadAuditTargetConfig(env: Environment): AuditTargetConfig {
  const reader = new EnvironmentReader(env);
  const common = reader.common();
  const member = reader.memberRole();
  const excludeNamespaces = nameList(reader.value(ORGANIZATION_VARIABLES.excludeNamespaces)) ?? [];
  for (const name of excludeNamespaces) {
    if (!NAMESPACE_NAME.test(name))
      reader.problem(
        `${ORGANIZATION_VARIABLES.excludeNamespaces}: "${name}" is not a Kubernetes namespace name`,
      );
  }
  const alertSeverity = reader.alertSeverity();
  const probeText = reader.value(ORGANIZATION_VARIABLES.probe)?.toLowerCase() ?? 'false';
  if (probeText !== 'true' && probeText !== 'false')
    reader.problem(
      `${ORGANIZATION_VARIABLES.probe} must be true or false, not "${reader.value(ORGANIZATION_VARIABLES.probe)}"`,
    );
  const webhookName = reader.value(ORGANIZATION_VARIABLES.webhookName) ?? DEFAULT_WEBHOOK_NAME;
  if (/\s/.test(webhookName))
    reader.problem(
      `${ORGANIZATION_VARIABLES.webhookName} "${webhookName}" is not a webhook name (it has spaces)`,
    );
  reader.finish();
  return { ...common, ...member, excludeNamespaces, alertSeverity, probe: probeText === 'true', webhookName };
}

/** Reads and validates the aggregate step's configuration; throws ConfigError naming every problem at once. */
export function loadAggregateConfig(env: Environment): AggregateConfig {
  const reader = new EnvironmentReader(env);
  const common = reader.common();
  const alertSeverity = reader.alertSeverity();
  const topicArn = reader.value(ORGANIZATION_VARIABLES.topicArn);
  if (topicArn === undefined) reader.problem(`${ORGANIZATION_VARIABLES.topicArn} is not set`);
  else {
    const match = TOPIC_ARN.exec(topicArn);
    if (match === null)
      reader.problem(`${ORGANIZATION_VARIABLES.topicArn} "${topicArn}" is not an SNS topic ARN`);
    // An SNS client publishes only to topics of its own region.
    else if (common.region !== '' && match[2] !== common.region)
      reader.problem(
        `${ORGANIZATION_VARIABLES.topicArn} is in ${match[2]}, but the function runs in ${common.region}`,
      );
  }
  reader.finish();
  return { ...common, topicArn: topicArn ?? '', alertSeverity };
}

/** Collects the problems of one environment; `finish` throws them all as one ConfigError. */
class EnvironmentReader {
  private readonly problems: string[] = [];

  constructor(private readonly env: Environment) {}

  value(name: string): string | undefined {
    const text = this.env[name]?.trim();
    return text === undefined || text === '' ? undefined : text;
  }

  problem(text: string): void {
    this.problems.push(text);
  }

  common(): OrganizationCommonConfig {
    const region = this.value(ORGANIZATION_VARIABLES.region) ?? this.value('AWS_DEFAULT_REGION');
    if (region === undefined) this.problem('AWS_REGION is not set (the Lambda runtime sets it)');
    else if (!REGION_NAME.test(region)) this.problem(`AWS_REGION "${region}" is not an AWS region name`);
    const reportsBucket = this.value(ORGANIZATION_VARIABLES.reportsBucket);
    if (reportsBucket === undefined) this.problem(`${ORGANIZATION_VARIABLES.reportsBucket} is not set`);
    else if (!BUCKET_NAME.test(reportsBucket) || reportsBucket.includes('..'))
      this.problem(`${ORGANIZATION_VARIABLES.reportsBucket} "${reportsBucket}" is not an S3 bucket name`);
    const reportsKmsKeyId = this.value(ORGANIZATION_VARIABLES.reportsKmsKeyId);
    if (reportsKmsKeyId !== undefined && /\s/.test(reportsKmsKeyId))
      this.problem(
        `${ORGANIZATION_VARIABLES.reportsKmsKeyId} must be a KMS key ID, key ARN or alias, without spaces`,
      );
    const endpoint = this.value(ORGANIZATION_VARIABLES.endpoint);
    if (endpoint !== undefined && !isHttpUrl(endpoint))
      this.problem(`${ORGANIZATION_VARIABLES.endpoint} "${endpoint}" is not an http(s) URL`);
    return {
      region: region ?? '',
      reportsBucket: reportsBucket ?? '',
      ...(reportsKmsKeyId === undefined ? {} : { reportsKmsKeyId }),
      ...(endpoint === undefined ? {} : { endpoint }),
    };
  }

  memberRole(): MemberRoleConfig {
    const memberRoleName = this.value(ORGANIZATION_VARIABLES.memberRoleName) ?? DEFAULT_MEMBER_ROLE_NAME;
    if (!ROLE_NAME.test(memberRoleName))
      this.problem(
        `${ORGANIZATION_VARIABLES.memberRoleName} "${memberRoleName}" is not an IAM role name (up to 64 letters, digits and +=,.@_-, no path)`,
      );
    const externalId = this.value(ORGANIZATION_VARIABLES.externalId);
    // The external ID is not printed: it is not a secret, but it is one half of what admits a caller.
    if (externalId === undefined)
      this.problem(
        `${ORGANIZATION_VARIABLES.externalId} is not set (the external ID the member roles require)`,
      );
    else if (!EXTERNAL_ID.test(externalId))
      this.problem(
        `${ORGANIZATION_VARIABLES.externalId} must be 2 to 1224 letters, digits or +=,.@:/_- (what STS accepts)`,
      );
    return { memberRoleName, externalId: externalId ?? '' };
  }

  alertSeverity(): Severity {
    const text = this.value(ORGANIZATION_VARIABLES.alertSeverity);
    const severity = text?.toLowerCase() ?? DEFAULT_ALERT_SEVERITY;
    if (isSeverity(severity)) return severity;
    this.problem(
      `${ORGANIZATION_VARIABLES.alertSeverity} must be one of ${SEVERITIES.join(', ')}, not "${text}"`,
    );
    return DEFAULT_ALERT_SEVERITY;
  }

  wholeNumber(name: string, fallback: number, max: number): number {
    const text = this.value(name);
    if (text === undefined) return fallback;
    const value = Number(text);
    if (/^\d+$/.test(text) && value >= 1 && value <= max) return value;
    this.problem(`${name} must be a whole number from 1 to ${max}, not "${text}"`);
    return fallback;
  }

  finish(): void {
    if (this.problems.length > 0) throw new ConfigError(this.problems);
  }
}
