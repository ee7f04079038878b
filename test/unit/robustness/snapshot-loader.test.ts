// Feeds damaged snapshots (examples with random missing and wrong-typed members, junk items and
// files of the wrong shape) through the loader: it returns a state or throws a SnapshotError, nothing else.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ClusterState } from '../../../lambda/core/model/cluster-state';
import { SNAPSHOT_FILES, SnapshotError, stateFromSnapshot } from '../../../lambda/sources/snapshot/snapshot';
import {
  damagedSnapshot,
  exampleDocuments,
  LIST_MEMBERS,
  type ListPart,
  runs,
  wholeFileDamage,
} from '../../support/arbitraries';

const FILES = new Set<string>(Object.values(SNAPSHOT_FILES).map(({ file }) => file));

const KIND_OF: Record<ListPart, string> = {
  oidcProviders: 'OIDCProvider',
  roles: 'Role',
  serviceAccounts: 'ServiceAccount',
  pods: 'Pod',
  mutatingWebhookConfigurations: 'MutatingWebhookConfiguration',
  namespaces: 'Namespace',
  podIdentityAssociations: 'PodIdentityAssociation',
  accountClusters: 'Cluster',
  nodeInstances: 'Instance',
  instanceProfiles: 'InstanceProfile',
};

const TRUST_POLICY_PATH = /^\$\.Roles\[(\d+)\]\.AssumeRolePolicyDocument$/;

function parsedCount(state: ClusterState, part: ListPart): number {
  return (state[part] ?? []).length;
}

/** Loads the documents; a SnapshotError is returned as a value, any other exception escapes the test. */
function load(documents: Parameters<typeof stateFromSnapshot>[0]): ClusterState | SnapshotError {
  try {
    return stateFromSnapshot(documents);
  } catch (error) {
    if (error instanceof SnapshotError) return error;
    throw error;
  }
}

function listOf(document: unknown, member: string): readonly unknown[] {
  const list = (document as Record<string, unknown>)[member];
  return Array.isArray(list) ? list : [];
}

/** A deep copy of a JSON value with one member replaced (or deleted, for `undefined`). */
function withMember(item: unknown, at: readonly (string | number)[], value: unknown): unknown {
  const copy = structuredClone(item);
  let parent = copy as Record<string | number, unknown>;
  for (const key of at.slice(0, -1)) parent = parent[key] as Record<string | number, unknown>;
  const last = at[at.length - 1]!;
  if (value === undefined) delete parent[last];
  else parent[last] = value;
  return copy;
}

function expectReadableSnapshotError(error: SnapshotError): void {
  expect(FILES.has(error.file)).toBe(true);
  expect(error.message).not.toContain('\n');
  expect(error.message.startsWith(`${error.file}: `)).toBe(true);
  expect(error.problem.length).toBeGreaterThan(0);
}

