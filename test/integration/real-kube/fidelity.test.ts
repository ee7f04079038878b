// Differential fidelity (issue 13, item 6): one scenario, driven step by step on the real kube-apiserver and
// on the project's fake API server, must give the same findings at every step. Both clusters start from
// examples/healthy (its namespaces and ServiceAccounts, its pods created through each server's API), run
// the same test pod identity webhook behind EKS's MutatingWebhookConfiguration, and go through the incident:
// healthy, the wrong caBundle pasted in (a pod created unmutated), the caBundle restored, the pod replaced.
// Each step's audit (live, `--probe`, EKS token authentication against moto) is compared as
// (check, severity, resource); pods the step created are named by the order they were created in.
// The IRSA part of every stored pod (env, token volume and mounts) is compared too. What the real server
// stores beyond that (its defaults) is listed in lambda/emulators/fake-kube-api/README.md.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AwsCredentialIdentity } from '@smithy/types';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeKubeApi, type KubeObject, startFakeKubeApi } from '../../../lambda/emulators/fake-kube-api';
import { issueCertificateAuthority } from '../../../lambda/emulators/fake-kube-api/certificates';
import { MOTO_CREDENTIALS, type MotoServer, motoClients, startMoto } from '../../../lambda/emulators/moto';
import {
  type PodIdentityWebhook,
  startPodIdentityWebhook,
} from '../../../lambda/emulators/pod-identity-webhook';
import { exampleEksIdentities, seedMotoWithExample } from '../../../lambda/emulators/seed-moto';
import { type ApiAnswer, type KubeServer, kubeCall } from '../../support/kube-call';
import { auditLive, ordersApiPod } from '../../support/real-kube/live-audit';
import {
  createExampleObjects,
  type RealEksCluster,
  startRealEksCluster,
} from '../../support/real-kube/real-eks-cluster';
import { ROOT } from '../../support/run-cli';
import { EXAMPLES } from '../../support/snapshot-dir';

type Json = Record<string, unknown>;

const EXAMPLE = join(EXAMPLES, 'healthy');
const CLUSTER = 'platform-prod';
const REGION = 'eu-west-1';
const NAMESPACE = 'payments';
const ROLE_ARN = 'arn:aws:iam::111122223333:role/orders-api';
const CONFIGURATIONS = '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations';

/** One cluster the scenario runs on: the same steps, whichever server answers them. */
interface Side {
  readonly name: 'real' | 'fake';
  readonly motoEndpoint: string;
  readonly credentials: AwsCredentialIdentity;
  readonly webhook: PodIdentityWebhook;
  /** The cluster CA (base64 PEM), the caBundle a healthy configuration carries. */
  readonly caData: string;
  /** Where the server is, and the admin's token. */
  readonly server: KubeServer;
  call(method: string, path: string, body?: unknown): Promise<ApiAnswer>;
  /** Installs (or replaces) EKS's pod identity webhook configuration with this caBundle. */
  configure(caBundle: string): Promise<void>;
  /** Deletes a pod, as `kubectl rollout restart` has the ReplicaSet do. */
  deletePod(name: string): Promise<void>;
  /** The names of the pods the scenario created, in order. */
  readonly created: string[];
  stop(): Promise<void>;
}

let real: RealEksCluster;
let sides: Side[] = [];
let otherCaBundle: string;

async function exampleItems(file: string): Promise<Json[]> {
  return (JSON.parse(await readFile(join(EXAMPLE, file), 'utf8')) as { items: Json[] }).items;
}

/** The example's pods as a create sends them: no status and none of the fields the server sets. */
async function examplePodsForCreate(): Promise<Json[]> {
  return (await exampleItems('pods.json')).map(({ status: _status, ...pod }) => {
    const metadata = { ...(pod.metadata as Json) };
    for (const field of ['uid', 'resourceVersion', 'creationTimestamp', 'managedFields', 'selfLink'])
      delete metadata[field];
    return { ...pod, metadata };
  });
}

