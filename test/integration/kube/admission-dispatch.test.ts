// The fake API server's mutating admission against scripted webhooks, one behaviour of kube-apiserver's webhook
// dispatcher at a time: which AdmissionReview it sends and accepts, matching rules and selectors, ordering and
// reinvocation, sideEffects on dry runs, service references, and the built-in admission around the webhooks.

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type FakeKubeApi, type KubeObject, startFakeKubeApi } from '../../../lambda/emulators/fake-kube-api';
import { rawRequest } from '../../../lambda/emulators/fake-kube-api/raw-request';
import {
  admissionAnswer,
  denialAnswer,
  type ScriptedWebhook,
  startScriptedWebhook,
} from '../../../lambda/emulators/fake-kube-api/scripted-webhook';

type Json = Record<string, unknown>;

const NAMESPACE = 'apps';

let api: FakeKubeApi;
let first: ScriptedWebhook;
let second: ScriptedWebhook;
let service: ScriptedWebhook;

beforeAll(async () => {
  api = await startFakeKubeApi({
    objects: {
      namespaces: [
        { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE, labels: { team: 'apps' } } },
        // No labels at all: the API server still knows it by its kubernetes.io/metadata.name label.
        { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'unlabelled' } },
      ],
      serviceaccounts: [
        { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'worker', namespace: NAMESPACE } },
      ],
    },
  });
  const certificate = await api.issueCertificate();
  first = await startScriptedWebhook({ certificate });
  second = await startScriptedWebhook({ certificate });
  service = await startScriptedWebhook({
    certificate: await api.issueCertificate({ dnsNames: ['stand-in.kube-system.svc'] }),
  });
});

afterAll(async () => {
  await Promise.all([first.stop(), second.stop(), service.stop()]);
  await api.stop();
});

afterEach(() => {
  for (const webhook of [first, second, service]) {
    webhook.setResponder((review) => admissionAnswer(review));
    (webhook.reviews as unknown[]).length = 0;
  }
  api.setServiceEndpoint('kube-system', 'stand-in', undefined);
  api.setObjects({ mutatingwebhookconfigurations: [] });
  api.clearRequests();
});

/** A webhook entry calling `webhook` for pod CREATE, trusting the cluster CA; `overrides` replace its fields. */
function entry(name: string, webhook: ScriptedWebhook, overrides: Json = {}): Json {
  return {
    name,
    admissionReviewVersions: ['v1'],
    clientConfig: { url: webhook.url, caBundle: api.caData },
    failurePolicy: 'Fail',
    sideEffects: 'None',
    timeoutSeconds: 5,
    rules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods'] }],
    ...overrides,
  };
}

function configuration(name: string, ...webhooks: Json[]): KubeObject {
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'MutatingWebhookConfiguration',
    metadata: { name },
    webhooks,
  };
}

function install(...configurations: KubeObject[]): void {
  api.setObjects({ mutatingwebhookconfigurations: configurations });
}

let podCount = 0;

function newPod(extra: { metadata?: Json; spec?: Json } = {}): Json {
  podCount += 1;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `worker-${podCount}`, ...extra.metadata },
    spec: { serviceAccountName: 'worker', containers: [{ name: 'app', image: 'busybox' }], ...extra.spec },
  };
}

function create(pod: Json, { dryRun = true, namespace = NAMESPACE } = {}) {
  return rawRequest(api, 'POST', `/api/v1/namespaces/${namespace}/pods${dryRun ? '?dryRun=All' : ''}`, {
    body: pod,
  });
}

function requestOf(review: Readonly<Json> | undefined): Json {
  return (review?.request ?? {}) as Json;
}

