// Shares equal records between the pods of one collection. The pods of a Deployment, a DaemonSet or a Job
// have the same env (the model keeps no per-pod value of it), mostly the same mounts, token volumes and labels;
// JSON.parse gives each pod its own copies. Shared, a pod costs its names, the few records that are its own
// (the kube-api-access-xxxxx volume and its mount) and pointers, so the state grows with the workloads rather
// than with the replicas.

import type {
  Container,
  EnvFromSource,
  EnvVar,
  Labels,
  Pod,
  ProjectedTokenVolume,
  VolumeMount,
} from '../core/model/cluster-state';

/** Equal values by their JSON: records are plain, so equal JSON means equal records. */
class Shared<T> {
  private readonly byKey = new Map<string, T>();

  intern(value: T): T {
    const key = JSON.stringify(value);
    const known = this.byKey.get(key);
    if (known !== undefined) return known;
    this.byKey.set(key, value);
    return value;
  }

  get size(): number {
    return this.byKey.size;
  }
}

const NO_LABELS: Labels = Object.freeze({});

/** One per collection: what it shares is kept as long as the state that uses it. */
export class PodInterner {
  private readonly containerLists = new Shared<readonly Container[]>();
  private readonly envs = new Shared<readonly EnvVar[]>();
  private readonly envFroms = new Shared<readonly EnvFromSource[]>();
  private readonly mounts = new Shared<VolumeMount>();
  private readonly volumes = new Shared<ProjectedTokenVolume>();
  private readonly volumeLists = new Shared<readonly ProjectedTokenVolume[]>();
  private readonly maps = new Shared<Labels>();
  private readonly owners = new Shared<NonNullable<Pod['owner']>>();
  private readonly strings = new Map<string, string>();

  /** The pod with its containers, token volumes, labels, annotations and repeated strings shared. */
  pod(pod: Pod): Pod {
    const shared: { -readonly [K in keyof Pod]: Pod[K] } = {
      ...pod,
      namespace: this.string(pod.namespace),
      serviceAccountName: this.string(pod.serviceAccountName),
      labels: this.labels(pod.labels),
      annotations: this.labels(pod.annotations),
      containers: this.containerLists.intern(pod.containers.map((container) => this.container(container))),
      tokenVolumes: this.volumeLists.intern(pod.tokenVolumes.map((volume) => this.volumes.intern(volume))),
    };
    if (pod.creationTimestamp !== undefined) shared.creationTimestamp = this.string(pod.creationTimestamp);
    if (pod.phase !== undefined) shared.phase = this.string(pod.phase);
    if (pod.nodeName !== undefined) shared.nodeName = this.string(pod.nodeName);
    if (pod.owner !== undefined) shared.owner = this.owners.intern(pod.owner);
    return shared;
  }

  private container(container: Container): Container {
    return {
      name: this.string(container.name),
      kind: container.kind,
      env: this.envs.intern(container.env),
      envFrom: this.envFroms.intern(container.envFrom),
      volumeMounts: container.volumeMounts.map((mount) => this.mounts.intern(mount)),
    };
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
