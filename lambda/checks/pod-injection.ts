// What the pod identity webhook did (or did not do) to one pod, read back from its spec.

import type { Container, Pod, ProjectedTokenVolume } from '../model/cluster-state';
import {
  ENV_POD_IDENTITY_URI,
  ENV_ROLE_ARN,
  ENV_TOKEN_FILE,
  POD_IDENTITY_VOLUME,
  SKIP_CONTAINERS_ANNOTATION,
  SKIP_WEBHOOK_LABEL,
  TOKEN_DIRECTORY,
  TOKEN_VOLUME,
} from './eks-conventions';

export interface ContainerInjection {
  readonly container: Container;
  /** Named in `eks.amazonaws.com/skip-containers`: the webhook leaves it alone on purpose. */
  readonly skipped: boolean;
  readonly roleArn?: string;
  readonly hasTokenFileEnv: boolean;
  readonly hasTokenMount: boolean;
  readonly hasPodIdentityEnv: boolean;
  /** Carries any trace of the webhook: web identity env or mount, or Pod Identity env. */
  readonly mutated: boolean;
}

export interface PodInjection {
  readonly pod: Pod;
  readonly skipLabel: boolean;
  readonly containers: readonly ContainerInjection[];
  readonly tokenVolume?: ProjectedTokenVolume;
  readonly hasPodIdentityVolume: boolean;
  /** The distinct `AWS_ROLE_ARN` literals across containers. */
  readonly roleArns: readonly string[];
  /** Any container or volume shows the webhook ran. */
  readonly mutated: boolean;
  /** Credentials the pod's containers were given: IRSA, Pod Identity, both, or none. */
  readonly mode: 'irsa' | 'pod-identity' | 'both' | 'none';
}

const cache = new WeakMap<Pod, PodInjection>();

/** Reads the webhook's traces in a pod (memoised: several checks ask about the same pod). */
export function podInjection(pod: Pod): PodInjection {
  const cached = cache.get(pod);
  if (cached !== undefined) return cached;
  const skipContainers = new Set(
    (pod.annotations[SKIP_CONTAINERS_ANNOTATION] ?? '')
      .split(',')
      .map((name) => name.trim())
      .filter((name) => name !== ''),
  );
  const containers = pod.containers.map((container) => containerInjection(container, skipContainers));
  const tokenVolume = pod.tokenVolumes.find((volume) => volume.volumeName === TOKEN_VOLUME);
  const hasPodIdentityVolume = pod.tokenVolumes.some((volume) => volume.volumeName === POD_IDENTITY_VOLUME);
  const roleArns = [
    ...new Set(containers.flatMap((entry) => (entry.roleArn === undefined ? [] : [entry.roleArn]))),
  ];
  const irsa = tokenVolume !== undefined || containers.some((c) => c.hasTokenFileEnv || c.hasTokenMount);
  const podIdentity = hasPodIdentityVolume || containers.some((c) => c.hasPodIdentityEnv);
  const result: PodInjection = {
    pod,
    skipLabel: Object.hasOwn(pod.labels, SKIP_WEBHOOK_LABEL),
    containers,
    ...(tokenVolume === undefined ? {} : { tokenVolume }),
    hasPodIdentityVolume,
    roleArns,
    mutated: irsa || podIdentity,
    mode: irsa && podIdentity ? 'both' : irsa ? 'irsa' : podIdentity ? 'pod-identity' : 'none',
  };
  cache.set(pod, result);
  return result;
}

function containerInjection(container: Container, skipContainers: ReadonlySet<string>): ContainerInjection {
  const env = (name: string) => container.env.find((variable) => variable.name === name);
  const roleArn = env(ENV_ROLE_ARN)?.value;
  const hasTokenFileEnv = env(ENV_TOKEN_FILE) !== undefined;
  const hasTokenMount = container.volumeMounts.some(
    (mount) => mount.name === TOKEN_VOLUME || mount.mountPath.replace(/\/+$/, '') === TOKEN_DIRECTORY,
  );
  const hasPodIdentityEnv = env(ENV_POD_IDENTITY_URI) !== undefined;
  return {
    container,
    skipped: skipContainers.has(container.name),
    ...(roleArn === undefined ? {} : { roleArn }),
    hasTokenFileEnv,
    hasTokenMount,
    hasPodIdentityEnv,
    mutated: hasTokenFileEnv || hasTokenMount || hasPodIdentityEnv,
  };
}

/** True when some container of the pod sets `AWS_ROLE_ARN`, injected or by hand. */
export function podCarriesRoleArn(pod: Pod): boolean {
  return pod.containers.some((container) => container.env.some((variable) => variable.name === ENV_ROLE_ARN));
}