describe('the AdmissionReview the fake sends', () => {
  it('carries what kube-apiserver puts in an admission.k8s.io/v1 request for a dry-run pod create', async () => {
    install(configuration('probe', entry('probe.example.com', first)));
    const pod = newPod();

    await create(pod);

    const [review] = first.reviews;
    expect(review?.apiVersion).toBe('admission.k8s.io/v1');
    expect(review?.kind).toBe('AdmissionReview');
    const request = requestOf(review);
    expect(request).toMatchObject({
      uid: expect.stringMatching(/^[0-9a-f-]{36}$/),
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      requestKind: { group: '', version: 'v1', kind: 'Pod' },
      requestResource: { group: '', version: 'v1', resource: 'pods' },
      name: (pod.metadata as Json).name,
      namespace: NAMESPACE,
      operation: 'CREATE',
      userInfo: { username: 'fake-kube-api-user', groups: ['system:authenticated'] },
      oldObject: null,
      dryRun: true,
      options: { kind: 'CreateOptions', apiVersion: 'meta.k8s.io/v1', dryRun: ['All'] },
    });
    expect(request.object).toMatchObject({
      metadata: { name: (pod.metadata as Json).name, namespace: NAMESPACE },
      spec: { serviceAccountName: 'worker' },
    });
  });

  it.each([
    [['v1', 'v1beta1'], 'admission.k8s.io/v1'],
    [['v1beta1', 'v1'], 'admission.k8s.io/v1beta1'],
    [['v1beta1'], 'admission.k8s.io/v1beta1'],
  ])('sends the first version it knows of admissionReviewVersions %j: %s', async (versions, expected) => {
    install(configuration('probe', entry('probe.example.com', first, { admissionReviewVersions: versions })));

    const answer = await create(newPod());

    expect(answer.status).toBe(201);
    expect(first.reviews[0]?.apiVersion).toBe(expected);
  });

  it('fails the call for a webhook that accepts no AdmissionReview version it knows', async () => {
    install(configuration('probe', entry('probe.example.com', first, { admissionReviewVersions: ['v2'] })));

    const answer = await create(newPod());

    expect(answer.status).toBe(500);
    expect(answer.body.message).toBe(
      'Internal error occurred: failed calling webhook "probe.example.com": could not create admission objects: webhook does not accept known AdmissionReview versions (v1, v1beta1)',
    );
    expect(first.reviews).toHaveLength(0);
  });
});

describe('the AdmissionReview responses the fake accepts', () => {
  it('refuses a v1 response whose uid is not the request’s', async () => {
    install(configuration('probe', entry('probe.example.com', first)));
    first.setResponder(() => ({
      body: {
        apiVersion: 'admission.k8s.io/v1',
        kind: 'AdmissionReview',
        response: { uid: 'other', allowed: true },
      },
    }));

    const answer = await create(newPod());

    const uid = requestOf(first.reviews[0]).uid;
    expect(answer.status).toBe(500);
    expect(answer.body.message).toBe(
      `Internal error occurred: failed calling webhook "probe.example.com": received invalid webhook response: expected response.uid="${uid}", got "other"`,
    );
  });

  it('refuses a v1 patch without patchType', async () => {
    install(configuration('probe', entry('probe.example.com', first)));
    first.setResponder((review) => {
      const reply = admissionAnswer(review, [{ op: 'add', path: '/metadata/labels', value: { a: 'b' } }]);
      const body = reply.body as { response: Json };
      delete body.response.patchType;
      return reply;
    });

    const answer = await create(newPod());

    expect(answer.body.message).toBe(
      'Internal error occurred: failed calling webhook "probe.example.com": received invalid webhook response: webhook returned response.patch but not response.patchType',
    );
  });

  it('accepts a v1beta1 response without uid, kind or patchType, and applies its patch as a JSON Patch', async () => {
    install(
      configuration('probe', entry('probe.example.com', first, { admissionReviewVersions: ['v1beta1'] })),
    );
    first.setResponder(() => ({
      body: {
        response: {
          allowed: true,
          patch: Buffer.from(
            JSON.stringify([{ op: 'add', path: '/metadata/labels', value: { a: 'b' } }]),
          ).toString('base64'),
        },
      },
    }));

    const answer = await create(newPod());

    expect(answer.status).toBe(201);
    expect((answer.body.metadata as Json).labels).toEqual({ a: 'b' });
  });

  it.each([['Fail'], ['Ignore']])(
    'answers a denial with the webhook’s message and code under failurePolicy %s',
    async (failurePolicy) => {
      install(configuration('probe', entry('deny.example.com', first, { failurePolicy })));
      first.setResponder((review) => denialAnswer(review, 'no pods today', 403));

      const answer = await create(newPod());

      expect(answer.status).toBe(403);
      expect(answer.body).toMatchObject({
        kind: 'Status',
        status: 'Failure',
        message: 'admission webhook "deny.example.com" denied the request: no pods today',
        code: 403,
      });
      expect(api.webhookCalls.map((call) => call.outcome)).toEqual(['denied']);
    },
  );

  it('treats an HTTP 500 from the webhook as a failed call', async () => {
    install(configuration('probe', entry('probe.example.com', first)));
    first.setResponder(() => ({ status: 500, body: 'boom' }));

    const answer = await create(newPod());

    expect(answer.body.message).toBe(
      'Internal error occurred: failed calling webhook "probe.example.com": failed to call webhook: an error on the server ("boom") has prevented the request from succeeding',
    );
  });

  it('fails the request whatever the failurePolicy when the patch does not apply', async () => {
    install(configuration('probe', entry('probe.example.com', first, { failurePolicy: 'Ignore' })));
    first.setResponder((review) =>
      admissionAnswer(review, [{ op: 'remove', path: '/metadata/labels/missing' }]),
    );

    const answer = await create(newPod());

    expect(answer.status).toBe(500);
    expect(answer.body.reason).toBe('InternalError');
    expect(api.webhookCalls.map((call) => call.outcome)).toEqual(['error']);
  });
});

