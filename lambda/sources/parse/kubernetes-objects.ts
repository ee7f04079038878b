// Kubernetes objects (as the API and `kubectl get -o json` return them) reduced to model records.

import type {
  Container,
  DaemonSet,
  EnvFromSource,
  EnvVar,
  KubeNode,
  LabelSelector,
  MutatingWebhook,
  MutatingWebhookConfiguration,
  Namespace,
  Pod,
  ProjectedTokenVolume,
  RuleWithOperations,
  ServiceAccount,
  VolumeMount,
} from '../../core/model/cluster-state';
import { parseCertificateBundle } from './certificates';
import {
  asObject,
  at,
  isObject,
  type JsonObject,
  optionalArray,
  optionalBoolean,
  optionalNumber,
  optionalObject,
  optionalString,
  requiredString,
  stringArray,
  stringMap,
} from './json-shape';

interface Metadata {
  readonly name: string;
  readonly namespace?: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly creationTimestamp?: string;
}

function metadataOf(object: JsonObject, path: string, namespaced: boolean): Metadata {
  const metadataPath = at(path, 'metadata');
  const metadata = asObject(object.metadata, metadataPath);
  const namespace = namespaced ? requiredString(metadata, 'namespace', metadataPath) : undefined;
  const creationTimestamp = optionalString(metadata, 'creationTimestamp', metadataPath);
  return {
    name: requiredString(metadata, 'name', metadataPath),
    ...(namespace === undefined ? {} : { namespace }),
    labels: stringMap(metadata, 'labels', metadataPath),
    annotations: stringMap(metadata, 'annotations', metadataPath),
    ...(creationTimestamp === undefined ? {} : { creationTimestamp }),
  };
}

/** The name (and namespace) of an object, as far as they can be read, to name a malformed one. */
export function identityOf(value: unknown): { readonly name: string; readonly namespace?: string } {
  const object = isObject(value) ? value : {};
  const fields = isObject(object.metadata) ? object.metadata : {};
  // AWS objects have no metadata: a role or OIDC provider is named by its ARN, an association by its ID.
  const name =
    [fields.name, object.Arn, object.associationId, object.name].find(
      (candidate): candidate is string => typeof candidate === 'string',
    ) ?? '(unnamed)';
  return typeof fields.namespace === 'string' ? { name, namespace: fields.namespace } : { name };
}

export function parseServiceAccount(value: unknown, path: string): ServiceAccount {
  const {
    name,
    namespace = '',
    annotations,
    creationTimestamp,
  } = metadataOf(asObject(value, path), path, true);
  return { name, namespace, annotations, ...(creationTimestamp === undefined ? {} : { creationTimestamp }) };
}

export function parseNamespace(value: unknown, path: string): Namespace {
  const { name, labels } = metadataOf(asObject(value, path), path, false);
  return { name, labels };
}

export function parsePod(value: unknown, path: string): Pod {
  const object = asObject(value, path);
  const metadata = metadataOf(object, path, true);
  const specPath = at(path, 'spec');
  const spec = asObject(object.spec, specPath);
  const serviceAccountName =
    optionalString(spec, 'serviceAccountName', specPath) ??
    optionalString(spec, 'serviceAccount', specPath) ??
    'default';
  const containers = [
    ...optionalArray(spec, 'initContainers', specPath).map((item, index) =>
      parseContainer(item, at(at(specPath, 'initContainers'), index), 'initContainer'),
    ),
    ...optionalArray(spec, 'containers', specPath).map((item, index) =>
      parseContainer(item, at(at(specPath, 'containers'), index), 'container'),
    ),
  ];
  const tokenVolumes = optionalArray(spec, 'volumes', specPath).flatMap((item, index) =>
    tokenVolumesOf(item, at(at(specPath, 'volumes'), index)),
  );
  const nodeName = optionalString(spec, 'nodeName', specPath);
  const hostNetwork = optionalBoolean(spec, 'hostNetwork', specPath);
  const status = optionalObject(object, 'status', path);
  const phase = status === undefined ? undefined : optionalString(status, 'phase', at(path, 'status'));
  const ready = status === undefined ? undefined : readyCondition(status, at(path, 'status'));
  const metadataObject = asObject(object.metadata, at(path, 'metadata'));
  const controller = optionalArray(metadataObject, 'ownerReferences', at(path, 'metadata'))
    .map((item) => (typeof item === 'object' && item !== null ? (item as JsonObject) : {}))
    .find((reference) => reference.controller === true);
  const owner =
    controller !== undefined && typeof controller.kind === 'string' && typeof controller.name === 'string'
      ? { kind: controller.kind, name: controller.name }
      : undefined;
  return {
    namespace: metadata.namespace ?? '',
    name: metadata.name,
    serviceAccountName,
    labels: metadata.labels,
    annotations: metadata.annotations,
    ...(metadata.creationTimestamp === undefined ? {} : { creationTimestamp: metadata.creationTimestamp }),
    ...(phase === undefined ? {} : { phase }),
    ...(owner === undefined ? {} : { owner }),
    ...(nodeName === undefined || nodeName === '' ? {} : { nodeName }),
    ...(hostNetwork === true ? { hostNetwork } : {}),
    ...(ready === undefined ? {} : { ready }),
    containers,
    tokenVolumes,
  };
}

