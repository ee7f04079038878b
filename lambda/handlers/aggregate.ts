// The aggregate step's Lambda entry (organization mode): one summary, one alert and the organization metrics of a
// run. The configuration is validated at cold start (organization-config.ts).

import { createAggregateHandler } from '../organization/aggregate/aggregate-handler';

/** `{runId, generatedAt, mapFailed?}` → OrganizationSummaryOutput. */
export const handler = createAggregateHandler(process.env);
