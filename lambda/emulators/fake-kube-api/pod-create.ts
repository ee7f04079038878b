// POST /api/v1/namespaces/{ns}/pods, as kube-apiserver handles it for the parts that matter to IRSA: decode,
// dryRun, the NamespaceLifecycle and ServiceAccount admission plugins, the mutating webhooks (admission.ts),
// validation of what the webhooks produced, name generation, and storing the pod unless it is a dry run.

import { randomInt, randomUUID } from 'node:crypto';
import { admitPodCreate, type FakeWebhookCall } from './admission';
import type { JsonValue } from './json-patch';
import { labelsOf } from './label-selector';
import { addDefaultTolerations, defaultPod, mountServiceAccountToken, resolvePriority } from './pod-defaults';
import type { ObjectStore } from './resources';
import {
  alreadyExists,
  badRequest,
  type FieldCause,
  forbiddenByAdmission,
  invalidObject,
  objectNotFound,
  type StatusResponse,
  unsupportedMediaType,
} from './status';

/** Everything the create handler needs from the server around it. */
export interface PodCreateContext {
  readonly store: ObjectStore;
  readonly namespace: string;
  readonly body: string;
  readonly contentType: string;
  readonly query: URLSearchParams;
  readonly userName: string;
  readonly now: () => Date;
  readonly resolveService: (namespace: string, name: string) => string | undefined;
  readonly onCall: (call: FakeWebhookCall) => void;
}

type JsonObject = Record<string, JsonValue>;

