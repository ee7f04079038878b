import { describe, expect, it } from 'vitest';
import type { Check } from '../../../lambda/core/checks/check';
import { buildRegistry, CHECKS, checkById, RegistryError } from '../../../lambda/core/checks/registry';

const stub = (id: string): Check => ({
  id,
  title: 'Never fails.',
  severity: 'high',
  remediation: 'Nothing.',
  needs: [],
  run: () => [],
});

describe('check registry', () => {
  // Written out on purpose: adding, removing or renaming a check has to change this list.
  it('lists exactly the catalogue of checks, in catalogue order', () => {
    const ids = CHECKS.map((check) => check.id);

    expect(ids).toEqual([
      'IRSA-C01',
      'IRSA-C02',
      'IRSA-C03',
      'IRSA-C04',
      'IRSA-C05',
      'IRSA-W01',
      'IRSA-W02',
      'IRSA-W03',
      'IRSA-W04',
      'IRSA-W05',
      'IRSA-W06',
      'IRSA-W07',
      'IRSA-S01',
      'IRSA-S02',
      'IRSA-S03',
      'IRSA-S04',
      'IRSA-S05',
      'IRSA-S06',
      'IRSA-S07',
      'IRSA-S08',
      'IRSA-S09',
      'IRSA-S10',
      'IRSA-S11',
      'IRSA-S12',
      'IRSA-S13',
      'IRSA-S14',
      'IRSA-S15',
      'IRSA-P01',
      'IRSA-P02',
      'IRSA-P03',
      'IRSA-P04',
      'IRSA-P05',
      'IRSA-P06',
      'IRSA-P07',
      'IRSA-P08',
      'IRSA-P09',
      'IRSA-A01',
      'IRSA-A02',
      'IRSA-X01',
      'IRSA-X02',
      'IRSA-X03',
      'IRSA-X04',
    ]);
  });

  it('gives every check a unique ID of the form IRSA-<group letter><two digits>', () => {
    const ids = CHECKS.map((check) => check.id);

    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^IRSA-[A-Z]\d{2}$/);
  });

  it('sorts checks by group in catalogue order, then by number', () => {
    const registry = buildRegistry(['IRSA-X01', 'IRSA-S10', 'IRSA-C01', 'IRSA-S02', 'IRSA-W01'].map(stub));

    expect(registry.map((check) => check.id)).toEqual([
      'IRSA-C01',
      'IRSA-W01',
      'IRSA-S02',
      'IRSA-S10',
      'IRSA-X01',
    ]);
  });

  it('refuses a duplicate check ID', () => {
    expect(() => buildRegistry([stub('IRSA-Z01'), stub('IRSA-Z01')])).toThrow('IRSA-Z01 is registered twice');
    expect(() => buildRegistry([stub('IRSA-Z01'), stub('IRSA-Z01')])).toThrow(RegistryError);
  });

  it('refuses a malformed check ID and a lookup of an unregistered one with a RegistryError', () => {
    expect(() => buildRegistry([stub('IRSA-1')])).toThrow(RegistryError);
    expect(() => checkById('IRSA-Z99')).toThrow(new RegistryError('IRSA-Z99', 'is not registered'));
  });

  it('gives every check a title and a general remediation that end with a period', () => {
    for (const check of CHECKS) {
      expect(check.title, check.id).toMatch(/^[A-Z].*\.$/);
      expect(check.remediation, check.id).toMatch(/^[A-Z].*\.$/);
    }
  });
});
