// The audit-target step of an organization run: one cluster of one member account, audited exactly as single
// mode audits it (collectCluster → withoutNamespaces → auditCluster) but as the member role, within what the
// invocation has left. It writes the cluster's history report, its pending baseline and a result record for the
// aggregate; the aggregate alerts and advances latest.json. No metrics and no SNS here. The same run ID writes
// the same keys, so a retried item overwrites its own objects.

import type { AuditOptions } from '../core/analysis/context';
import { baselineAfter, driftOf, unevaluatedChecks } from '../core/drift/drift';
import { auditCluster, summarize } from '../core/engine/audit-cluster';
import { errorText } from '../core/error-text';
import type { ClusterState } from '../core/model/cluster-state';
import type { AuditReport, ClusterReport, Finding } from '../core/model/finding';
import type { ClusterStatus } from '../pipeline/audit-one-cluster';
import {
  clusterDeadlineMs,
  collectWithin,
  connectionStatus,
  unreachableState,
  withoutNamespaces,
} from '../pipeline/audit-one-cluster';
import type { Environment } from '../pipeline/config';
import { type InvocationContext, jsonLineLog, type StructuredLog } from '../pipeline/structured-log';
import type { ReportStore, StoredReport } from '../sinks/report-store';
import { DEFAULT_PROBE_NAMESPACES } from '../sources/kube/probe-webhook';
import { collectCluster } from '../sources/live/collect-cluster';
import { MemberAccessError, type MemberSession, TargetThrottledError } from './member-session';
import {
  type AuditTargetConfig,
  DISCOVER_ROLE_NAME,
  loadAuditTargetConfig,
  TARGET_AUDIT_ROLE_NAME,
} from './organization-config';
import {
  type AuditTargetEvent,
  baselineKey,
  type ClusterResultRecord,
  parseAuditTargetEvent,
  resultKey,
} from './run-objects';
import {
  atColdStart,
  auditorCredentials,
  memberSessions,
  reportStoreFor,
  type StepOptions,
} from './step-runtime';

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

/** The objects of this cluster and run could not be written; the map's retry (or the aggregate's X01) follows. */
export class TargetWriteError extends Error {
  override readonly name = 'TargetWriteError';
}

// The drift findings a record carries, per direction: the summary alert shows a few hundred at most (SNS's 256 KB),
// and the history report has them all; an incident's first audit can have tens of thousands.
export const RECORDED_DRIFT_LIMIT = 200;

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

  const collected = await collectAsMember(deps, session, target, context);
  const state = withoutNamespaces(collected.state, config.excludeNamespaces);
  const audit = auditCluster(state, options);
  // With nothing collected (the member role could not be used) only the IRSA-X checks ran: the engine says so.
  const unevaluated = unevaluatedChecks(audit);
  const report = withMemberRemediation(audit.report, session, account, config.region);
  const { counts } = audit;
  const status = collected.status === 'collected' ? connectionStatus(state) : collected.status;
  const auditError = status !== 'audited' || report.findings.some((finding) => finding.check === 'IRSA-X01');

  const errors: string[] = [];
  const asAuditReport = (clusterReport: ClusterReport): AuditReport => ({
    schemaVersion: '1',
    generatedAt: target.at.toISOString(),
    clusters: [clusterReport],
  });
  let stored: StoredReport | undefined;
  let baselineUnreadable = false;
  try {
    stored = await store.latest(account, region, cluster);
  } catch (error) {
    // As single mode: alerting twice is better than missing a change; the alert's count says it is a full list.
    baselineUnreadable = true;
    errors.push(
      `${cluster}: the baseline could not be read, so every current finding at or above ${config.alertSeverity} counts as new: ${errorText(error, { named: true })}`,
    );
  }
  const previous = stored?.report.clusters.find((candidate) => candidate.name === cluster);
  const drift = driftOf(previous, report, config.alertSeverity, unevaluated);

  let historyKey: string;
  const pendingKey = baselineKey(runId, target);
  try {
    historyKey = await store.saveHistory(account, region, cluster, asAuditReport(report), target.at);
    await store.putJson(pendingKey, asAuditReport(baselineAfter(previous, report, unevaluated)), runId);
  } catch (error) {
    throw new TargetWriteError(
      `${account}/${region}/${cluster}: the report of run ${runId} was not saved: ${errorText(error, { named: true })}`,
      { cause: error },
    );
  }
  const record: ClusterResultRecord = {
    schemaVersion: '1',
    runId,
    generatedAt: target.generatedAt,
    account,
    region,
    cluster,
    status,
    auditError,
    summary: report.summary,
    ...counts,
    durationMs: now().getTime() - started.getTime(),
    firstAudit: stored === undefined && !baselineUnreadable,
    baselineUnreadable,
    historyKey,
    baselineKey: pendingKey,
    drift: {
      newCount: drift.newFindings.length,
      newBySeverity: summarize(drift.newFindings),
      resolvedCount: drift.resolved.length,
      new: drift.newFindings.slice(0, RECORDED_DRIFT_LIMIT),
      resolved: drift.resolved.slice(0, RECORDED_DRIFT_LIMIT),
    },
    errors,
  };
  try {
    // Written last: a record means the history and the pending baseline it points to exist.
    await store.putJson(resultKey(runId, target), record, runId);
  } catch (error) {
    throw new TargetWriteError(
      `${account}/${region}/${cluster}: the result of run ${runId} was not saved: ${errorText(error, { named: true })}`,
      { cause: error },
    );
  }
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

