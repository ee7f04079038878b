// The aggregate step's handler, built at cold start: it aggregates the run (aggregate-run.ts) and fails the
// invocation when something could not be published, after everything else was.

import { atColdStart } from '../../pipeline/cold-start';
import type { Environment } from '../../pipeline/config';
import { jsonLineLog } from '../../pipeline/structured-log';
import { loadAggregateConfig } from '../organization-config';
import type { StepOptions } from '../step-runtime';
import { createAggregateDependencies } from './aggregate-dependencies';
import { aggregateRun, type OrganizationSummaryOutput } from './aggregate-run';

/** The aggregate step's Lambda handler. */
export type AggregateHandler = (event: unknown) => Promise<OrganizationSummaryOutput>;

// The problems a thrown OrganizationPublishError names; Step Functions keeps 32,768 characters of a cause (with
// the error's JSON around the message), and the log line of the run has them all.
const PUBLISH_ERRORS_SHOWN = 20;
const PUBLISH_ERROR_MESSAGE_LIMIT = 30_000;

/**
 * Some of the alert, baselines, summary or metrics were not published; everything else was (see `summary`). The
 * message names the first problems only: Step Functions cuts an error's cause at 32,768 characters.
 */
export class OrganizationPublishError extends Error {
  override readonly name = 'OrganizationPublishError';

  constructor(readonly summary: OrganizationSummaryOutput) {
    const { errors } = summary;
    const shown = errors.slice(0, PUBLISH_ERRORS_SHOWN).join('; ');
    const more =
      errors.length > PUBLISH_ERRORS_SHOWN ? `; … and ${errors.length - PUBLISH_ERRORS_SHOWN} more` : '';
    const where = summary.summaryKey === undefined ? '' : ` (the summary ${summary.summaryKey} has them all)`;
    const message = `run ${summary.runId}: ${errors.length} publishing problem(s)${where}: ${shown}${more}`;
    super(
      message.length > PUBLISH_ERROR_MESSAGE_LIMIT
        ? `${message.slice(0, PUBLISH_ERROR_MESSAGE_LIMIT - 1)}…`
        : message,
    );
  }
}

/**
 * Validates the configuration at cold start and returns the handler. Publishing problems are thrown after
 * everything that could be published was (the invocation fails, the alarm fires); a retry of the same run does
 * not alert or count metrics again (runs/<runId>/alerted.json and metrics.json, see batch-publisher.ts).
 */
export function createAggregateHandler(env: Environment, options: StepOptions = {}): AggregateHandler {
  const log = options.log ?? jsonLineLog();
  return atColdStart(
    'aggregate',
    () => loadAggregateConfig(env),
    (config) => {
      const deps = createAggregateDependencies(config, { ...options, log });
      return async (event: unknown) => {
        const summary = await aggregateRun(deps, event);
        if (summary.errors.length > 0) throw new OrganizationPublishError(summary);
        return summary;
      };
    },
    (config) => ({ alertSeverity: config.alertSeverity }),
    log,
  );
}
