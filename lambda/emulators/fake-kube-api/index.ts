// A fake Kubernetes API server for tests and the demo (SPEC §9): real HTTPS with a generated CA, bearer
// tokens checked as EKS checks them, legacy discovery, paginated lists with 410 for stale continue
// tokens, pod create (and dry run) through the stored mutating webhooks over real HTTPS, and injectable
// 403s, 429s and latency. See README.md beside this file.

import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { FakeWebhookCall } from './admission';
import {
  type CertificateAuthority,
  issueLeafCertificate,
  issueServingCertificates,
  type LeafCertificateOptions,
  type ServingCertificate,
} from './certificates';
import { EksTokenRejectedError, isEksToken, type TestAwsCredentials, verifyEksToken } from './eks-token';
import { createPod } from './pod-create';
import {
  apiVersionOf,
  discoveryDocuments,
  type FakeObjects,
  type FakeResource,
  type KubeObject,
  NAMED_GROUPS,
  ObjectStore,
  RESOURCES,
  type ResourceSpec,
  readSnapshotObjects,
  resourceAt,
} from './resources';
import {
  badRequest,
  continueExpired,
  forbiddenPath,
  forbiddenResource,
  methodNotAllowed,
  objectNotFound,
  pathNotFound,
  type StatusResponse,
  tooManyRequests,
  unauthorized,
} from './status';

export type { FakeWebhookCall, FakeWebhookOutcome } from './admission';
export type { CertificateAuthority, LeafCertificateOptions, ServingCertificate } from './certificates';
export type { TestAwsCredentials } from './eks-token';
export { testEksToken } from './eks-token';
export type { FakeObjects, FakeResource, KubeObject } from './resources';
export { readSnapshotObjects } from './resources';

/** The verbs whose authorization a test can take away with `forbid`. */
export type FakeVerb = 'get' | 'list' | 'create';

/** How to start the fake API server. */
export interface FakeKubeApiOptions {
  /** A §3 snapshot directory whose Kubernetes Lists are served; `objects` replace its types. */
  readonly snapshotDirectory?: string;
  /** Objects to serve, per type: the items of each List. */
  readonly objects?: FakeObjects;
  /** The static bearer token accepted (default: a random one, see `token`). */
  readonly token?: string;
  /** Accept `k8s-aws-v1.` tokens for this EKS cluster; with `credentials`, verify their signature too. */
  readonly eks?: { readonly clusterName: string; readonly credentials?: TestAwsCredentials };
  /** Delay before answering each request, in milliseconds (default 0). */
  readonly latencyMs?: number;
  /** The clock that decides whether an EKS token has expired (default: the system clock). */
  readonly now?: () => Date;
  /** The user named in 403 messages and in AdmissionReview `userInfo` (default `fake-kube-api-user`). */
  readonly userName?: string;
  /**
   * Where webhook `clientConfig.service` references are served: `namespace/name` → base URL such as
   * `https://127.0.0.1:8443`. An unmapped service fails the call as a service without endpoints does.
   */
  readonly services?: Readonly<Record<string, string>>;
}

/** One request the server answered, for asserting call counts and paths. */
export interface FakeKubeRequest {
  readonly method: string;
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  readonly status: number;
  /** The resource type a list, get or create addressed; absent for discovery and unknown paths. */
  readonly resource?: FakeResource;
  /** The verb of a resource request, as RBAC names it. */
  readonly verb?: FakeVerb;
  /** Why the token was refused (401 only); never the token itself. */
  readonly authProblem?: string;
}

/** Options of a kubeconfig document that points at the fake. */
export interface FakeKubeconfigOptions {
  /** Bearer token of the user; default: the server's static token. */
  readonly token?: string;
  /** An exec credential plugin instead of a token, e.g. `aws eks get-token`. */
  readonly exec?: {
    readonly command: string;
    readonly args: readonly string[];
    readonly env?: Readonly<Record<string, string>>;
  };
  /** Name of the context, cluster and user entries (default `fake-kube-api`). */
  readonly name?: string;
  /** CA data to trust instead of the server's own (to provoke TLS failures). */
  readonly caData?: string;
}

/** A kubeconfig document (kubectl reads JSON as well as YAML). */
export interface KubeconfigDocument {
  readonly apiVersion: 'v1';
  readonly kind: 'Config';
  readonly clusters: readonly { readonly name: string; readonly cluster: Record<string, unknown> }[];
  readonly users: readonly { readonly name: string; readonly user: Record<string, unknown> }[];
  readonly contexts: readonly {
    readonly name: string;
    readonly context: { readonly cluster: string; readonly user: string };
  }[];
  readonly 'current-context': string;
  readonly preferences: Record<string, never>;
}

