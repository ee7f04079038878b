// Copies a shipped example snapshot to a temporary directory so a test can break one file of it.

import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const EXAMPLES = join(import.meta.dirname, '..', '..', 'examples');

export interface SnapshotCopy {
  readonly directory: string;
  readonly readJson: (file: string) => Promise<Record<string, unknown>>;
  readonly writeJson: (file: string, value: unknown) => Promise<void>;
  readonly writeText: (file: string, text: string) => Promise<void>;
  readonly remove: (file: string) => Promise<void>;
  readonly dispose: () => Promise<void>;
}

export async function copyExample(
  name: 'healthy' | 'blog-incident' | 'pod-identity-migration',
): Promise<SnapshotCopy> {
  const directory = await mkdtemp(join(tmpdir(), `irsa-${name}-`));
  await cp(join(EXAMPLES, name), directory, { recursive: true });
  return {
    directory,
    readJson: async (file) => JSON.parse(await readFile(join(directory, file), 'utf8')),
    writeJson: (file, value) => writeFile(join(directory, file), JSON.stringify(value, null, 4)),
    writeText: (file, text) => writeFile(join(directory, file), text),
    remove: (file) => rm(join(directory, file)),
    dispose: () => rm(directory, { recursive: true, force: true }),
  };
}

/** The items of a kubectl List file of a shipped example, read directly (not through the loader). */
export async function exampleItems(name: string, file: string): Promise<Record<string, unknown>[]> {
  const list = JSON.parse(await readFile(join(EXAMPLES, name, file), 'utf8')) as {
    items: Record<string, unknown>[];
  };
  return list.items;
}
