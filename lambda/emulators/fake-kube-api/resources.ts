// The resource types the fake serves, their discovery documents, and the object store behind the lists.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** The resource types the fake serves, by their Kubernetes plural names (as in paths and RBAC rules). */
export type FakeResource =
  | 'serviceaccounts'
  | 'pods'
  | 'namespaces'
  | 'nodes'
  | 'mutatingwebhookconfigurations'
  | 'daemonsets';

/** A raw Kubernetes object, as `kubectl get -o json` prints it. */
export type KubeObject = Readonly<Record<string, unknown>>;

/** Replacement objects per resource type, as the items of each type's List. */
export type FakeObjects = { readonly [R in FakeResource]?: readonly KubeObject[] };

/** How a resource type is named and scoped, for paths and discovery. */
export interface ResourceSpec {
  readonly resource: FakeResource;
  readonly group: string;
  readonly version: string;
  readonly kind: string;
  readonly singularName: string;
  readonly namespaced: boolean;
  readonly shortNames: readonly string[];
  readonly snapshotFile: string;
}

export const RESOURCES: { readonly [R in FakeResource]: ResourceSpec } = {
  serviceaccounts: {
    resource: 'serviceaccounts',
    group: '',
    version: 'v1',
    kind: 'ServiceAccount',
    singularName: 'serviceaccount',
    namespaced: true,
    shortNames: ['sa'],
    snapshotFile: 'serviceaccounts.json',
  },
  pods: {
    resource: 'pods',
    group: '',
    version: 'v1',
    kind: 'Pod',
    singularName: 'pod',
    namespaced: true,
    shortNames: ['po'],
    snapshotFile: 'pods.json',
  },
  namespaces: {
    resource: 'namespaces',
    group: '',
    version: 'v1',
    kind: 'Namespace',
    singularName: 'namespace',
    namespaced: false,
    shortNames: ['ns'],
    snapshotFile: 'namespaces.json',
  },
  nodes: {
    resource: 'nodes',
    group: '',
    version: 'v1',
    kind: 'Node',
    singularName: 'node',
    namespaced: false,
    shortNames: ['no'],
    snapshotFile: 'nodes.json',
  },
  mutatingwebhookconfigurations: {
    resource: 'mutatingwebhookconfigurations',
    group: 'admissionregistration.k8s.io',
    version: 'v1',
    kind: 'MutatingWebhookConfiguration',
    singularName: 'mutatingwebhookconfiguration',
    namespaced: false,
    shortNames: [],
    snapshotFile: 'mutatingwebhookconfigurations.json',
  },
  daemonsets: {
    resource: 'daemonsets',
    group: 'apps',
    version: 'v1',
    kind: 'DaemonSet',
    singularName: 'daemonset',
    namespaced: true,
    shortNames: ['ds'],
    snapshotFile: 'daemonsets.json',
  },
};

export const ADMISSION_GROUP = 'admissionregistration.k8s.io';
/** The named API groups the fake serves (all at v1), in the order kube-apiserver lists them. */
export const NAMED_GROUPS = ['apps', ADMISSION_GROUP] as const;

/** The `apiVersion` of a resource type's objects. */
export function apiVersionOf(spec: ResourceSpec): string {
  return spec.group === '' ? spec.version : `${spec.group}/${spec.version}`;
}

/** The resource spec served at a group/version and plural name, if any. */
export function resourceAt(group: string, version: string, plural: string): ResourceSpec | undefined {
  return Object.values(RESOURCES).find(
    (spec) => spec.group === group && spec.version === version && spec.resource === plural,
  );
}

// Only the verbs the fake implements are advertised, so kubectl never tries one it would have to fake.
function apiResource(spec: ResourceSpec): Record<string, unknown> {
  return {
    name: spec.resource,
    singularName: spec.singularName,
    namespaced: spec.namespaced,
    kind: spec.kind,
    verbs: spec.resource === 'pods' ? ['create', 'get', 'list'] : ['get', 'list'],
    ...(spec.shortNames.length === 0 ? {} : { shortNames: spec.shortNames }),
  };
}

/** The legacy (unaggregated) discovery documents, keyed by path, as kube-apiserver serves them. */
export function discoveryDocuments(serverAddress: string): ReadonlyMap<string, unknown> {
  const groupOf = (name: string) => {
    const groupVersion = { groupVersion: `${name}/v1`, version: 'v1' };
    return { name, versions: [groupVersion], preferredVersion: groupVersion };
  };
  const resourcesIn = (group: string) =>
    Object.values(RESOURCES)
      .filter((spec) => spec.group === group)
      .map(apiResource);
  return new Map<string, unknown>([
    [
      '/api',
      {
        kind: 'APIVersions',
        versions: ['v1'],
        serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
      },
    ],
    ['/api/v1', { kind: 'APIResourceList', groupVersion: 'v1', resources: resourcesIn('') }],
    ['/apis', { kind: 'APIGroupList', apiVersion: 'v1', groups: NAMED_GROUPS.map(groupOf) }],
    ...NAMED_GROUPS.flatMap((name): [string, unknown][] => [
      [`/apis/${name}`, { kind: 'APIGroup', apiVersion: 'v1', ...groupOf(name) }],
      [
        `/apis/${name}/v1`,
        {
          kind: 'APIResourceList',
          apiVersion: 'v1',
          groupVersion: `${name}/v1`,
          resources: resourcesIn(name),
        },
      ],
    ]),
    [
      '/version',
      {
        major: '1',
        minor: '31',
        gitVersion: 'v1.31.0-fake-kube-api',
        gitCommit: '0000000000000000000000000000000000000000',
        gitTreeState: 'clean',
        buildDate: '2025-01-01T00:00:00Z',
        goVersion: 'go1.22.0',
        compiler: 'gc',
        platform: 'linux/amd64',
      },
    ],
  ]);
}

