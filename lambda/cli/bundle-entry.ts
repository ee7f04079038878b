// The entry of the packed CLI bundle (dist/cli/irsa-audit.mjs): no tsx, no TypeScript at run time.

import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { packagedExamples, runProcess } from './process-main';

await runProcess(packagedExamples(dirname(fileURLToPath(import.meta.url))));