/** A running fake API server; every test that starts one must `stop()` it. */
export interface FakeKubeApi {
  /** `https://127.0.0.1:<port>`. */
  readonly url: string;
  /** Base64 of the CA certificate PEM, as EKS reports `cluster.certificateAuthority.data`. */
  readonly caData: string;
  /** The static bearer token the server accepts. */
  readonly token: string;
  /** The cluster CA's certificate and key, to sign the serving certificate of a webhook the cluster trusts. */
  readonly certificateAuthority: CertificateAuthority;
  /** Issues a serving certificate signed by the cluster CA (for 127.0.0.1 and localhost unless told). */
  issueCertificate(options?: LeafCertificateOptions): Promise<ServingCertificate>;
  /** Every request answered so far, oldest first (a live view). */
  readonly requests: readonly FakeKubeRequest[];
  /** Every webhook a pod create matched, oldest first, and what became of it (a live view). */
  readonly webhookCalls: readonly FakeWebhookCall[];
  /** Forgets the request log and the webhook call log. */
  clearRequests(): void;
  /** The objects of a type as stored now (one namespace's, when given), in key order; not a request. */
  objects(resource: FakeResource, namespace?: string): readonly KubeObject[];
  /** One stored object (namespace '' for cluster-scoped types), with `kind` and `apiVersion`; not a request. */
  object(resource: FakeResource, namespace: string, name: string): KubeObject | undefined;
  /** Replaces the objects of the given types; bumps the resourceVersion, so older continue tokens turn stale. */
  setObjects(objects: FakeObjects): void;
  /** Denies verbs on a resource type with 403 Forbidden until `permit`; without verbs, list and get. */
  forbid(resource: FakeResource, ...verbs: FakeVerb[]): void;
  /** Lifts `forbid` for these verbs (without verbs, for all). */
  permit(resource: FakeResource, ...verbs: FakeVerb[]): void;
  /** Serves a webhook `clientConfig.service` reference at `baseUrl` (undefined: the service has no endpoints). */
  setServiceEndpoint(namespace: string, name: string, baseUrl: string | undefined): void;
  /** Answers the next `times` requests for a resource type with 429 and `Retry-After`. */
  throttle(resource: FakeResource, times: number, retryAfterSeconds?: number): void;
  /** Makes every continue token issued so far answer 410 Gone (reason Expired), as after an etcd compaction. */
  expireContinueTokens(): void;
  /** Sets the delay before each answer. */
  setLatency(milliseconds: number): void;
  /** A kubeconfig document for this server. */
  kubeconfig(options?: FakeKubeconfigOptions): KubeconfigDocument;
  /** Writes `kubeconfig(options)` to a file. */
  writeKubeconfig(path: string, options?: FakeKubeconfigOptions): Promise<void>;
  /** Stops listening and closes open connections. */
  stop(): Promise<void>;
}

interface ContinueToken {
  readonly resource: FakeResource;
  readonly namespace: string | null;
  readonly resourceVersion: string;
  readonly epoch: number;
  readonly offset: number;
}

interface Answer {
  readonly code: number;
  readonly body: unknown;
  readonly headers?: Readonly<Record<string, string>>;
  readonly resource?: FakeResource;
  readonly verb?: FakeVerb;
  readonly authProblem?: string;
}

/** The request body and its media type (only a create reads them). */
interface RequestBody {
  readonly text: string;
  readonly contentType: string;
}

function verbOf(method: string, name: string | undefined): FakeVerb | undefined {
  if (method === 'POST') return name === undefined ? 'create' : undefined;
  if (method === 'GET') return name === undefined ? 'list' : 'get';
  return undefined;
}