type Collected = {
  readonly status: 'collected' | Exclude<ClusterStatus, 'audited'>;
  readonly state: ClusterState;
};

/** The cluster's state as the member role sees it, or a state holding why the role could not be used. */
async function collectAsMember(
  deps: AuditTargetDependencies,
  session: MemberSession,
  target: AuditTargetEvent,
  context: InvocationContext,
): Promise<Collected> {
  const { config } = deps;
  const { cluster, region } = target;
  try {
    await session.assume();
  } catch (error) {
    if (error instanceof MemberAccessError && error.reason === 'throttled')
      throw new TargetThrottledError(`${target.account}/${region}/${cluster}: ${error.message}`, {
        cause: error,
      });
    const reason = error instanceof MemberAccessError ? error.reason : 'error';
    return {
      // The cluster was never reached: the role that reaches it could not be used.
      status: 'unreachable',
      state: unreachableState(cluster, {
        resource: 'cluster-connection',
        reason,
        message: error instanceof MemberAccessError ? error.message : errorText(error, { named: true }),
      }),
    };
  }
  const clients = session.clients(region);
  const collected = await collectWithin(
    {
      label: cluster,
      collect: () =>
        collectCluster({
          clusterName: cluster,
          clients,
          kubeTarget: ({ endpoint, caData }) => ({
            kind: 'eks',
            clusterName: cluster,
            endpoint: endpoint ?? '',
            caData: caData ?? '',
            // Signed as the member role: the member stack's access entry maps that role, not the auditor's.
            token: () => session.tokens.token(cluster, region),
          }),
          ...(config.probe ? { probeNamespaces: DEFAULT_PROBE_NAMESPACES } : {}),
        }),
    },
    cluster,
    // Taken now: what the invocation has left, less the reserve for writing the objects.
    clusterDeadlineMs(context.getRemainingTimeInMillis()),
  );
  const describeFailure = collected.state.collectionErrors.find(
    (error) => error.resource === 'cluster-connection' && error.reason === 'describe-cluster',
  );
  // DescribeCluster throttled beyond the SDK's retries says nothing about the cluster: try the item again later.
  if (describeFailure?.throttled === true)
    throw new TargetThrottledError(`${target.account}/${region}/${cluster}: ${describeFailure.message}`);
  return collected;
}

/**
 * The IRSA-X01 of a member role that could not be assumed gets the remediation that fixes it (deploy the member
 * stack, lift a policy's Deny, enable the home region), not the generic one about API server access; its
 * fingerprint (check, resource, reason) is unchanged.
 */
function withMemberRemediation(
  report: ClusterReport,
  session: MemberSession,
  account: string,
  homeRegion: string,
): ClusterReport {
  const remediations: Readonly<Record<string, string>> = {
    'access-denied': `Deploy MemberAccountStack in account ${account} (cdk deploy, or the organization's StackSet) with this auditor's account ID and external ID, so that ${session.roleArn} exists and trusts ${DISCOVER_ROLE_NAME} and ${TARGET_AUDIT_ROLE_NAME}.`,
    'explicit-deny': `A policy outside the member stack (a service control policy, most often) denies ${session.roleArn} explicitly, and redeploying MemberAccountStack does not lift a Deny: ask the organization's administrators to exempt ${DISCOVER_ROLE_NAME}, ${TARGET_AUDIT_ROLE_NAME} and the member role from it.`,
    // Only AssumeRole reaches this step as a MemberAccessError, and AssumeRole goes to the home region's STS.
    'region-not-enabled': `Enable ${homeRegion}, the auditor's home region whose STS endpoint AssumeRole goes to, in account ${account} (Account > AWS Regions, for an opt-in region) and activate STS there (IAM > Account settings > Security Token Service endpoints).`,
  };
  const fixed = (finding: Finding): Finding => {
    const reason = finding.evidence.reason;
    if (finding.check !== 'IRSA-X01' || typeof reason !== 'string') return finding;
    const remediation = remediations[reason];
    return remediation === undefined ? finding : { ...finding, remediation };
  };
  return { ...report, findings: report.findings.map(fixed) };
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