describe('which webhooks the fake calls', () => {
  it.each([
    { rule: 'operations UPDATE', overrides: { operations: ['UPDATE'] }, called: false },
    { rule: 'operations *', overrides: { operations: ['*'] }, called: true },
    { rule: 'apiGroups apps', overrides: { apiGroups: ['apps'] }, called: false },
    { rule: 'apiGroups *', overrides: { apiGroups: ['*'] }, called: true },
    { rule: 'apiVersions v1beta1', overrides: { apiVersions: ['v1beta1'] }, called: false },
    { rule: 'apiVersions *', overrides: { apiVersions: ['*'] }, called: true },
    { rule: 'resources pods/status', overrides: { resources: ['pods/status'] }, called: false },
    { rule: 'resources pods/*', overrides: { resources: ['pods/*'] }, called: true },
    { rule: 'resources *', overrides: { resources: ['*'] }, called: true },
    { rule: 'resources */*', overrides: { resources: ['*/*'] }, called: true },
    { rule: 'resources deployments', overrides: { resources: ['deployments'] }, called: false },
    { rule: 'scope Cluster', overrides: { scope: 'Cluster' }, called: false },
    { rule: 'scope Namespaced', overrides: { scope: 'Namespaced' }, called: true },
  ])('calls the webhook for a rule with $rule: $called', async ({ overrides, called }) => {
    const rule = {
      apiGroups: [''],
      apiVersions: ['v1'],
      operations: ['CREATE'],
      resources: ['pods'],
      ...overrides,
    };
    install(configuration('probe', entry('probe.example.com', first, { rules: [rule] })));

    await create(newPod());

    expect(first.reviews.length).toBe(called ? 1 : 0);
  });

  it.each([['Exact'], ['Equivalent']])(
    'finds no pod resource equivalent to a rule for another version under matchPolicy %s',
    async (matchPolicy) => {
      const rule = { apiGroups: [''], apiVersions: ['v1beta1'], operations: ['CREATE'], resources: ['pods'] };
      install(configuration('probe', entry('probe.example.com', first, { rules: [rule], matchPolicy })));

      await create(newPod());

      expect(first.reviews).toHaveLength(0);
    },
  );

  it('selects a namespace without labels by its automatic kubernetes.io/metadata.name label', async () => {
    api.setObjects({
      serviceaccounts: [
        { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'worker', namespace: NAMESPACE } },
        { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'worker', namespace: 'unlabelled' } },
      ],
    });
    const namespaceSelector = { matchLabels: { 'kubernetes.io/metadata.name': 'unlabelled' } };
    install(configuration('probe', entry('probe.example.com', first, { namespaceSelector })));

    await create(newPod(), { namespace: 'unlabelled' });
    await create(newPod());

    expect(first.reviews.map((review) => requestOf(review).namespace)).toEqual(['unlabelled']);
  });

  it('fails the request when a matching webhook’s objectSelector cannot be parsed', async () => {
    const objectSelector = { matchExpressions: [{ key: 'tier', operator: 'Near', values: ['x'] }] };
    install(
      configuration('probe', entry('probe.example.com', first, { objectSelector, failurePolicy: 'Ignore' })),
    );

    const answer = await create(newPod());

    expect(answer.status).toBe(500);
    expect(String(answer.body.message)).toContain('"Near" is not a valid label selector operator');
  });
});

