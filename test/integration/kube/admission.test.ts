// Pod create through the fake API server, with the test pod identity webhook behind a MutatingWebhookConfiguration
// shaped like EKS's: the mutation EKS performs, the §1 incident (a caBundle the API server cannot verify the webhook
// with), the other ways a pod escapes mutation, and the same round trip through kubectl and client-node.

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type FakeKubeApi, startFakeKubeApi } from '../../../lambda/emulators/fake-kube-api';
import { kubectl } from '../../../lambda/emulators/fake-kube-api/kubectl';
import { rawRequest } from '../../../lambda/emulators/fake-kube-api/raw-request';
import { startScriptedWebhook, withCaBundle } from '../../../lambda/emulators/fake-kube-api/scripted-webhook';
import {
  type PodIdentityWebhook,
  SKIP_POD_IDENTITY_WEBHOOK_LABEL,
  startPodIdentityWebhook,
  type WebhookEntryOverrides,
} from '../../../lambda/emulators/pod-identity-webhook';
import { EXAMPLES, exampleItems } from '../../support/snapshot-dir';

type Json = Record<string, unknown>;

const NAMESPACE = 'payments';
const SERVICE_ACCOUNT = 'orders-api';
// examples/healthy: the ServiceAccount's eks.amazonaws.com/role-arn annotation.
const ROLE_ARN = 'arn:aws:iam::111122223333:role/orders-api';
// SPEC §1 item 6 and the webhook's README: where the projected token is mounted and read.
const MOUNT_PATH = '/var/run/secrets/eks.amazonaws.com/serviceaccount';
const TOKEN_FILE = `${MOUNT_PATH}/token`;

let api: FakeKubeApi;
let webhook: PodIdentityWebhook;
let directory: string;
let kubeconfig: string;
/** What EKS's webhook injected into a running orders-api pod of examples/healthy (a capture of the real system). */
let eksMutation: { env: Json[]; volume: Json; mount: Json };
/**
 * What kube-apiserver adds to every pod before the webhooks, from the same capture: the ServiceAccount plugin's
 * `kube-api-access-xxxxx` volume and mount (its suffix generated per pod), the pod and container defaults,
 * DefaultTolerationSeconds and Priority.
 */
let apiServer: { volume: Json; mount: Json; pod: Json; container: Json };
const ACCESS_VOLUME_NAME = expect.stringMatching(/^kube-api-access-[b-df-hj-np-tv-z2-9]{5}$/);
/** The caBundle of the incident: the CA of another cluster (examples/blog-incident). */
let stagingCaBundle: string;

beforeAll(async () => {
  api = await startFakeKubeApi({ snapshotDirectory: join(EXAMPLES, 'healthy') });
  // EKS runs the webhook with the cluster's region and regional STS endpoints (see examples/healthy pods).
  webhook = await startPodIdentityWebhook({ cluster: api, region: 'eu-west-1', stsRegionalEndpoints: true });
  useConfiguration();
  directory = await mkdtemp(join(tmpdir(), 'admission-test-'));
  kubeconfig = join(directory, 'kubeconfig');
  await api.writeKubeconfig(kubeconfig);

  const running = (await exampleItems('healthy', 'pods.json')).find(
    (pod) => (pod.metadata as Json).name === 'orders-api-74b6c9d8f5-9j5gf',
  ) as { spec: Json & { volumes: Json[]; containers: (Json & { env: Json[]; volumeMounts: Json[] })[] } };
  const container = running.spec.containers[0]!;
  eksMutation = {
    env: container.env.filter((entry) => String(entry.name).startsWith('AWS_')),
    volume: running.spec.volumes.find((volume) => volume.name === 'aws-iam-token')!,
    mount: container.volumeMounts.find((mount) => mount.name === 'aws-iam-token')!,
  };
  const isAccess = (entry: Json) => String(entry.name).startsWith('kube-api-access-');
  const podField = (...names: string[]) =>
    Object.fromEntries(names.map((name) => [name, running.spec[name]]));
  const containerField = (...names: string[]) =>
    Object.fromEntries(names.map((name) => [name, container[name]]));
  apiServer = {
    volume: { ...running.spec.volumes.find(isAccess)!, name: ACCESS_VOLUME_NAME },
    mount: { ...container.volumeMounts.find(isAccess)!, name: ACCESS_VOLUME_NAME },
    pod: podField(
      'dnsPolicy',
      'enableServiceLinks',
      'preemptionPolicy',
      'priority',
      'restartPolicy',
      'schedulerName',
      'securityContext',
      'terminationGracePeriodSeconds',
      'tolerations',
    ),
    // The capture's image has a tag other than latest, as the test pods' busybox:1.36 has.
    container: containerField('imagePullPolicy', 'terminationMessagePath', 'terminationMessagePolicy'),
  };
  const [incident] = (await exampleItems('blog-incident', 'mutatingwebhookconfigurations.json')).filter(
    (configuration) => (configuration.metadata as Json).name === 'pod-identity-webhook',
  );
  stagingCaBundle = (incident as { webhooks: { clientConfig: { caBundle: string } }[] }).webhooks[0]!
    .clientConfig.caBundle;
});

