// What changed in an organization run, as its one summary alert shows it: the change groups (per-cluster drift
// from the records, then the target-level drift grouped by account/region[/cluster]) and the notes that qualify
// the comparison. Pure: the batch publisher decides whether and when to send them.

import { type driftOf, hasDrift } from '../../core/drift/drift';
import { summarize } from '../../core/engine/audit-cluster';
import {
  type Finding,
  SEVERITIES,
  type Severity,
  type SeveritySummary,
  severityRank,
} from '../../core/model/finding';
import type { ChangeGroup } from '../organization-alert';
import type { ClusterResultRecord, TargetItem } from '../run-objects';
import { placeOf } from './run-records';

/** Lines that qualify the comparison, shown first in the alert (as single mode's notes). */
export function comparisonNotes(
  records: readonly ClusterResultRecord[],
  unread: readonly { readonly item: TargetItem }[],
  mapFailed: boolean,
  threshold: Severity,
): string[] {
  const notes: string[] = [];
  if (mapFailed)
    notes.push(
      'The map of this run exceeded its tolerated failures: the clusters without a result are listed as IRSA-X01.',
    );
  const firstAudits = records.filter((record) => record.firstAudit);
  if (firstAudits.length > 0)
    notes.push(
      `First audit of ${firstAudits.length} cluster(s) (${namesOf(firstAudits)}): every current finding at or above ${threshold} of ${firstAudits.length === 1 ? 'it' : 'them'} is listed, not only the changes.`,
    );
  const unreadable = records.filter((record) => record.baselineUnreadable);
  if (unreadable.length === 1)
    notes.push(
      `The baseline of ${namesOf(unreadable)} could not be read, so every current finding at or above ${threshold} of it is listed, not only the changes.`,
    );
  else if (unreadable.length > 1)
    notes.push(
      `The baselines of ${unreadable.length} clusters could not be read (${namesOf(unreadable)}), so every current finding at or above ${threshold} of them is listed, not only the changes.`,
    );
  if (unread.length > 0)
    notes.push(
      `The results of ${unread.length} cluster(s) could not be read (${namesOf(unread.map(({ item }) => item))}): their changes are not in this alert and their baselines are kept.`,
    );
  return notes;
}

// A note names a few places; the summary names them all.
const NAMES_IN_A_NOTE = 5;

function namesOf(items: readonly TargetItem[]): string {
  const names = items.slice(0, NAMES_IN_A_NOTE).map(placeOf);
  const more = items.length - names.length;
  return more > 0 ? `${names.join(', ')} and ${more} more` : names.join(', ');
}

/** Per-cluster changes at or above the threshold from the records, then the target-level changes. */
export function changeGroups(
  records: readonly ClusterResultRecord[],
  targetDrift: ReturnType<typeof driftOf>,
  threshold: Severity,
): ChangeGroup[] {
  const alerting = (finding: Finding) => severityRank(finding.severity) <= severityRank(threshold);
  const groups: ChangeGroup[] = [];
  for (const record of records) {
    // The records count at the audit-target's threshold; the aggregate's may only be stricter.
    const newBySeverity = Object.fromEntries(
      SEVERITIES.map((severity) => [
        severity,
        severityRank(severity) <= severityRank(threshold) ? record.drift.newBySeverity[severity] : 0,
      ]),
    ) as SeveritySummary;
    const resolved = record.drift.resolved.filter(alerting);
    const resolvedCount = resolved.length + (record.drift.resolvedCount - record.drift.resolved.length);
    const group: ChangeGroup = {
      account: record.account,
      region: record.region,
      cluster: record.cluster,
      newBySeverity,
      resolvedCount,
      new: record.drift.new.filter(alerting),
      resolved,
    };
    if (SEVERITIES.some((severity) => newBySeverity[severity] > 0) || resolvedCount > 0) groups.push(group);
  }
  if (hasDrift(targetDrift)) {
    // Target-level findings name account/region[/cluster] in their evidence; group them where they belong.
    const byPlace = new Map<
      string,
      { account: string; region: string; cluster?: string; new: Finding[]; resolved: Finding[] }
    >();
    const place = (finding: Finding) => {
      const { account, region, cluster } = finding.evidence;
      const key = JSON.stringify([account, region, cluster]);
      let entry = byPlace.get(key);
      if (entry === undefined) {
        entry = {
          account: typeof account === 'string' ? account : 'unknown',
          region: typeof region === 'string' ? region : 'unknown',
          ...(typeof cluster === 'string' ? { cluster } : {}),
          new: [],
          resolved: [],
        };
        byPlace.set(key, entry);
      }
      return entry;
    };
    for (const finding of targetDrift.newFindings) place(finding).new.push(finding);
    for (const finding of targetDrift.resolved) place(finding).resolved.push(finding);
    for (const entry of byPlace.values())
      groups.push({ ...entry, newBySeverity: summarize(entry.new), resolvedCount: entry.resolved.length });
  }
  return groups;
}
