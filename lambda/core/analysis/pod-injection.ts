// What the pod identity webhook did (or did not do) to one pod, read back from its spec, and which
// credentials the AWS SDK in each container can actually use as a result.
//
// AuditContext computes this once per pod in scope; the checks read it from there. It runs for every
// pod of every audit (100,000 in SPEC §10's budget), so it is written as plain loops over the
// containers, with no closure or intermediate array per container.

import type { Container, EnvVar, Pod, ProjectedTokenVolume } from '../model/cluster-state';
import {
  ENV_DEFAULT_REGION,
  ENV_POD_IDENTITY_TOKEN_FILE,
  ENV_POD_IDENTITY_URI,
  ENV_REGION,
  ENV_ROLE_ARN,
  ENV_STS_REGIONAL_ENDPOINTS,
  ENV_TOKEN_FILE,
  POD_IDENTITY_TOKEN_DIRECTORY,
  POD_IDENTITY_VOLUME,
  SKIP_CONTAINERS_ANNOTATION,
  SKIP_WEBHOOK_LABEL,
  TOKEN_DIRECTORY,
  TOKEN_VOLUME,
} from './eks-conventions';

/**
 * The credentials a container's AWS SDK will use: a complete web identity set, a complete Pod
 * Identity set, some traces of either that do not add up to a working set, or nothing at all.
 */
export type ContainerCredentials = 'web-identity' | 'pod-identity' | 'incomplete' | 'none';

/** Why a container's IRSA or Pod Identity traces do not give the SDK credentials. */
export interface CredentialGap {
  readonly mechanism: 'web-identity' | 'pod-identity';
  /** What the container lacks: a variable, both, or a mount that puts the token where the variable says. */
  readonly missing: string;
  /** The variable the pod spec sets itself, which kept the webhook from adding the missing one. */
  readonly handSet: string | undefined;
  /** One clause for a message, starting with a verb: "sets AWS_ROLE_ARN itself but has no ...". */
  readonly reason: string;
}

export interface ContainerInjection {
  readonly container: Container;
  /** Named in `eks.amazonaws.com/skip-containers`: the webhook leaves it alone on purpose. */
  readonly skipped: boolean;
  /** The literal `AWS_ROLE_ARN`, when the variable holds one. */
  readonly roleArn: string | undefined;
  readonly hasRoleArnEnv: boolean;
  readonly hasTokenFileEnv: boolean;
  readonly hasTokenMount: boolean;
  readonly hasPodIdentityEnv: boolean;
  readonly hasPodIdentityTokenFileEnv: boolean;
  /** Carries any trace of IRSA or Pod Identity: one of their variables or token mounts. */
  readonly mutated: boolean;
  readonly credentials: ContainerCredentials;
  /** For an incomplete container: what is wrong with each mechanism it has traces of. */
  readonly gaps: readonly CredentialGap[];
}

const NO_SKIPPED: ReadonlySet<string> = new Set();
const NO_GAPS: readonly CredentialGap[] = [];
const NO_NAMES: readonly string[] = [];
const SLASH = '/'.charCodeAt(0);
const webIdentityUntouched = `; it also sets a region and ${ENV_STS_REGIONAL_ENDPOINTS}, so the webhook left it alone entirely, mount included`;

/**
 * The webhook's traces in one pod and what each container's SDK can do with them. The summary
 * (counts, mode, role ARN) is read when the pod is; the per-container detail, which only pods with
 * a finding need, is built on first use.
 */
export class PodInjection {
  readonly skipLabel: boolean;
  /** Why `eks.amazonaws.com/skip-containers` does not skip what it seems to (untrimmed names, bad CSV). */
  readonly skipContainersProblem: string | undefined;
  /** Containers the skip-containers annotation seems to name but does not skip (it names them with spaces). */
  readonly skipMisses: readonly string[];
  readonly tokenVolume: ProjectedTokenVolume | undefined;
  readonly hasPodIdentityVolume: boolean;
  /** The first `AWS_ROLE_ARN` literal of the pod's containers. */
  readonly roleArn: string | undefined;
  /** Some container's `AWS_ROLE_ARN` literal differs from the first one. */
  readonly mixedRoleArns: boolean;
  /** Any container or volume shows a trace of the webhook (or of someone imitating it). */
  readonly mutated: boolean;
  /** Containers outside skip-containers whose SDK gets web identity or Pod Identity credentials. */
  readonly working: number;
  /** Containers outside skip-containers whose SDK gets neither (incomplete or none). */
  readonly broken: number;
  /** Credentials the pod's working containers have: IRSA, Pod Identity, both, or none. */
  readonly mode: 'irsa' | 'pod-identity' | 'both' | 'none';
  private readonly skipNames: ReadonlySet<string>;
  private detail: readonly ContainerInjection[] | undefined;