/** The `Ready` condition of a status, as the kubelet reports it; undefined when there is none. */
function readyCondition(status: JsonObject, path: string): boolean | undefined {
  const conditions = optionalArray(status, 'conditions', path);
  const ready = conditions.find((item) => isObject(item) && item.type === 'Ready');
  return isObject(ready) ? ready.status === 'True' : undefined;
}

const OS_LABEL = 'kubernetes.io/os';
const COMPUTE_TYPE_LABEL = 'eks.amazonaws.com/compute-type';

/** A Node (`kubectl get nodes -o json`): its operating system and EKS compute type, from labels and nodeInfo. */
export function parseNode(value: unknown, path: string): KubeNode {
  const object = asObject(value, path);
  const { name, labels } = metadataOf(object, path, false);
  const statusPath = at(path, 'status');
  const status = optionalObject(object, 'status', path);
  const nodeInfo = status === undefined ? undefined : optionalObject(status, 'nodeInfo', statusPath);
  const os =
    labels[OS_LABEL] ??
    (nodeInfo === undefined
      ? undefined
      : optionalString(nodeInfo, 'operatingSystem', at(statusPath, 'nodeInfo')));
  const computeType = labels[COMPUTE_TYPE_LABEL];
  return {
    name,
    ...(os === undefined || os === '' ? {} : { os }),
    ...(computeType === undefined || computeType === '' ? {} : { computeType }),
  };
}

/** A DaemonSet (`kubectl get daemonsets -n kube-system -o json`): its name and how many of its pods are Ready. */
export function parseDaemonSet(value: unknown, path: string): DaemonSet {
  const object = asObject(value, path);
  const { name, namespace = '' } = metadataOf(object, path, true);
  const statusPath = at(path, 'status');
  const status = optionalObject(object, 'status', path);
  const desired =
    status === undefined ? undefined : optionalNumber(status, 'desiredNumberScheduled', statusPath);
  const ready = status === undefined ? undefined : optionalNumber(status, 'numberReady', statusPath);
  return {
    namespace,
    name,
    ...(desired === undefined ? {} : { desiredNumberScheduled: desired }),
    ...(ready === undefined ? {} : { numberReady: ready }),
  };
}

function parseContainer(value: unknown, path: string, kind: Container['kind']): Container {
  const object = asObject(value, path);
  const env = optionalArray(object, 'env', path).map((item, index): EnvVar => {
    const itemPath = at(at(path, 'env'), index);
    const variable = asObject(item, itemPath);
    const literal = optionalString(variable, 'value', itemPath);
    const from = optionalObject(variable, 'valueFrom', itemPath);
    const source = from === undefined ? undefined : Object.keys(from)[0];
    return {
      name: requiredString(variable, 'name', itemPath),
      ...(literal === undefined ? {} : { value: literal }),
      ...(source === undefined ? {} : { valueFrom: source }),
    };
  });
  const envFrom = optionalArray(object, 'envFrom', path).flatMap((item, index): EnvFromSource[] => {
    const itemPath = at(at(path, 'envFrom'), index);
    const source = asObject(item, itemPath);
    const prefix = optionalString(source, 'prefix', itemPath);
    const secret = optionalObject(source, 'secretRef', itemPath);
    const configMap = optionalObject(source, 'configMapRef', itemPath);
    const reference = secret ?? configMap;
    if (reference === undefined) return [];
    const name = optionalString(
      reference,
      'name',
      at(itemPath, secret === undefined ? 'configMapRef' : 'secretRef'),
    );
    return [
      {
        kind: secret === undefined ? 'ConfigMap' : 'Secret',
        name: name ?? '',
        ...(prefix === undefined ? {} : { prefix }),
      },
    ];
  });
  const volumeMounts = optionalArray(object, 'volumeMounts', path).map((item, index): VolumeMount => {
    const itemPath = at(at(path, 'volumeMounts'), index);
    const mount = asObject(item, itemPath);
    return {
      name: requiredString(mount, 'name', itemPath),
      mountPath: requiredString(mount, 'mountPath', itemPath),
      readOnly: mount.readOnly === true,
    };
  });
  return { name: requiredString(object, 'name', path), kind, env, envFrom, volumeMounts };
}