afterAll(async () => {
  await webhook.stop();
  await api.stop();
  await rm(directory, { recursive: true, force: true });
});

afterEach(() => {
  api.clearRequests();
  webhook.clearRequests();
  webhook.setLatency(0);
  api.permit('pods');
  useConfiguration();
});

function useConfiguration(overrides?: WebhookEntryOverrides): void {
  api.setObjects({ mutatingwebhookconfigurations: [webhook.configuration(overrides)] });
}

function withWrongCaBundle(failurePolicy: 'Ignore' | 'Fail'): WebhookEntryOverrides {
  return { clientConfig: { caBundle: stagingCaBundle, url: webhook.url }, failurePolicy };
}

let podCount = 0;

interface TestPod {
  readonly metadata: { readonly name: string; readonly labels?: Record<string, string> };
  readonly spec: {
    readonly serviceAccountName: string;
    readonly containers: { name: string; image: string }[];
  };
}

/** A minimal pod of the annotated SA, with a name no other test uses. */
function newPod(labels?: Record<string, string>): TestPod {
  podCount += 1;
  return {
    metadata: { name: `orders-api-probe-${podCount}`, ...(labels === undefined ? {} : { labels }) },
    spec: {
      serviceAccountName: SERVICE_ACCOUNT,
      containers: [{ name: 'app', image: 'public.ecr.aws/docker/library/busybox:1.36' }],
    },
  };
}

function create(pod: TestPod, { dryRun }: { dryRun: boolean }) {
  return rawRequest(api, 'POST', `/api/v1/namespaces/${NAMESPACE}/pods${dryRun ? '?dryRun=All' : ''}`, {
    body: { apiVersion: 'v1', kind: 'Pod', ...pod },
  });
}

function storedPod(name: string) {
  return rawRequest(api, 'GET', `/api/v1/namespaces/${NAMESPACE}/pods/${name}`);
}

/** The submitted spec as the API server returns it when no webhook changed it. */
function unmutatedSpec(pod: TestPod): Json {
  return {
    ...pod.spec,
    ...apiServer.pod,
    serviceAccount: SERVICE_ACCOUNT,
    containers: pod.spec.containers.map((container) => ({
      ...container,
      ...apiServer.container,
      volumeMounts: [apiServer.mount],
    })),
    volumes: [apiServer.volume],
  };
}

