// The one SNS alert of an organization run (SPEC §7 at organization level): `MessageStructure: json` with a
// readable `email` grouped by account, region and cluster (each new finding with its remediation) and the JSON
// delta as `default`; the subject counts the changes; both bodies stay under SNS's 256 KB by leaving findings, then
// places, out from the end, saying how many, and pointing to the summary object that has them all; when even that
// does not fit, the message holds the counts only.

import { type Finding, SEVERITIES, type SeveritySummary } from '../core/model/finding';
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
// Each changed place (a cluster, or an account × region) is a line or two of the email, ~100 bytes: 1,000 of them
// leave more than half of the 256 KB to findings, and the summary object lists every place anyway.
export const MAX_PLACES_SHOWN = 1000;
// Notes are one per kind of problem, but each can name clusters: a few lines, each cut to a readable length.
const MAX_NOTES_SHOWN = 10;
const NOTE_LIMIT_CHARS = 1000;

/**
 * The JSON envelope {"default": <JSON delta>, "email": <text>} and a subject of at most 100 characters.
 * `budgetBytes` is SNS's limit less the subject's room; a test passes less to reach the counts-only form.
 */
export function buildOrganizationAlert(
  input: OrganizationAlertInput,
  budgetBytes = MESSAGE_BUDGET_BYTES,
): Alert {
  const allGroups = [...input.groups].sort(compareGroups);
  const subject = organizationSubject(allGroups);
  const notes = boundedNotes(input.notes ?? []);
  const totals = totalsOf(allGroups);
  const shownPlaces = (places: number) => {
    // Findings are listed under their place: those of places not shown are not shown either.
    const groups = allGroups.slice(0, places);
    const newEntries = groups.flatMap((group, index) => group.new.map((finding) => ({ index, finding })));
    const resolvedEntries = groups.flatMap((group, index) =>
      group.resolved.map((finding) => ({ index, finding })),
    );
    return { groups, newEntries, resolvedEntries };
  };
  const places = shownPlaces(Math.min(allGroups.length, MAX_PLACES_SHOWN));
  const render = (shownNew: number, shownResolved: number) => {
    const view = { ...places, allGroups, totals, notes, shownNew, shownResolved };
    return JSON.stringify({ default: JSON.stringify(deltaOf(input, view)), email: emailText(input, view) });
  };
  // Places first: the findings' budget is what the place lines leave; if they alone do not fit, the counts do.
  if (byteLength(render(0, 0)) > budgetBytes)
    return { subject, message: countsOnlyMessage(input, allGroups, totals, notes) };
  const { newEntries, resolvedEntries } = places;
  // Greedy by estimate (each finding adds its escaped JSON to `default` and its escaped text to `email`), then
  // exact: the rendered envelope is measured and cut until it fits. A quarter is kept for resolved findings.
  let remaining = budgetBytes - byteLength(render(0, 0));
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
  while (byteLength(message) > budgetBytes && shownNew + shownResolved > 0) {
    // A tenth at a time: the estimate is close, so this ends in a few rounds even for thousands of findings.
    if (shownResolved > 0) shownResolved -= Math.max(1, Math.floor(shownResolved / 10));
    else shownNew -= Math.max(1, Math.floor(shownNew / 10));
    message = render(shownNew, shownResolved);
  }
  return { subject, message };
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

/** What one rendering shows: the first places and, of their findings, the first new and resolved ones. */
interface View {
  readonly groups: readonly ChangeGroup[];
  readonly allGroups: readonly ChangeGroup[];
  readonly totals: Totals;
  readonly notes: readonly string[];
  readonly newEntries: readonly Entry[];
  readonly resolvedEntries: readonly Entry[];
  readonly shownNew: number;
  readonly shownResolved: number;
}

interface Totals {
  readonly newCount: number;
  readonly resolvedCount: number;
}

function totalsOf(groups: readonly ChangeGroup[]): Totals {
  return {
    newCount: groups.reduce((sum, group) => sum + newCountOf(group), 0),
    resolvedCount: groups.reduce((sum, group) => sum + group.resolvedCount, 0),
  };
}

/** At most MAX_NOTES_SHOWN notes of at most NOTE_LIMIT_CHARS each, and how many more there were. */
function boundedNotes(notes: readonly string[]): string[] {
  const bounded = notes
    .slice(0, MAX_NOTES_SHOWN)
    .map((note) => (note.length > NOTE_LIMIT_CHARS ? `${note.slice(0, NOTE_LIMIT_CHARS - 1)}…` : note));
  if (notes.length > MAX_NOTES_SHOWN)
    bounded.push(`… and ${notes.length - MAX_NOTES_SHOWN} more notes: the summary has every error.`);
  return bounded;
}

/** The last resort when not even the place lines fit: the counts, the notes and where the summary is. */
function countsOnlyMessage(
  input: OrganizationAlertInput,
  groups: readonly ChangeGroup[],
  totals: Totals,
  notes: readonly string[],
): string {
  const subject = organizationSubject(groups).slice(SUBJECT.length);
  const delta = {
    schemaVersion: '1',
    type: 'irsa-auditor.organization-drift',
    runId: input.runId,
    runAt: input.runAt.toISOString(),
    summary: input.summaryUri,
    ...(notes.length === 0 ? {} : { notes }),
    findings: input.findings,
    newCount: totals.newCount,
    resolvedCount: totals.resolvedCount,
    places: groups.length,
    notShown: { new: totals.newCount, resolved: totals.resolvedCount, places: groups.length },
    new: [],
    resolved: [],
  };
  const now = SEVERITIES.map((severity) => `${input.findings[severity]} ${severity}`).join(', ');
  const email = [
    `IRSA audit of the organization, run ${input.runId} at ${input.runAt.toISOString()}: ${subject}.`,
    ...notes,
    '',
    `${totals.newCount} new and ${totals.resolvedCount} resolved findings in ${groups.length} places: the list does not fit SNS's 256 KB, see ${input.summaryUri}`,
    '',
    `Findings in the organization now: ${now}.`,
    `Full summary: ${input.summaryUri}`,
  ];
  return JSON.stringify({ default: JSON.stringify(delta), email: `${email.join('\n')}\n` });
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

function deltaOf(input: OrganizationAlertInput, view: View): object {
  const { groups, allGroups, newEntries, resolvedEntries, shownNew, shownResolved, notes } = view;
  const { newCount, resolvedCount } = view.totals;
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
    ...(notes.length === 0 ? {} : { notes }),
    findings: input.findings,
    newCount,
    resolvedCount,
    places: allGroups.length,
    notShown: {
      new: newCount - shownNew,
      resolved: resolvedCount - shownResolved,
      places: allGroups.length - groups.length,
    },
    new: newEntries.slice(0, shownNew).map(change),
    resolved: resolvedEntries.slice(0, shownResolved).map(change),
  };
}

function emailText(input: OrganizationAlertInput, view: View): string {
  const { groups, allGroups, newEntries, resolvedEntries, shownNew, shownResolved } = view;
  const subject = organizationSubject(allGroups).slice(SUBJECT.length);
  const lines = [
    `IRSA audit of the organization, run ${input.runId} at ${input.runAt.toISOString()}: ${subject}.`,
    ...view.notes,
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
  const hiddenPlaces = allGroups.length - groups.length;
  if (hiddenPlaces > 0) lines.push(`… and ${hiddenPlaces} more places, see ${input.summaryUri}`, '');
  const { newCount, resolvedCount } = view.totals;
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
