// Lists the Kubernetes resources the audit reads, page by page, over node:https with the TLS and auth
// options client-node derives from the KubeConfig. client-node's typed API is not used for the lists: it
// would turn every timestamp into a Date and every object into class instances (more memory per pod, and
// not the JSON the parsers and snapshots expect); here each page is the API's JSON, parsed once.

import type { IncomingMessage } from 'node:http';
import { Agent, type RequestOptions, request } from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import { errorText } from '../../core/error-text';

export { KubeConfigError, type KubeTarget, kubeConfigFor } from './kube-config';

/** The resource types the audit lists; the names match the model's ResourceType. */
export type KubeResource =
  | 'serviceAccounts'
  | 'pods'
  | 'mutatingWebhookConfigurations'
  | 'namespaces'
  | 'nodes'
  | 'daemonSets';

/** Options of one list. */
export interface ListOptions {
  /** List only this namespace, filtered by the server (`/api/v1/namespaces/{ns}/...`); ignored for cluster-scoped types. */
  readonly namespace?: string;
  /** Objects per page (the `limit` parameter); default 500, as kubectl's `--chunk-size`. */
  readonly limit?: number;
  /** Called when a page arrived, before it is yielded; `page` counts from 1 and restarts with the list. */
  readonly onPage?: (resource: KubeResource, page: number, items: number) => void;
  /**
   * Called when the API answered 410 Gone to a continue token (its snapshot of the list expired) and the
   * list starts over from the first page. Every page yielded before this call is superseded: the consumer
   * must discard what it kept from them, or it will hold duplicates and objects that no longer exist.
   * listPages keeps no pages itself, so it cannot do this for the consumer.
   */
  readonly onRestart?: (resource: KubeResource) => void | Promise<void>;
  /** Milliseconds without a byte from the server before a request fails as `timeout`; default 30,000. */
  readonly timeoutMs?: number;
  /** Attempts after a 429 before failing as `throttled`; default 5. */
  readonly maxThrottleRetries?: number;
}

/** Why talking to the API server failed, coarse enough to choose IRSA-X01 or X02 and a remediation. */
export type KubeApiFailure =
  | 'unreachable'
  | 'tls'
  | 'unauthorized'
  | 'forbidden'
  | 'throttled'
  | 'timeout'
  | 'error';

/** A request to the API server failed; names the resource, the HTTP status and the server's message, never the token. */
export class KubeApiError extends Error {
  constructor(
    readonly reason: KubeApiFailure,
    readonly resource: KubeResource | undefined,
    readonly status: number | undefined,
    message: string,
    options?: { readonly cause?: unknown },
  ) {
    super(message, options);
    this.name = 'KubeApiError';
  }
}

interface ResourcePath {
  readonly prefix: string;
  readonly plural: string;
  readonly namespaced: boolean;
}

const PATHS: { readonly [R in KubeResource]: ResourcePath } = {
  serviceAccounts: { prefix: '/api/v1', plural: 'serviceaccounts', namespaced: true },
  pods: { prefix: '/api/v1', plural: 'pods', namespaced: true },
  namespaces: { prefix: '/api/v1', plural: 'namespaces', namespaced: false },
  nodes: { prefix: '/api/v1', plural: 'nodes', namespaced: false },
  daemonSets: { prefix: '/apis/apps/v1', plural: 'daemonsets', namespaced: true },
  mutatingWebhookConfigurations: {
    prefix: '/apis/admissionregistration.k8s.io/v1',
    plural: 'mutatingwebhookconfigurations',
    namespaced: false,
  },
};

const DEFAULT_LIMIT = 500;
const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_THROTTLE_RETRIES = 5;
// A list that keeps expiring under us (a cluster churning faster than we page) is reported, not chased forever.
const MAX_RESTARTS = 3;
const MAX_RETRY_AFTER_SECONDS = 30;
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ECONNRESET',
  'EPIPE',
]);
// Node reports certificate problems with OpenSSL's verify codes, and handshake failures as ERR_SSL_*/EPROTO.
const TLS_CODE = /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|^ERR_TLS_|^ERR_SSL_|^EPROTO$/;

// The list path of a resource type, namespaced when a namespace is given and the type is namespaced.
function listPathOf(resource: KubeResource, namespace?: string): string {
  const { prefix, plural, namespaced } = PATHS[resource];
  return namespaced && namespace !== undefined
    ? `${prefix}/namespaces/${encodeURIComponent(namespace)}/${plural}`
    : `${prefix}/${plural}`;
}

