// The batch publisher of an organization run: once every cluster's record is in, it publishes the run in one
// batch, in the order that keeps a failure safe. It compares the target-level findings with the organization
// baseline, sends ONE summary alert for the drift of the whole run, and only then advances every baseline (§7's
// rule at organization level: no alert, no advance, so the next run alerts again); then it publishes the
// organization metrics whatever happened. The alerted.json and metrics.json markers (run-markers.ts) make a
// retried or redriven aggregate of the same run send neither twice.

import { driftOf } from '../../core/drift/drift';
import { errorText } from '../../core/error-text';
import { type ClusterReport, SEVERITIES, type SeveritySummary } from '../../core/model/finding';
import { publishAlert } from '../../sinks/alerts';
import { markerWritten, publishMetricsOnce, writeMarker } from '../../sinks/metrics-once';
import { buildOrganizationAlert } from '../organization-alert';
import { alertedMarkerKey, type ClusterResultRecord, type DiscoveryDocument } from '../run-objects';
import type { AggregateDependencies } from './aggregate-dependencies';
import {
  advanceClusterBaselines,
  advanceOrganizationBaseline,
  type OrganizationBaseline,
  readOrganizationBaseline,
  scopedBaseline,
  withCarried,
} from './baselines';
import { organizationMetricData } from './organization-metrics';
import { changeGroups, comparisonNotes } from './run-changes';
import type { UnreadRecord } from './run-records';

/** The run as the aggregate read and completed it: what publishRun publishes. */
export interface RunToPublish {
  readonly run: { readonly runId: string; readonly generatedAt: string; readonly at: Date };
  readonly mapFailed: boolean;
  readonly discovery: DiscoveryDocument;
  readonly records: readonly ClusterResultRecord[];
  readonly unread: readonly UnreadRecord[];
  /** The target-level findings (missing-targets.ts), as the organization's report. */
  readonly organization: ClusterReport;
  /** Every finding of the run by severity, as the alert counts them. */
  readonly findings: SeveritySummary;
  /** Where the run's summary is saved: the alert links to it. */
  readonly summaryKey: string;
}

/** What publishRun published, for the run's summary and the step's output. */
export interface PublishedRun {
  readonly alerted: boolean;
  /** An earlier attempt of this run published the alert, so this one did not. */
  readonly alertedBefore: boolean;
  readonly newFindings: number;
  readonly resolvedFindings: number;
  /** Findings of the previous organization baseline outside this run's accounts × regions. */
  readonly noLongerAudited: number;
  /** Clusters whose latest.json a newer run had written already, so this run did not copy over it. */
  readonly newerBaselinesKept: number;
  readonly metricsPublished: boolean;
  /** The run's AuditDurationMs, measured when its metrics were built. */
  readonly durationMs: number;
}

/** Alert, baselines, metrics of the run, in that order (see the file comment); every problem goes to `errors`. */
export async function publishRun(
  deps: AggregateDependencies,
  input: RunToPublish,
  errors: string[],
): Promise<PublishedRun> {
  const { run, mapFailed, discovery, records, unread, organization, findings, summaryKey } = input;
  const { config, store } = deps;
  const threshold = config.alertSeverity;
  const now = deps.now ?? (() => new Date());

  const notes = comparisonNotes(records, unread, mapFailed, threshold);
  let previous: OrganizationBaseline = {};
  try {
    previous = await readOrganizationBaseline(store);
  } catch (error) {
    errors.push(
      `the organization baseline could not be read, so every target-level finding counts as new: ${errorText(error, { named: true })}`,
    );
    notes.push('The previous organization baseline could not be read: every failed target is listed as new.');
  }
  const baseline = scopedBaseline(previous.report, discovery, unread);
  // reports/organization/latest.json is written last and carries the run: this run already alerted.
  const alreadyPublished = previous.runId === run.runId;
  const targetDrift = driftOf(baseline.compared, organization, threshold);
  const groups = changeGroups(records, targetDrift, threshold);
  const newFindings = groups.reduce(
    (sum, group) => sum + SEVERITIES.reduce((total, severity) => total + group.newBySeverity[severity], 0),
    0,
  );
  const resolvedFindings = groups.reduce((sum, group) => sum + group.resolvedCount, 0);

  let alerted = false;
  // An earlier attempt of this run published the alert but stopped before latest.json: do not alert twice.
  const alertedBefore =
    alreadyPublished ||
    (groups.length > 0 && (await markerWritten(store, alertedMarkerKey(run.runId), errors)));
  let advance = alertedBefore || groups.length === 0;
  if (!alertedBefore && groups.length > 0) {
    const alert = buildOrganizationAlert({
      runId: run.runId,
      runAt: run.at,
      summaryUri: store.objectUri(summaryKey),
      findings,
      groups,
      notes,
    });
    try {
      await publishAlert(deps.sns, config.topicArn, alert);
      alerted = true;
      advance = true;
    } catch (error) {
      errors.push(
        `the summary alert was not published, so no baseline advances and the next run alerts again: ${errorText(error, { named: true })}`,
      );
    }
    if (alerted)
      await writeMarker(
        store,
        alertedMarkerKey(run.runId),
        { runId: run.runId, subject: alert.subject, publishedAt: now().toISOString() },
        'the alert marker was not written, so a retry of this run alerts again',
        errors,
      );
  }

  let newerBaselinesKept = 0;
  if (advance) {
    newerBaselinesKept = await advanceClusterBaselines(store, records, run, errors);
    if (!alreadyPublished)
      await advanceOrganizationBaseline(
        store,
        run,
        withCarried(organization, baseline.carried),
        previous,
        errors,
      );
  }

  const durationMs = Math.max(0, now().getTime() - run.at.getTime());
  const { published: metricsPublished } = await publishMetricsOnce(
    deps,
    run,
    errors,
    durationMs,
    (sentDurationMs) =>
      organizationMetricData(discovery, records, organization.findings, sentDurationMs, run.at),
  );
  return {
    alerted,
    alertedBefore,
    newFindings,
    resolvedFindings,
    noLongerAudited: baseline.dropped,
    newerBaselinesKept,
    metricsPublished,
    durationMs,
  };
}
