// The pod mutation of amazon-eks-pod-identity-webhook, ported from its pkg/handler/handler.go,
// pkg/cache/cache.go (ServiceAccount annotations → cache entry) and pkg/containercredentials (EKS Pod Identity),
// so the test webhook patches pods exactly as the one EKS runs. Names follow the Go code to ease comparison.

import { posix } from 'node:path';

type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
type JsonObject = { [key: string]: JsonValue };

/** One JSON Patch operation as the webhook emits it (`value` is omitted when absent, as Go's omitempty does). */
export interface PatchOperation {
  readonly op: 'add';
  readonly path: string;
  readonly value: JsonValue;
}

/** The EKS Pod Identity (container credentials) settings: the webhook's `--container-credentials-*` flags. */
export interface ContainerCredentialsSettings {
  readonly audience: string;
  readonly mountPath: string;
  readonly volumeName: string;
  readonly tokenPath: string;
  readonly fullUri: string;
}

/** The webhook's flags that shape a mutation; defaults are those of its main.go. */
export interface PodIdentityMutationSettings {
  /** `--annotation-prefix` (default `eks.amazonaws.com`). */
  readonly annotationPrefix: string;
  /** `--token-audience` (default `sts.amazonaws.com`): the audience unless the SA annotates another. */
  readonly tokenAudience: string;
  /** `--token-mount-path` (default `/var/run/secrets/eks.amazonaws.com/serviceaccount`). */
  readonly tokenMountPath: string;
  /** `--token-expiration` in seconds (default 86400, raised to 600 when lower). */
  readonly tokenExpiration: number;
  /** `--aws-default-region` (default empty: no AWS_REGION/AWS_DEFAULT_REGION). */
  readonly region: string;
  /** `--sts-regional-endpoint` (default false): inject AWS_STS_REGIONAL_ENDPOINTS=regional unless the SA says otherwise. */
  readonly stsRegionalEndpoints: boolean;
  readonly containerCredentials: ContainerCredentialsSettings;
  /** Go's rand.Int63n: the jitter for a Pod Identity token left at the default expiration. */
  readonly randomInt63n: (bound: number) => number;
}

// pkg/constants.go
export const DEFAULT_TOKEN_EXPIRATION = 86400;
const DEFAULT_MIN_TOKEN_EXPIRATION = 79200;
const MIN_TOKEN_EXPIRATION = 600;

/** The flag defaults of the webhook binary (main.go). */
export const WEBHOOK_DEFAULTS: Omit<PodIdentityMutationSettings, 'randomInt63n'> = {
  annotationPrefix: 'eks.amazonaws.com',
  tokenAudience: 'sts.amazonaws.com',
  tokenMountPath: '/var/run/secrets/eks.amazonaws.com/serviceaccount',
  tokenExpiration: DEFAULT_TOKEN_EXPIRATION,
  region: '',
  stsRegionalEndpoints: false,
  containerCredentials: {
    audience: 'pods.eks.amazonaws.com',
    mountPath: '/var/run/secrets/pods.eks.amazonaws.com/serviceaccount',
    volumeName: 'eks-pod-identity-token',
    tokenPath: 'eks-pod-identity-token',
    fullUri: 'http://169.254.170.23/v1/credentials',
  },
};

/** pkg.ValidateMinTokenExpiration: the API server refuses projected tokens shorter than 10 minutes. */
export function validateMinTokenExpiration(expiration: number): number {
  return Math.max(MIN_TOKEN_EXPIRATION, expiration);
}

// strconv.ParseInt(s, 10, 64): an optional sign and decimal digits, nothing else.
function parseGoInt(text: string): number | undefined {
  if (!/^[+-]?[0-9]+$/.test(text)) return undefined;
  const value = Number(text);
  return Number.isSafeInteger(value) ? value : undefined;
}

// strconv.ParseBool
function parseGoBool(text: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(text)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(text)) return false;
  return undefined;
}