describe('pod create through a healthy pod identity webhook', () => {
  it('returns the dry-run pod mutated as EKS mutates it, and stores nothing', async () => {
    const pod = newPod();

    const answer = await create(pod, { dryRun: true });

    expect(answer.status).toBe(201);
    const spec = answer.body.spec as { containers: Json[]; volumes: Json[] };
    expect(spec.containers[0]!.env).toEqual(eksMutation.env);
    expect(spec.containers[0]!.env).toEqual(
      expect.arrayContaining([
        { name: 'AWS_ROLE_ARN', value: ROLE_ARN },
        { name: 'AWS_WEB_IDENTITY_TOKEN_FILE', value: TOKEN_FILE },
      ]),
    );
    expect(spec.containers[0]!.volumeMounts).toEqual([apiServer.mount, eksMutation.mount]);
    expect(spec.containers[0]!.volumeMounts).toEqual([
      {
        name: ACCESS_VOLUME_NAME,
        readOnly: true,
        mountPath: '/var/run/secrets/kubernetes.io/serviceaccount',
      },
      { name: 'aws-iam-token', readOnly: true, mountPath: MOUNT_PATH },
    ]);
    expect(spec.volumes).toEqual([eksMutation.volume, apiServer.volume]);
    expect(eksMutation.volume).toMatchObject({
      projected: {
        sources: [{ serviceAccountToken: { audience: 'sts.amazonaws.com', expirationSeconds: 86400 } }],
      },
    });
    const metadata = answer.body.metadata as Json;
    expect(metadata.uid).toEqual(expect.any(String));
    expect(metadata.creationTimestamp).toEqual(expect.any(String));
    expect(metadata.resourceVersion).toBeUndefined();
    expect((await storedPod(String(metadata.name))).status).toBe(404);
    expect(api.objects('pods', NAMESPACE).map((item) => (item.metadata as Json).name)).not.toContain(
      metadata.name,
    );
    expect(webhook.requests).toHaveLength(1);
    expect(webhook.requests[0]).toMatchObject({ apiVersion: 'admission.k8s.io/v1beta1', dryRun: true });
  });

  it('stores a real create mutated, with uid, creationTimestamp and resourceVersion, and lists it afterwards', async () => {
    const pod = newPod();

    const answer = await create(pod, { dryRun: false });
    const stored = await storedPod(pod.metadata.name);
    const listed = await rawRequest(api, 'GET', `/api/v1/namespaces/${NAMESPACE}/pods`);

    expect(answer.status).toBe(201);
    expect(stored.status).toBe(200);
    expect(stored.body).toEqual(answer.body);
    const metadata = stored.body.metadata as Json;
    expect(metadata).toMatchObject({
      uid: expect.any(String),
      creationTimestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
      resourceVersion: expect.stringMatching(/^\d+$/),
    });
    const spec = stored.body.spec as { containers: Json[]; volumes: Json[] };
    expect(spec.containers[0]!.env).toEqual(eksMutation.env);
    expect(spec.volumes).toEqual([eksMutation.volume, apiServer.volume]);
    const names = (listed.body.items as { metadata: Json }[]).map((item) => item.metadata.name);
    expect(names).toContain(pod.metadata.name);
    expect((listed.body.metadata as Json).resourceVersion).toBe(metadata.resourceVersion);
  });

  it('logs each create with its method and dryRun query, so a test can tell dry runs from real creates', async () => {
    await create(newPod(), { dryRun: true });
    await create(newPod(), { dryRun: false });

    const creates = api.requests.filter((entry) => entry.verb === 'create');

    expect(creates.map((entry) => [entry.method, entry.path, entry.query.dryRun, entry.status])).toEqual([
      ['POST', `/api/v1/namespaces/${NAMESPACE}/pods`, 'All', 201],
      ['POST', `/api/v1/namespaces/${NAMESPACE}/pods`, undefined, 201],
    ]);
  });
});