describe('several webhooks', () => {
  it('calls configurations in name order, each webhook seeing the pod the previous one patched', async () => {
    install(
      configuration('b-second', entry('second.example.com', second)),
      configuration('a-first', entry('first.example.com', first)),
    );
    first.setResponder((review) =>
      admissionAnswer(review, [{ op: 'add', path: '/metadata/labels', value: { a: '1' } }]),
    );
    second.setResponder((review) =>
      admissionAnswer(review, [{ op: 'add', path: '/metadata/annotations', value: { b: '2' } }]),
    );

    const answer = await create(newPod());

    expect((requestOf(second.reviews[0]).object as { metadata: Json }).metadata.labels).toEqual({ a: '1' });
    expect(answer.body.metadata).toMatchObject({ labels: { a: '1' }, annotations: { b: '2' } });
    expect(api.webhookCalls.map((call) => [call.configuration, call.outcome])).toEqual([
      ['a-first', 'mutated'],
      ['b-second', 'mutated'],
    ]);
  });

  it.each([
    {
      reinvocationPolicy: 'IfNeeded',
      later: 'a later webhook changes the pod',
      laterChanges: true,
      calls: 2,
    },
    { reinvocationPolicy: 'Never', later: 'a later webhook changes the pod', laterChanges: true, calls: 1 },
    { reinvocationPolicy: 'IfNeeded', later: 'no later webhook changes it', laterChanges: false, calls: 1 },
  ])(
    'calls a webhook with reinvocationPolicy $reinvocationPolicy $calls time(s) when $later',
    async ({ reinvocationPolicy, laterChanges, calls }) => {
      install(
        configuration('a-first', entry('first.example.com', first, { reinvocationPolicy })),
        configuration('b-second', entry('second.example.com', second)),
      );
      second.setResponder((review) =>
        laterChanges
          ? admissionAnswer(review, [{ op: 'add', path: '/metadata/annotations', value: { b: '2' } }])
          : admissionAnswer(review),
      );

      await create(newPod());

      expect(first.reviews).toHaveLength(calls);
      if (calls === 2) {
        expect((requestOf(first.reviews[1]).object as { metadata: Json }).metadata.annotations).toEqual({
          b: '2',
        });
        expect(api.webhookCalls.at(-1)).toMatchObject({ webhook: 'first.example.com', reinvocation: true });
      }
    },
  );
});

describe('sideEffects and dry runs', () => {
  it.each([
    ['None', 201],
    ['NoneOnDryRun', 201],
    ['Some', 400],
    ['Unknown', 400],
  ])('answers a dry run through a webhook with sideEffects %s with %i', async (sideEffects, status) => {
    install(
      configuration('probe', entry('probe.example.com', first, { sideEffects, failurePolicy: 'Ignore' })),
    );

    const answer = await create(newPod());

    expect(answer.status).toBe(status);
    if (status === 400) {
      expect(answer.body.message).toBe('admission webhook "probe.example.com" does not support dry run');
      expect(first.reviews).toHaveLength(0);
    }
  });

  it('calls a webhook with sideEffects Some for a real create', async () => {
    install(configuration('probe', entry('probe.example.com', first, { sideEffects: 'Some' })));

    const answer = await create(newPod(), { dryRun: false });

    expect(answer.status).toBe(201);
    expect(requestOf(first.reviews[0]).dryRun).toBe(false);
  });
});

