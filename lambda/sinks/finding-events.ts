// One EventBridge event per new and per resolved finding (source irsa-auditor, detail-type "IRSA Finding New" or
// "IRSA Finding Resolved", the §6 finding as detail), so teams route them with rules to chat, tickets or a SIEM.
// PutEvents takes at most 10 entries and 256 KB per call; an entry EventBridge refuses fails the publication, so
// the caller keeps its baseline and the next run sends the delta again (nothing is lost).

import {
  type EventBridgeClient,
  PutEventsCommand,
  type PutEventsRequestEntry,
} from '@aws-sdk/client-eventbridge';
import type { Drift } from '../core/drift/drift';
import { errorText } from '../core/error-text';
import type { Finding } from '../core/model/finding';

export const EVENT_SOURCE = 'irsa-auditor';
export const DETAIL_TYPE = { new: 'IRSA Finding New', resolved: 'IRSA Finding Resolved' } as const;

/** PutEvents: at most 10 entries per call, and 256 KB per call (all entries together). */
const MAX_ENTRIES = 10;
const MAX_REQUEST_BYTES = 256 * 1024;
// The detail of one entry stays well under the request limit; evidence is the part that can be large.
const MAX_DETAIL_BYTES = 200 * 1024;

/** Where the findings come from: the event's context and its `resources`. */
export interface FindingEventSource {
  readonly account: string;
  readonly region: string;
  readonly cluster: string;
  readonly clusterArn?: string;
  /** Where the run's report is (s3://...). */
  readonly reportUri?: string;
  readonly runAt: Date;
}

/** Some events were not accepted; names how many and EventBridge's first error, never the events themselves. */
export class FindingEventsError extends Error {
  override readonly name = 'FindingEventsError';
  constructor(
    readonly busName: string,
    readonly failed: number,
    readonly total: number,
    detail: string,
  ) {
    super(`${failed} of ${total} finding events were not put on event bus ${busName}: ${detail}`);
  }
}

const bytes = (text: string) => Buffer.byteLength(text, 'utf8');

function detailOf(source: FindingEventSource, finding: Finding, status: keyof typeof DETAIL_TYPE): string {
  const detail = {
    status,
    account: source.account,
    region: source.region,
    cluster: source.cluster,
    ...(source.clusterArn === undefined ? {} : { clusterArn: source.clusterArn }),
    ...(source.reportUri === undefined ? {} : { report: source.reportUri }),
    finding,
  };
  const text = JSON.stringify(detail);
  if (bytes(text) <= MAX_DETAIL_BYTES) return text;
  // The report in S3 keeps the whole evidence; the event says it was left out.
  return JSON.stringify({ ...detail, finding: { ...finding, evidence: { truncated: true } } });
}

/** The entries of a drift: the new findings, then the resolved ones. */
export function findingEventEntries(
  source: FindingEventSource,
  drift: Drift,
  busName: string,
): PutEventsRequestEntry[] {
  const entry = (finding: Finding, status: keyof typeof DETAIL_TYPE): PutEventsRequestEntry => ({
    EventBusName: busName,
    Source: EVENT_SOURCE,
    DetailType: DETAIL_TYPE[status],
    Detail: detailOf(source, finding, status),
    Time: source.runAt,
    ...(source.clusterArn === undefined ? {} : { Resources: [source.clusterArn] }),
  });
  return [
    ...drift.newFindings.map((finding) => entry(finding, 'new')),
    ...drift.resolved.map((finding) => entry(finding, 'resolved')),
  ];
}

/** EventBridge's size of an entry: its Source, DetailType, Detail, resources and a time (PutEvents quotas). */
function entrySize(entry: PutEventsRequestEntry): number {
  return (
    14 +
    bytes(entry.Source ?? '') +
    bytes(entry.DetailType ?? '') +
    bytes(entry.Detail ?? '') +
    (entry.Resources ?? []).reduce((sum, resource) => sum + bytes(resource), 0)
  );
}

/** Batches of at most 10 entries and 256 KB. */
export function batchesOf(entries: readonly PutEventsRequestEntry[]): PutEventsRequestEntry[][] {
  const batches: PutEventsRequestEntry[][] = [];
  let current: PutEventsRequestEntry[] = [];
  let size = 0;
  for (const entry of entries) {
    const next = entrySize(entry);
    if (current.length === MAX_ENTRIES || (current.length > 0 && size + next > MAX_REQUEST_BYTES)) {
      batches.push(current);
      current = [];
      size = 0;
    }
    current.push(entry);
    size += next;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

/** Puts every entry; throws FindingEventsError when any batch failed or any entry was refused. */
export async function putFindingEvents(
  client: EventBridgeClient,
  busName: string,
  entries: readonly PutEventsRequestEntry[],
): Promise<number> {
  let failed = 0;
  let firstError: string | undefined;
  for (const batch of batchesOf(entries)) {
    try {
      const output = await client.send(new PutEventsCommand({ Entries: batch }));
      failed += output.FailedEntryCount ?? 0;
      const refused = output.Entries?.find((entry) => entry.ErrorCode !== undefined);
      firstError ??=
        refused === undefined ? undefined : `${refused.ErrorCode}: ${refused.ErrorMessage ?? ''}`;
    } catch (error) {
      failed += batch.length;
      firstError ??= errorText(error, { named: true });
    }
  }
  if (failed > 0)
    throw new FindingEventsError(busName, failed, entries.length, firstError ?? 'unknown error');
  return entries.length;
}
