// The organization's own findings: a target-level IRSA-X01 for each account/region discover could not audit and
// for each cluster without a usable result record. No cluster state exists for them, so no check runs; the drafts
// become findings through the engine's findingOf, as every other finding does. They make up the organization report that reports/organization/latest.json keeps between runs.

import { x01ClusterUnreachable } from '../../core/checks/x01-cluster-unreachable';
import { findingOf, sortFindings, summarize } from '../../core/engine/audit-cluster';
import type { ClusterReport, Finding } from '../../core/model/finding';
import type { TargetFailureReason } from '../member-session';
import {
  type DiscoveryDocument,
  ORGANIZATION_REPORT_NAME,
  type TargetFailure,
  type TargetItem,
} from '../run-objects';
import type { MissingRecord } from './run-records';

const CLUSTER_KIND = 'Cluster';
const TARGET_KIND = 'Target';

/** The organization report of the run: the IRSA-X01 of every failed target and every cluster without a record. */
export function targetLevelReport(
  discovery: DiscoveryDocument,
  missing: readonly MissingRecord[],
  mapFailed: boolean,
): ClusterReport {
  const targetFindings = sortFindings([
    ...discovery.targets.flatMap((target) => ('error' in target ? [failedTargetFinding(target)] : [])),
    ...missing.map((outcome) => missingResultFinding(outcome.item, outcome.missing, mapFailed)),
  ]);
  return {
    name: ORGANIZATION_REPORT_NAME,
    summary: summarize(targetFindings),
    findings: targetFindings,
  };
}

/**
 * A target-level IRSA-X01: a draft of the X01 check made a finding by the engine's own path (findingOf), so its
 * ID is fingerprinted like every other finding, by where (account/region[/cluster]) and why (the key).
 */
function targetFinding(
  kind: string,
  name: string,
  reason: string,
  message: string,
  evidence: Finding['evidence'],
  remediation: string,
): Finding {
  return findingOf(
    x01ClusterUnreachable,
    { resource: { kind, name }, key: reason, message, evidence, remediation },
    ORGANIZATION_REPORT_NAME,
  );
}

const TARGET_REMEDIATIONS: Readonly<
  Record<TargetFailureReason, (account: string, region: string, stsRegion?: string) => string>
> = {
  'access-denied': (account) =>
    `Deploy MemberAccountStack in account ${account} (cdk deploy, or the organization's StackSet) with this auditor's account ID and external ID, and check that the member role has the auditor's read permissions.`,
  'explicit-deny': (account, region) =>
    `A policy outside the member stack (a service control policy, most often) denies the member role of account ${account} explicitly, and redeploying MemberAccountStack does not lift a Deny: ask the organization's administrators to exempt the auditor's roles from it, or remove ${region} from the auditor's regions if it is denied on purpose.`,
  'region-not-enabled': (account, region, stsRegion) =>
    stsRegion === undefined
      ? `Enable ${region} in account ${account} (Account > AWS Regions), or remove it from the auditor's regions.`
      : `Enable ${stsRegion}, the auditor's home region whose STS endpoint AssumeRole goes to, in account ${account} (Account > AWS Regions, for an opt-in region) and activate STS there (IAM > Account settings > Security Token Service endpoints).`,
  throttled: () =>
    "AWS throttled the auditor beyond the SDK's retries: lower the discovery concurrency, or raise the account's STS/EKS quotas.",
  error: (account, region) =>
    `Read the discover function's log for account ${account} in ${region} and fix what it names; the next run retries.`,
};

function failedTargetFinding(
  target: DiscoveryDocument['targets'][number] & { readonly error: TargetFailure },
): Finding {
  const { account, region, error } = target;
  return targetFinding(
    TARGET_KIND,
    `${account}/${region}`,
    error.reason,
    `Account ${account} in ${region} could not be audited: ${error.reason} (${error.message}), so none of its clusters were checked.`,
    {
      account,
      region,
      reason: error.reason,
      error: error.message,
      ...(error.stsRegion === undefined ? {} : { stsRegion: error.stsRegion }),
    },
    TARGET_REMEDIATIONS[error.reason](account, region, error.stsRegion),
  );
}

function missingResultFinding(item: TargetItem, reason: string, mapFailed: boolean): Finding {
  const { account, region, cluster } = item;
  const why =
    reason === 'no-result'
      ? `its audit step left no result after the state machine's retries${mapFailed ? ' (the map stopped early: too many failures)' : ''}`
      : 'its result could not be read';
  return targetFinding(
    CLUSTER_KIND,
    `${account}/${region}/${cluster}`,
    reason,
    `Cluster ${cluster} in account ${account}, ${region} could not be audited: ${why}, so none of its ServiceAccounts, pods or webhooks were checked.`,
    { account, region, cluster, reason },
    `Open the organization state machine's execution for this run, find the failed iteration of ${account}/${region}/${cluster} in its map run, and fix what the audit-target function's log names (timeouts: raise its memory or timeout).`,
  );
}