describe('pod create when the API server cannot verify the webhook (the caBundle incident)', () => {
  it.each([
    ['a dry run', true],
    ['a real create', false],
  ])('admits %s unmutated under failurePolicy Ignore', async (_case, dryRun) => {
    useConfiguration(withWrongCaBundle('Ignore'));
    const pod = newPod();

    const answer = await create(pod, { dryRun });

    expect(answer.status).toBe(201);
    expect(answer.body.spec).toEqual(unmutatedSpec(pod));
    expect(webhook.requests).toHaveLength(0);
    expect(api.webhookCalls).toEqual([
      expect.objectContaining({
        webhook: 'iam-for-pods.amazonaws.com',
        outcome: 'failed-open',
        error: expect.stringContaining('x509: certificate signed by unknown authority'),
      }),
    ]);
    if (!dryRun) expect((await storedPod(pod.metadata.name)).body.spec).toEqual(unmutatedSpec(pod));
  });

  it.each([
    ['a dry run', true],
    ['a real create', false],
  ])('rejects %s with the API server’s InternalError under failurePolicy Fail', async (_case, dryRun) => {
    useConfiguration(withWrongCaBundle('Fail'));
    const pod = newPod();

    const answer = await create(pod, { dryRun });

    expect(answer.status).toBe(500);
    const message = `failed calling webhook "iam-for-pods.amazonaws.com": failed to call webhook: Post "${webhook.url}?timeout=10s": tls: failed to verify certificate: x509: certificate signed by unknown authority`;
    expect(answer.body).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: `Internal error occurred: ${message}`,
      reason: 'InternalError',
      details: { causes: [{ message }] },
      code: 500,
    });
    expect((await storedPod(pod.metadata.name)).status).toBe(404);
  });
});

describe('pods the webhook is not called for', () => {
  it('does not call the webhook for a pod with the skip label, which its objectSelector excludes', async () => {
    const pod = newPod({ [SKIP_POD_IDENTITY_WEBHOOK_LABEL]: 'true' });

    const answer = await create(pod, { dryRun: true });

    expect(answer.status).toBe(201);
    expect(answer.body.spec).toEqual(unmutatedSpec(pod));
    expect(webhook.requests).toHaveLength(0);
    expect(api.webhookCalls).toHaveLength(0);
  });

  it('calls the webhook only for pods whose labels an objectSelector selects', async () => {
    useConfiguration({ objectSelector: { matchLabels: { 'irsa.example.com/inject': 'yes' } } });
    const plain = newPod();
    const selected = newPod({ 'irsa.example.com/inject': 'yes' });

    const plainAnswer = await create(plain, { dryRun: true });
    const selectedAnswer = await create(selected, { dryRun: true });

    expect(plainAnswer.body.spec).toEqual(unmutatedSpec(plain));
    expect((selectedAnswer.body.spec as { volumes: Json[] }).volumes).toEqual([
      eksMutation.volume,
      apiServer.volume,
    ]);
    expect(webhook.requests.map((entry) => entry.name)).toEqual([selected.metadata.name]);
  });

  it.each([
    [
      'the automatic kubernetes.io/metadata.name label',
      { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: [NAMESPACE] }] },
      0,
    ],
    ['a label the namespace lacks', { matchLabels: { team: 'platform' } }, 0],
    ['a label the namespace carries', { matchLabels: { team: 'payments' } }, 1],
  ])('honours a namespaceSelector on %s', async (_case, namespaceSelector, calls) => {
    useConfiguration({ namespaceSelector });

    const answer = await create(newPod(), { dryRun: true });

    expect(answer.status).toBe(201);
    expect(webhook.requests).toHaveLength(calls);
  });
});

describe('a webhook slower than its timeoutSeconds', () => {
  it('admits the pod unmutated under failurePolicy Ignore', async () => {
    webhook.setLatency(1500);
    useConfiguration({ timeoutSeconds: 1 });
    const pod = newPod();

    const answer = await create(pod, { dryRun: true });

    expect(answer.status).toBe(201);
    expect(answer.body.spec).toEqual(unmutatedSpec(pod));
    expect(api.webhookCalls[0]).toMatchObject({
      outcome: 'failed-open',
      error: `failed calling webhook "iam-for-pods.amazonaws.com": failed to call webhook: Post "${webhook.url}?timeout=1s": context deadline exceeded`,
    });
  });

  it('rejects the pod under failurePolicy Fail', async () => {
    webhook.setLatency(1500);
    useConfiguration({ timeoutSeconds: 1, failurePolicy: 'Fail' });

    const answer = await create(newPod(), { dryRun: true });

    expect(answer.status).toBe(500);
    expect(answer.body.message).toBe(
      `Internal error occurred: failed calling webhook "iam-for-pods.amazonaws.com": failed to call webhook: Post "${webhook.url}?timeout=1s": context deadline exceeded`,
    );
  });
});

