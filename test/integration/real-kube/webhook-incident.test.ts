// The seed incident (SPEC §1) on the real kube-apiserver (issue 13, item 5): the test pod identity webhook is
// served over HTTPS and called by the real server's MutatingAdmissionWebhook plugin. With the cluster's CA as
// caBundle it mutates pods the real server creates; with another cluster's CA pasted in, the real server's TLS
// call fails, failurePolicy Ignore lets the pods through unmutated, and the audit reports IRSA-W02, IRSA-P01 on
// exactly those pods and, through real server-side dry runs, IRSA-W07. The W02 remediation, applied with the
// real kubectl, and a replacement pod resolve all of it.

import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Finding } from '../../../lambda/core/model/finding';
import type { KubeObject } from '../../../lambda/emulators/fake-kube-api';
import { issueCertificateAuthority } from '../../../lambda/emulators/fake-kube-api/certificates';
import { MOTO_CREDENTIALS } from '../../../lambda/emulators/moto';
import {
  type PodIdentityWebhook,
  startPodIdentityWebhook,
} from '../../../lambda/emulators/pod-identity-webhook';
import { auditLive, ofCheck, ordersApiPod } from '../../support/real-kube/live-audit';
import {
  createExampleObjects,
  type RealEksCluster,
  startRealEksCluster,
} from '../../support/real-kube/real-eks-cluster';
import { runRemediationCommand } from '../../support/remediation-shell';
import { ROOT } from '../../support/run-cli';
import { EXAMPLES } from '../../support/snapshot-dir';

type Json = Record<string, unknown>;

const EXAMPLE = join(EXAMPLES, 'healthy');
const CLUSTER = 'platform-prod';
const REGION = 'eu-west-1';
const NAMESPACE = 'payments';
const ROLE_ARN = 'arn:aws:iam::111122223333:role/orders-api';
const CONFIGURATIONS = '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations';
// The namespaces of examples/healthy with IRSA ServiceAccounts: one dry-run pod each.
const PROBED_NAMESPACES = ['data', 'kube-system', 'monitoring', 'payments'];

let cluster: RealEksCluster;
let webhook: PodIdentityWebhook;
let otherCaBundle: string;
/** The webhook's informer cache: the ServiceAccounts as the real server stores them. */
const serviceAccounts = new Map<string, KubeObject>();

beforeAll(async () => {
  cluster = await startRealEksCluster({ example: EXAMPLE, clusterName: CLUSTER, region: REGION });
  console.info(`real kube-apiserver ${cluster.kube.version} at ${cluster.kube.url}`);
  const applied = await cluster.kubectl([
    'apply',
    '-f',
    join(ROOT, 'deploy', 'rbac.yaml'),
    '-f',
    join(ROOT, 'deploy', 'rbac-probe.yaml'),
  ]);
  expect(applied.stderr).toBe('');
  // The example's pods first (they were mutated when captured), then the webhook configuration.
  await createExampleObjects(cluster, EXAMPLE);
  const listed = await cluster.call('GET', '/api/v1/serviceaccounts');
  for (const item of listed.body.items as KubeObject[]) {
    const metadata = item.metadata as Json;
    serviceAccounts.set(`${String(metadata.namespace)}/${String(metadata.name)}`, item);
  }
  webhook = await startPodIdentityWebhook({
    cluster: {
      caData: cluster.kube.caData,
      issueCertificate: (options) => cluster.kube.issueCertificate(options),
      object: (_resource, namespace, name) => serviceAccounts.get(`${namespace}/${name}`),
    },
    region: REGION,
    stsRegionalEndpoints: true,
  });
  const created = await cluster.call('POST', CONFIGURATIONS, webhook.configuration());
  expect(created.status).toBe(201);
  otherCaBundle = Buffer.from(
    (await issueCertificateAuthority('platform-staging-ca')).certificatePem,
  ).toString('base64');
  await untilAdmission('mutated');
}, 120_000);

afterAll(async () => {
  await webhook?.stop();
  await cluster?.stop();
});

interface StoredPod {
  metadata: { name: string };
  spec: { containers: { env?: Json[] }[]; volumes?: Json[] };
}

const roleArnOf = (pod: StoredPod) =>
  pod.spec.containers[0]?.env?.find((variable) => variable.name === 'AWS_ROLE_ARN')?.value;

async function createPod(dryRun = false): Promise<StoredPod> {
  const answer = await cluster.call(
    'POST',
    `/api/v1/namespaces/${NAMESPACE}/pods${dryRun ? '?dryRun=All' : ''}`,
    ordersApiPod(),
  );
  expect(answer.status).toBe(201);
  return answer.body as unknown as StoredPod;
}

/** The admission plugin reads configurations from an informer: wait until a dry run shows the expected outcome. */
async function untilAdmission(outcome: 'mutated' | 'not-mutated'): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt += 1) {
    const mutated = roleArnOf(await createPod(true)) === ROLE_ARN;
    if (mutated === (outcome === 'mutated')) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`pod admission never became ${outcome}`);
}

async function patchConfiguration(patch: unknown): Promise<void> {
  const patched = await cluster.kubectl([
    'patch',
    'mutatingwebhookconfiguration',
    'pod-identity-webhook',
    '--type',
    'json',
    '-p',
    JSON.stringify(patch),
  ]);
  expect(patched.stderr).toBe('');
}