  constructor(readonly pod: Pod) {
    const skipAnnotation = pod.annotations[SKIP_CONTAINERS_ANNOTATION];
    const skip = skipAnnotation === undefined ? undefined : readSkipContainers(pod, skipAnnotation);
    this.skipNames = skip?.names ?? NO_SKIPPED;
    this.skipContainersProblem = skip?.problem;
    this.skipMisses = skip?.misses ?? NO_NAMES;
    this.skipLabel = Object.hasOwn(pod.labels, SKIP_WEBHOOK_LABEL);
    let tokenVolume: ProjectedTokenVolume | undefined;
    let podIdentityVolume: ProjectedTokenVolume | undefined;
    for (const volume of pod.tokenVolumes) {
      if (volume.volumeName === TOKEN_VOLUME) tokenVolume = volume;
      else if (volume.volumeName === POD_IDENTITY_VOLUME) podIdentityVolume = volume;
    }
    this.tokenVolume = tokenVolume;
    this.hasPodIdentityVolume = podIdentityVolume !== undefined;
    let roleArn: string | undefined;
    let mixedRoleArns = false;
    let mutated = tokenVolume !== undefined || podIdentityVolume !== undefined;
    let working = 0;
    let broken = 0;
    let webIdentity = false;
    let podIdentity = false;
    for (const container of pod.containers) {
      const arn = lastEnv(container, ENV_ROLE_ARN)?.value;
      if (arn !== undefined) {
        if (roleArn === undefined) roleArn = arn;
        else if (arn !== roleArn) mixedRoleArns = true;
      }
      const credentials = credentialsOf(container, pod.tokenVolumes);
      if (credentials !== 'none') mutated = true;
      if (this.skipNames.has(container.name)) continue;
      if (credentials === 'web-identity') webIdentity = true;
      else if (credentials === 'pod-identity') podIdentity = true;
      else {
        broken += 1;
        continue;
      }
      working += 1;
    }
    this.roleArn = roleArn;
    this.mixedRoleArns = mixedRoleArns;
    this.mutated = mutated;
    this.working = working;
    this.broken = broken;
    this.mode =
      webIdentity && podIdentity ? 'both' : webIdentity ? 'irsa' : podIdentity ? 'pod-identity' : 'none';
  }

  /** Each container, with its variables, mounts, credentials and what is wrong with them. */
  get containers(): readonly ContainerInjection[] {
    this.detail ??= this.pod.containers.map((container) =>
      containerInjection(container, this.skipNames.has(container.name), this.pod.tokenVolumes),
    );
    return this.detail;
  }

  /** The distinct `AWS_ROLE_ARN` literals across containers. */
  get roleArns(): readonly string[] {
    if (this.roleArn === undefined) return NO_NAMES;
    if (!this.mixedRoleArns) return [this.roleArn];
    return [
      ...new Set(this.containers.flatMap((entry) => (entry.roleArn === undefined ? [] : [entry.roleArn]))),
    ];
  }
}

/** Reads the webhook's traces in a pod and what each container's SDK can do with them. */
export function podInjection(pod: Pod): PodInjection {
  return new PodInjection(pod);
}

/** True when some container of the pod sets `AWS_ROLE_ARN`, injected or by hand. */
export function podCarriesRoleArn(pod: Pod): boolean {
  for (const container of pod.containers) {
    for (const variable of container.env) if (variable.name === ENV_ROLE_ARN) return true;
  }
  return false;
}

/** The last variable of a name (Kubernetes lets a later entry of the same name win). */
function lastEnv(container: Container, name: string): EnvVar | undefined {
  let found: EnvVar | undefined;
  for (const variable of container.env) if (variable.name === name) found = variable;
  return found;
}

/** Whether a container mounts a volume by name, or anything at the directory the webhook uses for it. */
function mountsVolume(container: Container, volumeName: string, directory: string): boolean {
  for (const mount of container.volumeMounts) {
    if (mount.name === volumeName || withoutTrailingSlash(mount.mountPath) === directory) return true;
  }
  return false;
}

/**
 * The credentials a container's SDK gets. The SDKs use web identity only with both of its variables
 * (and a readable token), and Pod Identity (the container credentials provider) only with both of
 * its variables; anything short of that is a trace that does not work. One pass over the
 * environment, no allocation: it runs for every container of every pod.
 */