describe('RBAC on pod create', () => {
  it('answers 403 to a create the user may not make, before any webhook, while lists still work', async () => {
    api.forbid('pods', 'create');

    const dryRun = await create(newPod(), { dryRun: true });
    const list = await rawRequest(api, 'GET', `/api/v1/namespaces/${NAMESPACE}/pods`);

    expect(dryRun.status).toBe(403);
    expect(dryRun.body).toMatchObject({
      reason: 'Forbidden',
      message: `pods is forbidden: User "fake-kube-api-user" cannot create resource "pods" in API group "" in the namespace "${NAMESPACE}"`,
      code: 403,
    });
    expect(list.status).toBe(200);
    expect(webhook.requests).toHaveLength(0);
    expect(api.requests.find((entry) => entry.verb === 'create')).toMatchObject({
      status: 403,
      query: { dryRun: 'All' },
    });
  });

  it('keeps create allowed when only list and get are forbidden', async () => {
    api.forbid('pods');

    const answer = await create(newPod(), { dryRun: true });

    expect(answer.status).toBe(201);
  });
});

describe('the mutation through real Kubernetes clients', () => {
  const run = (args: readonly string[]) =>
    kubectl(args, { kubeconfig, cacheDirectory: join(directory, 'cache') });
  // The fake serves no OpenAPI, so kubectl's client-side schema validation is turned off; admission is unaffected.
  const NO_SCHEMA = '--validate=false';

  async function podFile(pod: TestPod): Promise<string> {
    const file = join(directory, `${pod.metadata.name}.json`);
    await writeFile(file, JSON.stringify({ apiVersion: 'v1', kind: 'Pod', ...pod }));
    return file;
  }

  it('returns the mutated pod to kubectl create --dry-run=server without storing it', async () => {
    const pod = newPod();
    const file = await podFile(pod);

    const result = await run([
      'create',
      NO_SCHEMA,
      '--dry-run=server',
      '-n',
      NAMESPACE,
      '-f',
      file,
      '-o',
      'json',
    ]);

    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const printed = JSON.parse(result.stdout) as { spec: { containers: Json[]; volumes: Json[] } };
    expect(printed.spec.containers[0]!.env).toEqual(eksMutation.env);
    expect(printed.spec.containers[0]!.volumeMounts).toEqual([apiServer.mount, eksMutation.mount]);
    expect(printed.spec.volumes).toEqual([eksMutation.volume, apiServer.volume]);
    expect(api.requests.find((entry) => entry.verb === 'create')?.query.dryRun).toBe('All');
    expect(api.object('pods', NAMESPACE, pod.metadata.name)).toBeUndefined();
  });

  it.each([['create'], ['apply']])(
    'stores the mutated pod of kubectl %s, as kubectl get shows it',
    async (verb) => {
      const pod = newPod();
      const file = await podFile(pod);

      const created = await run([verb, NO_SCHEMA, '-n', NAMESPACE, '-f', file]);
      const shown = await run(['get', 'pod', '-n', NAMESPACE, pod.metadata.name, '-o', 'json']);

      expect(created.stderr).toBe('');
      expect(created.stdout.trim()).toBe(`pod/${pod.metadata.name} created`);
      const printed = JSON.parse(shown.stdout) as { spec: { containers: Json[]; volumes: Json[] } };
      expect(printed.spec.containers[0]!.env).toEqual(eksMutation.env);
      expect(printed.spec.volumes).toEqual([eksMutation.volume, apiServer.volume]);
    },
  );

  it('shows kubectl the InternalError of a webhook that fails closed', async () => {
    useConfiguration(withWrongCaBundle('Fail'));
    const file = await podFile(newPod());

    const result = await run(['create', NO_SCHEMA, '-n', NAMESPACE, '-f', file]);

    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(
      `Error from server (InternalError): error when creating "${file}": Internal error occurred: failed calling webhook "iam-for-pods.amazonaws.com"`,
    );
    expect(result.stderr).toContain('x509: certificate signed by unknown authority');
  });

  it('returns the mutated pod to client-node’s createNamespacedPod with dryRun All', async () => {
    const config = new KubeConfig();
    config.loadFromString(JSON.stringify(api.kubeconfig()));
    const core = config.makeApiClient(CoreV1Api);
    const pod = newPod();

    const created = await core.createNamespacedPod({
      namespace: NAMESPACE,
      body: pod satisfies V1Pod,
      dryRun: 'All',
    });

    const container = created.spec?.containers[0];
    expect(container?.env).toEqual(eksMutation.env);
    expect(container?.volumeMounts).toEqual([apiServer.mount, eksMutation.mount]);
    expect(created.spec?.volumes?.map((volume) => volume.name)).toEqual([
      'aws-iam-token',
      ACCESS_VOLUME_NAME,
    ]);
    expect(created.spec?.volumes?.[0]?.projected?.sources?.[0]?.serviceAccountToken).toEqual({
      audience: 'sts.amazonaws.com',
      expirationSeconds: 86400,
      path: 'token',
    });
    expect(api.object('pods', NAMESPACE, pod.metadata.name)).toBeUndefined();
  });
});

