// The audit-target step of an organization run: one cluster of one member account, audited exactly as single
// mode audits it (auditOneCluster: collect within a deadline, exclude namespaces, engine) but as the member role,
// within what the invocation has left, then handed to the deferred publisher (history, pending baseline, result
// record); the aggregate alerts and advances latest.json. No metrics and no SNS here.

import type { AuditOptions } from '../core/analysis/context';
import { errorText } from '../core/error-text';
import type { ClusterStatus } from '../pipeline/audit-one-cluster';
import { auditOneCluster, clusterDeadlineMs, unreachableState } from '../pipeline/audit-one-cluster';
import { atColdStart, auditorCredentials, reportStoreFor } from '../pipeline/cold-start';
import type { Environment } from '../pipeline/config';
import type { ClusterSource } from '../pipeline/run-audit';
import { type InvocationContext, jsonLineLog, type StructuredLog } from '../pipeline/structured-log';
import type { ReportStore } from '../sinks/report-store';
import { clusterCollector } from '../sources/live/cluster-collector';
import { deferredPublisher } from './deferred-publisher';
import { MemberAccessError, type MemberSession, TargetThrottledError } from './member-session';
import {
  type AuditTargetConfig,
  DISCOVER_ROLE_NAME,
  loadAuditTargetConfig,
  TARGET_AUDIT_ROLE_NAME,
} from './organization-config';
import { type AuditTargetEvent, type ClusterResultRecord, parseAuditTargetEvent } from './run-objects';
import { memberSessions, type StepOptions } from './step-runtime';

/** What the step returns to the map: small, so the map's output never nears the 256 KB state limit. */
export interface AuditTargetOutput {
  readonly account: string;
  readonly region: string;
  readonly cluster: string;
  readonly status: ClusterStatus;
}

/** What the step needs, built once per container or by a test (or the benchmark). */
export interface AuditTargetDependencies {
  readonly config: AuditTargetConfig;
  readonly sessionFor: (account: string) => MemberSession;
  readonly store: ReportStore;
  readonly log: StructuredLog;
  readonly now?: () => Date;
}

// Defined beside the member session, so that discover throws it too without loading this step's Kubernetes client.
export { TargetThrottledError } from './member-session';

/** Audits one cluster as its account's member role and writes its history, pending baseline and result record. */
export async function auditTarget(
  deps: AuditTargetDependencies,
  event: unknown,
  context: InvocationContext,
): Promise<ClusterResultRecord> {
  const target = parseAuditTargetEvent(event);
  const { config, log, store } = deps;
  const now = deps.now ?? (() => new Date());
  const started = now();
  const { runId, account, region, cluster } = target;
  const options: AuditOptions = { now: started, webhookName: config.webhookName };
  const session = deps.sessionFor(account);

  const source = await memberSource(deps, session, target);
  const {
    state,
    result: audit,
    status,
    auditError,
    unevaluated,
  } = await auditOneCluster(source, {
    // Taken now: what the invocation has left, less the reserve for writing the objects.
    deadlineMs: clusterDeadlineMs(context.getRemainingTimeInMillis()),
    excludeNamespaces: config.excludeNamespaces,
    audit: options,
  });
  const describeFailure = state.collectionErrors.find(
    (error) => error.resource === 'cluster-connection' && error.reason === 'describe-cluster',
  );
  // DescribeCluster throttled beyond the SDK's retries says nothing about the cluster: try the item again later.
  if (describeFailure?.throttled === true)
    throw new TargetThrottledError(`${account}/${region}/${cluster}: ${describeFailure.message}`);
  const { report } = audit;
  const { counts } = audit;

  const record = await deferredPublisher({
    store,
    threshold: config.alertSeverity,
    target,
    durationMs: () => now().getTime() - started.getTime(),
  }).publish({
    account,
    region,
    report,
    generatedAt: target.at,
    runId,
    unevaluated,
    status,
    auditError,
    counts,
  });
  const { errors } = record;
  log(auditError || errors.length > 0 ? 'warn' : 'info', 'cluster audited', {
    runId,
    account,
    region,
    cluster,
    status,
    durationMs: record.durationMs,
    ...counts,
    findings: { ...report.summary },
    newFindings: record.drift.newCount,
    resolvedFindings: record.drift.resolvedCount,
    ...(state.collectionErrors.length === 0
      ? {}
      : { collectionErrors: state.collectionErrors.map((error) => `${error.resource}: ${error.reason}`) }),
    errors,
  });
  return record;
}

