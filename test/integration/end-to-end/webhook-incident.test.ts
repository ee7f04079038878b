// The incident of SPEC §1, reproduced through the mechanism that breaks in production: a healthy cluster
// (moto for AWS, the fake API server whose admission calls the test pod identity webhook over real HTTPS),
// then the webhook configuration's caBundle replaced by another CA. The audit with --probe must see it three
// ways at once: the configuration (IRSA-W02), a dry-run pod (IRSA-W07) and the pods created since (IRSA-P01).

import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { AuditReport, Finding } from '../../../lambda/core/model/finding';
import { type FakeKubeApi, type KubeObject, startFakeKubeApi } from '../../../lambda/emulators/fake-kube-api';
import { issueCertificateAuthority } from '../../../lambda/emulators/fake-kube-api/certificates';
import { applyJsonPatch, type JsonValue } from '../../../lambda/emulators/fake-kube-api/json-patch';
import { kubectl } from '../../../lambda/emulators/fake-kube-api/kubectl';
import {
  type ScriptedWebhook,
  startScriptedWebhook,
  withCaBundle,
} from '../../../lambda/emulators/fake-kube-api/scripted-webhook';
import { MOTO_CREDENTIALS, type MotoServer, motoClients, startMoto } from '../../../lambda/emulators/moto';
import {
  type PodIdentityWebhook,
  startPodIdentityWebhook,
  type WebhookEntryOverrides,
} from '../../../lambda/emulators/pod-identity-webhook';
import { exampleEksIdentities, seedMotoWithExample } from '../../../lambda/emulators/seed-moto';
import { runRemediationCommand, withoutAwsSettings } from '../../support/remediation-shell';
import { ROOT, runCli } from '../../support/run-cli';
import { EXAMPLES } from '../../support/snapshot-dir';

type Json = Record<string, unknown>;

const EXAMPLE = join(EXAMPLES, 'healthy');
const CLUSTER = 'platform-prod';
const REGION = 'eu-west-1';
const WEBHOOK = 'iam-for-pods.amazonaws.com';
// examples/healthy: the Deployment whose pods the incident hits, its ServiceAccount and role.
const NAMESPACE = 'payments';
const ROLE_ARN = 'arn:aws:iam::111122223333:role/orders-api';
// SPEC §1 item 6: the injected env, the projected token volume and where it is mounted.
const TOKEN_DIRECTORY = '/var/run/secrets/eks.amazonaws.com/serviceaccount';
const TOKEN_FILE = `${TOKEN_DIRECTORY}/token`;
// The namespaces of examples/healthy with IRSA ServiceAccounts: one dry-run pod each (at most five).
const PROBED_NAMESPACES = ['data', 'kube-system', 'monitoring', 'payments'];

let moto: MotoServer;
let kube: FakeKubeApi;
let webhook: PodIdentityWebhook;
let standIn: ScriptedWebhook;
let scratch: string;
let kubeconfig: string;
/** The example's other configurations (load balancer, VPC resource), served by a stand-in admitting all. */
let otherConfigurations: readonly KubeObject[];
let examplePods: readonly KubeObject[];
/** The caBundle pasted in the incident: the CA of another cluster. */
let otherCaBundle: string;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'irsa-webhook-incident-'));
  kubeconfig = join(scratch, 'kubeconfig');
  kube = await startFakeKubeApi({
    snapshotDirectory: EXAMPLE,
    eks: { clusterName: CLUSTER, credentials: MOTO_CREDENTIALS },
  });
  await kube.writeKubeconfig(kubeconfig, { name: CLUSTER });
  // EKS runs the webhook with the cluster's region and regional STS (the env of the example's pods).
  webhook = await startPodIdentityWebhook({ cluster: kube, region: REGION, stsRegionalEndpoints: true });
  // On a healthy cluster the load balancer and VPC resource webhooks answer too; a stand-in does, unchanged.
  standIn = await startScriptedWebhook({
    certificate: await kube.issueCertificate({
      dnsNames: ['aws-load-balancer-webhook-service.kube-system.svc'],
    }),
  });
  kube.setServiceEndpoint('kube-system', 'aws-load-balancer-webhook-service', standIn.url);
  otherConfigurations = kube
    .objects('mutatingwebhookconfigurations')
    .filter((configuration) => (configuration.metadata as Json).name !== 'pod-identity-webhook')
    .map((configuration) => withStandInUrl(withCaBundle(configuration, kube.caData), standIn.url));
  examplePods = kube.objects('pods');
  otherCaBundle = Buffer.from(
    (await issueCertificateAuthority('platform-staging-ca')).certificatePem,
  ).toString('base64');

  // The cluster keeps the example's issuer (its roles trust it); its endpoint and CA are the fake's.
  const identities = await exampleEksIdentities(EXAMPLE);
  moto = await startMoto({
    eksClusters: {
      ...identities,
      [CLUSTER]: { ...identities[CLUSTER], endpoint: kube.url, caData: kube.caData },
    },
  });
  await seedMotoWithExample(motoClients(moto.endpoint, REGION), EXAMPLE);
}, 60_000);