async function realSide(): Promise<Side> {
  real = await startRealEksCluster({ example: EXAMPLE, clusterName: CLUSTER, region: REGION });
  console.info(`real kube-apiserver ${real.kube.version} at ${real.kube.url}`);
  // The auditor gets exactly the shipped RBAC (the fake authorizes everything not forbidden).
  const applied = await real.kubectl([
    'apply',
    '-f',
    join(ROOT, 'deploy', 'rbac.yaml'),
    '-f',
    join(ROOT, 'deploy', 'rbac-probe.yaml'),
  ]);
  expect(applied.stderr).toBe('');
  await createExampleObjects(real, EXAMPLE);
  const serviceAccounts = new Map<string, KubeObject>();
  for (const item of (await real.call('GET', '/api/v1/serviceaccounts')).body.items as KubeObject[]) {
    const metadata = item.metadata as Json;
    serviceAccounts.set(`${String(metadata.namespace)}/${String(metadata.name)}`, item);
  }
  const webhook = await startPodIdentityWebhook({
    cluster: {
      caData: real.kube.caData,
      issueCertificate: (options) => real.kube.issueCertificate(options),
      object: (_resource, namespace, name) => serviceAccounts.get(`${namespace}/${name}`),
    },
    region: REGION,
    stsRegionalEndpoints: true,
  });
  return {
    name: 'real',
    motoEndpoint: real.moto.endpoint,
    credentials: real.auditorCredentials,
    webhook,
    caData: real.kube.caData,
    server: { url: real.kube.url, caPem: real.kube.caPem, token: real.kube.adminToken },
    call: (method, path, body) => real.call(method, path, body),
    deletePod: async (name) => {
      const answer = await real.call('DELETE', `/api/v1/namespaces/${NAMESPACE}/pods/${name}`);
      expect(answer.status).toBe(200);
    },
    configure: async (caBundle) => {
      const configuration = webhook.configuration({ clientConfig: { url: webhook.url, caBundle } });
      const existing = await real.call('GET', `${CONFIGURATIONS}/pod-identity-webhook`);
      const answer =
        existing.status === 200
          ? await real.call('PUT', `${CONFIGURATIONS}/pod-identity-webhook`, {
              ...configuration,
              metadata: { ...(configuration.metadata as Json), resourceVersion: resourceVersionOf(existing) },
            })
          : await real.call('POST', CONFIGURATIONS, configuration);
      expect(answer.status, JSON.stringify(answer.body)).toBeLessThan(300);
      await untilAdmission(real.call, caBundle === real.kube.caData ? 'mutated' : 'not-mutated');
    },
    created: [],
    stop: async () => {
      await webhook.stop();
      await real.stop();
    },
  };
}

const resourceVersionOf = (answer: ApiAnswer) => (answer.body.metadata as Json).resourceVersion;

async function fakeSide(): Promise<Side> {
  // The fake serves the example's namespaces and ServiceAccounts as captured; its pods are created below.
  const kube: FakeKubeApi = await startFakeKubeApi({
    snapshotDirectory: EXAMPLE,
    objects: { pods: [], mutatingwebhookconfigurations: [] },
    eks: { clusterName: CLUSTER, credentials: MOTO_CREDENTIALS },
  });
  const webhook = await startPodIdentityWebhook({
    cluster: kube,
    region: REGION,
    stsRegionalEndpoints: true,
  });
  const identities = await exampleEksIdentities(EXAMPLE);
  let moto: MotoServer | undefined;
  try {
    moto = await startMoto({
      eksClusters: {
        ...identities,
        [CLUSTER]: { ...identities[CLUSTER], endpoint: kube.url, caData: kube.caData },
      },
    });
    await seedMotoWithExample(motoClients(moto.endpoint, REGION), EXAMPLE);
  } catch (error) {
    await webhook.stop();
    await kube.stop();
    throw error;
  }
  const server = { url: kube.url, caPem: kube.certificateAuthority.certificatePem, token: kube.token };
  const call = (method: string, path: string, body?: unknown) => kubeCall(server, method, path, body);
  for (const pod of await examplePodsForCreate()) {
    const namespace = (pod.metadata as Json).namespace as string;
    const answer = await call('POST', `/api/v1/namespaces/${namespace}/pods`, pod);
    expect(answer.status, JSON.stringify(answer.body)).toBe(201);
  }
  const motoServer = moto;
  return {
    name: 'fake',
    motoEndpoint: motoServer.endpoint,
    credentials: MOTO_CREDENTIALS,
    webhook,
    caData: kube.caData,
    server,
    call,
    deletePod: async (name) => {
      kube.setObjects({
        pods: kube.objects('pods').filter((pod) => (pod.metadata as Json).name !== name),
      });
    },
    configure: async (caBundle) => {
      kube.setObjects({
        mutatingwebhookconfigurations: [
          webhook.configuration({ clientConfig: { url: webhook.url, caBundle } }),
        ],
      });
    },
    created: [],
    stop: async () => {
      await webhook.stop();
      await kube.stop();
      await motoServer.stop();
    },
  };
}

