// What one organization run keeps in the reports bucket (the S3 layout of README "Organization mode") and the shapes
// the three steps hand each other through it: the step events, items.json, discovery.json and the per-cluster
// result records. Untyped JSON (events, objects) is checked here, once, into readonly typed values.

import { ACCOUNT_ID, CLUSTER_NAME, REGION_NAME } from '../core/model/aws-identifiers';
import { type Finding, isSeverity, SEVERITIES, type SeveritySummary } from '../core/model/finding';
import type { ClusterStatus } from '../pipeline/audit-one-cluster';
import { KEY_PART } from '../sinks/report-store';
import type { TargetFailureReason } from './member-session';

/** One cluster of one account and region: an item of the Distributed Map. */
export interface TargetItem {
  readonly account: string;
  readonly region: string;
  readonly cluster: string;
}

/** One account × region of the discovery: its clusters, or why they could not be listed. */
export type DiscoveredTarget =
  | { readonly account: string; readonly region: string; readonly clusters: readonly string[] }
  | {
      readonly account: string;
      readonly region: string;
      readonly error: TargetFailure;
    };

/** Why a target could not be listed. */
export interface TargetFailure {
  readonly reason: TargetFailureReason;
  readonly message: string;
  /**
   * AssumeRole failed as `region-not-enabled`: the region whose STS endpoint it went to (the auditor's home region),
   * which is the one to enable, whatever the target's region.
   */
  readonly stsRegion?: string;
}

/** `runs/<runId>/discovery.json`. */
export interface DiscoveryDocument {
  readonly runId: string;
  readonly generatedAt: string;
  readonly accounts: readonly string[];
  readonly regions: readonly string[];
  readonly targets: readonly DiscoveredTarget[];
}

/** The input of the discover and aggregate steps (the state machine passes the execution's name and start time). */
export interface RunEvent {
  readonly runId: string;
  readonly generatedAt: string;
}

/** The input of the audit-target step: one map item with the run it belongs to. */
export interface AuditTargetEvent extends RunEvent, TargetItem {}

/** The drift a result record carries for the aggregate's one alert: counts, and the findings up to a cap. */
export interface RecordedDrift {
  readonly newCount: number;
  /** The new findings per severity, all of them (the list below may be cut short). */
  readonly newBySeverity: SeveritySummary;
  readonly resolvedCount: number;
  readonly new: readonly Finding[];
  readonly resolved: readonly Finding[];
}

/** `runs/<runId>/results/<account>/<region>/<cluster>.json`: how the audit of one cluster ended. */
export interface ClusterResultRecord extends TargetItem {
  readonly schemaVersion: '1';
  readonly runId: string;
  readonly generatedAt: string;
  readonly status: ClusterStatus;
  /** The cluster could not be audited (IRSA-X01) or its audit failed. */
  readonly auditError: boolean;
  readonly summary: SeveritySummary;
  readonly serviceAccountsAudited: number;
  readonly podsAudited: number;
  readonly durationMs: number;
  /** No baseline existed: every current finding at or above the threshold counts as new. */
  readonly firstAudit: boolean;
  /** The baseline could not be read: every current finding at or above the threshold counts as new (see errors). */
  readonly baselineUnreadable: boolean;
  /** The history object of this run (`reports/.../history/<generatedAt>.json`). */
  readonly historyKey: string;
  /** The pending baseline (`runs/<runId>/baselines/...`), copied to latest.json once the alert is out. */
  readonly baselineKey: string;
  readonly drift: RecordedDrift;
  /** What went wrong on the way that did not stop the audit (e.g. an unreadable baseline), one line each. */
  readonly errors: readonly string[];
}

/** The organization baseline's pseudo-cluster name in reports/organization/latest.json (a §6 report). */
export const ORGANIZATION_REPORT_NAME = 'organization';
/** The organization baseline: target-level findings of the last run that alerted, tagged with its run ID. */
export const ORGANIZATION_LATEST_KEY = 'reports/organization/latest.json';

/** An event or stored object of the run is not what the contract says; names the field and what to do. */
export class RunObjectError extends Error {
  override readonly name = 'RunObjectError';
}

/** `runs/<runId>/items.json`: the Distributed Map's ItemReader input. */
export function itemsKey(runId: string): string {
  return `${runPrefix(runId)}/items.json`;
}

/** `runs/<runId>/discovery.json`. */
export function discoveryKey(runId: string): string {
  return `${runPrefix(runId)}/discovery.json`;
}

/** `runs/<runId>/results/<account>/<region>/<cluster>.json`. */
export function resultKey(runId: string, item: TargetItem): string {
  return `${runPrefix(runId)}/results/${targetPath(item)}.json`;
}

