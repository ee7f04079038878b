// Shares equal records between the pods of one collection. The pods of a Deployment, a DaemonSet or a Job
// have the same env (the model keeps no per-pod value of it), mostly the same mounts, token volumes and labels;
// JSON.parse gives each pod its own copies. Shared, a pod costs its names and pointers, so the state grows with
// the workloads rather than with the replicas. The interner's own keys stay small: a record is keyed by its JSON
// once, and a list or a container by the numbers of the shared records it is made of; what is each pod's own
// (its name, its creation time) is never keyed (a map of 100,000 keys that never match costs more than it saves).
//
// The one part every pod would otherwise own is the ServiceAccount admission plugin's token volume,
// `kube-api-access-<5 random>`, and its mounts. Its suffix says nothing the checks read: they match a mount to
// its volume by name within one pod, and never look at this volume (it carries the API server's token, not
// IRSA's). So a pod's one such volume, and the mounts naming it, are renamed API_ACCESS_VOLUME and shared too.

import type {
  Container,
  EnvFromSource,
  EnvVar,
  Labels,
  Pod,
  ProjectedTokenVolume,
  VolumeMount,
} from '../core/model/cluster-state';

/**
 * Equal values, each kept once and numbered; `key` says what makes two values equal, or undefined when the
 * value is one pod's own (then it is kept as it is, unnumbered).
 */
class Shared<T extends object> {
  private readonly byKey = new Map<string, T>();
  private readonly numbers = new WeakMap<T, number>();

  constructor(private readonly key: (value: T) => string | undefined) {}

  intern(value: T): T {
    const key = this.key(value);
    if (key === undefined) return value;
    const known = this.byKey.get(key);
    if (known !== undefined) return known;
    this.byKey.set(key, value);
    this.numbers.set(value, this.byKey.size);
    return value;
  }

  /** The number of an interned value; undefined for one that is a pod's own. */
  numberOf(value: T): number | undefined {
    return this.numbers.get(value);
  }
}

const NO_LABELS: Labels = Object.freeze({});
const json = (value: unknown) => JSON.stringify(value);
/** The ServiceAccount admission plugin names each pod's token volume `kube-api-access-<5 random>`. */
const OWN_VOLUME = /^kube-api-access-[a-z0-9]{5}$/;
/** What a pod's one kube-api-access-xxxxx volume is called in the model: not a volume name Kubernetes allows, so it
 * meets no other volume. */
export const API_ACCESS_VOLUME = 'kube-api-access-*';

/** The numbers of shared parts, joined; undefined when any part is a pod's own. */
function numbers(parts: readonly (number | undefined)[]): string | undefined {
  return parts.some((part) => part === undefined) ? undefined : parts.join(',');
}

/** One per collection: what it shares is kept as long as the state that uses it. */
export class PodInterner {
  private readonly envs = new Shared<readonly EnvVar[]>(json);
  private readonly envFroms = new Shared<readonly EnvFromSource[]>(json);
  private readonly mounts = new Shared<VolumeMount>((mount) =>
    OWN_VOLUME.test(mount.name) ? undefined : json(mount),
  );
  private readonly mountLists = new Shared<readonly VolumeMount[]>((list) =>
    numbers(list.map((mount) => this.mounts.numberOf(mount))),
  );
  private readonly containers = new Shared<Container>((container) => {
    const parts = numbers([
      this.envs.numberOf(container.env),
      this.envFroms.numberOf(container.envFrom),
      this.mountLists.numberOf(container.volumeMounts),
    ]);
    return parts === undefined ? undefined : `${container.kind} ${container.name} ${parts}`;
  });
  private readonly containerLists = new Shared<readonly Container[]>((list) =>
    numbers(list.map((container) => this.containers.numberOf(container))),
  );
  private readonly volumes = new Shared<ProjectedTokenVolume>((volume) =>
    OWN_VOLUME.test(volume.volumeName) ? undefined : json(volume),
  );
  private readonly volumeLists = new Shared<readonly ProjectedTokenVolume[]>((list) =>
    numbers(list.map((volume) => this.volumes.numberOf(volume))),
  );
  private readonly maps = new Shared<Labels>(json);
  private readonly owners = new Shared<NonNullable<Pod['owner']>>(json);
  private readonly strings = new Map<string, string>();

  /** The pod with its containers, token volumes, labels, annotations and repeated strings shared. */
  pod(pod: Pod): Pod {
    const apiAccess = pod.tokenVolumes.filter((volume) => OWN_VOLUME.test(volume.volumeName));
    // Two such token entries (two volumes, or two token sources of one: not the admission plugin's doing) keep
    // their names: renamed, their mounts would meet.
    const renamed = apiAccess.length === 1 ? apiAccess[0]?.volumeName : undefined;
    const shared: { -readonly [K in keyof Pod]: Pod[K] } = {
      ...pod,
      namespace: this.string(pod.namespace),
      serviceAccountName: this.string(pod.serviceAccountName),
      labels: this.labels(pod.labels),
      annotations: this.labels(pod.annotations),
      containers: this.containerLists.intern(
        pod.containers.map((container) => this.container(container, renamed)),
      ),
      tokenVolumes: this.volumeLists.intern(
        pod.tokenVolumes.map((volume) =>
          this.volumes.intern(
            volume.volumeName === renamed ? { ...volume, volumeName: API_ACCESS_VOLUME } : volume,
          ),
        ),
      ),
    };
    if (pod.phase !== undefined) shared.phase = this.string(pod.phase);
    if (pod.nodeName !== undefined) shared.nodeName = this.string(pod.nodeName);
    if (pod.owner !== undefined) shared.owner = this.owners.intern(pod.owner);
    return shared;
  }

  private container(container: Container, renamed: string | undefined): Container {
    return this.containers.intern({
      name: this.string(container.name),
      kind: container.kind,
      env: this.envs.intern(container.env),
      envFrom: this.envFroms.intern(container.envFrom),
      volumeMounts: this.mountLists.intern(
        container.volumeMounts.map((mount) =>
          this.mounts.intern(mount.name === renamed ? { ...mount, name: API_ACCESS_VOLUME } : mount),
        ),
      ),
    });
  }

  private labels(labels: Labels): Labels {
    return Object.keys(labels).length === 0 ? NO_LABELS : this.maps.intern(labels);
  }

  private string(value: string): string {
    const known = this.strings.get(value);
    if (known !== undefined) return known;
    this.strings.set(value, value);
    return value;
  }
}
