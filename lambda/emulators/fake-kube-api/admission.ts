// The MutatingAdmissionWebhook plugin of kube-apiserver, for pod CREATE: which webhooks of the stored
// MutatingWebhookConfigurations apply (rules, namespaceSelector, objectSelector, matchPolicy), the
// AdmissionReview sent over real HTTPS and verified against caBundle, timeoutSeconds, failurePolicy,
// the JSONPatch applied, and one reinvocation round for reinvocationPolicy IfNeeded. The behaviour and the
// error wording follow k8s.io/apiserver/pkg/admission/plugin/webhook (generic/webhook.go,
// mutating/dispatcher.go, request/admissionreview.go, errors/statuserror.go).

import { randomUUID, X509Certificate } from 'node:crypto';
import { request as httpsRequest } from 'node:https';
import { applyJsonPatch, type JsonValue, jsonEqual } from './json-patch';
import { InvalidLabelSelectorError, labelSelectorMatches, labelsOf } from './label-selector';
import { defaultPod } from './pod-defaults';
import type { KubeObject } from './resources';
import { badRequest, internalError, type StatusResponse, webhookDenied } from './status';

/** What the fake knows about the create request that is being admitted. */
export interface PodAdmissionRequest {
  /** The pod as it stands after the built-in admission plugins, with `metadata.namespace` set. */
  readonly pod: Record<string, JsonValue>;
  readonly namespace: string;
  /** Labels of the pod's namespace, including `kubernetes.io/metadata.name`. */
  readonly namespaceLabels: Readonly<Record<string, string>>;
  /** The stored MutatingWebhookConfigurations, in the order the API server calls them (by name). */
  readonly configurations: readonly KubeObject[];
  readonly userName: string;
  readonly dryRun: boolean;
  readonly fieldManager?: string;
  /** Where a `clientConfig.service` reference is served (`https://127.0.0.1:port`), or undefined when it is not. */
  readonly resolveService: (namespace: string, name: string) => string | undefined;
  /** Called once per webhook the request matched, with what happened. */
  readonly onCall: (call: FakeWebhookCall) => void;
}

/** What became of one matching webhook: mutated or admitted the pod, denied it, or could not be called. */
export type FakeWebhookOutcome =
  | 'mutated'
  | 'admitted'
  | 'denied'
  | 'failed-open'
  | 'failed-closed'
  | 'error';

/** One webhook the fake API server matched for a pod create, and what became of it. */
export interface FakeWebhookCall {
  /** Name of the MutatingWebhookConfiguration. */
  readonly configuration: string;
  /** Name of the webhook entry, e.g. `iam-for-pods.amazonaws.com`. */
  readonly webhook: string;
  /** Where the AdmissionReview was posted, with the `timeout` query kube-apiserver adds. */
  readonly url: string;
  /** The AdmissionReview version sent; absent when none of the webhook's versions is known. */
  readonly admissionReviewVersion?: 'v1' | 'v1beta1';
  readonly dryRun: boolean;
  /** True in the reinvocation round (reinvocationPolicy IfNeeded). */
  readonly reinvocation: boolean;
  /**
   * `mutated`/`admitted`: allowed with or without a change; `denied`: allowed=false; `failed-open`: the call
   * failed and failurePolicy Ignore admitted the pod unmutated; `failed-closed`: the call failed and
   * failurePolicy Fail rejected it; `error`: rejected whatever the failurePolicy (dry run unsupported,
   * a patch that does not apply).
   */
  readonly outcome: FakeWebhookOutcome;
  /** Why the call failed or was denied, as the API server words it. */
  readonly error?: string;
}

/** The pod the webhooks produced, or the Status the API server answers instead. */
export type PodAdmissionResult =
  | { readonly allowed: true; readonly pod: Record<string, JsonValue> }
  | { readonly allowed: false; readonly status: StatusResponse };

type Webhook = Readonly<Record<string, unknown>> & { readonly name: string };

interface Hook {
  readonly configuration: string;
  /** Unique per configuration and webhook: what the reinvocation bookkeeping keys on. */
  readonly key: string;
  readonly webhook: Webhook;
}