/** `runs/<runId>/alerted.json`: written right after the run's summary alert was published. */
export function alertedMarkerKey(runId: string): string {
  return `${runPrefix(runId)}/alerted.json`;
}

/** `runs/<runId>/baselines/<account>/<region>/<cluster>.json`. */
export function baselineKey(runId: string, item: TargetItem): string {
  return `${runPrefix(runId)}/baselines/${targetPath(item)}.json`;
}

/** `reports/organization/history/<generatedAt ISO>.json`. */
export function organizationHistoryKey(generatedAt: Date): string {
  return `reports/organization/history/${generatedAt.toISOString()}.json`;
}

function runPrefix(runId: string): string {
  return `runs/${keyPart('runId', runId)}`;
}

function targetPath(item: TargetItem): string {
  return `${keyPart('account', item.account)}/${keyPart('region', item.region)}/${keyPart('cluster', item.cluster)}`;
}

function keyPart(label: string, value: string): string {
  if (!KEY_PART.test(value))
    throw new RunObjectError(`${label} "${value}" cannot be part of an S3 key (letters, digits, . _ - only)`);
  return value;
}

// Parsing at the edge.

type Json = { readonly [key: string]: unknown };

const STATUSES: readonly ClusterStatus[] = ['audited', 'unreachable', 'timed-out', 'failed'];
const FAILURE_REASONS: readonly TargetFailureReason[] = [
  'access-denied',
  'explicit-deny',
  'throttled',
  'region-not-enabled',
  'error',
];

/** The discover or aggregate step's input: `{runId, generatedAt}` with an ISO-8601 time. */
export function parseRunEvent(value: unknown, what = 'the event'): RunEvent & { readonly at: Date } {
  const event = object(value, what);
  const runId = string(event.runId, `${what}.runId`);
  keyPart(`${what}.runId`, runId);
  const generatedAt = string(event.generatedAt, `${what}.generatedAt`);
  const at = new Date(generatedAt);
  if (Number.isNaN(at.getTime()))
    throw new RunObjectError(`${what}.generatedAt "${generatedAt}" is not an ISO-8601 time`);
  return { runId, generatedAt, at };
}

/** The audit-target step's input: the run plus `{account, region, cluster}`, each a valid name. */
export function parseAuditTargetEvent(value: unknown): AuditTargetEvent & { readonly at: Date } {
  const run = parseRunEvent(value);
  return { ...run, ...targetItem(value, 'the event') };
}

/** `items.json`: an array of `{account, region, cluster}`. */
export function parseItems(value: unknown, uri: string): TargetItem[] {
  return array(value, uri).map((item, index) => targetItem(item, `${uri}[${index}]`));
}

/** `discovery.json`. */
export function parseDiscovery(value: unknown, uri: string): DiscoveryDocument {
  const document = object(value, uri);
  const strings = (field: unknown, path: string) =>
    array(field, path).map((entry, index) => string(entry, `${path}[${index}]`));
  return {
    runId: string(document.runId, `${uri}.runId`),
    generatedAt: string(document.generatedAt, `${uri}.generatedAt`),
    accounts: strings(document.accounts, `${uri}.accounts`),
    regions: strings(document.regions, `${uri}.regions`),
    targets: array(document.targets, `${uri}.targets`).map((entry, index) => {
      const path = `${uri}.targets[${index}]`;
      const target = object(entry, path);
      const account = string(target.account, `${path}.account`);
      const region = string(target.region, `${path}.region`);
      if (target.error !== undefined) {
        const error = object(target.error, `${path}.error`);
        const reason = oneOf(error.reason, FAILURE_REASONS, `${path}.error.reason`);
        const stsRegion =
          error.stsRegion === undefined
            ? {}
            : { stsRegion: string(error.stsRegion, `${path}.error.stsRegion`) };
        return {
          account,
          region,
          error: { reason, message: string(error.message, `${path}.error.message`), ...stsRegion },
        };
      }
      return { account, region, clusters: strings(target.clusters, `${path}.clusters`) };
    }),
  };
}