describe('snapshot loader robustness', () => {
  it('loads both examples without malformed objects', () => {
    for (const example of ['healthy', 'blog-incident'] as const) {
      const state = stateFromSnapshot(exampleDocuments(example));

      expect(state.malformedObjects).toEqual([]);
      expect(state.pods.length).toBeGreaterThan(10);
    }
  });

  it('accounts for every list item as parsed or malformed, and never blames an intact item', () => {
    fc.assert(
      fc.property(damagedSnapshot, ({ documents, lists }) => {
        const result = load(documents);

        if (result instanceof SnapshotError) {
          // Lists are always arrays here, so only damage inside `cluster` can spoil a whole file.
          expect(result.file).toBe('cluster.json');
          expectReadableSnapshotError(result);
          return;
        }
        for (const [part, list] of Object.entries(lists) as [ListPart, (typeof lists)[ListPart]][]) {
          if (list === undefined) continue;
          const { file } = SNAPSHOT_FILES[part];
          const member = LIST_MEMBERS[part];
          const skipped = result.malformedObjects.filter(
            (object) => object.source === file && !TRUST_POLICY_PATH.test(object.path),
          );
          expect(parsedCount(result, part) + skipped.length).toBe(list.items.length);
          for (const object of skipped) {
            const index = Number(new RegExp(`^\\$\\.${member}\\[(\\d+)\\]`).exec(object.path)?.[1]);
            expect(object.kind).toBe(KIND_OF[part]);
            expect(Number.isInteger(index)).toBe(true);
            expect(list.pristine.has(index)).toBe(false);
            expect(object.problem.length).toBeGreaterThan(0);
            expect(object.path).not.toContain('\n');
          }
        }
      }),
      { numRuns: runs(300) },
    );
  });

  it('points each unreadable trust policy at the role that holds it', () => {
    fc.assert(
      fc.property(damagedSnapshot, ({ documents, lists }) => {
        const result = load(documents);
        if (result instanceof SnapshotError) return;
        const items = lists.roles?.items ?? [];

        for (const object of result.malformedObjects) {
          const match = TRUST_POLICY_PATH.exec(object.path);
          if (match === null) continue;
          const item = items[Number(match[1])] as { Arn?: unknown } | undefined;
          expect(item?.Arn).toBe(object.name);
        }
      }),
      { numRuns: runs(300) },
    );
  });

  it('throws only a SnapshotError naming the file when a whole file has the wrong shape', () => {
    fc.assert(
      fc.property(wholeFileDamage, ({ part, replaceDocument, value }) => {
        const documents = { ...exampleDocuments('healthy') };
        const singles = {
          cluster: 'cluster',
          accountSummary: 'SummaryMap',
          podIdentityAgentAddon: 'addon',
        } as const;
        const single = part in singles;
        const member = single
          ? singles[part as keyof typeof singles]
          : LIST_MEMBERS[part as keyof typeof LIST_MEMBERS];
        documents[part] = replaceDocument ? value : { [member]: value };

        const result = load(documents);

        if (result instanceof SnapshotError) {
          expectReadableSnapshotError(result);
          expect(result.file).toBe(SNAPSHOT_FILES[part].file);
        } else {
          // Only a value that is still of the documented shape may load: an object for the cluster, the
          // account summary's SummaryMap and the add-on (null: not installed), a list for the others.
          const list = single ? undefined : (documents[part] as Record<string, unknown>)[member];
          expect(single ? typeof value : Array.isArray(list)).toBe(single ? 'object' : true);
        }
      }),
      { numRuns: runs(300) },
    );
  });

  it.each([
    {
      why: 'metadata without name',
      part: 'pods',
      at: ['metadata', 'name'],
      value: undefined,
      path: '$.items[0].metadata.name',
    },
    { why: 'spec as a string', part: 'pods', at: ['spec'], value: 'spec', path: '$.items[0].spec' },
    {
      why: 'containers as an object',
      part: 'pods',
      at: ['spec', 'containers'],
      value: { app: { name: 'app' } },
      path: '$.items[0].spec.containers',
    },
    {
      why: 'an env entry without name',
      part: 'pods',
      at: ['spec', 'containers', 0, 'env'],
      value: [{ value: 'x' }],
      path: '$.items[0].spec.containers[0].env[0].name',
    },
    {
      why: 'a null projected source',
      part: 'pods',
      at: ['spec', 'volumes'],
      value: [{ name: 'v', projected: { sources: [null] } }],
      path: '$.items[0].spec.volumes[0].projected.sources[0]',
    },
    {
      why: 'a label with a number value',
      part: 'namespaces',
      at: ['metadata', 'labels'],
      value: { team: 7 },
      path: '$.items[0].metadata.labels.team',
    },
    {
      why: 'an annotation with a number value',
      part: 'serviceAccounts',
      at: ['metadata', 'annotations'],
      value: { 'eks.amazonaws.com/role-arn': 7 },
      path: '$.items[0].metadata.annotations["eks.amazonaws.com/role-arn"]',
    },
    {
      why: 'a label key with a newline',
      part: 'namespaces',
      at: ['metadata', 'labels'],
      value: { 'new\nline': 7 },
      path: '$.items[0].metadata.labels["new\\nline"]',
    },
    {
      why: 'a webhook rule whose operations are not strings',
      part: 'mutatingWebhookConfigurations',
      at: ['webhooks', 0, 'rules'],
      value: [{ operations: [1] }],
      path: '$.items[0].webhooks[0].rules[0].operations[0]',
    },
  ] as const)('records $why as malformed and still parses the rest', ({ part, at, value, path }) => {
    const documents = { ...exampleDocuments('healthy') };
    const items = [...listOf(documents[part], 'items')];
    items[0] = withMember(items[0], at, value);
    documents[part] = { items };

    const state = stateFromSnapshot(documents);

    expect(state.malformedObjects.map((object) => object.path)).toEqual([path]);
    expect(state[part]?.length).toBe(items.length - 1);
  });

  it('reads a webhook service whose members cannot be printed without throwing', () => {
    const documents = { ...exampleDocuments('healthy') };
    const items = [...listOf(documents.mutatingWebhookConfigurations, 'items')];
    const service = JSON.parse('{"namespace": {"toString": 1}, "name": "pod-identity-webhook", "path": 5}');
    items[0] = withMember(items[0], ['webhooks', 0, 'clientConfig'], { service });
    documents.mutatingWebhookConfigurations = { items };

    const state = stateFromSnapshot(documents);

    expect(state.malformedObjects).toEqual([]);
    expect(state.mutatingWebhookConfigurations[0]?.webhooks[0]?.endpoint).toBe(
      'service /pod-identity-webhook',
    );
  });

  it('names the right role for an unreadable trust policy after a skipped role', () => {
    const documents = { ...exampleDocuments('healthy') };
    const roles = [...listOf(documents.roles, 'Roles')];
    roles[0] = withMember(roles[0], ['RoleName'], 42);
    roles[1] = withMember(roles[1], ['AssumeRolePolicyDocument'], '%7B%22Statement%22%3A');
    documents.roles = { Roles: roles };

    const state = stateFromSnapshot(documents);

    expect(state.malformedObjects.map(({ name, path }) => ({ name, path }))).toEqual([
      { name: (roles[0] as { Arn: string }).Arn, path: '$.Roles[0].RoleName' },
      { name: (roles[1] as { Arn: string }).Arn, path: '$.Roles[1].AssumeRolePolicyDocument' },
    ]);
  });

  it('reads projected sources of null as no token volumes', () => {
    const documents = { ...exampleDocuments('healthy') };
    const items = [...listOf(documents.pods, 'items')];
    items[0] = withMember(items[0], ['spec', 'volumes'], [{ name: 'v', projected: { sources: null } }]);
    documents.pods = { items };

    const state = stateFromSnapshot(documents);

    expect(state.malformedObjects).toEqual([]);
    expect(state.pods[0]?.tokenVolumes).toEqual([]);
  });
});
