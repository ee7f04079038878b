// The §7 order of one cluster's outputs in one place: history, baseline, drift, alert, and only then the new
// baseline, so that a failed publish alerts again next run and a retried invocation does not alert twice.

import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { SecurityHubClient } from '@aws-sdk/client-securityhub';
import type { SNSClient } from '@aws-sdk/client-sns';
import { baselineAfter, type Drift, driftOf, hasDrift } from '../core/drift/drift';
import { errorText } from '../core/error-text';
import type { Severity } from '../core/model/finding';
import { type Alert, buildAlert, publishAlert } from './alerts';
import { type FindingEventSource, findingEventEntries, putFindingEvents } from './finding-events';
import { asAuditReport, type ClusterPublication, type ClusterPublisher, readBaseline } from './publisher';
import type { ReportStore } from './report-store';
import { importFindings, securityHubFindings } from './security-hub';

/** The sinks one cluster publishes to, and the severity from which a change is alerted. */
export interface PublishClusterDeps {
  readonly store: ReportStore;
  readonly sns: SNSClient;
  readonly topicArn: string;
  readonly threshold: Severity;
  /** EventBridge: one event per new and per resolved finding on this bus (context `eventBus`). */
  readonly events?: { readonly client: EventBridgeClient; readonly busName: string };
  /** Security Hub: new findings imported, resolved ones archived (context `securityHub=true`). */
  readonly securityHub?: { readonly client: SecurityHubClient; readonly partition: string };
}

/** One cluster's report of this run, as every publisher takes it. */
export type PublishClusterInput = ClusterPublication;

/** What happened: `errors` are one line each, for the handler to log; they never stop the other steps. */
export interface PublishClusterOutcome {
  readonly alerted: boolean;
  readonly drift: Drift;
  readonly errors: string[];
  /** The baseline key when it now reflects this run (written now, or by an earlier attempt of the same run). */
  readonly latestKey?: string;
  /** The history object of this run, when it was written. */
  readonly historyKey?: string;
  /** The alert that was built (sent when `alerted`). */
  readonly alert?: Alert;
  /** Events put on the event bus, and findings imported into Security Hub, by this publication. */
  readonly events?: number;
  readonly securityHubFindings?: number;
}

/** The per-cluster publisher of single mode: each cluster's alert and baseline right after its audit. */
export function perClusterPublisher(deps: PublishClusterDeps): ClusterPublisher<PublishClusterOutcome> {
  return { publish: (publication) => publishClusterReport(deps, publication) };
}

/**
 * For one cluster: write history; read latest (the baseline); if latest was written by this same run (a Lambda
 * retry) stop without alerting again; compute drift; if there is drift publish the alert; only then write latest
 * (tagged with the run ID). A failed publish leaves latest untouched, so the next run alerts again. A failed
 * history write only costs the history object (the alert links to latest instead). A baseline that cannot be
 * read (S3 error, or not a §6 report) is treated as absent: the alert lists every current finding at or above the
 * threshold and says why, because alerting twice is better than missing a change; latest is then rewritten.
 */