/** A result record, as the audit-target step wrote it. */
export function parseResultRecord(value: unknown, uri: string): ClusterResultRecord {
  const record = object(value, uri);
  if (record.schemaVersion !== '1') throw new RunObjectError(`${uri}.schemaVersion is not "1"`);
  const summaryObject = object(record.summary, `${uri}.summary`);
  const drift = object(record.drift, `${uri}.drift`);
  const findings = (field: unknown, path: string) =>
    array(field, path).map((entry, index) => finding(entry, `${path}[${index}]`));
  return {
    schemaVersion: '1',
    ...targetItem(record, uri),
    runId: string(record.runId, `${uri}.runId`),
    generatedAt: string(record.generatedAt, `${uri}.generatedAt`),
    status: oneOf(record.status, STATUSES, `${uri}.status`),
    auditError: boolean(record.auditError, `${uri}.auditError`),
    summary: severitySummary(summaryObject, `${uri}.summary`),
    serviceAccountsAudited: number(record.serviceAccountsAudited, `${uri}.serviceAccountsAudited`),
    podsAudited: number(record.podsAudited, `${uri}.podsAudited`),
    durationMs: number(record.durationMs, `${uri}.durationMs`),
    firstAudit: boolean(record.firstAudit, `${uri}.firstAudit`),
    // Absent from the records of earlier versions, which said so in errors only.
    baselineUnreadable:
      record.baselineUnreadable === undefined
        ? false
        : boolean(record.baselineUnreadable, `${uri}.baselineUnreadable`),
    historyKey: string(record.historyKey, `${uri}.historyKey`),
    baselineKey: string(record.baselineKey, `${uri}.baselineKey`),
    drift: {
      newCount: number(drift.newCount, `${uri}.drift.newCount`),
      newBySeverity: severitySummary(
        object(drift.newBySeverity, `${uri}.drift.newBySeverity`),
        `${uri}.drift.newBySeverity`,
      ),
      resolvedCount: number(drift.resolvedCount, `${uri}.drift.resolvedCount`),
      new: findings(drift.new, `${uri}.drift.new`),
      resolved: findings(drift.resolved, `${uri}.drift.resolved`),
    },
    errors: array(record.errors, `${uri}.errors`).map((entry, index) =>
      string(entry, `${uri}.errors[${index}]`),
    ),
  };
}

function severitySummary(value: Json, path: string): SeveritySummary {
  return Object.fromEntries(
    SEVERITIES.map((severity) => [severity, number(value[severity], `${path}.${severity}`)]),
  ) as SeveritySummary;
}

function targetItem(value: unknown, path: string): TargetItem {
  const item = object(value, path);
  const account = string(item.account, `${path}.account`);
  if (!ACCOUNT_ID.test(account))
    throw new RunObjectError(`${path}.account "${account}" is not a 12-digit account ID`);
  const region = string(item.region, `${path}.region`);
  if (!REGION_NAME.test(region))
    throw new RunObjectError(`${path}.region "${region}" is not an AWS region name`);
  const cluster = string(item.cluster, `${path}.cluster`);
  if (!CLUSTER_NAME.test(cluster))
    throw new RunObjectError(`${path}.cluster "${cluster}" is not an EKS cluster name`);
  return { account, region, cluster };
}

function finding(value: unknown, path: string): Finding {
  const entry = object(value, path);
  const resource = object(entry.resource, `${path}.resource`);
  const namespace =
    resource.namespace === undefined
      ? {}
      : { namespace: string(resource.namespace, `${path}.resource.namespace`) };
  const severity = string(entry.severity, `${path}.severity`);
  if (!isSeverity(severity)) throw new RunObjectError(`${path}.severity "${severity}" is not a severity`);
  return {
    id: string(entry.id, `${path}.id`),
    check: string(entry.check, `${path}.check`),
    severity,
    title: string(entry.title, `${path}.title`),
    resource: {
      kind: string(resource.kind, `${path}.resource.kind`),
      ...namespace,
      name: string(resource.name, `${path}.resource.name`),
    },
    message: string(entry.message, `${path}.message`),
    // JSON.parse produced it, so every value in it is JSON: exactly what Evidence allows.
    evidence: object(entry.evidence, `${path}.evidence`) as Finding['evidence'],
    remediation: string(entry.remediation, `${path}.remediation`),
  };
}

function object(value: unknown, path: string): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new RunObjectError(`${path} is not an object`);
  return value as Json;
}

function array(value: unknown, path: string): readonly unknown[] {
  if (!Array.isArray(value)) throw new RunObjectError(`${path} is not an array`);
  return value;
}

function string(value: unknown, path: string): string {
  if (typeof value !== 'string' || value === '')
    throw new RunObjectError(`${path} is not a non-empty string`);
  return value;
}

function number(value: unknown, path: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value))
    throw new RunObjectError(`${path} is not a number`);
  return value;
}

function boolean(value: unknown, path: string): boolean {
  if (typeof value !== 'boolean') throw new RunObjectError(`${path} is not true or false`);
  return value;
}

function oneOf<T extends string>(value: unknown, allowed: readonly T[], path: string): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value))
    throw new RunObjectError(`${path} is not one of ${allowed.join(', ')}`);
  return value as T;
}