describe('clientConfig', () => {
  const reference = { service: { name: 'stand-in', namespace: 'kube-system', path: '/mutate', port: 443 } };

  it('calls a service reference at its mapped endpoint, verifying the certificate for <name>.<namespace>.svc', async () => {
    api.setServiceEndpoint('kube-system', 'stand-in', service.url);
    install(
      configuration(
        'probe',
        entry('probe.example.com', service, { clientConfig: { ...reference, caBundle: api.caData } }),
      ),
    );

    const answer = await create(newPod());

    expect(answer.status).toBe(201);
    expect(service.reviews).toHaveLength(1);
    expect(api.webhookCalls[0]?.url).toBe('https://stand-in.kube-system.svc:443/mutate?timeout=5s');
  });

  it('fails a service reference whose certificate does not name the service', async () => {
    api.setServiceEndpoint('kube-system', 'stand-in', first.url);
    install(
      configuration(
        'probe',
        entry('probe.example.com', first, { clientConfig: { ...reference, caBundle: api.caData } }),
      ),
    );

    const answer = await create(newPod());

    expect(answer.body.message).toBe(
      'Internal error occurred: failed calling webhook "probe.example.com": failed to call webhook: Post "https://stand-in.kube-system.svc:443/mutate?timeout=5s": tls: failed to verify certificate: x509: certificate is valid for localhost, not stand-in.kube-system.svc',
    );
  });

  it('fails a service reference without endpoints', async () => {
    install(
      configuration(
        'probe',
        entry('probe.example.com', first, { clientConfig: { ...reference, caBundle: api.caData } }),
      ),
    );

    const answer = await create(newPod());

    expect(answer.body.message).toBe(
      'Internal error occurred: failed calling webhook "probe.example.com": failed to call webhook: Post "https://stand-in.kube-system.svc:443/mutate?timeout=5s": service "stand-in" not found',
    );
  });

  it('treats a caBundle without a certificate as a failed call', async () => {
    const caBundle = Buffer.from('not a certificate').toString('base64');
    install(
      configuration(
        'probe',
        entry('probe.example.com', first, {
          clientConfig: { url: first.url, caBundle },
          failurePolicy: 'Ignore',
        }),
      ),
    );

    const answer = await create(newPod());

    expect(answer.status).toBe(201);
    expect(api.webhookCalls[0]).toMatchObject({
      outcome: 'failed-open',
      error:
        'failed calling webhook "probe.example.com": could not get REST client: unable to load root certificates: unable to parse bytes as PEM block',
    });
  });
});

describe('the built-in admission around the webhooks', () => {
  it('refuses a pod whose ServiceAccount does not exist, before calling any webhook', async () => {
    install(configuration('probe', entry('probe.example.com', first)));

    const answer = await create(newPod({ spec: { serviceAccountName: 'ghost' } }));

    expect(answer.status).toBe(403);
    expect(answer.body.message).toBe(
      `pods "worker-${podCount}" is forbidden: error looking up service account ${NAMESPACE}/ghost: serviceaccount "ghost" not found`,
    );
    expect(first.reviews).toHaveLength(0);
  });

  it('gives a pod without serviceAccountName the default ServiceAccount', async () => {
    const pod = newPod();
    delete (pod.spec as Json).serviceAccountName;

    const answer = await create(pod);

    expect(answer.body.spec).toMatchObject({ serviceAccountName: 'default', serviceAccount: 'default' });
  });

  it('answers 404 for a pod in a namespace that does not exist', async () => {
    const answer = await create(newPod(), { namespace: 'nowhere' });

    expect(answer.status).toBe(404);
    expect(answer.body.message).toBe('namespaces "nowhere" not found');
  });

  it('answers 400 when the pod names another namespace than the path', async () => {
    const answer = await create(newPod({ metadata: { namespace: 'elsewhere' } }));

    expect(answer.status).toBe(400);
    expect(answer.body.message).toBe(
      'the namespace of the provided object does not match the namespace sent on the request',
    );
  });

  it('generates the name from generateName after admission, so webhooks see none', async () => {
    install(configuration('probe', entry('probe.example.com', first)));

    const answer = await create({ ...newPod(), metadata: { generateName: 'worker-' } }, { dryRun: false });

    expect(answer.status).toBe(201);
    expect((answer.body.metadata as Json).name).toMatch(/^worker-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    expect(requestOf(first.reviews[0]).name).toBeUndefined();
    expect((requestOf(first.reviews[0]).object as { metadata: Json }).metadata.generateName).toBe('worker-');
  });

  it('answers 422 when a webhook adds a mount without its volume', async () => {
    install(configuration('probe', entry('probe.example.com', first)));
    first.setResponder((review) =>
      admissionAnswer(review, [
        {
          op: 'add',
          path: '/spec/containers/0/volumeMounts',
          value: [{ name: 'aws-iam-token', mountPath: '/t' }],
        },
      ]),
    );
    const pod = newPod();

    const answer = await create(pod);

    expect(answer.status).toBe(422);
    expect(answer.body.message).toBe(
      `Pod "${(pod.metadata as Json).name}" is invalid: spec.containers[0].volumeMounts[0].name: Not found: "aws-iam-token"`,
    );
  });

  it('answers 409 to a dry run whose name is taken, as to a real create', async () => {
    const pod = newPod();
    await create(pod, { dryRun: false });

    const answer = await create(pod);

    expect(answer.status).toBe(409);
    expect(answer.body.message).toBe(`pods "${(pod.metadata as Json).name}" already exists`);
  });
});
