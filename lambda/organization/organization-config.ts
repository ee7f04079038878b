// The configuration of organization mode's three Lambda steps (discover, audit-target, aggregate), read from the
// environment once, at cold start, with the variable schemas of lambda/pipeline/environment-variables.ts that single
// mode reads too: every problem is collected before failing, so one deployment fixes them all. The variable names are the contract with the stack (see ORGANIZATION_VARIABLES).

import * as z from 'zod/mini';
import { ACCOUNT_ID, EXTERNAL_ID, REGION_NAME, ROLE_NAME } from '../core/model/aws-identifiers';
import type { Severity } from '../core/model/finding';
import { CONFIG_VARIABLES } from '../pipeline/config';
import {
  alertSeverity,
  bucketName,
  type Environment,
  endpointUrl,
  flag,
  kmsKeyId,
  mapped,
  NAMESPACE_NAME,
  nameList,
  nameListOf,
  optionalText,
  readEnvironment,
  refined,
  regionName,
  regionVariableOf,
  requiredText,
  topicArnIn,
  webhookName,
  wholeNumberUpTo,
} from '../pipeline/environment-variables';

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

// What every step reads, in the order its problems are listed.
const commonShape = {
  region: regionName,
  reportsBucket: bucketName,
  reportsKmsKeyId: kmsKeyId,
  endpoint: endpointUrl,
};

const memberRoleShape = {
  memberRoleName: refined(
    mapped(optionalText, (name) => name ?? DEFAULT_MEMBER_ROLE_NAME),
    (name) => ROLE_NAME.test(name),
    {
      error: (issue) =>
        `"${issue.input}" is not an IAM role name (up to 64 letters, digits and +=,.@_-, no path)`,
    },
  ),
  // The external ID is not printed: it is not a secret, but it is one half of what admits a caller.
  externalId: refined(
    requiredText('is not set (the external ID the member roles require)'),
    (id) => EXTERNAL_ID.test(id),
    { error: 'must be 2 to 1224 letters, digits or +=,.@:/_- (what STS accepts)' },
  ),
};

const accountList = z
  .array(
    z
      .string()
      .check(z.regex(ACCOUNT_ID, { error: (issue) => `"${issue.input}" is not a 12-digit account ID` })),
  )
  .check(z.minLength(1, { error: `names no account (say "${ALL_ACCOUNTS}" or list IDs)` }));

const discoverSchema = z.object({
  ...commonShape,
  ...memberRoleShape,
  accounts: z.pipe(
    mapped(requiredText(`is not set (say "${ALL_ACCOUNTS}" or list 12-digit account IDs)`), (text) =>
      text.toLowerCase() === ALL_ACCOUNTS ? ALL_ACCOUNTS : (nameList(text) ?? []),
    ),
    z.union([z.literal(ALL_ACCOUNTS), accountList]),
  ),
  regions: z.pipe(
    nameListOf(REGION_NAME, 'an AWS region name'),
    z.array(z.string(), { error: 'is not set (a comma list of regions)' }),
  ),
  discoveryConcurrency: wholeNumberUpTo(MAX_DISCOVERY_CONCURRENCY, DEFAULT_DISCOVERY_CONCURRENCY),
});

const auditTargetSchema = z.object({
  ...commonShape,
  ...memberRoleShape,
  excludeNamespaces: mapped(
    nameListOf(NAMESPACE_NAME, 'a Kubernetes namespace name'),
    (names) => names ?? [],
  ),
  alertSeverity,
  probe: flag,
  webhookName,
});

/** Reads and validates the discover step's configuration; throws ConfigError naming every problem at once. */
export function loadDiscoverConfig(env: Environment): DiscoverConfig {
  return readEnvironment(discoverSchema, ORGANIZATION_VARIABLES, regionVariableOf(env));
}

/** Reads and validates the audit-target step's configuration; throws ConfigError naming every problem at once. */
export function loadAuditTargetConfig(env: Environment): AuditTargetConfig {
  return readEnvironment(auditTargetSchema, ORGANIZATION_VARIABLES, regionVariableOf(env));
}

/** Reads and validates the aggregate step's configuration; throws ConfigError naming every problem at once. */
export function loadAggregateConfig(env: Environment): AggregateConfig {
  const withRegion = regionVariableOf(env);
  const schema = z.object({ ...commonShape, alertSeverity, topicArn: topicArnIn(withRegion.AWS_REGION) });
  return readEnvironment(schema, ORGANIZATION_VARIABLES, withRegion);
}