export async function publishClusterReport(
  deps: PublishClusterDeps,
  input: PublishClusterInput,
): Promise<PublishClusterOutcome> {
  const { store, sns, topicArn, threshold } = deps;
  const { account, region, report, generatedAt, runId, unevaluated = new Set<string>() } = input;
  const cluster = report.name;
  const errors: string[] = [];

  let historyKey: string | undefined;
  try {
    historyKey = await store.saveHistory(
      account,
      region,
      cluster,
      asAuditReport(report, generatedAt),
      generatedAt,
    );
  } catch (error) {
    errors.push(`${cluster}: the history report was not saved: ${errorText(error)}`);
  }

  const baseline = await readBaseline(store, account, region, cluster);
  const { stored, previous } = baseline;
  const baselineUnreadable = baseline.unreadable !== undefined;
  if (baseline.unreadable !== undefined)
    errors.push(
      `${cluster}: the baseline could not be read, so the alert lists every current finding at or above ${threshold}: ${errorText(baseline.unreadable.error)}`,
    );
  const latestKey = store.latestKey(account, region, cluster);

  // latest.json carries the run that wrote it: this run already alerted (or had nothing to say) and advanced it.
  if (stored?.runId === runId) {
    return {
      alerted: false,
      drift: driftOf(previous, report, threshold, unevaluated),
      errors,
      latestKey,
      ...(historyKey === undefined ? {} : { historyKey }),
    };
  }

  const drift = driftOf(previous, report, threshold, unevaluated);
  let alert: Alert | undefined;
  let alerted = false;
  if (hasDrift(drift)) {
    const notes = baselineUnreadable
      ? [
          `The previous report could not be read, so every current finding at or above ${threshold} is listed, not only the changes.`,
        ]
      : previous === undefined
        ? [`First audit of this cluster: every current finding at or above ${threshold} is listed.`]
        : [];
    alert = buildAlert(report, drift, store.objectUri(historyKey ?? latestKey), generatedAt, { notes });
    try {
      await publishAlert(sns, topicArn, alert);
      alerted = true;
    } catch (error) {
      errors.push(
        `${cluster}: the alert was not published, so the baseline is kept and the next run alerts again: ${errorText(error)}`,
      );
      return { alerted, drift, errors, alert, ...(historyKey === undefined ? {} : { historyKey }) };
    }
  }
  const source: FindingEventSource = {
    account,
    region,
    cluster,
    ...(report.arn === undefined ? {} : { clusterArn: report.arn }),
    reportUri: store.objectUri(historyKey ?? latestKey),
    runAt: generatedAt,
  };
  const sent = hasDrift(drift) ? await publishFindings(deps, source, drift) : { failed: [] };
  if (sent.failed.length > 0) {
    // Like a failed alert: the baseline is kept, so the next run sends this delta again (the alert included).
    errors.push(
      ...sent.failed.map(
        (failure) =>
          `${cluster}: ${failure}, so the baseline is kept and the next run sends the changes again`,
      ),
    );
    return {
      alerted,
      drift,
      errors,
      ...(alert === undefined ? {} : { alert }),
      ...(historyKey === undefined ? {} : { historyKey }),
    };
  }

  let written: string | undefined;
  try {
    written = await store.saveLatest(
      account,
      region,
      cluster,
      asAuditReport(baselineAfter(previous, report, unevaluated), generatedAt),
      runId,
    );
  } catch (error) {
    errors.push(
      `${cluster}: the baseline was not advanced${alerted ? ', so the next run repeats this alert' : ''}: ${errorText(error)}`,
    );
  }
  return {
    alerted,
    drift,
    errors,
    ...(written === undefined ? {} : { latestKey: written }),
    ...(historyKey === undefined ? {} : { historyKey }),
    ...(alert === undefined ? {} : { alert }),
    ...(sent.events === undefined ? {} : { events: sent.events }),
    ...(sent.securityHub === undefined ? {} : { securityHubFindings: sent.securityHub }),
  };
}

/** The optional finding sinks (EventBridge, Security Hub); each is tried, and each failure is one line. */
async function publishFindings(
  deps: PublishClusterDeps,
  source: FindingEventSource,
  drift: Drift,
): Promise<{ readonly failed: string[]; readonly events?: number; readonly securityHub?: number }> {
  const failed: string[] = [];
  let events: number | undefined;
  let securityHub: number | undefined;
  if (deps.events !== undefined) {
    try {
      events = await putFindingEvents(
        deps.events.client,
        deps.events.busName,
        findingEventEntries(source, drift, deps.events.busName),
      );
    } catch (error) {
      failed.push(`the finding events were not all sent (${errorText(error)})`);
    }
  }
  if (deps.securityHub !== undefined) {
    try {
      securityHub = await importFindings(
        deps.securityHub.client,
        securityHubFindings(source, drift, deps.securityHub.partition),
      );
    } catch (error) {
      failed.push(`the findings were not all imported into Security Hub (${errorText(error)})`);
    }
  }
  return {
    failed,
    ...(events === undefined ? {} : { events }),
    ...(securityHub === undefined ? {} : { securityHub }),
  };
}