function isObject(value: JsonValue | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function objectAt(parent: JsonObject, key: string): JsonObject {
  const value = parent[key];
  if (isObject(value)) return value;
  const created: JsonObject = {};
  parent[key] = created;
  return created;
}

// names.SimpleNameGenerator: generateName plus five characters from an alphabet without vowels or look-alikes.
const NAME_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

function generatedName(prefix: string): string {
  let suffix = '';
  for (let i = 0; i < 5; i += 1) suffix += NAME_ALPHABET[randomInt(NAME_ALPHABET.length)];
  return `${prefix.slice(0, 58)}${suffix}`;
}

function containersOf(spec: JsonObject, key: 'containers' | 'initContainers'): JsonObject[] {
  const value = spec[key];
  return Array.isArray(value) ? value.filter(isObject) : [];
}

// The few rules of ValidatePodCreate a broken webhook patch (or a test's pod) can break: a name, containers
// with an image, unique volumes, and mounts that refer to a volume.
function validationCauses(pod: JsonObject): FieldCause[] {
  const causes: FieldCause[] = [];
  const metadata = isObject(pod.metadata) ? pod.metadata : {};
  if ((metadata.name ?? '') === '' && (metadata.generateName ?? '') === '')
    causes.push({
      reason: 'FieldValueRequired',
      message: 'Required value: name or generateName is required',
      field: 'metadata.name',
    });
  const spec = isObject(pod.spec) ? pod.spec : {};
  if (containersOf(spec, 'containers').length === 0)
    causes.push({ reason: 'FieldValueRequired', message: 'Required value', field: 'spec.containers' });
  const volumes = Array.isArray(spec.volumes) ? spec.volumes : [];
  const names = new Set<string>();
  volumes.forEach((volume, index) => {
    const name = isObject(volume) && typeof volume.name === 'string' ? volume.name : '';
    if (names.has(name))
      causes.push({
        reason: 'FieldValueDuplicate',
        message: `Duplicate value: "${name}"`,
        field: `spec.volumes[${index}].name`,
      });
    names.add(name);
  });
  for (const key of ['initContainers', 'containers'] as const) {
    containersOf(spec, key).forEach((container, containerIndex) => {
      if (typeof container.image !== 'string' || container.image.trim() === '')
        causes.push({
          reason: 'FieldValueRequired',
          message: 'Required value',
          field: `spec.${key}[${containerIndex}].image`,
        });
      const mounts = Array.isArray(container.volumeMounts) ? container.volumeMounts : [];
      mounts.forEach((mount, mountIndex) => {
        const name = isObject(mount) && typeof mount.name === 'string' ? mount.name : '';
        if (!names.has(name))
          causes.push({
            reason: 'FieldValueNotFound',
            message: `Not found: "${name}"`,
            field: `spec.${key}[${containerIndex}].volumeMounts[${mountIndex}].name`,
          });
      });
    });
  }
  return causes;
}

// qos.GetPodQOS, reduced to what a test pod can carry: no requests or limits at all is BestEffort; limits equal
// to requests for cpu and memory in every container is Guaranteed; anything else is Burstable.
function qosClassOf(spec: JsonObject): string {
  const containers = containersOf(spec, 'containers');
  const resourcesOf = (container: JsonObject, key: 'requests' | 'limits') => {
    const resources = isObject(container.resources) ? container.resources : {};
    return isObject(resources[key]) ? resources[key] : {};
  };
  const any = containers.some(
    (container) =>
      Object.keys(resourcesOf(container, 'requests')).length > 0 ||
      Object.keys(resourcesOf(container, 'limits')).length > 0,
  );
  if (!any) return 'BestEffort';
  const guaranteed = containers.every((container) => {
    const limits = resourcesOf(container, 'limits');
    const requests = resourcesOf(container, 'requests');
    return ['cpu', 'memory'].every(
      (name) =>
        limits[name] !== undefined && (requests[name] === undefined || requests[name] === limits[name]),
    );
  });
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

function timestamp(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}

/** Handles a pod create: the 201 with the created (or, for dryRun=All, would-be) pod, or the failure Status. */
export async function createPod(context: PodCreateContext): Promise<StatusResponse> {
  const { store, namespace, query } = context;
  const mediaType = context.contentType.split(';')[0]!.trim().toLowerCase();
  if (mediaType !== '' && mediaType !== 'application/json') return unsupportedMediaType();
  const dryRun = query.getAll('dryRun');
  if (dryRun.some((value) => value !== 'All'))
    return invalidObject('CreateOptions.meta.k8s.io', '', [
      {
        reason: 'FieldValueNotSupported',
        message: `Unsupported value: ${JSON.stringify(dryRun)}: supported values: "All"`,
        field: 'dryRun',
      },
    ]);
  const isDryRun = dryRun.length > 0;
  let decoded: JsonValue;
  try {
    decoded = JSON.parse(context.body) as JsonValue;
  } catch (error) {
    return badRequest(
      `couldn't get version/kind; json parse error: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  if (!isObject(decoded)) return badRequest("couldn't get version/kind; json parse error: not an object");
  const pod = structuredClone(decoded);
  defaultPod(pod);
  if (pod.apiVersion !== undefined && pod.apiVersion !== 'v1')
    return badRequest(
      `the API version in the data (${String(pod.apiVersion)}) does not match the expected API version (v1)`,
    );
  if (pod.kind !== undefined && pod.kind !== 'Pod')
    return badRequest(`the kind in the data (${String(pod.kind)}) does not match the expected kind (Pod)`);
  const metadata = objectAt(pod, 'metadata');
  if (metadata.namespace !== undefined && metadata.namespace !== '' && metadata.namespace !== namespace)
    return badRequest(
      'the namespace of the provided object does not match the namespace sent on the request',
    );
  metadata.namespace = namespace;
  const displayName =
    typeof metadata.name === 'string' && metadata.name !== ''
      ? metadata.name
      : typeof metadata.generateName === 'string' && metadata.generateName !== ''
        ? metadata.generateName
        : 'Unknown';

  // NamespaceLifecycle: no object is created in a namespace that does not exist.
  const namespaceObject = store.get('namespaces', '', namespace);
  if (namespaceObject === undefined) return objectNotFound('namespaces', '', namespace);
  // kube-apiserver labels every namespace with its name (NamespaceDefaultLabelName), even if the object omits it.
  const namespaceLabels = { ...labelsOf(namespaceObject), 'kubernetes.io/metadata.name': namespace };

  // The ServiceAccount admission plugin: default the SA, and refuse one that does not exist. Every namespace has
  // a `default` SA (the controller creates it), so that one is taken to exist even when no object is served.
  const spec = objectAt(pod, 'spec');
  const deprecated = typeof spec.serviceAccount === 'string' ? spec.serviceAccount : '';
  const serviceAccountName =
    typeof spec.serviceAccountName === 'string' && spec.serviceAccountName !== ''
      ? spec.serviceAccountName
      : deprecated !== ''
        ? deprecated
        : 'default';
  spec.serviceAccountName = serviceAccountName;
  // The v1 conversion mirrors serviceAccountName into the deprecated field.
  spec.serviceAccount = serviceAccountName;
  if (
    serviceAccountName !== 'default' &&
    store.get('serviceaccounts', namespace, serviceAccountName) === undefined
  )
    return forbiddenByAdmission(
      'pods',
      displayName,
      `error looking up service account ${namespace}/${serviceAccountName}: serviceaccount "${serviceAccountName}" not found`,
    );

  // The other mutating plugins that run before the webhooks.
  mountServiceAccountToken(
    pod,
    store.get('serviceaccounts', namespace, serviceAccountName) as JsonObject | undefined,
    generatedName,
  );
  const priorityProblem = resolvePriority(pod);
  if (priorityProblem !== undefined) return forbiddenByAdmission('pods', displayName, priorityProblem);
  addDefaultTolerations(pod);

  const admitted = await admitPodCreate({
    pod,
    namespace,
    namespaceLabels,
    configurations: store.list('mutatingwebhookconfigurations'),
    userName: context.userName,
    dryRun: isDryRun,
    ...(query.get('fieldManager') === null ? {} : { fieldManager: query.get('fieldManager')! }),
    resolveService: context.resolveService,
    onCall: context.onCall,
  });
  if (!admitted.allowed) return admitted.status;

  const created = admitted.pod;
  const createdMetadata = objectAt(created, 'metadata');
  // Names are generated after admission and before validation (rest.BeforeCreate), so webhooks see only
  // generateName and a 422 names the generated pod.
  if (
    (typeof createdMetadata.name !== 'string' || createdMetadata.name === '') &&
    typeof createdMetadata.generateName === 'string' &&
    createdMetadata.generateName !== ''
  )
    createdMetadata.name = generatedName(createdMetadata.generateName);
  const causes = validationCauses(created);
  if (causes.length > 0)
    return invalidObject('Pod', typeof createdMetadata.name === 'string' ? createdMetadata.name : '', causes);
  const name = String(createdMetadata.name);
  // A dry run checks for a taken name too (DryRunnableStorage.Create).
  if (store.get('pods', namespace, name) !== undefined) return alreadyExists('pods', name);
  createdMetadata.uid = randomUUID();
  createdMetadata.creationTimestamp = timestamp(context.now());
  delete createdMetadata.resourceVersion;
  created.status = { phase: 'Pending', qosClass: qosClassOf(objectAt(created, 'spec')) };
  created.kind = 'Pod';
  created.apiVersion = 'v1';
  // A dry run never reaches etcd, so it has no resourceVersion.
  const answer = isDryRun ? created : store.add('pods', created);
  return { code: 201, body: answer as Readonly<Record<string, unknown>> };
}