function credentialsOf(
  container: Container,
  tokenVolumes: readonly ProjectedTokenVolume[],
): ContainerCredentials {
  let roleArn: EnvVar | undefined;
  let tokenFile: EnvVar | undefined;
  let podIdentityUri: EnvVar | undefined;
  let podIdentityTokenFile: EnvVar | undefined;
  for (const variable of container.env) {
    switch (variable.name) {
      case ENV_ROLE_ARN:
        roleArn = variable;
        break;
      case ENV_TOKEN_FILE:
        tokenFile = variable;
        break;
      case ENV_POD_IDENTITY_URI:
        podIdentityUri = variable;
        break;
      case ENV_POD_IDENTITY_TOKEN_FILE:
        podIdentityTokenFile = variable;
        break;
    }
  }
  if (
    roleArn !== undefined &&
    tokenFile !== undefined &&
    tokenReachable(tokenFile, container, TOKEN_VOLUME, TOKEN_DIRECTORY, tokenVolumes)
  )
    return 'web-identity';
  if (
    podIdentityUri !== undefined &&
    podIdentityTokenFile !== undefined &&
    tokenReachable(
      podIdentityTokenFile,
      container,
      POD_IDENTITY_VOLUME,
      POD_IDENTITY_TOKEN_DIRECTORY,
      tokenVolumes,
    )
  )
    return 'pod-identity';
  if (roleArn !== undefined || tokenFile !== undefined || podIdentityUri !== undefined) return 'incomplete';
  if (podIdentityTokenFile !== undefined) return 'incomplete';
  return mountsVolume(container, TOKEN_VOLUME, TOKEN_DIRECTORY) ||
    mountsVolume(container, POD_IDENTITY_VOLUME, POD_IDENTITY_TOKEN_DIRECTORY)
    ? 'incomplete'
    : 'none';
}

function containerInjection(
  container: Container,
  skipped: boolean,
  tokenVolumes: readonly ProjectedTokenVolume[],
): ContainerInjection {
  const credentials = credentialsOf(container, tokenVolumes);
  const roleArn = lastEnv(container, ENV_ROLE_ARN);
  const tokenFile = lastEnv(container, ENV_TOKEN_FILE);
  const podIdentityUri = lastEnv(container, ENV_POD_IDENTITY_URI);
  const podIdentityTokenFile = lastEnv(container, ENV_POD_IDENTITY_TOKEN_FILE);
  const tokenMount = mountsVolume(container, TOKEN_VOLUME, TOKEN_DIRECTORY);
  const podIdentityMount = mountsVolume(container, POD_IDENTITY_VOLUME, POD_IDENTITY_TOKEN_DIRECTORY);
  const webIdentityTrace = roleArn !== undefined || tokenFile !== undefined || tokenMount;
  const podIdentityTrace =
    podIdentityUri !== undefined || podIdentityTokenFile !== undefined || podIdentityMount;
  const gaps: CredentialGap[] = [];
  if (credentials === 'incomplete' && webIdentityTrace) {
    // The webhook adds no mount either to a container that presets one of these, a region and the
    // regional STS variable: it counts it as fully configured (handler.go addEnvToContainer).
    const region = lastEnv(container, ENV_REGION) ?? lastEnv(container, ENV_DEFAULT_REGION);
    const untouched =
      region !== undefined && lastEnv(container, ENV_STS_REGIONAL_ENDPOINTS) !== undefined
        ? webIdentityUntouched
        : '';
    gaps.push(
      credentialGap('web-identity', roleArn, tokenFile, tokenMount, ENV_ROLE_ARN, ENV_TOKEN_FILE, untouched),
    );
  }
  if (credentials === 'incomplete' && podIdentityTrace) {
    gaps.push(
      credentialGap(
        'pod-identity',
        podIdentityUri,
        podIdentityTokenFile,
        podIdentityMount,
        ENV_POD_IDENTITY_URI,
        ENV_POD_IDENTITY_TOKEN_FILE,
        '',
      ),
    );
  }
  return {
    container,
    skipped,
    roleArn: roleArn?.value,
    hasRoleArnEnv: roleArn !== undefined,
    hasTokenFileEnv: tokenFile !== undefined,
    hasTokenMount: tokenMount,
    hasPodIdentityEnv: podIdentityUri !== undefined,
    hasPodIdentityTokenFileEnv: podIdentityTokenFile !== undefined,
    mutated: credentials !== 'none',
    credentials,
    gaps: gaps.length === 0 ? NO_GAPS : gaps,
  };
}

