// The discover step's Lambda entry (organization mode): lists every account × region's EKS clusters as the member
// role and writes the Distributed Map's items. The configuration is validated at cold start (organization-config.ts).

import { createDiscoverHandler } from '../organization/discover';

/** `{runId, generatedAt}` → DiscoverOutput. */
export const handler = createDiscoverHandler(process.env);
