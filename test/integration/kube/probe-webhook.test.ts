// The live webhook probe (IRSA-W07) through the real client against the fake API server, whose admission
// calls the test pod identity webhook over real HTTPS: what a dry-run pod create proves about the webhook,
// and that the probe never stores a pod.

import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type FakeKubeApi, type KubeObject, startFakeKubeApi } from '../../../lambda/emulators/fake-kube-api';
import { issueCertificateAuthority } from '../../../lambda/emulators/fake-kube-api/certificates';
import {
  type PodIdentityWebhook,
  startPodIdentityWebhook,
  type WebhookEntryOverrides,
} from '../../../lambda/emulators/pod-identity-webhook';
import { type ProbeCandidate, probeWebhook } from '../../../lambda/sources/kube/probe-webhook';
import { EXAMPLES, exampleItems } from '../../support/snapshot-dir';

type Json = Record<string, unknown>;

// SPEC §1 item 6: what the webhook injects, and where the projected token is mounted.
const INJECTED = [
  'AWS_ROLE_ARN',
  'AWS_WEB_IDENTITY_TOKEN_FILE',
  'aws-iam-token',
  '/var/run/secrets/eks.amazonaws.com/serviceaccount',
];
const ROLE_ARN_ANNOTATION = 'eks.amazonaws.com/role-arn';

let api: FakeKubeApi;
let webhook: PodIdentityWebhook;
let config: KubeConfig;
/** The annotated ServiceAccounts of examples/healthy (in data, kube-system, monitoring and payments). */
let candidates: ProbeCandidate[];
let exampleNamespaces: readonly KubeObject[];
let exampleServiceAccounts: readonly KubeObject[];
/** A caBundle the API server cannot verify the webhook with: a CA of another cluster. */
let otherCaBundle: string;

beforeAll(async () => {
  api = await startFakeKubeApi({ snapshotDirectory: join(EXAMPLES, 'healthy') });
  webhook = await startPodIdentityWebhook({ cluster: api, region: 'eu-west-1', stsRegionalEndpoints: true });
  config = new KubeConfig();
  config.loadFromString(JSON.stringify(api.kubeconfig()));
  exampleNamespaces = api.objects('namespaces');
  exampleServiceAccounts = api.objects('serviceaccounts');
  candidates = (await exampleItems('healthy', 'serviceaccounts.json')).flatMap((item) => {
    const metadata = item.metadata as { name: string; namespace: string; annotations?: Json };
    const roleArn = metadata.annotations?.[ROLE_ARN_ANNOTATION];
    return typeof roleArn === 'string'
      ? [{ namespace: metadata.namespace, name: metadata.name, roleArn }]
      : [];
  });
  const other = await issueCertificateAuthority('another-cluster-ca');
  otherCaBundle = Buffer.from(other.certificatePem).toString('base64');
});

afterAll(async () => {
  await webhook?.stop();
  await api?.stop();
});

afterEach(() => {
  api.permit('pods');
  api.setObjects({ namespaces: exampleNamespaces, serviceaccounts: exampleServiceAccounts });
  webhook.setPodIdentityAssociations([]);
  api.clearRequests();
  webhook.clearRequests();
});

/** Only EKS's pod identity webhook configuration, as healthy or with the given entry fields replaced. */
function useConfiguration(overrides?: WebhookEntryOverrides): void {
  api.setObjects({ mutatingwebhookconfigurations: [webhook.configuration(overrides)] });
  api.clearRequests();
  webhook.clearRequests();
}

function wrongCaBundle(failurePolicy: 'Ignore' | 'Fail'): WebhookEntryOverrides {
  return { clientConfig: { url: webhook.url, caBundle: otherCaBundle }, failurePolicy };
}

const podsStored = () => JSON.stringify(api.objects('pods'));
const namespacesWithCandidates = () =>
  [...new Set(candidates.map((candidate) => candidate.namespace))].sort();