beforeAll(async () => {
  sides = [await realSide(), await fakeSide()];
  otherCaBundle = Buffer.from(
    (await issueCertificateAuthority('platform-staging-ca')).certificatePem,
  ).toString('base64');
}, 120_000);

afterAll(async () => {
  for (const side of sides) await side.stop();
});

interface StoredPod {
  metadata: { name: string };
  spec: { containers: { env?: Json[]; volumeMounts?: Json[] }[]; volumes?: Json[] };
}

const roleArnOf = (pod: StoredPod) =>
  pod.spec.containers[0]?.env?.find((variable) => variable.name === 'AWS_ROLE_ARN')?.value;

/** The admission plugin of the real server reads configurations from an informer: wait for the outcome. */
async function untilAdmission(call: Side['call'], outcome: 'mutated' | 'not-mutated'): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt += 1) {
    const answer = await call('POST', `/api/v1/namespaces/${NAMESPACE}/pods?dryRun=All`, ordersApiPod());
    if ((roleArnOf(answer.body as unknown as StoredPod) === ROLE_ARN) === (outcome === 'mutated')) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`pod admission never became ${outcome}`);
}

async function createPod(side: Side): Promise<StoredPod> {
  const answer = await side.call('POST', `/api/v1/namespaces/${NAMESPACE}/pods`, ordersApiPod());
  expect(answer.status, JSON.stringify(answer.body)).toBe(201);
  const pod = answer.body as unknown as StoredPod;
  side.created.push(pod.metadata.name);
  return pod;
}

/** What IRSA reads of a stored pod: the AWS_* env, the token volume and where each container mounts it. */
function irsaPartOf(pod: StoredPod) {
  return {
    env: pod.spec.containers.map((container) =>
      (container.env ?? []).filter((variable) => String(variable.name).startsWith('AWS_')),
    ),
    mounts: pod.spec.containers.map((container) =>
      (container.volumeMounts ?? []).filter((mount) => mount.name === 'aws-iam-token'),
    ),
    volumes: (pod.spec.volumes ?? []).filter((volume) => volume.name === 'aws-iam-token'),
  };
}

/** The value with each generated `kube-api-access-xxxxx` volume name made the same. */
const withoutSuffixes = (value: unknown): unknown =>
  JSON.parse(
    JSON.stringify(value ?? null).replace(/kube-api-access-[a-z0-9]{5}/g, 'kube-api-access-<suffix>'),
  );

async function audit(side: Side): Promise<string[]> {
  const findings = await auditLive(
    { cluster: CLUSTER, region: REGION, endpoint: side.motoEndpoint, credentials: side.credentials },
    '--probe',
  );
  const named = (name: string) => {
    const index = side.created.indexOf(name);
    return index < 0 ? name : `<created pod ${index + 1}>`;
  };
  return findings
    .map(
      (finding) =>
        `${finding.check} ${finding.severity} ${finding.resource.kind} ${finding.resource.namespace ?? ''}/${named(finding.resource.name)}`,
    )
    .sort();
}

/** Runs a step on both sides and returns each side's findings. */
async function onBoth<T>(step: (side: Side) => Promise<T>): Promise<{ real: T; fake: T }> {
  const [onReal, onFake] = sides;
  if (onReal === undefined || onFake === undefined) throw new Error('the sides did not start');
  return { real: await step(onReal), fake: await step(onFake) };
}

