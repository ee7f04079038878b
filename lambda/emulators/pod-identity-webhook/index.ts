// A test pod identity webhook: an HTTPS server on 127.0.0.1 whose certificate the fake cluster's CA signed,
// answering AdmissionReviews on /mutate as amazon-eks-pod-identity-webhook does (mutation.ts), with its
// ServiceAccount cache fed from the fake API server's objects. See README.md beside this file.

import { randomInt } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { FakeKubeApi, KubeObject, ServingCertificate } from '../fake-kube-api';
import {
  type ContainerCredentialsSettings,
  cacheEntryOf,
  type PatchOperation,
  type PodIdentityMutationSettings,
  podIdentityPatch,
  WEBHOOK_DEFAULTS,
} from './mutation';

export type { ContainerCredentialsSettings, PatchOperation } from './mutation';
export { WEBHOOK_DEFAULTS } from './mutation';

/** A namespace and ServiceAccount that have an EKS Pod Identity association. */
export interface PodIdentityAssociationRef {
  readonly namespace: string;
  readonly serviceAccount: string;
}

/** How to start the test webhook; the settings default to the webhook binary's flag defaults (`WEBHOOK_DEFAULTS`). */
export interface PodIdentityWebhookOptions {
  /** The fake cluster: its CA signs the serving certificate, its stored ServiceAccounts are the webhook's cache. */
  readonly cluster: Pick<FakeKubeApi, 'issueCertificate' | 'object' | 'caData'>;
  /** Port on 127.0.0.1 (default: a free one). */
  readonly port?: number;
  /** Serve this certificate instead of one from the cluster CA (e.g. one of another CA). */
  readonly certificate?: ServingCertificate;
  /** `--aws-default-region`: inject AWS_DEFAULT_REGION and AWS_REGION (EKS sets the cluster's region). */
  readonly region?: string;
  /** `--sts-regional-endpoint`: inject AWS_STS_REGIONAL_ENDPOINTS=regional (EKS sets it). */
  readonly stsRegionalEndpoints?: boolean;
  /** `--token-audience` (default `sts.amazonaws.com`). */
  readonly tokenAudience?: string;
  /** `--token-expiration` in seconds (default 86400). */
  readonly tokenExpiration?: number;
  /** `--annotation-prefix` (default `eks.amazonaws.com`). */
  readonly annotationPrefix?: string;
  /** `--token-mount-path`. */
  readonly tokenMountPath?: string;
  /** `--container-credentials-*` settings for EKS Pod Identity. */
  readonly containerCredentials?: Partial<ContainerCredentialsSettings>;
  /** The SAs with an EKS Pod Identity association (the file EKS hands its webhook); default none. */
  readonly podIdentityAssociations?: readonly PodIdentityAssociationRef[];
  /** Go's rand.Int63n for the Pod Identity token jitter (default: random; `() => 0` gives 79200 as upstream tests). */
  readonly randomInt63n?: (bound: number) => number;
  /** Delay before answering, in milliseconds (to provoke the API server's timeoutSeconds). */
  readonly latencyMs?: number;
}

/** One AdmissionReview the webhook answered. */
export interface PodIdentityWebhookRequest {
  /** `admission.k8s.io/v1` or `admission.k8s.io/v1beta1`, as sent. */
  readonly apiVersion: string;
  readonly uid: string;
  readonly namespace: string;
  /** Empty for a pod with generateName only. */
  readonly name: string;
  readonly serviceAccountName: string;
  readonly dryRun: boolean;
  /** The JSON Patch returned; absent when the webhook left the pod alone. */
  readonly patch?: readonly PatchOperation[];
}

/** Fields of the webhook entry to replace in `podIdentityWebhookConfiguration` (failurePolicy, timeoutSeconds, …). */
export type WebhookEntryOverrides = Readonly<Record<string, unknown>>;

