// The audit-target step's Lambda entry (organization mode): audits one cluster of one member account as its member
// role. The configuration is validated at cold start (organization-config.ts).

import { createAuditTargetHandler } from '../organization/audit-target';

/** `{runId, generatedAt, account, region, cluster}` → AuditTargetOutput. */
export const handler = createAuditTargetHandler(process.env);
