// The SNS drift alert of one cluster (SPEC §7): `MessageStructure: json` with a readable `email` text and the
// JSON delta as `default` (what SQS, Lambda and HTTPS subscribers get), always within SNS's size limits.

import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import type { Drift } from '../core/drift/drift';
import { errorText } from '../core/error-text';
import { type ClusterReport, type Finding, SEVERITIES } from '../core/model/finding';

/** What publishAlert sends: `message` is the SNS JSON envelope {"default": <JSON delta>, "email": <text>}. */
export interface Alert {
  readonly subject: string;
  readonly message: string;
}

/** Lines that qualify the comparison (e.g. the baseline could not be read), shown first in both bodies. */
export interface AlertOptions {
  readonly notes?: readonly string[];
}

/** SNS's Publish limit: 262,144 bytes (UTF-8), the JSON envelope included. */
export const SNS_MESSAGE_LIMIT_BYTES = 262_144;

// The subject travels in the same request; the budget leaves it room and some to spare.
const MESSAGE_BUDGET_BYTES = SNS_MESSAGE_LIMIT_BYTES - 1024;

/** SNS rejects a longer subject. */
export const SUBJECT_LIMIT = 100;

// One finding's evidence can be large (a certificate bundle, a trust policy); the report keeps all of it.
const EVIDENCE_LIMIT_BYTES = 8192;

const SUBJECT_PREFIX = '[IRSA] ';

/** Publish failed; the caller keeps the baseline so that the next run alerts again. */
export class AlertPublishError extends Error {
  override readonly name = 'AlertPublishError';
  constructor(
    readonly topicArn: string,
    readonly subject: string,
    override readonly cause: unknown,
  ) {
    super(`could not publish "${subject}" to ${topicArn}: ${errorText(cause, { named: true })}`);
  }
}

/**
 * Subject ≤ 100 characters (`[IRSA] <cluster>: 2 new critical, 1 resolved`); email text: what changed, each new
 * finding with its remediation, each resolved one, a link to the report object; `default`: the JSON delta. Both
 * bodies drop findings from the end, and say how many, so that the whole message stays under SNS's 256 KB.
 */
export function buildAlert(
  cluster: ClusterReport,
  drift: Drift,
  reportUri: string,
  runAt: Date,
  options: AlertOptions = {},
): Alert {
  const notes = options.notes ?? [];
  const newEntries = drift.newFindings;
  const resolvedEntries = drift.resolved;
  const render = (shownNew: number, shownResolved: number) =>
    JSON.stringify({
      default: JSON.stringify(deltaOf(cluster, drift, reportUri, runAt, notes, shownNew, shownResolved)),
      email: emailText(cluster, drift, reportUri, runAt, notes, shownNew, shownResolved),
    });

  // Greedy by estimate (each finding adds its escaped JSON to `default` and its escaped text to `email`),
  // then exact: the rendered envelope is measured and trimmed until it fits. New findings come first, but a
  // quarter of the room is kept for resolved ones while there are any, and handed back if they need less.
  let remaining = MESSAGE_BUDGET_BYTES - byteLength(render(0, 0));
  const cost = (finding: Finding, block: (finding: Finding) => string) =>
    escapedLength(JSON.stringify(deltaFinding(finding))) + 1 + escapedLength(block(finding)) + 2;
  const fitting = (
    findings: readonly Finding[],
    from: number,
    block: (finding: Finding) => string,
    keep = 0,
  ) => {
    let shown = from;
    for (const finding of findings.slice(from)) {
      const bytes = cost(finding, block);
      if (bytes > remaining - keep) break;
      remaining -= bytes;
      shown += 1;
    }
    return shown;
  };
  const reserve = resolvedEntries.length > 0 ? Math.floor(remaining / 4) : 0;
  let shownNew = fitting(newEntries, 0, newBlock, reserve);
  let shownResolved = fitting(resolvedEntries, 0, resolvedBlock);
  shownNew = fitting(newEntries, shownNew, newBlock);
  let message = render(shownNew, shownResolved);
  while (byteLength(message) > MESSAGE_BUDGET_BYTES && shownNew + shownResolved > 0) {
    if (shownResolved > 0) shownResolved -= 1;
    else shownNew -= 1;
    message = render(shownNew, shownResolved);
  }
  return { subject: alertSubject(cluster.name, drift), message };
}

/** `[IRSA] <cluster>: 2 new critical, 1 new high, 1 resolved`, shortened (counts, then name) to 100 ASCII characters. */
export function alertSubject(clusterName: string, drift: Drift): string {
  // SNS subjects must be printable ASCII without line breaks.
  const name = clusterName.replace(/[^\x20-\x7e]/g, '?');
  const fits = (counts: string) => SUBJECT_PREFIX.length + name.length + 2 + counts.length <= SUBJECT_LIMIT;
  const full = changeCounts(drift);
  if (fits(full)) return `${SUBJECT_PREFIX}${name}: ${full}`;
  const compact = compactCounts(drift);
  if (fits(compact)) return `${SUBJECT_PREFIX}${name}: ${compact}`;
  const room = Math.max(1, SUBJECT_LIMIT - SUBJECT_PREFIX.length - 2 - compact.length - 3);
  return `${SUBJECT_PREFIX}${name.slice(0, room)}...: ${compact}`.slice(0, SUBJECT_LIMIT);
}

/** Publishes with `MessageStructure: 'json'`, so each protocol gets its own body. */
export async function publishAlert(sns: SNSClient, topicArn: string, alert: Alert): Promise<void> {
  try {
    await sns.send(
      new PublishCommand({
        TopicArn: topicArn,
        Subject: alert.subject,
        Message: alert.message,
        MessageStructure: 'json',
      }),
    );
  } catch (error) {
    throw new AlertPublishError(topicArn, alert.subject, error);
  }
}