/** A running test webhook; every test that starts one must `stop()` it. */
export interface PodIdentityWebhook {
  /** `https://127.0.0.1:<port>/mutate`, the path the real webhook serves. */
  readonly url: string;
  /** Every AdmissionReview answered, oldest first (a live view). */
  readonly requests: readonly PodIdentityWebhookRequest[];
  /** Forgets `requests`. */
  clearRequests(): void;
  /** Sets the delay before each answer. */
  setLatency(milliseconds: number): void;
  /** Replaces the SAs that have an EKS Pod Identity association. */
  setPodIdentityAssociations(associations: readonly PodIdentityAssociationRef[]): void;
  /** EKS's MutatingWebhookConfiguration pointing at this server, trusting the cluster CA; `overrides` replace entry fields. */
  configuration(overrides?: WebhookEntryOverrides): KubeObject;
  /** Stops listening and closes open connections. */
  stop(): Promise<void>;
}

/** What `podIdentityWebhookConfiguration` needs: where the webhook is and the CA bundle the API server trusts. */
export interface PodIdentityWebhookConfigurationOptions {
  readonly url: string;
  /** Base64 of the CA PEM (as `caBundle` is stored), e.g. the fake cluster's `caData`. */
  readonly caBundle: string;
  /** Fields of the webhook entry to replace. */
  readonly overrides?: WebhookEntryOverrides;
}

/** The skip label of the configuration's objectSelector. */
export const SKIP_POD_IDENTITY_WEBHOOK_LABEL = 'eks.amazonaws.com/skip-pod-identity-webhook';

/** The MutatingWebhookConfiguration EKS installs for the pod identity webhook (as `kubectl get -o json` shows it). */
export function podIdentityWebhookConfiguration(options: PodIdentityWebhookConfigurationOptions): KubeObject {
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'MutatingWebhookConfiguration',
    metadata: { name: 'pod-identity-webhook' },
    webhooks: [
      {
        admissionReviewVersions: ['v1beta1'],
        clientConfig: { caBundle: options.caBundle, url: options.url },
        failurePolicy: 'Ignore',
        matchPolicy: 'Equivalent',
        name: 'iam-for-pods.amazonaws.com',
        namespaceSelector: {},
        objectSelector: {
          matchExpressions: [{ key: SKIP_POD_IDENTITY_WEBHOOK_LABEL, operator: 'DoesNotExist' }],
        },
        reinvocationPolicy: 'IfNeeded',
        rules: [
          { apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods'], scope: '*' },
        ],
        sideEffects: 'None',
        timeoutSeconds: 10,
        ...options.overrides,
      },
    ],
  };
}

type JsonObject = { [key: string]: JsonValue };
type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

interface HttpAnswer {
  readonly status: number;
  readonly contentType: string;
  readonly text: string;
}

