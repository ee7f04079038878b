import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CHECKS } from '../../lambda/core/checks/registry';
import { generatedReadme } from '../../scripts/readme-blocks';

const readme = () => readFile(join(import.meta.dirname, '..', '..', 'README.md'), 'utf8');

describe('README', () => {
  it('holds the check catalogue and sample output exactly as they are generated', async () => {
    const text = await readme();

    expect(text, 'run "npm run docs" to regenerate README.md').toBe(await generatedReadme(text));
  });

  it('lists every registered check once, with its severity', async () => {
    const rows = (await readme()).split('\n').filter((line) => line.startsWith('| IRSA-'));

    const listed = rows.map((row) =>
      row
        .split('|')
        .map((cell) => cell.trim())
        .slice(1, 3),
    );
    expect(listed).toEqual(CHECKS.map((check) => [check.id, check.severity]));
  });

  it('shows the two commands a new user types', async () => {
    const text = await readme();

    expect(text).toContain('npm ci && npm run demo');
    expect(text).toContain('npm ci && npm test');
  });
});
