// The architecture rules of biome.json, proven on files that break them: the pure core imports no SDK, Kubernetes
// client, file system or adapter; product code never imports test/; organization mode never imports the
// single-mode driver. The project's own biome.json lints a throwaway tree laid out like the repository.

import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const BIOME = join(ROOT, 'node_modules', '.bin', 'biome');
const tree = mkdtempSync(join(tmpdir(), 'irsa-architecture-'));
copyFileSync(join(ROOT, 'biome.json'), join(tree, 'biome.json'));
afterAll(() => rmSync(tree, { recursive: true, force: true }));

/** The lines of `file` that biome's restricted-imports rule flags, with `source` as the file's content. */
function restrictedImportLines(file: string, imports: readonly string[]): number[] {
  const source = `${imports.map((line, index) => `${line.replace('NAME', `n${index}`)}\n`).join('')}\nexport const all = [${imports.map((_, index) => `n${index}`).join(', ')}];\n`;
  mkdirSync(join(tree, dirname(file)), { recursive: true });
  writeFileSync(join(tree, file), source);
  const run = spawnSync(BIOME, ['lint', '--vcs-enabled=false', '--reporter=json', file], {
    cwd: tree,
    encoding: 'utf8',
  });
  const report = JSON.parse(run.stdout) as {
    diagnostics: { category: string; location: { start?: { line: number } } }[];
  };
  return report.diagnostics
    .filter((diagnostic) => diagnostic.category === 'lint/style/noRestrictedImports')
    .map((diagnostic) => diagnostic.location.start?.line ?? 0);
}

describe('the architecture rules of biome.json', () => {
  it.each([
    ["import { NAME } from '@aws-sdk/client-eks';"],
    ["import { NAME } from '@kubernetes/client-node';"],
    ["import { NAME } from 'node:fs';"],
    ["import { NAME } from 'node:fs/promises';"],
    ["import { NAME } from '../../sources/aws/aws-clients';"],
    ["import { NAME } from '../../sinks/report-store';"],
  ])('fails a core file that imports %s', (line) => {
    expect(restrictedImportLines('lambda/core/engine/impure.ts', [line])).toEqual([1]);
  });

  it('passes a core file that imports only the core and node:crypto', () => {
    const lines = restrictedImportLines('lambda/core/engine/pure.ts', [
      "import { NAME } from 'node:crypto';",
      "import { NAME } from '../model/finding';",
    ]);

    expect(lines).toEqual([]);
  });

  it.each(['lambda/cli/uses-test.ts', 'lambda/sources/uses-test.ts', 'bin/uses-test.ts'])(
    'fails %s when it imports test code',
    (file) => {
      expect(restrictedImportLines(file, ["import { NAME } from '../../test/support/moto';"])).toEqual([1]);
    },
  );

  it('fails organization code that imports the single-mode driver, and passes the shared pipeline', () => {
    const lines = restrictedImportLines('lambda/organization/driver.ts', [
      "import { NAME } from '../pipeline/run-scheduled-audit';",
      "import { NAME } from '../pipeline/audit-one-cluster';",
    ]);

    expect(lines).toEqual([1]);
  });
});