/**
 * The cluster as the member role sees it, or, when the role cannot be used, a source that holds only why (the
 * cluster was never reached: IRSA-X01). A throttled AssumeRole says nothing about the cluster: the item is retried.
 */
async function memberSource(
  deps: AuditTargetDependencies,
  session: MemberSession,
  target: AuditTargetEvent,
): Promise<ClusterSource> {
  const { cluster, region } = target;
  try {
    await session.assume();
  } catch (error) {
    if (error instanceof MemberAccessError && error.reason === 'throttled')
      throw new TargetThrottledError(`${target.account}/${region}/${cluster}: ${error.message}`, {
        cause: error,
      });
    const reason = error instanceof MemberAccessError ? error.reason : 'error';
    const remediation = memberRemediation(reason, session, target.account, deps.config.region);
    const state = unreachableState(cluster, {
      resource: 'cluster-connection',
      reason,
      message: error instanceof MemberAccessError ? error.message : errorText(error, { named: true }),
      ...(remediation === undefined ? {} : { remediation }),
    });
    return { label: cluster, collect: async () => state };
  }
  return clusterCollector({
    clients: session.clients(region),
    // Signed as the member role: the member stack's access entry maps that role, not the auditor's.
    token: (name) => session.tokens.token(name, region),
    probe: deps.config.probe,
  }).sourceFor(cluster);
}

/**
 * What fixes a member role that could not be assumed (deploy the member stack, lift a policy's Deny, enable the
 * home region), instead of the generic advice about API server access; IRSA-X01 carries it, fingerprint unchanged.
 */
function memberRemediation(
  reason: string,
  session: MemberSession,
  account: string,
  homeRegion: string,
): string | undefined {
  const remediations: Readonly<Record<string, string>> = {
    'access-denied': `Deploy MemberAccountStack in account ${account} (cdk deploy, or the organization's StackSet) with this auditor's account ID and external ID, so that ${session.roleArn} exists and trusts ${DISCOVER_ROLE_NAME} and ${TARGET_AUDIT_ROLE_NAME}.`,
    'explicit-deny': `A policy outside the member stack (a service control policy, most often) denies ${session.roleArn} explicitly, and redeploying MemberAccountStack does not lift a Deny: ask the organization's administrators to exempt ${DISCOVER_ROLE_NAME}, ${TARGET_AUDIT_ROLE_NAME} and the member role from it.`,
    // Only AssumeRole reaches this step as a MemberAccessError, and AssumeRole goes to the home region's STS.
    'region-not-enabled': `Enable ${homeRegion}, the auditor's home region whose STS endpoint AssumeRole goes to, in account ${account} (Account > AWS Regions, for an opt-in region) and activate STS there (IAM > Account settings > Security Token Service endpoints).`,
  };
  return remediations[reason];
}

/** The audit-target step's Lambda handler. */
export type AuditTargetHandler = (event: unknown, context: InvocationContext) => Promise<AuditTargetOutput>;

/** The dependencies of one container, from a valid configuration. */
export function createAuditTargetDependencies(
  config: AuditTargetConfig,
  options: StepOptions = {},
): AuditTargetDependencies {
  const credentials = auditorCredentials(options);
  return {
    config,
    sessionFor: memberSessions(config, 'audit', options, credentials),
    store: reportStoreFor(config, credentials),
    log: options.log ?? jsonLineLog(),
  };
}

/** Validates the configuration at cold start and returns the handler (see atColdStart). */
export function createAuditTargetHandler(env: Environment, options: StepOptions = {}): AuditTargetHandler {
  const log = options.log ?? jsonLineLog();
  return atColdStart(
    'audit-target',
    () => loadAuditTargetConfig(env),
    (config) => {
      const deps = createAuditTargetDependencies(config, { ...options, log });
      return async (event: unknown, context: InvocationContext) => {
        const record = await auditTarget(deps, event, context);
        return {
          account: record.account,
          region: record.region,
          cluster: record.cluster,
          status: record.status,
        };
      };
    },
    (config) => ({
      memberRoleName: config.memberRoleName,
      excludeNamespaces: [...config.excludeNamespaces],
      alertSeverity: config.alertSeverity,
      probe: config.probe,
    }),
    log,
  );
}
