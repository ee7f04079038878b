// npm run docs — regenerates the check catalogue and the sample output in README.md.

import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generatedReadme } from './readme-blocks';

const path = join(import.meta.dirname, '..', 'README.md');
await writeFile(path, await generatedReadme(await readFile(path, 'utf8')));
console.log('README.md: check catalogue and sample output regenerated');
