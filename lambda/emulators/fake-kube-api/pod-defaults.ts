// What kube-apiserver adds to a pod before the mutating webhooks see it, as the differential test against the
// real server (test/integration/real-kube/fidelity.test.ts) found it:
// - the v1 defaulting (k8s.io/kubernetes/pkg/apis/core/v1/defaults.go), applied to the decoded pod and again
//   to each webhook's patched pod: the pod spec's restart, DNS, scheduler and grace-period defaults, each
//   container's pull policy and termination message, `protocol: TCP` on ports, `defaultMode: 420` (0644) on
//   projected, secret, configMap and downwardAPI volumes;
// - the ServiceAccount admission plugin's bound token volume (`kube-api-access-xxxxx`, mounted read-only at
//   /var/run/secrets/kubernetes.io/serviceaccount in every container), unless automounting is off;
// - DefaultTolerationSeconds (300 s for not-ready and unreachable) and Priority (0, PreemptLowerPriority, or
//   the built-in system classes).

import type { JsonValue } from './json-patch';

type JsonObject = { [key: string]: JsonValue };

const MODE_DEFAULTED_SOURCES = ['projected', 'secret', 'configMap', 'downwardAPI'] as const;
const CONTAINER_KINDS = ['initContainers', 'containers'] as const;

/** Where the ServiceAccount admission plugin mounts the API token (DefaultAPITokenMountPath). */
export const API_TOKEN_MOUNT_PATH = '/var/run/secrets/kubernetes.io/serviceaccount';
const API_ACCESS_VOLUME_PREFIX = 'kube-api-access-';
/** serviceaccount.WarnOnlyBoundTokenExpirationSeconds: what the plugin asks for (an hour and seven seconds). */
const BOUND_TOKEN_EXPIRATION_SECONDS = 3607;
/** The PriorityClasses every cluster has (scheduling.SystemPriorityClasses). */
const SYSTEM_PRIORITY_CLASSES: Readonly<Record<string, number>> = {
  'system-node-critical': 2_000_001_000,
  'system-cluster-critical': 2_000_000_000,
};