const audit = (...extra: string[]) =>
  auditLive(
    {
      cluster: CLUSTER,
      region: REGION,
      endpoint: cluster.moto.endpoint,
      credentials: cluster.auditorCredentials,
    },
    ...extra,
  );

// The CAs here are issued for one day, so IRSA-W03 rightly warns (medium) that the caBundle expires soon.
const checksOf = (findings: readonly Finding[]) =>
  [
    ...new Set(
      findings
        .filter((finding) => !(finding.check === 'IRSA-W03' && finding.severity === 'medium'))
        .map((finding) => finding.check),
    ),
  ].sort();

describe('the webhook incident on the real kube-apiserver', () => {
  let broken: StoredPod;

  it('mutates pods through the real admission chain while the caBundle is the cluster CA', async () => {
    const pod = await createPod();
    const findings = await audit('--probe');

    expect(roleArnOf(pod)).toBe(ROLE_ARN);
    expect(pod.spec.volumes).toContainEqual({
      name: 'aws-iam-token',
      projected: {
        defaultMode: 420,
        sources: [
          { serviceAccountToken: { audience: 'sts.amazonaws.com', expirationSeconds: 86400, path: 'token' } },
        ],
      },
    });
    expect(checksOf(findings)).toEqual(['IRSA-W06']);
    expect(webhook.requests.some((review) => review.dryRun && review.namespace === 'data')).toBe(true);
  });

  it('lets pods through unmutated after the wrong caBundle, and the audit reports W02, W07 and P01 on them', async () => {
    await patchConfiguration([
      { op: 'replace', path: '/webhooks/0/clientConfig/caBundle', value: otherCaBundle },
    ]);
    await untilAdmission('not-mutated');
    webhook.clearRequests();
    broken = await createPod();

    const findings = await audit('--probe');

    // The real server could not call the webhook (TLS) and, failing open, stored the pod without IRSA.
    expect(webhook.requests.filter((review) => !review.dryRun)).toEqual([]);
    expect(roleArnOf(broken)).toBeUndefined();
    expect(broken.spec.volumes ?? []).not.toContainEqual(expect.objectContaining({ name: 'aws-iam-token' }));
    expect(checksOf(findings)).toEqual(['IRSA-P01', 'IRSA-W02', 'IRSA-W06', 'IRSA-W07']);
    expect(ofCheck(findings, 'IRSA-W02').map((finding) => finding.resource.name)).toEqual([
      'pod-identity-webhook',
    ]);
    // Exactly the pods created since (the untilAdmission dry runs stored nothing).
    expect(ofCheck(findings, 'IRSA-P01').map((finding) => finding.resource)).toEqual([
      { kind: 'Pod', namespace: NAMESPACE, name: broken.metadata.name },
    ]);
    const w07 = ofCheck(findings, 'IRSA-W07');
    expect(w07.map((finding) => finding.resource.name).sort()).toEqual(PROBED_NAMESPACES);
    expect(w07.map((finding) => finding.evidence.outcome)).toEqual(
      PROBED_NAMESPACES.map(() => 'not-mutated'),
    );
  });

  it('resolves with the IRSA-W02 remediation applied by the real kubectl and the pod replaced', async () => {
    const before = await audit('--probe');
    const remediation = ofCheck(before, 'IRSA-W02')[0]?.remediation ?? '';
    const command = /`([^`]+)`/.exec(remediation)?.[1] ?? '';
    // The command as a user pastes it: the real aws CLI reads the CA from moto's EKS; kubectl is recorded.
    const run = await runRemediationCommand(
      command,
      {
        AWS_ACCESS_KEY_ID: MOTO_CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: MOTO_CREDENTIALS.secretAccessKey,
        AWS_DEFAULT_REGION: REGION,
        AWS_ENDPOINT_URL: cluster.moto.endpoint,
        AWS_CONFIG_FILE: join(cluster.scratch, 'no-aws-config'),
        AWS_SHARED_CREDENTIALS_FILE: join(cluster.scratch, 'no-aws-credentials'),
      },
      ['aws'],
    );
    expect(run.code).toBe(0);
    const [call] = run.kubectlCalls;
    expect(call?.slice(0, 3)).toEqual(['patch', 'mutatingwebhookconfiguration', 'pod-identity-webhook']);
    // The same kubectl arguments, now against the real server.
    const patched = await cluster.kubectl(call ?? []);
    expect(patched.stderr).toBe('');
    await untilAdmission('mutated');
    const afterPatch = await audit('--probe');
    // `kubectl rollout restart`'s effect: the broken pod goes, the ReplicaSet creates a new one.
    expect(
      (await cluster.call('DELETE', `/api/v1/namespaces/${NAMESPACE}/pods/${broken.metadata.name}`)).status,
    ).toBe(200);
    const replacement = await createPod();
    const afterRestart = await audit('--probe');

    expect(checksOf(afterPatch)).toEqual(['IRSA-P01', 'IRSA-W06']);
    expect(roleArnOf(replacement)).toBe(ROLE_ARN);
    expect(checksOf(afterRestart)).toEqual(['IRSA-W06']);
  });
});
