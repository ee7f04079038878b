// The one SNS alert of an organization run (SPEC §7 at organization level): `MessageStructure: json` with a
// readable `email` grouped by account, region and cluster (each new finding with its remediation) and the JSON
// delta as `default`; the subject counts the changes; both bodies stay under SNS's 256 KB by leaving findings
// out from the end, saying how many, and pointing to the summary object that has them all.

import { type Finding, SEVERITIES, type SeveritySummary } from '../model/finding';
import { type Alert, deltaFinding, SNS_MESSAGE_LIMIT_BYTES, SUBJECT_LIMIT } from '../sinks/alerts';

/** The changes of one cluster, or of a target (account × region) itself when `cluster` is absent. */
export interface ChangeGroup {
  readonly account: string;
  readonly region: string;
  readonly cluster?: string;
  /** All new findings at or above the threshold, per severity (the list may be shorter). */
  readonly newBySeverity: SeveritySummary;
  readonly resolvedCount: number;
  readonly new: readonly Finding[];
  readonly resolved: readonly Finding[];
}

/** What the alert is about. */
export interface OrganizationAlertInput {
  readonly runId: string;
  readonly runAt: Date;
  /** `s3://bucket/reports/organization/history/<generatedAt>.json`: the full summary. */
  readonly summaryUri: string;
  /** The organization's findings now, every severity. */
  readonly findings: SeveritySummary;
  readonly groups: readonly ChangeGroup[];
  /** Lines that qualify the comparison (a baseline that could not be read, a map that failed), shown first. */
  readonly notes?: readonly string[];
}

// The subject travels in the same request; the budget leaves it room and some to spare.
const MESSAGE_BUDGET_BYTES = SNS_MESSAGE_LIMIT_BYTES - 1024;
const SUBJECT = '[IRSA] organization: ';