function isObject(value: JsonValue | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function annotationsOf(object: JsonObject | undefined): Readonly<Record<string, string>> {
  const metadata = object?.metadata;
  const annotations = isObject(metadata) ? metadata.annotations : undefined;
  if (!isObject(annotations)) return {};
  return Object.fromEntries(
    Object.entries(annotations).filter((entry): entry is [string, string] => typeof entry[1] === 'string'),
  );
}

/** What the webhook's cache holds for a ServiceAccount (cache.Entry). */
export interface ServiceAccountCacheEntry {
  readonly roleArn: string;
  readonly audience: string;
  readonly useRegionalSts: boolean;
  readonly tokenExpiration: number;
}

/** cache.addSA: the entry for a ServiceAccount, from its annotations and the flag defaults. */
export function cacheEntryOf(
  serviceAccount: JsonObject,
  settings: Omit<PodIdentityMutationSettings, 'randomInt63n'>,
): ServiceAccountCacheEntry {
  const annotations = annotationsOf(serviceAccount);
  const key = (name: string) => `${settings.annotationPrefix}/${name}`;
  const regional = annotations[key('sts-regional-endpoints')];
  const expiration = annotations[key('token-expiration')];
  const parsedExpiration = expiration === undefined ? undefined : parseGoInt(expiration);
  return {
    roleArn: annotations[key('role-arn')] ?? '',
    audience: annotations[key('audience')] ?? settings.tokenAudience,
    useRegionalSts:
      (regional === undefined ? undefined : parseGoBool(regional)) ?? settings.stsRegionalEndpoints,
    tokenExpiration:
      parsedExpiration === undefined
        ? validateMinTokenExpiration(settings.tokenExpiration)
        : validateMinTokenExpiration(parsedExpiration),
  };
}

// csv.Reader.Read of the skip-containers annotation: the first record, RFC 4180 quoting, no space trimming. Any
// parse error (or an empty value, io.EOF) means no container is skipped.
function firstCsvRecord(text: string): string[] | undefined {
  const fields: string[] = [];
  let field = '';
  let index = 0;
  let quoted = false;
  let atFieldStart = true;
  if (text === '') return undefined;
  while (index < text.length) {
    const character = text[index]!;
    if (quoted) {
      if (character === '"') {
        if (text[index + 1] === '"') {
          field += '"';
          index += 2;
          continue;
        }
        quoted = false;
        index += 1;
        const next = text[index];
        if (next !== undefined && next !== ',' && next !== '\n' && next !== '\r') return undefined;
        continue;
      }
      field += character;
      index += 1;
      continue;
    }
    if (character === '\n' || character === '\r') break;
    if (character === ',') {
      fields.push(field);
      field = '';
      atFieldStart = true;
      index += 1;
      continue;
    }
    if (character === '"') {
      if (!atFieldStart) return undefined;
      quoted = true;
      atFieldStart = false;
      index += 1;
      continue;
    }
    field += character;
    atFieldStart = false;
    index += 1;
  }
  if (quoted) return undefined;
  fields.push(field);
  return fields;
}

function containersToSkip(pod: JsonObject, annotationPrefix: string): ReadonlySet<string> {
  const value = annotationsOf(pod)[`${annotationPrefix}/skip-containers`];
  if (value === undefined) return new Set();
  return new Set(firstCsvRecord(value) ?? []);
}

interface PodPatchConfig {
  readonly containersToSkip: ReadonlySet<string>;
  readonly tokenExpiration: number;
  readonly useRegionalSts: boolean;
  readonly audience: string;
  readonly mountPath: string;
  readonly volumeName: string;
  readonly tokenPath: string;
  readonly roleArn?: string;
  readonly containerCredentials?: ContainerCredentialsSettings;
}

function envNames(container: JsonObject): string[] {
  const env = Array.isArray(container.env) ? container.env : [];
  return env.filter(isObject).flatMap((entry) => (typeof entry.name === 'string' ? [entry.name] : []));
}

// Modifier.addEnvToContainer: returns the container with the env and mount it needs, and whether it changed.
function addEnvToContainer(
  original: JsonObject,
  tokenFilePath: string,
  config: PodPatchConfig,
  region: string,
): { readonly container: JsonObject; readonly changed: boolean } {
  const container = structuredClone(original);
  const names = envNames(container);
  const webIdentityKeysDefined = names.some(
    (name) => name === 'AWS_ROLE_ARN' || name === 'AWS_WEB_IDENTITY_TOKEN_FILE',
  );
  const containerCredentialsKeysDefined = names.some(
    (name) =>
      name === 'AWS_CONTAINER_CREDENTIALS_FULL_URI' || name === 'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE',
  );
  const regionKeyDefined = names.some((name) => name === 'AWS_REGION' || name === 'AWS_DEFAULT_REGION');
  const regionalStsKeyDefined = names.includes('AWS_STS_REGIONAL_ENDPOINTS');
  // A container that already has its credentials, region and STS settings is left alone, mount included.
  if (
    ((config.roleArn !== undefined && webIdentityKeysDefined) ||
      (config.containerCredentials !== undefined && containerCredentialsKeysDefined)) &&
    regionKeyDefined &&
    regionalStsKeyDefined
  )
    return { container, changed: false };

  let changed = false;
  const env: JsonValue[] = Array.isArray(container.env) ? [...container.env] : [];
  if (!regionalStsKeyDefined && config.useRegionalSts) {
    env.push({ name: 'AWS_STS_REGIONAL_ENDPOINTS', value: 'regional' });
    changed = true;
  }
  if (!regionKeyDefined && region !== '') {
    env.push({ name: 'AWS_DEFAULT_REGION', value: region }, { name: 'AWS_REGION', value: region });
    changed = true;
  }
  if (config.containerCredentials !== undefined) {
    if (!containerCredentialsKeysDefined) {
      env.push(
        { name: 'AWS_CONTAINER_CREDENTIALS_FULL_URI', value: config.containerCredentials.fullUri },
        { name: 'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE', value: tokenFilePath },
      );
      changed = true;
    }
  } else if (config.roleArn !== undefined && !webIdentityKeysDefined) {
    env.push(
      { name: 'AWS_ROLE_ARN', value: config.roleArn },
      { name: 'AWS_WEB_IDENTITY_TOKEN_FILE', value: tokenFilePath },
    );
    changed = true;
  }
  // Go's omitempty leaves an empty env list out of the re-serialized container.
  if (env.length > 0) container.env = env;
  else delete container.env;

  const mounts: JsonValue[] = Array.isArray(container.volumeMounts) ? [...container.volumeMounts] : [];
  const mounted = mounts.some((mount) => isObject(mount) && mount.name === config.volumeName);
  if (!mounted) {
    mounts.push({ name: config.volumeName, readOnly: true, mountPath: config.mountPath });
    container.volumeMounts = mounts;
    changed = true;
  }
  return { container, changed };
}

/** Whether an EKS Pod Identity association exists for a namespace and ServiceAccount (containercredentials.Config). */
export type PodIdentityAssociationLookup = (namespace: string, serviceAccount: string) => boolean;

/** The webhook's ServiceAccount cache: undefined when the SA is not in it. */
export type ServiceAccountCacheLookup = (
  namespace: string,
  name: string,
) => ServiceAccountCacheEntry | undefined;

// Modifier.buildPodPatchConfig: Pod Identity first, then the SA's role-arn; undefined means "do not mutate".
function buildPodPatchConfig(
  pod: JsonObject,
  namespace: string,
  settings: PodIdentityMutationSettings,
  cache: ServiceAccountCacheLookup,
  hasAssociation: PodIdentityAssociationLookup,
): PodPatchConfig | undefined {
  const spec = isObject(pod.spec) ? pod.spec : {};
  const serviceAccountName = typeof spec.serviceAccountName === 'string' ? spec.serviceAccountName : '';
  const entry = cache(namespace, serviceAccountName);
  const podExpiration = (fallback: number) => {
    const value = annotationsOf(pod)[`${settings.annotationPrefix}/token-expiration`];
    const parsed = value === undefined ? undefined : parseGoInt(value);
    return parsed === undefined ? fallback : validateMinTokenExpiration(parsed);
  };
  const containersSkipped = containersToSkip(pod, settings.annotationPrefix);
  if (hasAssociation(namespace, serviceAccountName)) {
    const credentials = settings.containerCredentials;
    // GetCommonConfigurations: the SA's sts/expiration annotations still apply; its role-arn does not.
    let tokenExpiration = podExpiration(entry?.tokenExpiration ?? DEFAULT_TOKEN_EXPIRATION);
    // addJitterToDefaultToken: spread default-lifetime tokens over [22h, 24h] so they do not all refresh at once.
    if (tokenExpiration === DEFAULT_TOKEN_EXPIRATION)
      tokenExpiration =
        settings.randomInt63n(DEFAULT_TOKEN_EXPIRATION - DEFAULT_MIN_TOKEN_EXPIRATION + 1) +
        DEFAULT_MIN_TOKEN_EXPIRATION;
    return {
      containersToSkip: containersSkipped,
      tokenExpiration,
      useRegionalSts: entry?.useRegionalSts ?? false,
      audience: credentials.audience,
      mountPath: credentials.mountPath,
      volumeName: credentials.volumeName,
      tokenPath: credentials.tokenPath,
      containerCredentials: credentials,
    };
  }
  if (entry === undefined || entry.roleArn === '') return undefined;
  return {
    containersToSkip: containersSkipped,
    tokenExpiration: podExpiration(entry.tokenExpiration),
    useRegionalSts: entry.useRegionalSts,
    audience: entry.audience,
    mountPath: settings.tokenMountPath,
    volumeName: 'aws-iam-token',
    tokenPath: 'token',
    roleArn: entry.roleArn,
  };
}

// Go re-serializes each container through corev1.Container, whose non-pointer `resources` is never omitted.
function asGoContainer(container: JsonObject): JsonObject {
  return isObject(container.resources) ? container : { ...container, resources: {} };
}

/** The JSON Patch the webhook returns for a pod, or undefined when it leaves the pod alone (Modifier.MutatePod). */
export function podIdentityPatch(
  pod: JsonObject,
  namespace: string,
  settings: PodIdentityMutationSettings,
  cache: ServiceAccountCacheLookup,
  hasAssociation: PodIdentityAssociationLookup,
): PatchOperation[] | undefined {
  const config = buildPodPatchConfig(pod, namespace, settings, cache, hasAssociation);
  if (config === undefined) return undefined;
  const spec = isObject(pod.spec) ? pod.spec : {};
  const nodeSelector = isObject(spec.nodeSelector) ? spec.nodeSelector : {};
  let tokenFilePath = posix.join(config.mountPath, config.tokenPath);
  if (nodeSelector['beta.kubernetes.io/os'] === 'windows' || nodeSelector['kubernetes.io/os'] === 'windows')
    tokenFilePath = `C:${tokenFilePath.replaceAll('/', '\\')}`;
  const mutate = (list: JsonValue | undefined) =>
    (Array.isArray(list) ? list.filter(isObject) : []).map((container) => {
      const name = typeof container.name === 'string' ? container.name : '';
      if (config.containersToSkip.has(name)) return asGoContainer(container);
      return asGoContainer(addEnvToContainer(container, tokenFilePath, config, settings.region).container);
    });
  const initContainers = mutate(spec.initContainers);
  const containers = mutate(spec.containers);

  const patch: PatchOperation[] = [];
  if (config.containerCredentials !== undefined) {
    const metadata = isObject(pod.metadata) ? pod.metadata : {};
    patch.push(
      isObject(metadata.labels)
        ? { op: 'add', path: '/metadata/labels/eks.amazonaws.com~1pod-identity', value: 'enabled' }
        : { op: 'add', path: '/metadata/labels', value: { 'eks.amazonaws.com/pod-identity': 'enabled' } },
    );
  }
  const volumes = Array.isArray(spec.volumes) ? spec.volumes : undefined;
  if (!(volumes ?? []).some((volume) => isObject(volume) && volume.name === config.volumeName)) {
    const volume: JsonObject = {
      name: config.volumeName,
      projected: {
        sources: [
          {
            serviceAccountToken: {
              ...(config.audience === '' ? {} : { audience: config.audience }),
              expirationSeconds: config.tokenExpiration,
              path: config.tokenPath,
            },
          },
        ],
      },
    };
    patch.push(
      volumes === undefined
        ? { op: 'add', path: '/spec/volumes', value: [volume] }
        : { op: 'add', path: '/spec/volumes/0', value: volume },
    );
  }
  patch.push({ op: 'add', path: '/spec/containers', value: containers });
  if (initContainers.length > 0)
    patch.push({ op: 'add', path: '/spec/initContainers', value: initContainers });
  return patch;
}
