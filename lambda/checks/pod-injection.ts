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
  /** Why `eks.amazonaws.com/skip-containers` does not skip what it seems to (untrimmed names, bad CSV). */
  readonly skipContainersProblem?: string;
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
  const { names: skipContainers, problem: skipContainersProblem } = readSkipContainers(pod);
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
    ...(skipContainersProblem === undefined ? {} : { skipContainersProblem }),
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

/** The skip-containers names as the webhook reads them, and what a reader of the annotation would miss. */
function readSkipContainers(pod: Pod): { readonly names: ReadonlySet<string>; readonly problem?: string } {
  const value = pod.annotations[SKIP_CONTAINERS_ANNOTATION];
  if (value === undefined) return { names: new Set() };
  const fields = firstCsvRecord(value);
  if (fields === undefined) {
    return {
      names: new Set(),
      problem: `${SKIP_CONTAINERS_ANNOTATION} ${JSON.stringify(value)} is not valid CSV, so the webhook skips no container`,
    };
  }
  const containerNames = new Set(pod.containers.map((container) => container.name));
  const untrimmed = fields.filter(
    (field) => field !== field.trim() && !containerNames.has(field) && containerNames.has(field.trim()),
  );
  return {
    names: new Set(fields),
    ...(untrimmed.length === 0
      ? {}
      : {
          problem: `${SKIP_CONTAINERS_ANNOTATION} names ${untrimmed.map((field) => `"${field}"`).join(', ')}: the webhook does not trim spaces, so ${untrimmed.map((field) => field.trim()).join(', ')} ${untrimmed.length === 1 ? 'is' : 'are'} not skipped`,
        }),
  };
}

/**
 * The first record of a CSV text, parsed as Go's encoding/csv does with default settings (the
 * pod identity webhook reads skip-containers with `csv.NewReader(...).Read()`): fields are not
 * trimmed, `""` escapes a quote inside a quoted field, blank leading lines are skipped, and a bare
 * or unbalanced quote is an error, in which case the webhook skips nothing (undefined here).
 */
function firstCsvRecord(text: string): readonly string[] | undefined {
  const input = text.replace(/\r\n/g, '\n').replace(/\r$/, '').replace(/^\n+/, '');
  // An empty annotation makes Read() return io.EOF: nothing is skipped, and nothing is wrong.
  if (input === '') return [];
  const fields: string[] = [];
  let position = 0;
  for (;;) {
    if (input[position] === '"') {
      let field = '';
      let cursor = position + 1;
      for (;;) {
        const close = input.indexOf('"', cursor);
        if (close === -1) return undefined;
        field += input.slice(cursor, close);
        const after = input[close + 1];
        if (after === '"') {
          field += '"';
          cursor = close + 2;
          continue;
        }
        fields.push(field);
        if (after === ',') {
          position = close + 2;
          break;
        }
        if (after === '\n' || after === undefined) return fields;
        return undefined;
      }
      continue;
    }
    const rest = input.slice(position);
    const end = rest.search(/[,\n]/);
    const field = end === -1 ? rest : rest.slice(0, end);
    if (field.includes('"')) return undefined;
    fields.push(field);
    if (end === -1 || rest[end] === '\n') return fields;
    position += end + 1;
  }
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