/** `2 new critical, 1 new high, 1 resolved`. */
function changeCounts(drift: Drift): string {
  const parts = SEVERITIES.flatMap((severity) => {
    const count = drift.newFindings.filter((finding) => finding.severity === severity).length;
    return count === 0 ? [] : [`${count} new ${severity}`];
  });
  if (drift.resolved.length > 0) parts.push(`${drift.resolved.length} resolved`);
  return parts.length === 0 ? 'no change' : parts.join(', ');
}

/** `5 new (2 critical), 1 resolved`: the total and the most severe only. */
function compactCounts(drift: Drift): string {
  const parts: string[] = [];
  const worst = SEVERITIES.find((severity) =>
    drift.newFindings.some((finding) => finding.severity === severity),
  );
  if (worst !== undefined) {
    const count = drift.newFindings.filter((finding) => finding.severity === worst).length;
    parts.push(
      count === drift.newFindings.length
        ? `${count} new ${worst}`
        : `${drift.newFindings.length} new (${count} ${worst})`,
    );
  }
  if (drift.resolved.length > 0) parts.push(`${drift.resolved.length} resolved`);
  return parts.length === 0 ? 'no change' : parts.join(', ');
}

function deltaOf(
  cluster: ClusterReport,
  drift: Drift,
  reportUri: string,
  runAt: Date,
  notes: readonly string[],
  shownNew: number,
  shownResolved: number,
): object {
  return {
    schemaVersion: '1',
    type: 'irsa-auditor.drift',
    cluster: {
      name: cluster.name,
      ...(cluster.arn === undefined ? {} : { arn: cluster.arn }),
      ...(cluster.region === undefined ? {} : { region: cluster.region }),
      ...(cluster.accountId === undefined ? {} : { accountId: cluster.accountId }),
    },
    runAt: runAt.toISOString(),
    report: reportUri,
    ...(notes.length === 0 ? {} : { notes }),
    summary: cluster.summary,
    newCount: drift.newFindings.length,
    resolvedCount: drift.resolved.length,
    notShown: { new: drift.newFindings.length - shownNew, resolved: drift.resolved.length - shownResolved },
    new: drift.newFindings.slice(0, shownNew).map(deltaFinding),
    resolved: drift.resolved.slice(0, shownResolved).map(deltaFinding),
  };
}

/** The finding as the delta carries it: evidence over 8 KB is left to the report. */
export function deltaFinding(finding: Finding): Finding {
  const size = byteLength(JSON.stringify(finding.evidence));
  if (size <= EVIDENCE_LIMIT_BYTES) return finding;
  return { ...finding, evidence: { omitted: `${size} bytes of evidence; see the full report` } };
}

function emailText(
  cluster: ClusterReport,
  drift: Drift,
  reportUri: string,
  runAt: Date,
  notes: readonly string[],
  shownNew: number,
  shownResolved: number,
): string {
  const lines = [
    `IRSA audit of cluster ${cluster.name}${cluster.arn === undefined ? '' : ` (${cluster.arn})`} at ${runAt.toISOString()}: ${changeCounts(drift)}.`,
    ...notes,
    '',
  ];
  const section = (
    title: string,
    findings: readonly Finding[],
    shown: number,
    block: (finding: Finding) => string,
  ) => {
    if (findings.length === 0) return;
    lines.push(`${title} (${findings.length}):`, '');
    for (const finding of findings.slice(0, shown)) lines.push(block(finding));
    const hidden = findings.length - shown;
    if (hidden > 0) {
      lines.push(
        `... and ${hidden} more ${title.toLowerCase()} not shown: this message is limited to SNS's 256 KB; the full report has them all.`,
        '',
      );
    }
  };
  section('New findings', drift.newFindings, shownNew, newBlock);
  section('Resolved findings', drift.resolved, shownResolved, resolvedBlock);
  const summary = SEVERITIES.map((severity) => `${cluster.summary[severity]} ${severity}`).join(', ');
  lines.push(`Findings in ${cluster.name} now: ${summary}.`, `Full report: ${reportUri}`);
  const consoleUrl = consoleLink(reportUri, cluster);
  if (consoleUrl !== undefined) lines.push(`In the S3 console: ${consoleUrl}`);
  return `${lines.join('\n')}\n`;
}

const heading = (finding: Finding) => {
  const { kind, namespace, name } = finding.resource;
  return `[${finding.severity.toUpperCase()}] ${finding.check} ${kind} ${namespace === undefined ? '' : `${namespace}/`}${name}`;
};

function newBlock(finding: Finding): string {
  return `${heading(finding)}\n${finding.message}\nFix: ${finding.remediation}\n`;
}

function resolvedBlock(finding: Finding): string {
  return `${heading(finding)}\nWas: ${finding.message}\n`;
}

/** The S3 console page of the object, for the commercial partition (the cluster ARN tells), else none. */
function consoleLink(reportUri: string, cluster: ClusterReport): string | undefined {
  const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(reportUri);
  const partition = cluster.arn?.split(':')[1];
  const { region } = cluster;
  if (match === null || partition !== 'aws' || region === undefined) return undefined;
  const [, bucket, key] = match;
  return `https://${region}.console.aws.amazon.com/s3/object/${bucket}?region=${region}&prefix=${encodeURIComponent(key ?? '')}`;
}

function byteLength(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/** Bytes the text takes inside a JSON string (quotes, backslashes and control characters escaped). */
function escapedLength(text: string): number {
  return byteLength(JSON.stringify(text)) - 2;
}