/** A failure that failurePolicy decides about (webhookutil.ErrCallingWebhook). */
class CallingWebhookError extends Error {
  constructor(
    readonly webhookName: string,
    readonly reason: string,
  ) {
    super(`failed calling webhook "${webhookName}": ${reason}`);
    this.name = 'CallingWebhookError';
  }
}

/** A failure that rejects the request whatever the failurePolicy. */
class AdmissionRejectedError extends Error {
  constructor(
    readonly status: StatusResponse,
    readonly outcome: 'denied' | 'error',
  ) {
    super(String(status.body.message));
    this.name = 'AdmissionRejectedError';
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringList(value: unknown): readonly string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}

/** Every webhook of the configurations, in call order: configurations by name, webhooks as listed. */
function hooksOf(configurations: readonly KubeObject[]): Hook[] {
  return configurations.flatMap((configuration) => {
    const name = isRecord(configuration.metadata) ? String(configuration.metadata.name ?? '') : '';
    const webhooks = Array.isArray(configuration.webhooks) ? configuration.webhooks : [];
    return webhooks
      .filter((webhook): webhook is Webhook => isRecord(webhook) && typeof webhook.name === 'string')
      .map((webhook, index) => ({ configuration: name, key: `${name}/${index}/${webhook.name}`, webhook }));
  });
}

// rules.Matcher: scope, operations, apiGroups, apiVersions and resources (with `res/sub` and `*` forms).
function ruleMatches(rule: unknown, group: string, version: string): boolean {
  if (!isRecord(rule)) return false;
  const exactOrWildcard = (items: readonly string[], requested: string) =>
    items.some((item) => item === '*' || item === requested);
  const scope = rule.scope ?? '*';
  // A pod is namespaced, so it matches the Namespaced and all-scopes rules but not Cluster.
  if (scope !== '*' && scope !== 'Namespaced') return false;
  if (!exactOrWildcard(stringList(rule.operations), 'CREATE')) return false;
  if (!exactOrWildcard(stringList(rule.apiGroups), group)) return false;
  if (!exactOrWildcard(stringList(rule.apiVersions), version)) return false;
  return stringList(rule.resources).some((entry) => {
    const [resource, subresource = ''] = entry.split(/\/(.*)/s);
    return (resource === '*' || resource === 'pods') && (subresource === '*' || subresource === '');
  });
}

// Pods are served only as core/v1, so matchPolicy Equivalent finds no other group/version to try (kube-apiserver's
// EquivalentResourceMapper lists none for pods); the table is here so the policy is evaluated, not assumed.
const EQUIVALENT_POD_RESOURCES: readonly { readonly group: string; readonly version: string }[] = [];

function webhookMatches(webhook: Webhook, request: PodAdmissionRequest, pod: KubeObject): boolean {
  // generic.Webhook.ShouldCallHook: a selector that does not match skips the webhook; one that cannot be parsed
  // fails the request, but only for webhooks whose rules match.
  let selectorError: InvalidLabelSelectorError | undefined;
  const selects = (selector: unknown, labels: Readonly<Record<string, string>>) => {
    try {
      return labelSelectorMatches(selector, labels);
    } catch (error) {
      if (!(error instanceof InvalidLabelSelectorError)) throw error;
      selectorError ??= error;
      return true;
    }
  };
  if (!selects(webhook.namespaceSelector, request.namespaceLabels)) return false;
  if (!selects(webhook.objectSelector, labelsOf(pod))) return false;
  const rules = Array.isArray(webhook.rules) ? webhook.rules : [];
  let matched = rules.some((rule) => ruleMatches(rule, '', 'v1'));
  if (!matched && (webhook.matchPolicy ?? 'Equivalent') === 'Equivalent')
    matched = rules.some((rule) =>
      EQUIVALENT_POD_RESOURCES.some((equivalent) => ruleMatches(rule, equivalent.group, equivalent.version)),
    );
  if (matched && selectorError !== undefined)
    throw new AdmissionRejectedError(internalError(selectorError.message), 'error');
  return matched;
}

interface Target {
  /** Where the fake connects. */
  readonly url: URL;
  /** The URL as kube-apiserver names it in errors (a service reference is `https://<svc>.<ns>.svc:<port>/...`). */
  readonly displayUrl: string;
  /** The TLS server name to verify: the service's DNS name for a service reference. */
  readonly servername?: string;
  /** Set when the service reference cannot be resolved (no endpoints). */
  readonly unresolved?: string;
}

function targetOf(webhook: Webhook, request: PodAdmissionRequest, timeoutSeconds: number): Target {
  const clientConfig = isRecord(webhook.clientConfig) ? webhook.clientConfig : {};
  const withTimeout = (url: URL) => {
    const copy = new URL(url);
    copy.searchParams.set('timeout', `${timeoutSeconds}s`);
    return copy;
  };
  if (typeof clientConfig.url === 'string') {
    if (!URL.canParse(clientConfig.url))
      return {
        url: new URL('https://invalid.invalid/'),
        displayUrl: clientConfig.url,
        unresolved: `parse "${clientConfig.url}": invalid URL`,
      };
    const url = withTimeout(new URL(clientConfig.url));
    return { url, displayUrl: url.toString() };
  }
  const service = isRecord(clientConfig.service) ? clientConfig.service : {};
  const name = String(service.name ?? '');
  const namespace = String(service.namespace ?? '');
  const port = typeof service.port === 'number' ? service.port : 443;
  const path = typeof service.path === 'string' ? service.path : '/';
  const host = `${name}.${namespace}.svc`;
  const display = withTimeout(new URL(`https://${host}:${port}${path}`));
  // Go prints the port even when it is the scheme's default; URL.toString() drops 443.
  const displayUrl = display.toString().replace(`https://${host}/`, `https://${host}:${port}/`);
  const base = request.resolveService(namespace, name);
  if (base === undefined) return { url: display, displayUrl, unresolved: `service "${name}" not found` };
  const url = withTimeout(new URL(`${path.replace(/^\//, '')}`, base.endsWith('/') ? base : `${base}/`));
  return { url, displayUrl, servername: host };
}

/** The caBundle's certificates as PEM, or undefined to use the system roots (an empty caBundle). */
function trustedCertificates(webhook: Webhook, name: string): string | undefined {
  const clientConfig = isRecord(webhook.clientConfig) ? webhook.clientConfig : {};
  const caBundle = typeof clientConfig.caBundle === 'string' ? clientConfig.caBundle : '';
  if (caBundle === '') return undefined;
  const text = Buffer.from(caBundle, 'base64').toString('utf8');
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  const valid = blocks.filter((block) => {
    try {
      new X509Certificate(block);
      return true;
    } catch {
      return false;
    }
  });
  // client-go's rest.TLSConfigFor fails to build a client from CA data without a certificate in it.
  if (valid.length === 0)
    throw new CallingWebhookError(
      name,
      'could not get REST client: unable to load root certificates: unable to parse bytes as PEM block',
    );
  return valid.join('\n');
}

// Node's TLS errors in the words of Go's crypto/tls and crypto/x509, which is what kube-apiserver reports.
function goNetworkError(error: NodeJS.ErrnoException, target: Target): string {
  const code = error.code ?? '';
  if (
    [
      'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
      'SELF_SIGNED_CERT_IN_CHAIN',
      'DEPTH_ZERO_SELF_SIGNED_CERT',
      'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
      'UNABLE_TO_GET_ISSUER_CERT',
      'CERT_SIGNATURE_FAILURE',
    ].includes(code)
  )
    return 'tls: failed to verify certificate: x509: certificate signed by unknown authority';
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID')
    return 'tls: failed to verify certificate: x509: certificate has expired or is not yet valid';
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    // x509.HostnameError: lists the certificate's DNS names, or says it has none.
    const host = target.servername ?? target.url.hostname;
    const altNames = String((error as { cert?: { subjectaltname?: string } }).cert?.subjectaltname ?? '');
    const dnsNames = altNames
      .split(', ')
      .filter((name) => name.startsWith('DNS:'))
      .map((name) => name.slice(4));
    return dnsNames.length === 0
      ? `tls: failed to verify certificate: x509: certificate is not valid for any names, but wanted to match ${host}`
      : `tls: failed to verify certificate: x509: certificate is valid for ${dnsNames.join(', ')}, not ${host}`;
  }
  if (code === 'ECONNREFUSED') return `dial tcp ${target.url.host}: connect: connection refused`;
  if (code === 'ECONNRESET') return 'read: connection reset by peer';
  return error.message;
}