describe('the other webhooks of the shipped examples', () => {
  const LOAD_BALANCER_SERVICE = 'aws-load-balancer-webhook-service';

  async function othersOfExample(): Promise<Json[]> {
    return (await exampleItems('healthy', 'mutatingwebhookconfigurations.json')).filter(
      (configuration) => (configuration.metadata as Json).name !== 'pod-identity-webhook',
    );
  }

  it('rejects a pod in a namespace the load balancer webhook selects while its service has no endpoints', async () => {
    api.setObjects({
      mutatingwebhookconfigurations: [...(await othersOfExample()), webhook.configuration()],
    });

    const answer = await create(newPod(), { dryRun: true });

    expect(answer.status).toBe(500);
    expect(answer.body.message).toBe(
      `Internal error occurred: failed calling webhook "mpod.elbv2.k8s.aws": failed to call webhook: Post "https://${LOAD_BALANCER_SERVICE}.kube-system.svc:443/mutate-v1-pod?timeout=10s": service "${LOAD_BALANCER_SERVICE}" not found`,
    );
  });

  it('admits and mutates the pod once a stand-in the cluster CA vouches for serves that service', async () => {
    const standIn = await startScriptedWebhook({
      certificate: await api.issueCertificate({ dnsNames: [`${LOAD_BALANCER_SERVICE}.kube-system.svc`] }),
    });
    try {
      api.setServiceEndpoint('kube-system', LOAD_BALANCER_SERVICE, standIn.url);
      const others = (await othersOfExample()).map((configuration) =>
        withCaBundle(configuration, api.caData),
      );
      api.setObjects({ mutatingwebhookconfigurations: [...others, webhook.configuration()] });

      const answer = await create(newPod(), { dryRun: true });

      expect(answer.status).toBe(201);
      expect((answer.body.spec as { volumes: Json[] }).volumes).toEqual([
        eksMutation.volume,
        apiServer.volume,
      ]);
      expect(standIn.reviews).toHaveLength(1);
      expect(api.webhookCalls.slice(0, 2).map((call) => [call.webhook, call.outcome])).toEqual([
        ['mpod.elbv2.k8s.aws', 'admitted'],
        ['iam-for-pods.amazonaws.com', 'mutated'],
      ]);
    } finally {
      api.setServiceEndpoint('kube-system', LOAD_BALANCER_SERVICE, undefined);
      await standIn.stop();
    }
  });
});