/** Lists a resource page by page (limit/continue), restarting the whole list on 410 Gone; yields each page's raw items as they arrive, so callers can reduce them and drop the page. */
export async function* listPages(
  config: KubeConfig,
  resource: KubeResource,
  options: ListOptions = {},
): AsyncGenerator<readonly unknown[], void, undefined> {
  const client = new ApiClient(config, resource, options);
  try {
    let restarts = 0;
    for (;;) {
      let continueToken: string | undefined;
      let page = 0;
      let restarted = false;
      do {
        const query = new URLSearchParams({ limit: String(options.limit ?? DEFAULT_LIMIT) });
        if (continueToken !== undefined) query.set('continue', continueToken);
        let list: ListPage;
        try {
          list = parseList(await client.get(`${listPathOf(resource, options.namespace)}?${query}`), resource);
        } catch (error) {
          const expired =
            error instanceof KubeApiError && error.status === 410 && continueToken !== undefined;
          if (!expired) throw error;
          if (restarts >= MAX_RESTARTS)
            throw new KubeApiError(
              'error',
              resource,
              410,
              `${error.message} (the list expired ${restarts + 1} times while paging; the cluster changes faster than it can be listed)`,
              { cause: error },
            );
          restarts += 1;
          restarted = true;
          await options.onRestart?.(resource);
          break;
        }
        page += 1;
        options.onPage?.(resource, page, list.items.length);
        continueToken = list.continueToken;
        yield list.items;
      } while (continueToken !== undefined);
      if (!restarted) return;
    }
  } finally {
    client.close();
  }
}

/**
 * Creates a pod; with `dryRun` the API server runs admission (the mutating webhooks included) and returns
 * the pod as it would be stored, without storing it. Returns the API's JSON for the pod.
 */
export async function createPod(
  config: KubeConfig,
  namespace: string,
  pod: unknown,
  options: { readonly dryRun: boolean; readonly timeoutMs?: number },
): Promise<unknown> {
  const client = new ApiClient(
    config,
    'pods',
    { ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }), maxThrottleRetries: 2 },
    options.dryRun ? 'dry-run creating' : 'creating',
  );
  try {
    const query = options.dryRun ? '?dryRun=All' : '';
    return await client.post(`/api/v1/namespaces/${encodeURIComponent(namespace)}/pods${query}`, pod);
  } finally {
    client.close();
  }
}

interface ListPage {
  readonly items: readonly unknown[];
  readonly continueToken?: string;
}

function parseList(body: unknown, resource: KubeResource): ListPage {
  const list = (typeof body === 'object' && body !== null ? body : {}) as {
    items?: unknown;
    metadata?: { continue?: unknown };
  };
  // Go's encoder writes `"items": null` for an empty list of some types; that is an empty page.
  if (list.items !== null && list.items !== undefined && !Array.isArray(list.items))
    throw new KubeApiError('error', resource, 200, `${resource}: the list response has no items array`);
  const continueToken = list.metadata?.continue;
  return {
    items: Array.isArray(list.items) ? list.items : [],
    ...(typeof continueToken === 'string' && continueToken !== '' ? { continueToken } : {}),
  };
}

/** GETs of one API server for one list: auth applied per request (tokens refresh), one keep-alive connection. */
class ApiClient {
  private readonly server: URL;
  private agent: Agent | undefined;

  constructor(
    private readonly config: KubeConfig,
    private readonly resource: KubeResource,
    private readonly options: ListOptions,
    private readonly verb = 'listing',
  ) {
    const server = config.getCurrentCluster()?.server;
    if (server === undefined)
      throw new KubeApiError('error', resource, undefined, 'the KubeConfig has no current cluster');
    this.server = new URL(server);
  }

  /** GETs a path and returns the parsed JSON, retrying throttling and a reset of a reused connection. */
  get(path: string): Promise<unknown> {
    return this.call(path, 'GET');
  }

  /** POSTs a JSON object (a create), with the same retries and error mapping as a GET. */
  post(path: string, body: unknown): Promise<unknown> {
    return this.call(path, 'POST', JSON.stringify(body));
  }

  private async call(path: string, method: 'GET' | 'POST', body?: string): Promise<unknown> {
    const maxRetries = this.options.maxThrottleRetries ?? DEFAULT_THROTTLE_RETRIES;
    for (let attempt = 0; ; attempt += 1) {
      const response = await this.send(path, method, body);
      if (response.status === 429 && attempt < maxRetries) {
        await sleep(retryDelayMs(response.retryAfter, attempt));
        continue;
      }
      return this.bodyOf(response);
    }
  }

  close(): void {
    this.agent?.destroy();
  }

  private async send(
    path: string,
    method: 'GET' | 'POST',
    body?: string,
    isRetry = false,
  ): Promise<RawResponse> {
    const options = await this.requestOptions();
    // The server's path may carry a prefix (an API proxy such as Rancher serves clusters under /k8s/clusters/ID).
    const fullPath = `${this.server.pathname.replace(/\/$/, '')}${path}`;
    try {
      return await exchange(
        {
          ...options,
          protocol: this.server.protocol,
          hostname: this.server.hostname,
          port: this.server.port === '' ? undefined : this.server.port,
          path: fullPath,
          method,
          headers: {
            ...options.headers,
            accept: 'application/json',
            'user-agent': 'irsa-auditor',
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          },
          timeout: this.options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
        },
        body,
      );
    } catch (error) {
      // A keep-alive connection the server closed while idle fails on reuse; Node's docs advise one retry.
      if (!isRetry && error instanceof ReusedSocketError) return this.send(path, method, body, true);
      throw this.networkError(error instanceof ReusedSocketError ? error.cause : error);
    }
  }