afterAll(async () => {
  await webhook?.stop();
  await standIn?.stop();
  await kube?.stop();
  await moto?.stop();
  await rm(scratch, { recursive: true, force: true });
});

beforeEach(() => {
  useConfiguration();
  kube.setServiceEndpoint('kube-system', 'aws-load-balancer-webhook-service', standIn.url);
  kube.permit('pods');
  kube.setObjects({ pods: examplePods });
  kube.clearRequests();
  webhook.clearRequests();
});

/** A webhook configuration whose URL clientConfigs point at the stand-in (services are mapped to it). */
function withStandInUrl(configuration: KubeObject, url: string): KubeObject {
  const webhooks = configuration.webhooks as { clientConfig: Json }[];
  return {
    ...configuration,
    webhooks: webhooks.map((entry) =>
      entry.clientConfig.url === undefined
        ? entry
        : { ...entry, clientConfig: { ...entry.clientConfig, url: new URL('mutate-v1-pod', url).href } },
    ),
  };
}

/** EKS's pod identity webhook configuration, trusting the cluster CA unless overridden, beside the others. */
function useConfiguration(overrides?: WebhookEntryOverrides): void {
  kube.setObjects({
    mutatingwebhookconfigurations: [...otherConfigurations, webhook.configuration(overrides)],
  });
}

/** The incident: someone pastes another cluster's CA into the caBundle. */
function pasteWrongCaBundle(failurePolicy: 'Ignore' | 'Fail'): void {
  useConfiguration({ clientConfig: { url: webhook.url, caBundle: otherCaBundle }, failurePolicy });
}

/** A pod as the orders-api ReplicaSet creates it: its template, before any webhook. */
function ordersApiPod(): Json {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: 'orders-api-74b6c9d8f5-',
      namespace: NAMESPACE,
      labels: {
        'app.kubernetes.io/name': 'orders-api',
        'app.kubernetes.io/part-of': 'payments',
        'pod-template-hash': '74b6c9d8f5',
      },
      ownerReferences: [
        {
          apiVersion: 'apps/v1',
          blockOwnerDeletion: true,
          controller: true,
          kind: 'ReplicaSet',
          name: 'orders-api-74b6c9d8f5',
          uid: 'dfadecba-ec45-4057-be9f-5f6257b2e3c5',
        },
      ],
    },
    spec: {
      serviceAccountName: 'orders-api',
      containers: [
        {
          name: 'orders-api',
          image: '111122223333.dkr.ecr.eu-west-1.amazonaws.com/payments/orders-api:2026.11.3',
          env: [{ name: 'SPRING_PROFILES_ACTIVE', value: 'prod' }],
          ports: [{ containerPort: 8080, name: 'http', protocol: 'TCP' }],
        },
      ],
    },
  };
}