/** Starts the test pod identity webhook on 127.0.0.1. */
export async function startPodIdentityWebhook(
  options: PodIdentityWebhookOptions,
): Promise<PodIdentityWebhook> {
  const certificate =
    options.certificate ??
    (await options.cluster.issueCertificate({
      commonName: 'pod-identity-webhook',
      dnsNames: ['localhost', 'pod-identity-webhook.kube-system.svc'],
    }));
  const settings: PodIdentityMutationSettings = {
    annotationPrefix: options.annotationPrefix ?? WEBHOOK_DEFAULTS.annotationPrefix,
    tokenAudience: options.tokenAudience ?? WEBHOOK_DEFAULTS.tokenAudience,
    tokenMountPath: options.tokenMountPath ?? WEBHOOK_DEFAULTS.tokenMountPath,
    tokenExpiration: options.tokenExpiration ?? WEBHOOK_DEFAULTS.tokenExpiration,
    region: options.region ?? WEBHOOK_DEFAULTS.region,
    stsRegionalEndpoints: options.stsRegionalEndpoints ?? WEBHOOK_DEFAULTS.stsRegionalEndpoints,
    containerCredentials: { ...WEBHOOK_DEFAULTS.containerCredentials, ...options.containerCredentials },
    randomInt63n: options.randomInt63n ?? ((bound) => randomInt(bound)),
  };
  const requests: PodIdentityWebhookRequest[] = [];
  let associations = [...(options.podIdentityAssociations ?? [])];
  let latencyMs = options.latencyMs ?? 0;

  // The real webhook's informer cache holds every ServiceAccount; reading the fake's store is that cache, current.
  const cache = (namespace: string, name: string) => {
    const serviceAccount = options.cluster.object('serviceaccounts', namespace, name);
    return serviceAccount === undefined ? undefined : cacheEntryOf(serviceAccount as JsonObject, settings);
  };
  const hasAssociation = (namespace: string, serviceAccount: string) =>
    associations.some((entry) => entry.namespace === namespace && entry.serviceAccount === serviceAccount);

  // Modifier.Handle: exact Content-Type, the AdmissionReview echoed with its own apiVersion and kind.
  const handle = (contentType: string | undefined, body: string): HttpAnswer => {
    if (contentType !== 'application/json')
      return {
        status: 415,
        contentType: 'text/plain; charset=utf-8',
        text: 'Invalid Content-Type, expected `application/json`\n',
      };
    const respond = (typeMeta: JsonObject, response: JsonObject): HttpAnswer => ({
      status: 200,
      contentType: 'application/json',
      text: JSON.stringify({ ...typeMeta, response }),
    });
    let review: unknown;
    try {
      review = JSON.parse(body);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      return respond({}, { uid: '', allowed: false, result: { metadata: {}, message } });
    }
    const typeMeta: JsonObject = {};
    if (isObject(review) && typeof review.kind === 'string') typeMeta.kind = review.kind;
    if (isObject(review) && typeof review.apiVersion === 'string') typeMeta.apiVersion = review.apiVersion;
    const request = isObject(review) ? review.request : undefined;
    if (!isObject(request) || !isObject(request.object))
      return respond(typeMeta, {
        uid: isObject(request) && typeof request.uid === 'string' ? request.uid : '',
        allowed: false,
        result: { metadata: {}, message: 'bad content' },
      });
    const uid = typeof request.uid === 'string' ? request.uid : '';
    const pod = request.object;
    const namespace = typeof request.namespace === 'string' ? request.namespace : '';
    const metadata = isObject(pod.metadata) ? pod.metadata : {};
    const spec = isObject(pod.spec) ? pod.spec : {};
    const patch = podIdentityPatch(pod, namespace, settings, cache, hasAssociation);
    requests.push({
      apiVersion: String(typeMeta.apiVersion ?? ''),
      uid,
      namespace,
      name: typeof metadata.name === 'string' ? metadata.name : '',
      serviceAccountName: typeof spec.serviceAccountName === 'string' ? spec.serviceAccountName : '',
      dryRun: request.dryRun === true,
      ...(patch === undefined ? {} : { patch }),
    });
    if (patch === undefined) return respond(typeMeta, { uid, allowed: true });
    return respond(typeMeta, {
      uid,
      allowed: true,
      patch: Buffer.from(JSON.stringify(patch)).toString('base64'),
      patchType: 'JSONPatch',
    });
  };

  const server: Server = createServer(
    { key: certificate.keyPem, cert: certificate.certificatePem },
    (request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const path = new URL(request.url ?? '/', 'https://127.0.0.1').pathname;
        const answer: HttpAnswer =
          path === '/healthz'
            ? { status: 200, contentType: 'text/plain; charset=utf-8', text: 'ok' }
            : path === '/mutate' && request.method === 'POST'
              ? handle(request.headers['content-type'], Buffer.concat(chunks).toString('utf8'))
              : { status: 404, contentType: 'text/plain; charset=utf-8', text: '404 page not found\n' };
        setTimeout(() => {
          if (response.destroyed) return;
          response.writeHead(answer.status, {
            'content-type': answer.contentType,
            'content-length': Buffer.byteLength(answer.text),
          });
          response.end(answer.text);
        }, latencyMs);
      });
    },
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = `https://127.0.0.1:${port}/mutate`;

  return {
    url,
    requests,
    clearRequests: () => {
      requests.length = 0;
    },
    setLatency: (milliseconds) => {
      latencyMs = milliseconds;
    },
    setPodIdentityAssociations: (next) => {
      associations = [...next];
    },
    configuration: (overrides) =>
      podIdentityWebhookConfiguration({
        url,
        caBundle: options.cluster.caData,
        ...(overrides === undefined ? {} : { overrides }),
      }),
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error === undefined ? resolve() : reject(error)));
        server.closeAllConnections();
      }),
  };
}
