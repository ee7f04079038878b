// The CDK app the cdk CLI runs (cdk.json: "npx tsx lib/app.ts"). Configuration comes from context:
// `npx cdk deploy -c clusters=prod,staging -c alertEmail=oncall@example.com` (SPEC §8), or organization mode:
// `npx cdk deploy IrsaAuditorOrganization -c mode=organization -c accounts=... -c regions=...`.

import { App } from 'aws-cdk-lib';
import { addAuditorApp } from './irsa-auditor-app';
import { InvalidContextError } from './settings';

const app = new App();
try {
  addAuditorApp(app);
} catch (error) {
  // A configuration mistake is one line for the person who typed it, not a stack trace.
  if (!(error instanceof InvalidContextError)) throw error;
  console.error(error.message);
  process.exit(1);
}
app.synth();