function isObject(value: JsonValue | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function objectsAt(parent: JsonObject, key: string): JsonObject[] {
  const value = parent[key];
  return Array.isArray(value) ? value.filter(isObject) : [];
}

/** SetDefaults_Container's pull policy: Always for `:latest` or no tag, IfNotPresent otherwise (or a digest). */
function pullPolicyOf(image: JsonValue | undefined): string {
  if (typeof image !== 'string' || image.includes('@')) return 'IfNotPresent';
  const lastPart = image.slice(image.lastIndexOf('/') + 1);
  const colon = lastPart.lastIndexOf(':');
  const tag = colon < 0 ? 'latest' : lastPart.slice(colon + 1);
  return tag === 'latest' ? 'Always' : 'IfNotPresent';
}

/** The v1 defaulting of a pod, in place; idempotent, so it runs after every webhook patch too. */
export function defaultPod(pod: JsonObject): void {
  const spec = pod.spec;
  if (!isObject(spec)) return;
  spec.restartPolicy ??= 'Always';
  spec.dnsPolicy ??= 'ClusterFirst';
  spec.terminationGracePeriodSeconds ??= 30;
  spec.securityContext ??= {};
  spec.schedulerName ??= 'default-scheduler';
  spec.enableServiceLinks ??= true;
  for (const kind of CONTAINER_KINDS)
    for (const container of objectsAt(spec, kind)) {
      container.terminationMessagePath ??= '/dev/termination-log';
      container.terminationMessagePolicy ??= 'File';
      container.imagePullPolicy ??= pullPolicyOf(container.image);
      for (const port of objectsAt(container, 'ports')) port.protocol ??= 'TCP';
    }
  for (const volume of objectsAt(spec, 'volumes'))
    for (const kind of MODE_DEFAULTED_SOURCES) {
      const source = volume[kind];
      if (isObject(source) && source.defaultMode === undefined) source.defaultMode = 420;
    }
}

/**
 * The ServiceAccount admission plugin with bound token volumes (the default since 1.21, and EKS's): unless
 * the pod or its ServiceAccount turns automounting off, every container without a mount at the token path
 * mounts a `kube-api-access-<suffix>` projected volume, added unless the pod has one already.
 */
export function mountServiceAccountToken(
  pod: JsonObject,
  serviceAccount: JsonObject | undefined,
  generateName: (prefix: string) => string,
): void {
  const spec = pod.spec;
  if (!isObject(spec)) return;
  const automount =
    typeof spec.automountServiceAccountToken === 'boolean'
      ? spec.automountServiceAccountToken
      : typeof serviceAccount?.automountServiceAccountToken === 'boolean'
        ? serviceAccount.automountServiceAccountToken
        : true;
  if (!automount) return;
  const existing = objectsAt(spec, 'volumes').find(
    (volume) => typeof volume.name === 'string' && volume.name.startsWith(API_ACCESS_VOLUME_PREFIX),
  );
  const volumeName =
    typeof existing?.name === 'string' ? existing.name : generateName(API_ACCESS_VOLUME_PREFIX);
  let needsVolume = false;
  for (const kind of CONTAINER_KINDS)
    for (const container of objectsAt(spec, kind)) {
      const mounts = objectsAt(container, 'volumeMounts');
      if (mounts.some((mount) => mount.mountPath === API_TOKEN_MOUNT_PATH)) continue;
      container.volumeMounts = [
        ...(Array.isArray(container.volumeMounts) ? container.volumeMounts : []),
        { name: volumeName, readOnly: true, mountPath: API_TOKEN_MOUNT_PATH },
      ];
      needsVolume = true;
    }
  if (existing !== undefined || !needsVolume) return;
  spec.volumes = [
    ...(Array.isArray(spec.volumes) ? spec.volumes : []),
    {
      name: volumeName,
      projected: {
        sources: [
          { serviceAccountToken: { expirationSeconds: BOUND_TOKEN_EXPIRATION_SECONDS, path: 'token' } },
          { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
          {
            downwardAPI: {
              items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }],
            },
          },
        ],
        defaultMode: 420,
      },
    },
  ];
}

/** DefaultTolerationSeconds: tolerate not-ready and unreachable nodes for 300 s unless the pod says otherwise. */
export function addDefaultTolerations(pod: JsonObject): void {
  const spec = pod.spec;
  if (!isObject(spec)) return;
  const tolerations = objectsAt(spec, 'tolerations');
  const tolerates = (taint: string) =>
    tolerations.some(
      (toleration) =>
        (toleration.key === taint || (toleration.key ?? '') === '') &&
        (toleration.effect === 'NoExecute' || (toleration.effect ?? '') === ''),
    );
  const added = ['node.kubernetes.io/not-ready', 'node.kubernetes.io/unreachable']
    .filter((taint) => !tolerates(taint))
    .map((key) => ({ key, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 }));
  if (added.length > 0)
    spec.tolerations = [...(Array.isArray(spec.tolerations) ? spec.tolerations : []), ...added];
}

/**
 * The Priority plugin, for a cluster with only the built-in classes and no global default: the priority of the
 * named class (0 without one) and PreemptLowerPriority; the problem when the class does not exist.
 */
export function resolvePriority(pod: JsonObject): string | undefined {
  const spec = pod.spec;
  if (!isObject(spec)) return undefined;
  const className = typeof spec.priorityClassName === 'string' ? spec.priorityClassName : '';
  const priority = className === '' ? 0 : SYSTEM_PRIORITY_CLASSES[className];
  if (priority === undefined) return `no PriorityClass with name ${className} was found`;
  if (typeof spec.priority === 'number' && spec.priority !== priority)
    return `the integer value of priority (${spec.priority}) must not be provided in pod spec; priority admission controller computed ${priority} from the given PriorityClass name`;
  spec.priority = priority;
  spec.preemptionPolicy ??= 'PreemptLowerPriority';
  return undefined;
}
