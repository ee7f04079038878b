// The run's idempotency markers (runs/<runId>/alerted.json, runs/<runId>/metrics.json): written right after
// something was published, read by a retried or redriven aggregate of the same run so it does not publish twice.

import { namedFirstLineOf } from '../../core/error-text';
import type { ReportStore } from '../../sinks/report-store';

/** Whether a marker object exists; a marker that cannot be read counts as absent, and the problem as an error. */
export async function markerWritten(store: ReportStore, key: string, errors: string[]): Promise<boolean> {
  try {
    return (await store.getJson(key)) !== undefined;
  } catch (error) {
    // Alerting twice is better than missing a change.
    errors.push(
      `${store.objectUri(key)} could not be read, so the alert is published even if an earlier attempt did: ${namedFirstLineOf(error)}`,
    );
    return false;
  }
}

/** Writes a marker; on failure, `consequence` and the problem go to `errors` (what was published stays published). */
export async function writeMarker(
  store: ReportStore,
  key: string,
  value: object,
  consequence: string,
  errors: string[],
): Promise<void> {
  try {
    await store.putJson(key, value, (value as { runId?: string }).runId);
  } catch (error) {
    errors.push(`${consequence}: ${namedFirstLineOf(error)}`);
  }
}