/** The JSON envelope {"default": <JSON delta>, "email": <text>} and a subject of at most 100 characters. */
export function buildOrganizationAlert(input: OrganizationAlertInput): Alert {
  const groups = [...input.groups].sort(compareGroups);
  const newEntries = groups.flatMap((group, index) => group.new.map((finding) => ({ index, finding })));
  const resolvedEntries = groups.flatMap((group, index) =>
    group.resolved.map((finding) => ({ index, finding })),
  );
  const render = (shownNew: number, shownResolved: number) =>
    JSON.stringify({
      default: JSON.stringify(deltaOf(input, groups, newEntries, resolvedEntries, shownNew, shownResolved)),
      email: emailText(input, groups, newEntries, resolvedEntries, shownNew, shownResolved),
    });
  // Greedy by estimate (each finding adds its escaped JSON to `default` and its escaped text to `email`), then
  // exact: the rendered envelope is measured and cut until it fits. A quarter is kept for resolved findings.
  let remaining = MESSAGE_BUDGET_BYTES - byteLength(render(0, 0));
  const fitting = (
    entries: readonly Entry[],
    from: number,
    block: (finding: Finding) => string,
    keep = 0,
  ): number => {
    let shown = from;
    for (const { finding } of entries.slice(from)) {
      const bytes = escapedLength(JSON.stringify(deltaFinding(finding))) + escapedLength(block(finding)) + 96;
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
    // A tenth at a time: the estimate is close, so this ends in a few rounds even for thousands of findings.
    if (shownResolved > 0) shownResolved -= Math.max(1, Math.floor(shownResolved / 10));
    else shownNew -= Math.max(1, Math.floor(shownNew / 10));
    message = render(shownNew, shownResolved);
  }
  return { subject: organizationSubject(groups), message };
}

/** `[IRSA] organization: 2 new critical, 1 new high, 1 resolved`, compacted to fit 100 characters. */
export function organizationSubject(groups: readonly ChangeGroup[]): string {
  const bySeverity = SEVERITIES.map(
    (severity) => [severity, groups.reduce((sum, group) => sum + group.newBySeverity[severity], 0)] as const,
  );
  const resolved = groups.reduce((sum, group) => sum + group.resolvedCount, 0);
  const parts = bySeverity
    .filter(([, count]) => count > 0)
    .map(([severity, count]) => `${count} new ${severity}`);
  if (resolved > 0) parts.push(`${resolved} resolved`);
  const full = `${SUBJECT}${parts.length === 0 ? 'no change' : parts.join(', ')}`;
  if (full.length <= SUBJECT_LIMIT) return full;
  const total = bySeverity.reduce((sum, [, count]) => sum + count, 0);
  const worst = bySeverity.find(([, count]) => count > 0);
  const compact = [
    worst === undefined ? undefined : `${total} new (${worst[1]} ${worst[0]})`,
    resolved > 0 ? `${resolved} resolved` : undefined,
  ].filter((part) => part !== undefined);
  return `${SUBJECT}${compact.join(', ')}`.slice(0, SUBJECT_LIMIT);
}

interface Entry {
  readonly index: number;
  readonly finding: Finding;
}

function compareGroups(a: ChangeGroup, b: ChangeGroup): number {
  return (
    compareText(a.account, b.account) ||
    compareText(a.region, b.region) ||
    compareText(a.cluster ?? '', b.cluster ?? '')
  );
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function newCountOf(group: ChangeGroup): number {
  return SEVERITIES.reduce((sum, severity) => sum + group.newBySeverity[severity], 0);
}

function deltaOf(
  input: OrganizationAlertInput,
  groups: readonly ChangeGroup[],
  newEntries: readonly Entry[],
  resolvedEntries: readonly Entry[],
  shownNew: number,
  shownResolved: number,
): object {
  const newCount = groups.reduce((sum, group) => sum + newCountOf(group), 0);
  const resolvedCount = groups.reduce((sum, group) => sum + group.resolvedCount, 0);
  const change = ({ index, finding }: Entry) => {
    const group = groups[index] as ChangeGroup;
    return {
      account: group.account,
      region: group.region,
      ...(group.cluster === undefined ? {} : { cluster: group.cluster }),
      finding: deltaFinding(finding),
    };
  };
  return {
    schemaVersion: '1',
    type: 'irsa-auditor.organization-drift',
    runId: input.runId,
    runAt: input.runAt.toISOString(),
    summary: input.summaryUri,
    ...(input.notes === undefined || input.notes.length === 0 ? {} : { notes: input.notes }),
    findings: input.findings,
    newCount,
    resolvedCount,
    notShown: { new: newCount - shownNew, resolved: resolvedCount - shownResolved },
    new: newEntries.slice(0, shownNew).map(change),
    resolved: resolvedEntries.slice(0, shownResolved).map(change),
  };
}

function emailText(
  input: OrganizationAlertInput,
  groups: readonly ChangeGroup[],
  newEntries: readonly Entry[],
  resolvedEntries: readonly Entry[],
  shownNew: number,
  shownResolved: number,
): string {
  const subject = organizationSubject(groups).slice(SUBJECT.length);
  const lines = [
    `IRSA audit of the organization, run ${input.runId} at ${input.runAt.toISOString()}: ${subject}.`,
    ...(input.notes ?? []),
    '',
  ];
  const shownNewOf = groupedShown(newEntries, shownNew);
  const shownResolvedOf = groupedShown(resolvedEntries, shownResolved);
  let account: string | undefined;
  groups.forEach((group, index) => {
    if (group.account !== account) {
      account = group.account;
      lines.push(`Account ${account}`, '');
    }
    const where =
      group.cluster === undefined
        ? `${group.region} (the region itself)`
        : `${group.region} / ${group.cluster}`;
    lines.push(`  ${where}: ${newCountOf(group)} new, ${group.resolvedCount} resolved`, '');
    for (const finding of shownNewOf.get(index) ?? []) lines.push(indent(newBlock(finding)));
    for (const finding of shownResolvedOf.get(index) ?? []) lines.push(indent(resolvedBlock(finding)));
  });
  const newCount = groups.reduce((sum, group) => sum + newCountOf(group), 0);
  const resolvedCount = groups.reduce((sum, group) => sum + group.resolvedCount, 0);
  const hidden = newCount - shownNew + (resolvedCount - shownResolved);
  if (hidden > 0)
    lines.push(
      `... and ${hidden} more changed findings not shown: this message is limited to SNS's 256 KB; the summary and each cluster's report have them all.`,
      '',
    );
  const now = SEVERITIES.map((severity) => `${input.findings[severity]} ${severity}`).join(', ');
  lines.push(`Findings in the organization now: ${now}.`, `Full summary: ${input.summaryUri}`);
  return `${lines.join('\n')}\n`;
}

function groupedShown(entries: readonly Entry[], shown: number): Map<number, Finding[]> {
  const byGroup = new Map<number, Finding[]>();
  for (const { index, finding } of entries.slice(0, shown)) {
    const list = byGroup.get(index);
    if (list === undefined) byGroup.set(index, [finding]);
    else list.push(finding);
  }
  return byGroup;
}

const heading = (finding: Finding) => {
  const { kind, namespace, name } = finding.resource;
  return `[${finding.severity.toUpperCase()}] ${finding.check} ${kind} ${namespace === undefined ? '' : `${namespace}/`}${name}`;
};

function newBlock(finding: Finding): string {
  return `${heading(finding)}\n${finding.message}\nFix: ${finding.remediation}\n`;
}

function resolvedBlock(finding: Finding): string {
  return `Resolved: ${heading(finding)}\nWas: ${finding.message}\n`;
}

function indent(block: string): string {
  return block
    .split('\n')
    .map((line) => (line === '' ? line : `    ${line}`))
    .join('\n');
}

function byteLength(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/** Bytes the text takes inside a JSON string (quotes, backslashes and control characters escaped). */
function escapedLength(text: string): number {
  return byteLength(JSON.stringify(text)) - 2;
}