/** Starts the fake API server on a free loopback port, with a CA and certificate issued for this run. */
export async function startFakeKubeApi(options: FakeKubeApiOptions = {}): Promise<FakeKubeApi> {
  const certificates = await issueServingCertificates();
  const snapshot =
    options.snapshotDirectory === undefined ? {} : await readSnapshotObjects(options.snapshotDirectory);
  const store = new ObjectStore({ ...snapshot, ...options.objects });
  const token = options.token ?? `fake-kube-api-${randomBytes(16).toString('hex')}`;
  const now = options.now ?? (() => new Date());
  const userName = options.userName ?? 'fake-kube-api-user';
  const requests: FakeKubeRequest[] = [];
  const webhookCalls: FakeWebhookCall[] = [];
  const denied = new Map<FakeResource, Set<FakeVerb>>();
  const services = new Map<string, string>(Object.entries(options.services ?? {}));
  const authority: CertificateAuthority = {
    certificatePem: certificates.caPem,
    keyPem: certificates.caKeyPem,
  };
  const throttled = new Map<FakeResource, { times: number; retryAfterSeconds: number }>();
  let latencyMs = options.latencyMs ?? 0;
  let epoch = 0;
  let discovery: ReadonlyMap<string, unknown> = new Map();

  const authenticate = async (header: string | undefined): Promise<string | 'anonymous' | undefined> => {
    if (header === undefined) return 'anonymous';
    const match = /^Bearer (.+)$/i.exec(header);
    if (match === null) return 'the Authorization header is not a bearer token';
    const bearer = match[1]!;
    if (bearer === token) return undefined;
    if (options.eks === undefined || !isEksToken(bearer)) return 'unknown token';
    try {
      await verifyEksToken(bearer, options.eks.clusterName, now(), options.eks.credentials);
      return undefined;
    } catch (error) {
      if (error instanceof EksTokenRejectedError) return error.problem;
      throw error;
    }
  };

  const list = (spec: ResourceSpec, namespace: string | undefined, query: URLSearchParams): Answer => {
    for (const unsupported of ['watch', 'labelSelector', 'fieldSelector']) {
      if ((query.get(unsupported) ?? '') !== '')
        return {
          ...badRequest(`the fake API server does not support ${unsupported}`),
          resource: spec.resource,
        };
    }
    const items = store.list(spec.resource, namespace);
    let offset = 0;
    const continueParameter = query.get('continue') ?? '';
    if (continueParameter !== '') {
      const parsed = parseContinue(continueParameter);
      if (
        parsed === undefined ||
        parsed.resource !== spec.resource ||
        parsed.namespace !== (namespace ?? null)
      )
        return {
          ...badRequest('continue key is not valid: the continue token does not match this request'),
          resource: spec.resource,
        };
      if (parsed.resourceVersion !== store.resourceVersion || parsed.epoch !== epoch)
        return { ...continueExpired(), resource: spec.resource };
      offset = parsed.offset;
    }
    const limit = Number(query.get('limit') ?? '0');
    const end = Number.isInteger(limit) && limit > 0 ? Math.min(items.length, offset + limit) : items.length;
    const metadata: Record<string, unknown> = { resourceVersion: store.resourceVersion };
    if (end < items.length) {
      metadata.continue = encodeContinue({
        resource: spec.resource,
        namespace: namespace ?? null,
        resourceVersion: store.resourceVersion,
        epoch,
        offset: end,
      });
      metadata.remainingItemCount = items.length - end;
    }
    // The API leaves kind and apiVersion off list items: the List's own kind says what they are.
    const page = items.slice(offset, end).map(({ kind: _kind, apiVersion: _apiVersion, ...rest }) => rest);
    return {
      code: 200,
      body: { kind: `${spec.kind}List`, apiVersion: apiVersionOf(spec), metadata, items: page },
      resource: spec.resource,
    };
  };

  const getOne = (spec: ResourceSpec, namespace: string | undefined, name: string): Answer => {
    const object = store.get(spec.resource, namespace ?? '', name);
    if (object === undefined)
      return { ...objectNotFound(spec.resource, spec.group, name), resource: spec.resource };
    return {
      code: 200,
      body: { ...object, kind: spec.kind, apiVersion: apiVersionOf(spec) },
      resource: spec.resource,
    };
  };

  const serveResource = async (
    method: string,
    spec: ResourceSpec,
    namespace: string | undefined,
    name: string | undefined,
    query: URLSearchParams,
    body: RequestBody,
  ): Promise<Answer> => {
    if (spec.namespaced === false && namespace !== undefined) return pathNotFound();
    const verb = verbOf(method, name);
    const tag = { resource: spec.resource, ...(verb === undefined ? {} : { verb }) };
    const fault = injectedFault(spec, namespace, name, verb);
    if (fault !== undefined) return { ...fault, ...tag };
    if (verb === 'create' && spec.resource === 'pods' && namespace !== undefined) {
      const created = await createPod({
        store,
        namespace,
        body: body.text,
        contentType: body.contentType,
        query,
        userName,
        now,
        resolveService: (serviceNamespace, serviceName) => services.get(`${serviceNamespace}/${serviceName}`),
        onCall: (call) => webhookCalls.push(call),
      });
      return { ...created, ...tag };
    }
    if (method !== 'GET') return { ...methodNotAllowed(method), ...tag };
    return name === undefined
      ? { ...list(spec, namespace, query), ...tag }
      : { ...getOne(spec, namespace, name), ...tag };
  };

  const injectedFault = (
    spec: ResourceSpec,
    namespace: string | undefined,
    name: string | undefined,
    verb: FakeVerb | undefined,
  ): StatusResponse | undefined => {
    const throttle = throttled.get(spec.resource);
    if (throttle !== undefined && throttle.times > 0) {
      throttle.times -= 1;
      return tooManyRequests(throttle.retryAfterSeconds);
    }
    if (verb === undefined || !(denied.get(spec.resource)?.has(verb) ?? false)) return undefined;
    return forbiddenResource(userName, verb, spec.resource, spec.group, namespace, name);
  };

  const route = async (
    method: string,
    path: string,
    query: URLSearchParams,
    authorization: string | undefined,
    body: RequestBody,
  ): Promise<Answer> => {
    const authProblem = await authenticate(authorization);
    const publicPath = ['/version', '/healthz', '/livez', '/readyz'].includes(path);
    // Without credentials a request runs as system:anonymous, which EKS lets read only public info; RBAC
    // words the refusal by resource where the path names one (below), by path elsewhere.
    const anonymous = authProblem === 'anonymous' && !publicPath;
    if (authProblem !== undefined && authProblem !== 'anonymous') return { ...unauthorized(), authProblem };
    const refusedPath = () => forbiddenPath('system:anonymous', method.toLowerCase(), path);
    if (['/healthz', '/livez', '/readyz'].includes(path)) return { code: 200, body: 'ok' };
    const document = discovery.get(path);
    if (anonymous && document !== undefined) return refusedPath();
    if (document !== undefined)
      return method === 'GET' ? { code: 200, body: document } : methodNotAllowed(method);

    const segments = path.split('/').filter((segment) => segment !== '');
    const [root, ...rest] = segments;
    let group: string;
    let version: string | undefined;
    let tail: string[];
    if (root === 'api') {
      group = '';
      [version, ...tail] = rest;
    } else if (root === 'apis' && NAMED_GROUPS.some((name) => name === rest[0])) {
      group = rest[0] ?? '';
      [, version, ...tail] = rest;
    } else {
      // Includes /openapi/v2 and /openapi/v3: kubectl falls back when they are absent.
      return anonymous ? refusedPath() : pathNotFound();
    }
    if (version === undefined) return anonymous ? refusedPath() : pathNotFound();
    // /namespaces/{ns}/{resource}[/{name}] addresses a namespaced type; /namespaces[/{name}] the namespaces.
    let namespace: string | undefined;
    if (tail[0] === 'namespaces' && tail.length >= 3) {
      namespace = tail[1];
      tail = tail.slice(2);
    }
    const [plural, name, ...more] = tail;
    const spec = plural === undefined ? undefined : resourceAt(group, version, plural);
    if (spec === undefined || more.length > 0) return anonymous ? refusedPath() : pathNotFound();
    if (anonymous)
      return forbiddenResource(
        'system:anonymous',
        verbOf(method, name) ?? method.toLowerCase(),
        spec.resource,
        spec.group,
        namespace,
        name,
      );
    return serveResource(method, spec, namespace, name, query, body);
  };

  const server: Server = createServer(
    { key: certificates.keyPem, cert: certificates.certificatePem },
    (request, response) => {
      const url = new URL(request.url ?? '/', 'https://127.0.0.1');
      const method = request.method ?? 'GET';
      const chunks: Buffer[] = [];
      const received = new Promise<RequestBody>((resolve, reject) => {
        request.on('data', (chunk: Buffer) => chunks.push(chunk));
        request.on('end', () =>
          resolve({
            text: Buffer.concat(chunks).toString('utf8'),
            contentType: request.headers['content-type'] ?? '',
          }),
        );
        request.on('error', reject);
      });
      const answer = async (): Promise<Answer> => {
        const body = await received;
        if (latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, latencyMs));
        return route(method, url.pathname, url.searchParams, request.headers.authorization, body);
      };
      answer()
        .catch((error: unknown) => ({
          code: 500,
          body: {
            kind: 'Status',
            apiVersion: 'v1',
            metadata: {},
            status: 'Failure',
            message: `fake API server error: ${error instanceof Error ? error.message : String(error)}`,
            reason: 'InternalError',
            code: 500,
          },
        }))
        .then((result: Answer) => {
          requests.push({
            method,
            path: url.pathname,
            query: Object.fromEntries(url.searchParams),
            status: result.code,
            ...(result.resource === undefined ? {} : { resource: result.resource }),
            ...(result.verb === undefined ? {} : { verb: result.verb }),
            ...(result.authProblem === undefined ? {} : { authProblem: result.authProblem }),
          });
          const text = typeof result.body === 'string' ? result.body : JSON.stringify(result.body);
          response.writeHead(result.code, {
            'content-type':
              typeof result.body === 'string' ? 'text/plain; charset=utf-8' : 'application/json',
            'content-length': Buffer.byteLength(text),
            ...result.headers,
          });
          response.end(text);
        });
    },
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = `https://127.0.0.1:${port}`;
  discovery = discoveryDocuments(`127.0.0.1:${port}`);
  const caData = Buffer.from(certificates.caPem).toString('base64');

  const kubeconfig = (config: FakeKubeconfigOptions = {}): KubeconfigDocument => {
    const name = config.name ?? 'fake-kube-api';
    const user =
      config.exec === undefined
        ? { token: config.token ?? token }
        : {
            exec: {
              apiVersion: 'client.authentication.k8s.io/v1beta1',
              command: config.exec.command,
              args: [...config.exec.args],
              env: Object.entries(config.exec.env ?? {}).map(([key, value]) => ({ name: key, value })),
              interactiveMode: 'Never',
            },
          };
    return {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name, cluster: { server: url, 'certificate-authority-data': config.caData ?? caData } }],
      users: [{ name, user }],
      contexts: [{ name, context: { cluster: name, user: name } }],
      'current-context': name,
      preferences: {},
    };
  };

  return {
    url,
    caData,
    token,
    certificateAuthority: authority,
    issueCertificate: (certificateOptions) => issueLeafCertificate(authority, certificateOptions),
    requests,
    webhookCalls,
    clearRequests: () => {
      requests.length = 0;
      webhookCalls.length = 0;
    },
    objects: (resource, namespace) => store.list(resource, namespace),
    object: (resource, namespace, name) => {
      const found = store.get(resource, namespace, name);
      const spec = RESOURCES[resource];
      return found === undefined ? undefined : { ...found, kind: spec.kind, apiVersion: apiVersionOf(spec) };
    },
    setObjects: (objects) => store.replace(objects),
    forbid: (resource, ...verbs) => {
      const set = denied.get(resource) ?? new Set<FakeVerb>();
      for (const verb of verbs.length === 0 ? (['list', 'get'] as const) : verbs) set.add(verb);
      denied.set(resource, set);
    },
    permit: (resource, ...verbs) => {
      if (verbs.length === 0) denied.delete(resource);
      else for (const verb of verbs) denied.get(resource)?.delete(verb);
    },
    setServiceEndpoint: (namespace, name, baseUrl) => {
      if (baseUrl === undefined) services.delete(`${namespace}/${name}`);
      else services.set(`${namespace}/${name}`, baseUrl);
    },
    throttle: (resource, times, retryAfterSeconds = 1) => {
      throttled.set(resource, { times, retryAfterSeconds });
    },
    expireContinueTokens: () => {
      epoch += 1;
    },
    setLatency: (milliseconds) => {
      latencyMs = milliseconds;
    },
    kubeconfig,
    writeKubeconfig: (path, config) => writeFile(path, `${JSON.stringify(kubeconfig(config), null, 2)}\n`),
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error === undefined ? resolve() : reject(error)));
        server.closeAllConnections();
      }),
  };
}

function encodeContinue(token: ContinueToken): string {
  return Buffer.from(JSON.stringify(token)).toString('base64url');
}

function parseContinue(text: string): ContinueToken | undefined {
  try {
    const value = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as Partial<ContinueToken>;
    if (
      typeof value.resource === 'string' &&
      value.resource in RESOURCES &&
      typeof value.resourceVersion === 'string' &&
      typeof value.epoch === 'number' &&
      typeof value.offset === 'number' &&
      (value.namespace === null || typeof value.namespace === 'string')
    )
      return value as ContinueToken;
  } catch {
    // Not base64 JSON: reported as an invalid continue key below, as the API does.
  }
  return undefined;
}