describe('the fake API server against the real kube-apiserver', () => {
  it('stores the example pods with the same IRSA part', async () => {
    const stored = await onBoth(async (side) => {
      const listed = await side.call('GET', '/api/v1/pods');
      return (listed.body.items as StoredPod[])
        .map((pod) => ({ name: pod.metadata.name, ...irsaPartOf(pod) }))
        .sort((a, b) => a.name.localeCompare(b.name));
    });

    expect(stored.fake.length).toBeGreaterThan(0);
    expect(stored.fake).toEqual(stored.real);
  });

  it('gives the same findings on the healthy cluster, and mutates a new pod the same way', async () => {
    const pods = await onBoth(async (side) => {
      await side.configure(side.caData);
      side.webhook.clearRequests();
      const pod = await createPod(side);
      return {
        irsa: irsaPartOf(pod),
        spec: JSON.parse(
          JSON.stringify(pod.spec).replace(/kube-api-access-[a-z0-9]{5}/g, 'kube-api-access-<suffix>'),
        ),
        // What the webhook was sent decides its patch: the pod after the server's defaults and plugins.
        patch: withoutSuffixes(side.webhook.requests.at(-1)?.patch),
      };
    });
    const findings = await onBoth(audit);

    expect(pods.fake.irsa.env[0]?.map((variable) => variable.name)).toContain('AWS_ROLE_ARN');
    expect(pods.fake.irsa).toEqual(pods.real.irsa);
    // Defaults, the kube-api-access volume, tolerations and priority included.
    expect(pods.fake.spec).toEqual(pods.real.spec);
    expect(pods.fake.patch).toEqual(pods.real.patch);
    expect(findings.fake).toEqual(findings.real);
  });

  it('gives the same findings after the wrong caBundle, with a pod created unmutated', async () => {
    const pods = await onBoth(async (side) => {
      await side.configure(otherCaBundle);
      return irsaPartOf(await createPod(side));
    });
    const findings = await onBoth(audit);

    expect(pods.fake.env[0]).toEqual([]);
    expect(pods.fake).toEqual(pods.real);
    expect(findings.real.some((finding) => finding.startsWith('IRSA-P01'))).toBe(true);
    expect(findings.fake).toEqual(findings.real);
  });

  it('gives the same findings once the caBundle is restored and the pod replaced', async () => {
    const restored = await onBoth(async (side) => {
      await side.configure(side.caData);
      return audit(side);
    });
    const replaced = await onBoth(async (side) => {
      await side.deletePod(side.created[1] ?? '');
      const replacement = irsaPartOf(await createPod(side));
      return { replacement, findings: await audit(side) };
    });

    expect(restored.real.some((finding) => finding.startsWith('IRSA-P01'))).toBe(true);
    expect(restored.fake).toEqual(restored.real);
    expect(replaced.real.findings.some((finding) => finding.startsWith('IRSA-P01'))).toBe(false);
    expect(replaced.fake).toEqual(replaced.real);
  });

  it('answers the same failures with the same status, reason and message', async () => {
    const answers = await onBoth(async (side) => {
      const pod = ordersApiPod();
      const named = {
        ...pod,
        metadata: { ...(pod.metadata as Json), generateName: undefined, name: 'orders-api-fixed' },
      };
      expect((await side.call('POST', `/api/v1/namespaces/${NAMESPACE}/pods`, named)).status).toBe(201);
      const failures = {
        anonymous: await kubeCall({ ...side.server, token: '' }, 'GET', '/api/v1/pods'),
        unknownToken: await kubeCall({ ...side.server, token: 'not-a-token' }, 'GET', '/api/v1/pods'),
        unknownPath: await side.call('GET', `/api/v1/namespaces/${NAMESPACE}/widgets`),
        missingPod: await side.call('GET', `/api/v1/namespaces/${NAMESPACE}/pods/orders-api-missing`),
        missingNamespace: await side.call('POST', '/api/v1/namespaces/nowhere/pods', {
          ...pod,
          metadata: { ...(pod.metadata as Json), namespace: 'nowhere' },
        }),
        missingServiceAccount: await side.call('POST', `/api/v1/namespaces/${NAMESPACE}/pods`, {
          ...named,
          spec: { ...(pod.spec as Json), serviceAccountName: 'nobody' },
        }),
        noImage: await side.call('POST', `/api/v1/namespaces/${NAMESPACE}/pods`, {
          ...pod,
          spec: { serviceAccountName: 'orders-api', containers: [{ name: 'orders-api' }] },
        }),
        taken: await side.call('POST', `/api/v1/namespaces/${NAMESPACE}/pods`, named),
        notJson: await kubeCall(
          side.server,
          'POST',
          `/api/v1/namespaces/${NAMESPACE}/pods`,
          'pod',
          'text/plain',
        ),
      };
      side.created.push('orders-api-fixed');
      // A generated name differs from server to server.
      const generated = (value: unknown) =>
        JSON.parse(
          JSON.stringify(value ?? null).replace(/orders-api-74b6c9d8f5-[a-z0-9]{5}/g, '<generated>'),
        );
      return Object.fromEntries(
        Object.entries(failures).map(([name, answer]) => [
          name,
          {
            status: answer.status,
            reason: answer.body.reason,
            message: generated(answer.body.message),
            details: generated(answer.body.details),
          },
        ]),
      );
    });

    expect(answers.real.noImage?.status).toBe(422);
    expect(answers.fake).toEqual(answers.real);
  });
});