describe('probeWebhook against the fake API server and the test pod identity webhook', () => {
  it('reports every probed namespace as mutated when the webhook is healthy, and stores no pod', async () => {
    useConfiguration();
    const before = podsStored();

    const result = await probeWebhook(config, candidates);

    expect(result.error).toBeUndefined();
    expect(result.probes.map((probe) => probe.namespace)).toEqual(namespacesWithCandidates());
    for (const probe of result.probes) {
      expect(probe.outcome).toBe('mutated');
      expect(probe.missing).toEqual([]);
      // The probe uses one of the namespace's annotated ServiceAccounts, and expects its role.
      expect(candidates).toContainEqual({
        namespace: probe.namespace,
        name: probe.serviceAccount,
        roleArn: probe.roleArn,
      });
    }
    expect(podsStored()).toBe(before);
    expect(api.requests.length).toBe(result.probes.length);
    for (const request of api.requests) {
      expect(request).toMatchObject({
        method: 'POST',
        verb: 'create',
        status: 201,
        query: { dryRun: 'All' },
      });
    }
    // The API server told the webhook it was a dry run, and the webhook answered with the injection.
    expect(webhook.requests.map((review) => [review.namespace, review.dryRun])).toEqual(
      result.probes.map((probe) => [probe.namespace, true]),
    );
    expect(webhook.requests.every((review) => (review.patch ?? []).length > 0)).toBe(true);
  });

  it('counts a Pod Identity injection as mutated where an association exists', async () => {
    useConfiguration();
    webhook.setPodIdentityAssociations([{ namespace: 'payments', serviceAccount: 'invoice-worker' }]);

    const result = await probeWebhook(
      config,
      candidates.filter((candidate) => candidate.namespace === 'payments'),
    );

    expect(result.probes).toEqual([expect.objectContaining({ namespace: 'payments', outcome: 'mutated' })]);
    // The webhook did inject Pod Identity, not IRSA, into the probe pod.
    const patch = JSON.stringify(webhook.requests[0]?.patch);
    expect(patch).toContain('AWS_CONTAINER_CREDENTIALS_FULL_URI');
    expect(patch).not.toContain('AWS_WEB_IDENTITY_TOKEN_FILE');
  });

  it('reports not-mutated with the missing env, volume and mount when the caBundle is wrong and failurePolicy is Ignore', async () => {
    useConfiguration(wrongCaBundle('Ignore'));
    const before = podsStored();

    const result = await probeWebhook(config, candidates);

    expect(result.error).toBeUndefined();
    expect(result.probes.map((probe) => probe.namespace)).toEqual(namespacesWithCandidates());
    for (const probe of result.probes) {
      expect(probe.outcome).toBe('not-mutated');
      for (const injected of INJECTED) {
        expect(probe.missing).toContainEqual(expect.stringContaining(injected));
      }
    }
    // The API server could not verify the webhook and admitted the pods unmutated; the webhook saw none.
    expect(webhook.requests).toEqual([]);
    expect(api.webhookCalls.map((call) => call.outcome)).toEqual(result.probes.map(() => 'failed-open'));
    expect(podsStored()).toBe(before);
  });

  it("reports rejected with the API server's message when the caBundle is wrong and failurePolicy is Fail", async () => {
    useConfiguration(wrongCaBundle('Fail'));
    const before = podsStored();

    const result = await probeWebhook(config, candidates);

    expect(result.error).toBeUndefined();
    expect(result.probes.map((probe) => probe.namespace)).toEqual(namespacesWithCandidates());
    // kube-apiserver's words (webhook/mutating/dispatcher.go, Go's net/http and crypto/tls errors).
    const apiServerMessage = `failed calling webhook "iam-for-pods.amazonaws.com": failed to call webhook: Post "${webhook.url}?timeout=10s": tls: failed to verify certificate: x509: certificate signed by unknown authority`;
    for (const probe of result.probes) {
      expect(probe.outcome).toBe('rejected');
      expect(probe.detail).toContain(apiServerMessage);
    }
    expect(api.requests.map((request) => request.status)).toEqual(result.probes.map(() => 500));
    expect(podsStored()).toBe(before);
  });

  it('returns an X02-shaped error naming the missing create permission when pods/create is forbidden', async () => {
    useConfiguration();
    api.forbid('pods', 'create');

    const result = await probeWebhook(config, candidates);

    expect(result.probes).toEqual([]);
    expect(result.error).toMatchObject({ resource: 'webhookProbes', reason: 'forbidden' });
    // kube-apiserver's RBAC denial for the first namespace probed, and what the probe needs.
    expect(result.error?.message).toContain(
      'pods is forbidden: User "fake-kube-api-user" cannot create resource "pods" in API group "" in the namespace "data"',
    );
    expect(result.error?.message).toMatch(/create on pods/);
    expect(api.requests.map((request) => request.status)).toEqual([403]);
    expect(webhook.requests).toEqual([]);
  });

  it('probes at most the configured number of namespaces, one pod each', async () => {
    useConfiguration();

    const result = await probeWebhook(config, candidates, { maxNamespaces: 2 });

    expect(result.probes).toHaveLength(2);
    expect(new Set(result.probes.map((probe) => probe.namespace)).size).toBe(2);
    expect(api.requests.filter((request) => request.method === 'POST')).toHaveLength(2);
  });

  it('probes five namespaces by default, however many have IRSA ServiceAccounts', async () => {
    useConfiguration();
    const teams = Array.from({ length: 7 }, (_, index) => `team-${index + 1}`);
    api.setObjects({
      namespaces: [
        ...exampleNamespaces,
        ...teams.map((name) => ({ metadata: { name, labels: { 'kubernetes.io/metadata.name': name } } })),
      ],
      serviceaccounts: [
        ...exampleServiceAccounts,
        ...teams.map((namespace) => ({
          metadata: {
            name: 'app',
            namespace,
            annotations: { [ROLE_ARN_ANNOTATION]: `arn:aws:iam::111122223333:role/${namespace}-app` },
          },
        })),
      ],
    });
    const many = [
      ...candidates,
      ...teams.map((namespace) => ({
        namespace,
        name: 'app',
        roleArn: `arn:aws:iam::111122223333:role/${namespace}-app`,
      })),
    ];
    api.clearRequests();

    const result = await probeWebhook(config, many);

    // Issue 4 and `irsa-audit --help`: up to five namespaces unless configured.
    expect(result.probes).toHaveLength(5);
    expect(new Set(result.probes.map((probe) => probe.namespace)).size).toBe(5);
    expect(result.probes.every((probe) => probe.outcome === 'mutated')).toBe(true);
    expect(api.requests.filter((request) => request.method === 'POST')).toHaveLength(5);
  });
});