function tokenVolumesOf(value: unknown, path: string): ProjectedTokenVolume[] {
  const volume = asObject(value, path);
  const volumeName = requiredString(volume, 'name', path);
  const projected = optionalObject(volume, 'projected', path);
  if (projected === undefined) return [];
  const projectedPath = at(path, 'projected');
  return optionalArray(projected, 'sources', projectedPath).flatMap((item, index) => {
    const sourcePath = at(at(projectedPath, 'sources'), index);
    const token = optionalObject(asObject(item, sourcePath), 'serviceAccountToken', sourcePath);
    if (token === undefined) return [];
    const tokenPath = at(sourcePath, 'serviceAccountToken');
    const audience = optionalString(token, 'audience', tokenPath);
    const expirationSeconds = optionalNumber(token, 'expirationSeconds', tokenPath);
    return [
      {
        volumeName,
        path: requiredString(token, 'path', tokenPath),
        ...(audience === undefined ? {} : { audience }),
        ...(expirationSeconds === undefined ? {} : { expirationSeconds }),
      },
    ];
  });
}

export function parseMutatingWebhookConfiguration(
  value: unknown,
  path: string,
): MutatingWebhookConfiguration {
  const object = asObject(value, path);
  const { name, creationTimestamp } = metadataOf(object, path, false);
  const webhooks = optionalArray(object, 'webhooks', path).map((item, index) =>
    parseWebhook(item, at(at(path, 'webhooks'), index)),
  );
  return { name, webhooks, ...(creationTimestamp === undefined ? {} : { creationTimestamp }) };
}

function parseWebhook(value: unknown, path: string): MutatingWebhook {
  const object = asObject(value, path);
  const clientConfigPath = at(path, 'clientConfig');
  const clientConfig = asObject(object.clientConfig ?? {}, clientConfigPath);
  const service = optionalObject(clientConfig, 'service', clientConfigPath);
  const url = optionalString(clientConfig, 'url', clientConfigPath);
  // Display only, so a wrong type is shown as empty; String() would throw on a JSON object like {"toString": 1}.
  const text = (member: unknown) => (typeof member === 'string' ? member : '');
  const endpoint =
    service === undefined
      ? (url ?? '(none)')
      : `service ${text(service.namespace)}/${text(service.name)}${text(service.path)}`;
  const rules = optionalArray(object, 'rules', path).map((item, index): RuleWithOperations => {
    const rulePath = at(at(path, 'rules'), index);
    const rule = asObject(item, rulePath);
    const scope = optionalString(rule, 'scope', rulePath);
    return {
      operations: stringArray(rule, 'operations', rulePath),
      apiGroups: stringArray(rule, 'apiGroups', rulePath),
      apiVersions: stringArray(rule, 'apiVersions', rulePath),
      resources: stringArray(rule, 'resources', rulePath),
      ...(scope === undefined ? {} : { scope }),
    };
  });
  const namespaceSelector = parseSelector(object, 'namespaceSelector', path);
  const objectSelector = parseSelector(object, 'objectSelector', path);
  const reinvocationPolicy = optionalString(object, 'reinvocationPolicy', path);
  return {
    name: requiredString(object, 'name', path),
    caBundle: parseCertificateBundle(optionalString(clientConfig, 'caBundle', clientConfigPath)),
    endpoint,
    rules,
    ...(namespaceSelector === undefined ? {} : { namespaceSelector }),
    ...(objectSelector === undefined ? {} : { objectSelector }),
    // admissionregistration/v1 defaults failurePolicy to Fail.
    failurePolicy: optionalString(object, 'failurePolicy', path) ?? 'Fail',
    ...(reinvocationPolicy === undefined ? {} : { reinvocationPolicy }),
  };
}

function parseSelector(object: JsonObject, key: string, path: string): LabelSelector | undefined {
  const selector = optionalObject(object, key, path);
  if (selector === undefined) return undefined;
  const selectorPath = at(path, key);
  return {
    matchLabels: stringMap(selector, 'matchLabels', selectorPath),
    matchExpressions: optionalArray(selector, 'matchExpressions', selectorPath).map((item, index) => {
      const requirementPath = at(at(selectorPath, 'matchExpressions'), index);
      const requirement = asObject(item, requirementPath);
      return {
        key: requiredString(requirement, 'key', requirementPath),
        operator: requiredString(requirement, 'operator', requirementPath),
        values: stringArray(requirement, 'values', requirementPath),
      };
    }),
  };
}