/** Creates an orders-api pod with the real kubectl (the fake serves no OpenAPI, hence --validate=false). */
async function createOrdersApiPod() {
  const manifest = join(scratch, `pod-${Date.now()}-${Math.random().toString(36).slice(2)}.json`);
  await writeFile(manifest, JSON.stringify(ordersApiPod()));
  const result = await kubectl(['create', '--validate=false', '-f', manifest, '-o', 'json'], {
    kubeconfig,
    cacheDirectory: scratch,
  });
  const name = result.code === 0 ? String((JSON.parse(result.stdout).metadata as Json).name) : undefined;
  return { ...result, name };
}

interface StoredContainer {
  readonly env?: readonly Json[];
  readonly volumeMounts?: readonly Json[];
}

function storedPod(name: string) {
  return kube.object('pods', NAMESPACE, name) as
    | { spec: { containers: StoredContainer[]; volumes?: Json[] } }
    | undefined;
}

const auditArgs = (...extra: string[]) => [
  'audit',
  '--kubeconfig',
  kubeconfig,
  '--cluster',
  CLUSTER,
  '--region',
  REGION,
  '--endpoint-url',
  moto.endpoint,
  ...extra,
  '--format',
  'json',
];

async function audit(...extra: string[]) {
  // A live audit judges certificates at the present time, as the API server does (not runCli's fixed clock).
  const result = await runCli(auditArgs(...extra), {
    io: { credentials: MOTO_CREDENTIALS, now: () => new Date() },
  });
  expect(result.stderr).toBe('');
  const report = JSON.parse(result.stdout) as AuditReport;
  return { code: result.code, findings: report.clusters[0]?.findings ?? [] };
}

const ofCheck = (findings: readonly Finding[], check: string) =>
  findings.filter((finding) => finding.check === check);
// Every CA here is issued for one day (lambda/emulators/fake-kube-api/certificates.ts), so IRSA-W03 rightly
// warns, at medium, that a caBundle certificate expires within 30 days: true, and no part of the incident.
const expiresSoon = (finding: Finding) => finding.check === 'IRSA-W03' && finding.severity === 'medium';
const checksOf = (findings: readonly Finding[]) =>
  [...new Set(findings.filter((finding) => !expiresSoon(finding)).map((finding) => finding.check))].sort();
const creates = () => kube.requests.filter((request) => request.method === 'POST');