function metadataOf(object: KubeObject): Readonly<Record<string, unknown>> {
  const metadata = object.metadata;
  return typeof metadata === 'object' && metadata !== null ? (metadata as Record<string, unknown>) : {};
}

/** An object's namespace ('' for cluster-scoped objects) and name. */
export function keyOf(object: KubeObject): { readonly namespace: string; readonly name: string } {
  const metadata = metadataOf(object);
  return {
    namespace: typeof metadata.namespace === 'string' ? metadata.namespace : '',
    name: typeof metadata.name === 'string' ? metadata.name : '',
  };
}

// etcd returns a list in key order (/registry/<resource>/<namespace>/<name>), so the fake does too.
function byKey(a: KubeObject, b: KubeObject): number {
  const left = keyOf(a);
  const right = keyOf(b);
  return left.namespace === right.namespace
    ? compare(left.name, right.name)
    : compare(left.namespace, right.namespace);
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

const BUILT_IN_NAMESPACES = ['default', 'kube-node-lease', 'kube-public', 'kube-system'];

/** The objects served, in key order, and the resourceVersion that changes with every replacement. */
export class ObjectStore {
  private readonly objects = new Map<FakeResource, readonly KubeObject[]>();
  private namespacesGiven = false;
  private version = 1000;

  constructor(initial: FakeObjects = {}) {
    this.replace(initial);
  }

  /** The resourceVersion of the whole store, as a list's `metadata.resourceVersion`. */
  get resourceVersion(): string {
    return String(this.version);
  }

  /** Replaces the objects of the given types; the others stay. */
  replace(objects: FakeObjects): void {
    for (const item of Object.values(objects).flat()) {
      const version = Number(metadataOf(item).resourceVersion);
      if (Number.isSafeInteger(version) && version > this.version) this.version = version;
    }
    this.version += 1;
    for (const [resource, items] of Object.entries(objects) as [FakeResource, readonly KubeObject[]][]) {
      this.objects.set(resource, [...items].map((item) => this.withResourceVersion(item)).sort(byKey));
      if (resource === 'namespaces') this.namespacesGiven = true;
    }
    // A real cluster always has the namespaces its objects live in, and the built-in ones.
    if (!this.namespacesGiven) this.objects.set('namespaces', this.derivedNamespaces());
  }

  /** Stores a created object with a new resourceVersion (which, as `replace` does, turns older continue tokens stale). */
  add(resource: FakeResource, item: KubeObject): KubeObject {
    this.version += 1;
    const stored = { ...item, metadata: { ...metadataOf(item), resourceVersion: this.resourceVersion } };
    this.objects.set(resource, [...(this.objects.get(resource) ?? []), stored].sort(byKey));
    return stored;
  }

  /** Every object of a type, or those of one namespace, in key order. */
  list(resource: FakeResource, namespace?: string): readonly KubeObject[] {
    const items = this.objects.get(resource) ?? [];
    return namespace === undefined ? items : items.filter((item) => keyOf(item).namespace === namespace);
  }

  /** One object by namespace ('' when cluster-scoped) and name. */
  get(resource: FakeResource, namespace: string, name: string): KubeObject | undefined {
    return (this.objects.get(resource) ?? []).find((item) => {
      const key = keyOf(item);
      return key.namespace === namespace && key.name === name;
    });
  }

  private withResourceVersion(item: KubeObject): KubeObject {
    const metadata = metadataOf(item);
    if (typeof metadata.resourceVersion === 'string') return item;
    return { ...item, metadata: { ...metadata, resourceVersion: this.resourceVersion } };
  }

  private derivedNamespaces(): readonly KubeObject[] {
    const names = new Set(BUILT_IN_NAMESPACES);
    for (const resource of ['serviceaccounts', 'pods', 'daemonsets'] as const) {
      for (const item of this.objects.get(resource) ?? []) names.add(keyOf(item).namespace);
    }
    return [...names]
      .filter((name) => name !== '')
      .sort()
      .map((name) => ({
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: {
          name,
          labels: { 'kubernetes.io/metadata.name': name },
          resourceVersion: this.resourceVersion,
        },
        spec: { finalizers: ['kubernetes'] },
        status: { phase: 'Active' },
      }));
  }
}

/** Reads the Kubernetes Lists of a §3 snapshot directory; a missing file serves no objects of that type. */
export async function readSnapshotObjects(directory: string): Promise<FakeObjects> {
  const objects: { [R in FakeResource]?: readonly KubeObject[] } = {};
  for (const spec of Object.values(RESOURCES)) {
    let text: string;
    try {
      text = await readFile(join(directory, spec.snapshotFile), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw error;
    }
    const list = JSON.parse(text) as { items?: unknown };
    if (!Array.isArray(list.items)) throw new Error(`${spec.snapshotFile}: $.items is not an array`);
    objects[spec.resource] = list.items as KubeObject[];
  }
  return objects;
}
