// Reading an organization run: the discovery and items the discover step wrote, then every cluster's result
// record, told apart into records, clusters without a usable record (IRSA-X01s, missing-targets.ts) and records
// that could not be read (errors of the step). Everything the aggregate step reads of the run, in one place.

import { errorText } from '../../core/error-text';
import { type ReportStore, ReportStoreError } from '../../sinks/report-store';
import { createConcurrencyLimit } from '../../sources/aws/concurrency-limit';
import {
  type ClusterResultRecord,
  type DiscoveryDocument,
  discoveryKey,
  itemsKey,
  parseDiscovery,
  parseItems,
  parseResultRecord,
  resultKey,
  type TargetItem,
} from '../run-objects';

/** The run cannot be aggregated at all: its discovery or items are missing or malformed. */
export class AggregateInputError extends Error {
  override readonly name = 'AggregateInputError';
}

// Result records are small; S3 serves far more GETs per prefix than this, Lambda's sockets are the limit.
export const READ_CONCURRENCY = 16;

/** A cluster without a usable record (an IRSA-X01): no object, or one that is not a record of this run. */
export interface MissingRecord {
  readonly item: TargetItem;
  readonly missing: 'no-result' | 'result-unreadable';
}

/** A cluster whose record could not be read: the reason, an error of the step rather than a finding. */
export interface UnreadRecord {
  readonly item: TargetItem;
  readonly unread: string;
}

/** What the steps before the aggregate wrote for the run. */
export interface RunRecords {
  readonly discovery: DiscoveryDocument;
  readonly records: readonly ClusterResultRecord[];
  readonly missing: readonly MissingRecord[];
  readonly unread: readonly UnreadRecord[];
}

/** The run's discovery and, for each of its items, the cluster's record or why there is none usable. */
export async function readRunRecords(store: ReportStore, runId: string): Promise<RunRecords> {
  const discovery = await readDiscovery(store, runId);
  const items = await readItems(store, runId);
  const limit = createConcurrencyLimit(READ_CONCURRENCY);
  const outcomes = await Promise.all(items.map((item) => limit.run(() => readRecord(store, runId, item))));
  const records = outcomes.flatMap((outcome) => ('record' in outcome ? [outcome.record] : []));
  const missing = outcomes.flatMap((outcome) => ('missing' in outcome ? [outcome] : []));
  const unread = outcomes.flatMap((outcome) => ('unread' in outcome ? [outcome] : []));
  return { discovery, records, missing, unread };
}

/** The errors the records bring: each record that could not be read, and what went wrong inside an audit step. */
export function recordErrors({ records, unread }: RunRecords): string[] {
  const errors: string[] = [];
  for (const { item, unread: problem } of unread)
    errors.push(
      `${placeOf(item)}: the result record could not be read, so this cluster is left out of the run and keeps its baseline: ${problem}`,
    );
  // What went wrong in an audit step without stopping it (an unreadable baseline): as single mode, an error.
  for (const record of records)
    for (const problem of record.errors) errors.push(`${record.account}/${record.region}: ${problem}`);
  return errors;
}

/** account/region/cluster, as the errors and notes name a cluster. */
export function placeOf(item: TargetItem): string {
  return `${item.account}/${item.region}/${item.cluster}`;
}

/** A record; or no usable record (`missing`: the cluster is an IRSA-X01); or a record that could not be read. */
type RecordOutcome = { readonly record: ClusterResultRecord } | MissingRecord | UnreadRecord;

function readDiscovery(store: ReportStore, runId: string): Promise<DiscoveryDocument> {
  return readRunDocument(store, runId, discoveryKey(runId), parseDiscovery);
}

function readItems(store: ReportStore, runId: string): Promise<TargetItem[]> {
  return readRunDocument(store, runId, itemsKey(runId), parseItems);
}

/** A document the discover step wrote for the run; without it there is nothing to aggregate. */
async function readRunDocument<T>(
  store: ReportStore,
  runId: string,
  key: string,
  parse: (value: unknown, uri: string) => T,
): Promise<T> {
  const uri = store.objectUri(key);
  const object = await store.getJson(key).catch((error: unknown) => {
    throw new AggregateInputError(`run ${runId}: ${errorText(error, { named: true })}`, { cause: error });
  });
  if (object === undefined)
    throw new AggregateInputError(
      `run ${runId} has no ${uri}: the discover step did not finish, so there is nothing to aggregate`,
    );
  try {
    return parse(object.value, uri);
  } catch (error) {
    throw new AggregateInputError(`run ${runId}: ${errorText(error, { named: true })}`, { cause: error });
  }
}

/**
 * A cluster's record, or why there is none usable: no object (its audit step failed: an IRSA-X01), an object that
 * is not a record of this run (also an IRSA-X01), or a read that failed (S3 throttled, denied, down): that says
 * nothing about the cluster, so it is reported as an error of the step, not as a finding.
 */
async function readRecord(store: ReportStore, runId: string, item: TargetItem): Promise<RecordOutcome> {
  const key = resultKey(runId, item);
  let object: Awaited<ReturnType<ReportStore['getJson']>>;
  try {
    object = await store.getJson(key);
  } catch (error) {
    if (error instanceof ReportStoreError && error.operation === 'parse')
      return { item, missing: 'result-unreadable' };
    if (httpStatusOf(error) === 404) return { item, missing: 'no-result' };
    return { item, unread: errorText(error, { named: true }) };
  }
  if (object === undefined) return { item, missing: 'no-result' };
  try {
    const record = parseResultRecord(object.value, store.objectUri(key));
    if (record.runId !== runId) return { item, missing: 'result-unreadable' };
    return { record };
  } catch {
    return { item, missing: 'result-unreadable' };
  }
}

/** The HTTP status of the SDK error behind a ReportStoreError, if any. */
function httpStatusOf(error: unknown): number | undefined {
  const cause = error instanceof ReportStoreError ? error.cause : error;
  return (cause as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
}
