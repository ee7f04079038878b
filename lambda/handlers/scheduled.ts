// The Lambda entry point (EventBridge schedule → this → S3, SNS, CloudWatch). Everything that can be built
// once is built here, at cold start, and reused by the invocations of this container.

import { createHandler } from '../pipeline/scheduled-handler';

/** The scheduled audit; configuration from the environment, see lambda/pipeline/config.ts. */
export const handler = createHandler(process.env);