/**
 * What keeps a pair of credential variables from working. The webhook adds both or neither: it
 * skips the pair when the container already sets either one (handler.go addEnvToContainer), so a
 * lone variable was written into the pod spec.
 */
function credentialGap(
  mechanism: CredentialGap['mechanism'],
  first: EnvVar | undefined,
  second: EnvVar | undefined,
  mounted: boolean,
  firstName: string,
  secondName: string,
  note: string,
): CredentialGap {
  const volume = mechanism === 'web-identity' ? TOKEN_VOLUME : POD_IDENTITY_VOLUME;
  if (first !== undefined && second === undefined) {
    return {
      mechanism,
      missing: secondName,
      handSet: firstName,
      reason: `sets ${firstName} itself but has no ${secondName}, and the webhook adds neither variable to a container that already sets one of them${note}`,
    };
  }
  if (first === undefined && second !== undefined) {
    return {
      mechanism,
      missing: firstName,
      handSet: secondName,
      reason: `sets ${secondName} itself but has no ${firstName}, and the webhook adds neither variable to a container that already sets one of them${note}`,
    };
  }
  if (first !== undefined && second !== undefined) {
    const where = second.value === undefined ? '' : ` (${second.value})`;
    return {
      mechanism,
      missing: `a mount of the ${volume} volume holding ${secondName}`,
      handSet: undefined,
      reason: `has ${firstName} and ${secondName}, but no mount of the ${volume} volume puts the token at ${secondName}${where}${note}`,
    };
  }
  return {
    mechanism,
    missing: `${firstName} and ${secondName}`,
    handSet: undefined,
    reason: `mounts ${mounted ? `the ${volume} volume` : 'a token'} but has neither ${firstName} nor ${secondName}`,
  };
}

/**
 * Whether a token-file variable points into a mount of the token volume: exactly at the projected
 * file when the pod's volume is known, anywhere under the mount otherwise. A value from a
 * ConfigMap or Secret cannot be read here, so any mount of the volume counts.
 */
function tokenReachable(
  variable: EnvVar,
  container: Container,
  volumeName: string,
  directory: string,
  tokenVolumes: readonly ProjectedTokenVolume[],
): boolean {
  // On Windows nodes the webhook writes the path as C:\var\run\...\token (handler.go getPodSpecPatch).
  const raw = variable.value;
  const file =
    raw === undefined || raw.charCodeAt(0) === SLASH
      ? raw
      : raw.replace(/^[A-Za-z]:/, '').replaceAll('\\', '/');
  for (const mount of container.volumeMounts) {
    const mountPath = withoutTrailingSlash(mount.mountPath);
    if (mount.name !== volumeName && mountPath !== directory) continue;
    if (file === undefined) return true;
    let projected: ProjectedTokenVolume | undefined;
    for (const volume of tokenVolumes) if (volume.volumeName === mount.name) projected = volume;
    // Compared in place rather than by building `${mountPath}/${path}`: this runs for every container.
    if (!file.startsWith(mountPath) || file.charCodeAt(mountPath.length) !== SLASH) continue;
    if (projected === undefined) return true;
    const name = projected.path;
    if (file.length === mountPath.length + 1 + name.length && file.endsWith(name)) return true;
  }
  return false;
}

function withoutTrailingSlash(path: string): string {
  return path.endsWith('/') ? path.replace(/\/+$/, '') : path;
}

/** The skip-containers names as the webhook reads them, and what a reader of the annotation would miss. */
function readSkipContainers(
  pod: Pod,
  value: string,
): {
  readonly names: ReadonlySet<string>;
  readonly problem: string | undefined;
  readonly misses: readonly string[];
} {
  const fields = firstCsvRecord(value);
  if (fields === undefined) {
    return {
      names: NO_SKIPPED,
      problem: `${SKIP_CONTAINERS_ANNOTATION} ${JSON.stringify(value)} is not valid CSV, so the webhook skips no container`,
      misses: NO_NAMES,
    };
  }
  const containerNames = new Set(pod.containers.map((container) => container.name));
  const untrimmed = fields.filter(
    (field) => field !== field.trim() && !containerNames.has(field) && containerNames.has(field.trim()),
  );
  return {
    names: new Set(fields),
    misses: untrimmed.map((field) => field.trim()),
    problem:
      untrimmed.length === 0
        ? undefined
        : `${SKIP_CONTAINERS_ANNOTATION} names ${untrimmed.map((field) => `"${field}"`).join(', ')}: the webhook does not trim spaces, so ${untrimmed.map((field) => field.trim()).join(', ')} ${untrimmed.length === 1 ? 'is' : 'are'} not skipped`,
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