interface WebhookHttpResponse {
  readonly statusCode: number;
  readonly text: string;
}

function postReview(
  target: Target,
  ca: string | undefined,
  body: string,
  timeoutSeconds: number,
): Promise<WebhookHttpResponse> {
  return new Promise((resolve, reject) => {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutSeconds * 1000);
    const fail = (message: string) => {
      clearTimeout(timer);
      reject(new Error(`Post "${target.displayUrl}": ${message}`));
    };
    const outgoing = httpsRequest(
      target.url,
      {
        method: 'POST',
        ...(ca === undefined ? {} : { ca }),
        ...(target.servername === undefined ? {} : { servername: target.servername }),
        rejectUnauthorized: true,
        agent: false,
        signal: controller.signal,
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, */*',
          'user-agent': 'kube-apiserver-admission',
          'content-length': Buffer.byteLength(body),
        },
      },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          text += chunk;
        });
        response.on('error', (error: NodeJS.ErrnoException) =>
          fail(controller.signal.aborted ? 'context deadline exceeded' : goNetworkError(error, target)),
        );
        response.on('end', () => {
          clearTimeout(timer);
          resolve({ statusCode: response.statusCode ?? 0, text });
        });
      },
    );
    outgoing.on('error', (error: NodeJS.ErrnoException) =>
      fail(controller.signal.aborted ? 'context deadline exceeded' : goNetworkError(error, target)),
    );
    outgoing.end(body);
  });
}

function reviewFor(
  version: 'v1' | 'v1beta1',
  uid: string,
  pod: Record<string, JsonValue>,
  request: PodAdmissionRequest,
): Record<string, unknown> {
  const metadata = isRecord(pod.metadata) ? pod.metadata : {};
  const gvk = { group: '', version: 'v1', kind: 'Pod' };
  const gvr = { group: '', version: 'v1', resource: 'pods' };
  return {
    kind: 'AdmissionReview',
    apiVersion: `admission.k8s.io/${version}`,
    request: {
      uid,
      kind: gvk,
      resource: gvr,
      requestKind: gvk,
      requestResource: gvr,
      // The name is empty for a generateName pod: names are generated after admission.
      ...(typeof metadata.name === 'string' && metadata.name !== '' ? { name: metadata.name } : {}),
      namespace: request.namespace,
      operation: 'CREATE',
      userInfo: { username: request.userName, groups: ['system:authenticated'] },
      object: pod,
      oldObject: null,
      dryRun: request.dryRun,
      options: {
        kind: 'CreateOptions',
        apiVersion: 'meta.k8s.io/v1',
        ...(request.dryRun ? { dryRun: ['All'] } : {}),
        ...(request.fieldManager === undefined ? {} : { fieldManager: request.fieldManager }),
      },
    },
  };
}

// request.VerifyAdmissionResponse: v1 checks the uid, kind and patch/patchType pairing; v1beta1 checks none of it.
function verifiedResponse(
  version: 'v1' | 'v1beta1',
  uid: string,
  review: unknown,
): { allowed: boolean; patch?: string; patchType?: string; result?: Record<string, unknown> } {
  if (!isRecord(review) || !isRecord(review.response)) throw new Error('webhook response was absent');
  const response = review.response;
  const patch = typeof response.patch === 'string' && response.patch !== '' ? response.patch : undefined;
  const result = isRecord(response.result) ? response.result : undefined;
  const base = { allowed: response.allowed === true, ...(result === undefined ? {} : { result }) };
  if (version === 'v1beta1')
    return { ...base, ...(patch === undefined ? {} : { patch, patchType: 'JSONPatch' }) };
  const responseUid = typeof response.uid === 'string' ? response.uid : '';
  if (responseUid !== uid) throw new Error(`expected response.uid="${uid}", got "${responseUid}"`);
  if (review.apiVersion !== 'admission.k8s.io/v1' || review.kind !== 'AdmissionReview') {
    const [group = '', ver = ''] = String(review.apiVersion ?? '').split('/');
    throw new Error(
      `expected webhook response of admission.k8s.io/v1, Kind=AdmissionReview, got ${group}/${ver}, Kind=${String(review.kind ?? '')}`,
    );
  }
  const patchType = typeof response.patchType === 'string' ? response.patchType : undefined;
  if (patch !== undefined && patchType === undefined)
    throw new Error('webhook returned response.patch but not response.patchType');
  if (patch === undefined && patchType !== undefined)
    throw new Error('webhook returned response.patchType but not response.patch');
  if (patchType === '') throw new Error('webhook returned invalid response.patchType of ""');
  return {
    ...base,
    ...(patch === undefined ? {} : { patch }),
    ...(patchType === undefined ? {} : { patchType }),
  };
}

// What an unsuccessful HTTP answer looks like to client-go's rest client (a Status body, or a generic error).
function httpFailure(response: WebhookHttpResponse): string {
  try {
    const body = JSON.parse(response.text) as unknown;
    if (isRecord(body) && body.kind === 'Status' && typeof body.message === 'string') return body.message;
  } catch {
    // Not JSON: described below the way client-go describes a bare error body.
  }
  const text = response.text.trim();
  return text === ''
    ? `the server responded with the status code ${response.statusCode} but did not return more information`
    : `an error on the server ("${text}") has prevented the request from succeeding`;
}

interface CallResult {
  readonly pod: Record<string, JsonValue>;
  readonly changed: boolean;
}

async function callHook(
  hook: Hook,
  pod: Record<string, JsonValue>,
  request: PodAdmissionRequest,
  reinvocation: boolean,
): Promise<CallResult> {
  const { webhook } = hook;
  const timeoutSeconds = typeof webhook.timeoutSeconds === 'number' ? webhook.timeoutSeconds : 10;
  const target = targetOf(webhook, request, timeoutSeconds);
  const versions = stringList(webhook.admissionReviewVersions);
  // CreateAdmissionObjects takes the first version in the webhook's own order that the API server knows.
  const version = versions.find((entry): entry is 'v1' | 'v1beta1' => entry === 'v1' || entry === 'v1beta1');
  const record = (outcome: FakeWebhookOutcome, error?: string) =>
    request.onCall({
      configuration: hook.configuration,
      webhook: webhook.name,
      url: target.displayUrl,
      ...(version === undefined ? {} : { admissionReviewVersion: version }),
      dryRun: request.dryRun,
      reinvocation,
      outcome,
      ...(error === undefined ? {} : { error }),
    });
  const failurePolicy = webhook.failurePolicy ?? 'Fail';
  try {
    if (request.dryRun) {
      if (webhook.sideEffects === undefined)
        throw new CallingWebhookError(webhook.name, 'Webhook SideEffects is nil');
      if (webhook.sideEffects !== 'None' && webhook.sideEffects !== 'NoneOnDryRun')
        throw new AdmissionRejectedError(
          badRequest(`admission webhook "${webhook.name}" does not support dry run`),
          'error',
        );
    }
    if (version === undefined)
      throw new CallingWebhookError(
        webhook.name,
        'could not create admission objects: webhook does not accept known AdmissionReview versions (v1, v1beta1)',
      );
    const ca = trustedCertificates(webhook, webhook.name);
    if (target.unresolved !== undefined)
      throw new CallingWebhookError(
        webhook.name,
        `failed to call webhook: Post "${target.displayUrl}": ${target.unresolved}`,
      );
    const uid = randomUUID();
    let response: WebhookHttpResponse;
    try {
      response = await postReview(
        target,
        ca,
        JSON.stringify(reviewFor(version, uid, pod, request)),
        timeoutSeconds,
      );
    } catch (error) {
      throw new CallingWebhookError(
        webhook.name,
        `failed to call webhook: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
    if (response.statusCode < 200 || response.statusCode > 299)
      throw new CallingWebhookError(webhook.name, `failed to call webhook: ${httpFailure(response)}`);
    let review: unknown;
    try {
      review = JSON.parse(response.text);
    } catch (error) {
      throw new CallingWebhookError(
        webhook.name,
        `failed to call webhook: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
    let verified: ReturnType<typeof verifiedResponse>;
    try {
      verified = verifiedResponse(version, uid, review);
    } catch (error) {
      throw new CallingWebhookError(
        webhook.name,
        `received invalid webhook response: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
    if (!verified.allowed)
      throw new AdmissionRejectedError(webhookDenied(webhook.name, verified.result), 'denied');
    if (verified.patch === undefined) {
      record('admitted');
      return { pod, changed: false };
    }
    if (verified.patchType !== 'JSONPatch')
      throw new CallingWebhookError(webhook.name, `unsupported patch type "${verified.patchType}"`);
    let operations: unknown;
    try {
      operations = JSON.parse(Buffer.from(verified.patch, 'base64').toString('utf8'));
      if (!Array.isArray(operations)) throw new Error('a JSON patch is an array of operations');
    } catch (error) {
      throw new CallingWebhookError(
        webhook.name,
        `received undecodable patch in webhook response: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
    let patched: JsonValue;
    try {
      patched = applyJsonPatch(pod, operations);
    } catch (error) {
      // A patch that does not apply is an InternalError whatever the failurePolicy (dispatcher.go).
      throw new AdmissionRejectedError(
        internalError(error instanceof Error ? error.message : String(error)),
        'error',
      );
    }
    if (!isRecord(patched))
      throw new AdmissionRejectedError(internalError('the patched object is not a JSON object'), 'error');
    const next = patched as Record<string, JsonValue>;
    // The dispatcher compares before defaulting the patched pod again (dispatcher.go).
    const changed = !jsonEqual(pod, next);
    defaultPod(next);
    record(changed ? 'mutated' : 'admitted');
    return { pod: next, changed };
  } catch (error) {
    if (error instanceof CallingWebhookError) {
      if (failurePolicy === 'Ignore') {
        record('failed-open', error.message);
        return { pod, changed: false };
      }
      record('failed-closed', error.message);
      throw new AdmissionRejectedError(internalError(error.message), 'error');
    }
    if (error instanceof AdmissionRejectedError) record(error.outcome, error.message);
    throw error;
  }
}

/**
 * Runs the matching mutating webhooks over a pod being created, as kube-apiserver's mutating dispatcher does,
 * including one reinvocation round for webhooks with reinvocationPolicy IfNeeded that ran before a later
 * webhook changed the pod (the API server's reinvocation is also a single extra round).
 */
export async function admitPodCreate(request: PodAdmissionRequest): Promise<PodAdmissionResult> {
  const hooks = hooksOf(request.configurations);
  let pod = request.pod;
  // webhookReinvokeContext: IfNeeded webhooks invoked so far, and those a later change makes due again.
  let previouslyInvoked = new Set<string>();
  const reinvoke = new Set<string>();
  let shouldReinvoke = false;
  try {
    for (const reinvocation of [false, true]) {
      if (reinvocation && !shouldReinvoke) break;
      for (const hook of hooks) {
        if (!webhookMatches(hook.webhook, request, pod)) continue;
        // During reinvocation a webhook is never called for the first time (dispatcher.go).
        if (reinvocation && !reinvoke.has(hook.key)) continue;
        const result = await callHook(hook, pod, request, reinvocation);
        pod = result.pod;
        if (result.changed) {
          for (const key of previouslyInvoked) reinvoke.add(key);
          previouslyInvoked = new Set();
          shouldReinvoke = true;
        }
        if (hook.webhook.reinvocationPolicy === 'IfNeeded') previouslyInvoked.add(hook.key);
      }
    }
  } catch (error) {
    if (error instanceof AdmissionRejectedError) return { allowed: false, status: error.status };
    throw error;
  }
  return { allowed: true, pod };
}