  private async requestOptions(): Promise<RequestOptions> {
    const options: RequestOptions = {};
    try {
      await this.config.applyToHTTPSOptions(options);
    } catch (error) {
      // The token source failed (no AWS credentials, an exec plugin that exits non-zero): nothing was sent.
      throw new KubeApiError(
        'unauthorized',
        this.resource,
        undefined,
        `${this.where()}: could not obtain credentials: ${errorText(error)}`,
        { cause: error },
      );
    }
    // client-node builds a new Agent without keep-alive on every call; with no proxy in play, one keep-alive
    // agent with the same TLS options saves a TCP and TLS handshake per page.
    if (this.config.getCurrentCluster()?.proxyUrl === undefined && this.server.protocol === 'https:') {
      this.agent ??= new Agent({
        keepAlive: true,
        maxSockets: 1,
        ca: options.ca,
        cert: options.cert,
        key: options.key,
        pfx: options.pfx,
        passphrase: options.passphrase,
        servername: options.servername,
        ...(options.rejectUnauthorized === undefined
          ? {}
          : { rejectUnauthorized: options.rejectUnauthorized }),
      });
      options.agent = this.agent;
    }
    return options;
  }

  private networkError(error: unknown): KubeApiError {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    const where = this.where();
    if (error instanceof TimeoutError || code === 'ETIMEDOUT')
      return new KubeApiError(
        'timeout',
        this.resource,
        undefined,
        `${where}: no response within ${this.options.timeoutMs ?? DEFAULT_TIMEOUT_MS} ms`,
        { cause: error },
      );
    if (UNREACHABLE_CODES.has(code))
      return new KubeApiError('unreachable', this.resource, undefined, `${where}: cannot connect (${code})`, {
        cause: error,
      });
    if (TLS_CODE.test(code))
      return new KubeApiError(
        'tls',
        this.resource,
        undefined,
        `${where}: TLS failed: ${errorText(error)} (${code})`,
        { cause: error },
      );
    return new KubeApiError('error', this.resource, undefined, `${where}: ${errorText(error)}`, {
      cause: error,
    });
  }

  private where(): string {
    return `${this.verb} ${this.resource} at ${this.server.host}`;
  }

  private bodyOf(response: RawResponse): unknown {
    const { status } = response;
    let body: unknown;
    try {
      body = JSON.parse(response.text);
    } catch {
      body = undefined;
    }
    if (status >= 200 && status < 300) {
      if (body === undefined)
        throw new KubeApiError(
          'error',
          this.resource,
          status,
          `${this.where()}: the API server answered with invalid JSON`,
        );
      return body;
    }
    // A Kubernetes Status carries the server's one-line explanation, e.g. the RBAC rule that was missing.
    const message = (body as { message?: unknown } | undefined)?.message;
    const explanation = typeof message === 'string' ? message : `HTTP ${status}`;
    const reason: KubeApiFailure =
      status === 401
        ? 'unauthorized'
        : status === 403
          ? 'forbidden'
          : status === 429
            ? 'throttled'
            : status === 408 || status === 504
              ? 'timeout'
              : 'error';
    throw new KubeApiError(
      reason,
      this.resource,
      status,
      `${this.where()}: ${reason} (HTTP ${status}): ${explanation}`,
    );
  }
}

interface RawResponse {
  readonly status: number;
  readonly text: string;
  readonly retryAfter?: string;
}

class TimeoutError extends Error {
  constructor() {
    super('request timed out');
    this.name = 'TimeoutError';
  }
}

class ReusedSocketError extends Error {
  constructor(override readonly cause: unknown) {
    super('a reused keep-alive connection failed', { cause });
    this.name = 'ReusedSocketError';
  }
}

function exchange(options: RequestOptions, body?: string): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const outgoing = request(options, (response: IncomingMessage) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', reject);
      response.on('end', () => {
        const retryAfter = response.headers['retry-after'];
        resolve({
          status: response.statusCode ?? 0,
          text: Buffer.concat(chunks).toString('utf8'),
          ...(retryAfter === undefined ? {} : { retryAfter }),
        });
      });
    });
    outgoing.on('timeout', () => outgoing.destroy(new TimeoutError()));
    outgoing.on('error', (error) => {
      const reset = (error as NodeJS.ErrnoException).code === 'ECONNRESET';
      reject(reset && outgoing.reusedSocket ? new ReusedSocketError(error) : error);
    });
    outgoing.end(body);
  });
}

// Retry-After in seconds (the API server sends whole seconds), else exponential backoff from 1 s.
function retryDelayMs(retryAfter: string | undefined, attempt: number): number {
  const seconds = Number(retryAfter);
  const delay = retryAfter !== undefined && Number.isFinite(seconds) && seconds >= 0 ? seconds : 2 ** attempt;
  return Math.min(delay, MAX_RETRY_AFTER_SECONDS) * 1000;
}

function sleep(milliseconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, milliseconds));
}