describe('the webhook incident, end to end', () => {
  it('passes the probe on a healthy cluster, and a pod created there is stored mutated', async () => {
    const created = await createOrdersApiPod();
    kube.clearRequests();

    const { code, findings } = await audit('--probe');

    expect(created.code).toBe(0);
    const container = storedPod(created.name!)!.spec.containers[0]!;
    expect(container.env).toEqual(
      expect.arrayContaining([
        { name: 'AWS_ROLE_ARN', value: ROLE_ARN },
        { name: 'AWS_WEB_IDENTITY_TOKEN_FILE', value: TOKEN_FILE },
      ]),
    );
    expect(container.volumeMounts).toContainEqual({
      name: 'aws-iam-token',
      mountPath: TOKEN_DIRECTORY,
      readOnly: true,
    });
    expect(storedPod(created.name!)!.spec.volumes).toContainEqual({
      name: 'aws-iam-token',
      projected: {
        defaultMode: 420,
        sources: [
          { serviceAccountToken: { audience: 'sts.amazonaws.com', expirationSeconds: 86400, path: 'token' } },
        ],
      },
    });
    // examples/healthy: only IRSA-W06 (info), the pod created now included; and the one-day CA's IRSA-W03.
    expect(checksOf(findings)).toEqual(['IRSA-W06']);
    expect(
      ofCheck(findings, 'IRSA-W03').map((finding) => [finding.severity, finding.evidence.isClusterCa]),
    ).toEqual([['medium', true]]);
    expect(code).toBe(0);
    // One dry-run pod per namespace with IRSA ServiceAccounts, each mutated by the webhook.
    expect(creates().map((request) => [request.path, request.query.dryRun])).toEqual(
      PROBED_NAMESPACES.map((namespace) => [`/api/v1/namespaces/${namespace}/pods`, 'All']),
    );
    expect(webhook.requests.filter((review) => review.dryRun).map((review) => review.namespace)).toEqual(
      PROBED_NAMESPACES,
    );
  });

  it('reports IRSA-W02, IRSA-W07 and IRSA-P01 in one probe run after the caBundle is replaced (failurePolicy Ignore)', async () => {
    pasteWrongCaBundle('Ignore');
    const created = await createOrdersApiPod();
    const admission = kube.webhookCalls.filter((call) => call.webhook === WEBHOOK);
    kube.clearRequests();

    const { code, findings } = await audit('--probe');

    // The pod created after the change: admitted without IRSA, as the API server fails open on a TLS error.
    expect(created.code).toBe(0);
    expect(admission.map((call) => [call.outcome, call.dryRun])).toEqual([['failed-open', false]]);
    expect(admission[0]?.error).toContain('x509: certificate signed by unknown authority');
    const pod = storedPod(created.name!)!;
    const container = pod.spec.containers[0]!;
    expect((container.env ?? []).map((variable) => variable.name)).not.toContain('AWS_ROLE_ARN');
    expect((container.env ?? []).map((variable) => variable.name)).not.toContain(
      'AWS_WEB_IDENTITY_TOKEN_FILE',
    );
    expect(pod.spec.volumes ?? []).not.toContainEqual(expect.objectContaining({ name: 'aws-iam-token' }));
    expect(webhook.requests.filter((review) => !review.dryRun)).toEqual([]);

    // IRSA-W02: the configuration; the fix restores the caBundle from the cluster's CA data.
    const [w02, ...moreW02] = ofCheck(findings, 'IRSA-W02');
    expect(moreW02).toEqual([]);
    expect(w02).toMatchObject({
      severity: 'critical',
      resource: { kind: 'MutatingWebhookConfiguration', name: 'pod-identity-webhook' },
    });
    expect(w02?.remediation).toContain(
      `aws eks describe-cluster --name ${CLUSTER} --query cluster.certificateAuthority.data --output text`,
    );
    expect(w02?.remediation).toContain('kubectl patch mutatingwebhookconfiguration pod-identity-webhook');

    // IRSA-W07: each probed namespace's dry-run pod came back without the injection; W02 is named as cause.
    const w07 = ofCheck(findings, 'IRSA-W07');
    expect(w07.map((finding) => finding.resource.name).sort()).toEqual(PROBED_NAMESPACES);
    for (const finding of w07) {
      expect(finding.severity).toBe('critical');
      expect(finding.evidence.outcome).toBe('not-mutated');
      expect(finding.message).toContain('AWS_ROLE_ARN');
      expect(finding.message).toContain('aws-iam-token');
      expect(JSON.stringify(finding.evidence.likelyCauses)).toContain('IRSA-W02');
      expect(finding.remediation).toContain('IRSA-W02');
    }

    // IRSA-P01: exactly the pod created after the change (the example's running pods were mutated before it).
    const p01 = ofCheck(findings, 'IRSA-P01');
    expect(p01.map((finding) => finding.resource)).toEqual([
      { kind: 'Pod', namespace: NAMESPACE, name: created.name },
    ]);
    expect(p01[0]?.severity).toBe('critical');
    expect(p01[0]?.remediation).toContain(`kubectl rollout restart deployment -n ${NAMESPACE} orders-api`);
    expect(code).toBe(1);
  });

  it('clears IRSA-W02 and IRSA-W07 with the IRSA-W02 remediation, and IRSA-P01 by re-creating the pod', async () => {
    pasteWrongCaBundle('Ignore');
    const broken = await createOrdersApiPod();
    const before = await audit('--probe');
    const remediation = ofCheck(before.findings, 'IRSA-W02')[0]?.remediation ?? '';
    const command = /`([^`]+)`/.exec(remediation)?.[1] ?? '';

    // The command as a user pastes it: the real aws CLI reads the CA from moto's EKS, kubectl is recorded.
    const run = await runRemediationCommand(
      command,
      {
        AWS_ACCESS_KEY_ID: MOTO_CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: MOTO_CREDENTIALS.secretAccessKey,
        AWS_DEFAULT_REGION: REGION,
        AWS_ENDPOINT_URL: moto.endpoint,
        AWS_CONFIG_FILE: join(scratch, 'no-aws-config'),
        AWS_SHARED_CREDENTIALS_FILE: join(scratch, 'no-aws-credentials'),
      },
      ['aws'],
    );
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const [call] = run.kubectlCalls;
    expect(call?.slice(0, 5)).toEqual([
      'patch',
      'mutatingwebhookconfiguration',
      'pod-identity-webhook',
      '--type',
      'json',
    ]);
    expect(call?.[5]).toBe('-p');
    const patch = JSON.parse(call?.[6] ?? 'null') as unknown;
    expect(JSON.stringify(patch)).toContain(kube.caData);
    // What kubectl patch does on a real API server (RFC 6902 on the stored object).
    const stored = kube.object('mutatingwebhookconfigurations', '', 'pod-identity-webhook')!;
    kube.setObjects({
      mutatingwebhookconfigurations: [
        ...otherConfigurations,
        applyJsonPatch(stored as JsonValue, patch) as KubeObject,
      ],
    });
    const afterPatch = await audit('--probe');
    // IRSA-P01's remediation, `kubectl rollout restart`: the ReplicaSet replaces the pod with a new one.
    kube.setObjects({ pods: examplePods });
    const replacement = await createOrdersApiPod();
    const afterRestart = await audit('--probe');

    expect(ofCheck(before.findings, 'IRSA-P01').map((finding) => finding.resource.name)).toEqual([
      broken.name,
    ]);
    expect(checksOf(afterPatch.findings)).toEqual(['IRSA-P01', 'IRSA-W06']);
    expect(storedPod(replacement.name!)!.spec.containers[0]!.env).toContainEqual({
      name: 'AWS_ROLE_ARN',
      value: ROLE_ARN,
    });
    expect(checksOf(afterRestart.findings)).toEqual(['IRSA-W06']);
    expect(afterRestart.code).toBe(0);
  });

  it('rejects pod creation with failurePolicy Fail and the wrong CA, and the probe says it was rejected', async () => {
    pasteWrongCaBundle('Fail');
    const podsBefore = kube.objects('pods', NAMESPACE).length;

    const created = await createOrdersApiPod();
    const { code, findings } = await audit('--probe');

    // kube-apiserver's words (webhook/mutating/dispatcher.go, Go's net/http and crypto/tls errors).
    const apiServerMessage = `failed calling webhook "${WEBHOOK}": failed to call webhook: Post "${webhook.url}?timeout=10s": tls: failed to verify certificate: x509: certificate signed by unknown authority`;
    expect(created.code).not.toBe(0);
    expect(created.stderr).toContain(`Internal error occurred: ${apiServerMessage}`);
    expect(kube.objects('pods', NAMESPACE)).toHaveLength(podsBefore);
    const w07 = ofCheck(findings, 'IRSA-W07');
    expect(w07.map((finding) => finding.resource.name).sort()).toEqual(PROBED_NAMESPACES);
    for (const finding of w07) {
      expect(finding.evidence.outcome).toBe('rejected');
      expect(finding.message).toContain('rejected');
      expect(finding.message).toContain(apiServerMessage);
    }
    expect(ofCheck(findings, 'IRSA-W02')).toHaveLength(1);
    expect(ofCheck(findings, 'IRSA-P01')).toEqual([]);
    expect(code).toBe(1);
  });

  it('reports IRSA-X02 with the RBAC rule the probe needs when the auditor may not create pods', async () => {
    kube.forbid('pods', 'create');

    const { findings } = await audit('--probe');

    const x02 = ofCheck(findings, 'IRSA-X02');
    expect(x02).toHaveLength(1);
    expect(x02[0]?.evidence).toMatchObject({
      resource: 'webhookProbes',
      reason: 'forbidden',
      skippedChecks: ['IRSA-W07'],
    });
    // kube-apiserver's RBAC denial, and the rule that lifts it (a dry run is authorized as a create).
    expect(x02[0]?.message).toContain('cannot create resource "pods" in API group ""');
    expect(x02[0]?.remediation).toContain('resources: ["pods"], verbs: ["create"]');
    expect(ofCheck(findings, 'IRSA-W07')).toEqual([]);
    expect(creates().map((request) => request.status)).toEqual([403]);
  });

  it('attributes a probe pod rejected by another webhook to that webhook, not to the pod identity webhook', async () => {
    // The load balancer controller's webhook (failurePolicy Fail) has no endpoints: payments refuses pods.
    kube.setServiceEndpoint('kube-system', 'aws-load-balancer-webhook-service', undefined);

    const { findings } = await audit('--probe');

    const [payments, ...others] = ofCheck(findings, 'IRSA-W07');
    expect(others).toEqual([]);
    expect(payments?.resource.name).toBe(NAMESPACE);
    expect(payments?.message).toContain('failed calling webhook "mpod.elbv2.k8s.aws"');
    // The pod identity webhook works (it mutated the other probes): the fix is in the other webhook.
    expect(webhook.requests.filter((review) => review.dryRun)).toHaveLength(PROBED_NAMESPACES.length - 1);
    expect(payments?.remediation).toContain('mpod.elbv2.k8s.aws');
    expect(payments?.remediation).not.toContain('check the pod identity webhook is running');
  });

  it('sends no create request to the API server without --probe', async () => {
    pasteWrongCaBundle('Ignore');

    const { findings } = await audit();

    expect(checksOf(findings)).toContain('IRSA-W02');
    expect(checksOf(findings)).not.toContain('IRSA-W07');
    expect(kube.requests.length).toBeGreaterThan(0);
    expect(creates()).toEqual([]);
    expect(kube.requests.filter((request) => request.verb === 'create')).toEqual([]);
    expect(kube.webhookCalls).toEqual([]);
  });

  it('prints IRSA-W02, IRSA-W07 and IRSA-P01 through the irsa-audit binary, outside the test process', async () => {
    pasteWrongCaBundle('Ignore');
    const created = await createOrdersApiPod();

    const result = await runBinary(['bin/irsa-audit.js', ...auditArgs('--probe')], {
      AWS_ACCESS_KEY_ID: MOTO_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: MOTO_CREDENTIALS.secretAccessKey,
      AWS_CONFIG_FILE: join(scratch, 'no-aws-config'),
      AWS_SHARED_CREDENTIALS_FILE: join(scratch, 'no-aws-credentials'),
      NO_COLOR: '1',
    });

    // Node 20 (this machine) draws the AWS SDK's deprecation warning; nothing else may reach stderr.
    expect(result.stderr.replace(NODE_VERSION_WARNING, '')).toBe('');
    expect(result.code).toBe(1);
    const findings = (JSON.parse(result.stdout) as AuditReport).clusters[0]?.findings ?? [];
    expect(checksOf(findings)).toEqual(['IRSA-P01', 'IRSA-W02', 'IRSA-W06', 'IRSA-W07']);
    expect(ofCheck(findings, 'IRSA-P01').map((finding) => finding.resource.name)).toEqual([created.name]);
    expect(ofCheck(findings, 'IRSA-W07')).toHaveLength(PROBED_NAMESPACES.length);
    expect(creates().filter((request) => request.query.dryRun === 'All')).toHaveLength(
      PROBED_NAMESPACES.length,
    );
  });
});

const NODE_VERSION_WARNING =
  /\(node:\d+\) Warning: NodeVersionSupportWarning:[\s\S]*?\(Use `node --trace-warnings \.\.\.` to show where the warning was created\)\n/;

/** Runs `node <args>` in the repository root with `env`, asynchronously (the fake serves in this process). */
function runBinary(args: readonly string[], env: Readonly<Record<string, string>>) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      [...args],
      { cwd: ROOT, env: { ...withoutAwsSettings(process.env), ...env } },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}
