// The acceptance of live collection: moto and the fake API server hold the faults of examples/blog-incident;
// the live audit, a captured snapshot of the same state audited offline, and the shipped example agree.

import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditReport, Finding } from '../../../lambda/core/model/finding';
import {
  type FakeKubeApi,
  readSnapshotObjects,
  startFakeKubeApi,
} from '../../../lambda/emulators/fake-kube-api';
import { MOTO_CREDENTIALS, type MotoServer, motoClients, startMoto } from '../../../lambda/emulators/moto';
import { exampleEksIdentities, seedMotoWithExample } from '../../../lambda/emulators/seed-moto';
import { runCli } from '../../support/run-cli';
import { EXAMPLES } from '../../support/snapshot-dir';

const EXAMPLE = join(EXAMPLES, 'blog-incident');
const CLUSTER = 'platform-prod';
const REGION = 'eu-west-1';

let moto: MotoServer;
let kube: FakeKubeApi;
let scratch: string;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'irsa-e2e-'));
  kube = await startFakeKubeApi({
    snapshotDirectory: EXAMPLE,
    eks: { clusterName: CLUSTER, credentials: MOTO_CREDENTIALS },
  });
  // The cluster keeps the example's issuer; its endpoint and CA are the fake API server's (the webhook's
  // caBundle, the staging cluster's CA, still is not the cluster CA: the incident stands).
  const identities = await exampleEksIdentities(EXAMPLE);
  moto = await startMoto({
    eksClusters: {
      ...identities,
      [CLUSTER]: { ...identities[CLUSTER], endpoint: kube.url, caData: kube.caData },
    },
  });
  console.info(`end to end: moto_server at ${moto.endpoint}, fake Kubernetes API at ${kube.url}`);
  await seedMotoWithExample(motoClients(moto.endpoint, REGION), EXAMPLE);
}, 120_000);

afterAll(async () => {
  await kube?.stop();
  await moto?.stop();
  await rm(scratch, { recursive: true, force: true });
});

const live = ['--region', REGION, '--endpoint-url', () => moto.endpoint] as const;
const args = (...parts: readonly (string | (() => string))[]) =>
  parts.map((part) => (typeof part === 'function' ? part() : part));
const io = { io: { credentials: MOTO_CREDENTIALS } };

/** The findings of a JSON report, without what legitimately differs between sources (none expected). */
const findingsOf = (stdout: string): readonly Finding[] =>
  (JSON.parse(stdout) as AuditReport).clusters[0]!.findings;
const summaryOf = (findings: readonly Finding[]) =>
  findings.map(
    (f) => `${f.check} ${f.severity} ${f.resource.kind} ${f.resource.namespace ?? ''}/${f.resource.name}`,
  );

describe('live audit against moto_server and the fake Kubernetes API server', () => {
  it('reports the faults of the blog incident through EKS authentication', async () => {
    const result = await runCli(args('audit', '--cluster', CLUSTER, ...live, '--format', 'json'), io);

    expect(result.stderr).toBe('');
    expect(result.code).toBe(1);
    const found = summaryOf(findingsOf(result.stdout));
    expect(found).toEqual(
      expect.arrayContaining([
        'IRSA-W02 critical MutatingWebhookConfiguration /pod-identity-webhook',
        'IRSA-P01 critical Pod payments/orders-api-6c8f7d9b4d-49rw9',
        'IRSA-P01 critical Pod data/etl-runner-29931300-wblf9',
        'IRSA-S07 high ServiceAccount payments/invoice-worker',
        'IRSA-S05 high ServiceAccount monitoring/cloudwatch-agent',
        'IRSA-P02 high Pod kube-system/aws-load-balancer-controller-5d7c6b9f84-srj99',
      ]),
    );
    expect(kube.requests.some((request) => request.status === 401)).toBe(false);
  });

  it('captures a snapshot that audits offline to exactly the live findings', async () => {
    const out = join(scratch, 'snapshot');
    const liveRun = await runCli(args('audit', '--cluster', CLUSTER, ...live, '--format', 'json'), io);

    const capture = await runCli(args('snapshot', '--cluster', CLUSTER, ...live, '--out', out), io);
    const offline = await runCli(['audit', '--snapshot', out, '--format', 'json']);

    expect(capture.code).toBe(0);
    expect((await readdir(out)).sort()).toEqual(
      [
        'account-summary.json',
        'cluster.json',
        'clusters.json',
        'daemonsets.json',
        'instance-profiles.json',
        'instances.json',
        'mutatingwebhookconfigurations.json',
        'namespaces.json',
        'nodes.json',
        'oidc-providers.json',
        'pods.json',
        'roles.json',
        'serviceaccounts.json',
      ].sort(),
    );
    expect(findingsOf(offline.stdout)).toEqual(findingsOf(liveRun.stdout));
    expect(offline.code).toBe(liveRun.code);
  });

  it('finds what the shipped example finds', async () => {
    const liveRun = await runCli(args('audit', '--cluster', CLUSTER, ...live, '--format', 'json'), io);
    const shipped = await runCli(['audit', '--snapshot', EXAMPLE, '--format', 'json']);

    expect(summaryOf(findingsOf(liveRun.stdout))).toEqual(summaryOf(findingsOf(shipped.stdout)));
  });

  it('audits the cluster of a kubeconfig context, with AWS through the same endpoint', async () => {
    const kubeconfig = join(scratch, 'kubeconfig');
    await kube.writeKubeconfig(kubeconfig);

    const result = await runCli(
      args('audit', '--kubeconfig', kubeconfig, '--cluster', CLUSTER, ...live, '--format', 'json'),
      io,
    );

    expect(result.code).toBe(1);
    expect(summaryOf(findingsOf(result.stdout))).toContain(
      'IRSA-W02 critical MutatingWebhookConfiguration /pod-identity-webhook',
    );
  });
});

describe('live audit of where the EKS Pod Identity agent runs', () => {
  it('lists nodes and kube-system DaemonSets and reports the pods on a node without a Ready agent', async () => {
    const migration = await readSnapshotObjects(join(EXAMPLES, 'pod-identity-migration'));
    const before = await readSnapshotObjects(EXAMPLE);
    kube.setObjects({ pods: migration.pods, nodes: migration.nodes, daemonsets: migration.daemonsets });
    kube.clearRequests();
    try {
      const result = await runCli(args('audit', '--cluster', CLUSTER, ...live, '--format', 'json'), io);

      const lists = kube.requests.map((request) => request.path);
      expect(lists).toContain('/api/v1/nodes');
      expect(lists).toContain('/apis/apps/v1/namespaces/kube-system/daemonsets');
      // moto has no Pod Identity associations: these pods use the agent by their env (AWS_CONTAINER_CREDENTIALS_FULL_URI).
      const p08 = findingsOf(result.stdout).filter((finding) => finding.check === 'IRSA-P08');
      expect(p08.map((finding) => `${finding.resource.namespace}/${finding.resource.name}`).sort()).toEqual([
        'data/etl-runner-29935620-r7x2m',
        'monitoring/cloudwatch-agent-hqsg8',
      ]);
      expect(p08[0]?.message).toContain(
        'its agent pod kube-system/eks-pod-identity-agent-c8p2w is not Ready',
      );
    } finally {
      kube.setObjects({ pods: before.pods ?? [], nodes: [], daemonsets: [] });
    }
  });
});

describe('live audit faults become findings, and the rest of the audit completes', () => {
  it('reports IRSA-X02 for pods the auditor may not list, skipping only the checks that need them', async () => {
    kube.forbid('pods');
    try {
      const result = await runCli(args('audit', '--cluster', CLUSTER, ...live, '--format', 'json'), io);

      const findings = findingsOf(result.stdout);
      const x02 = findings.filter((finding) => finding.check === 'IRSA-X02');
      expect(x02).toHaveLength(1);
      expect(x02[0]?.evidence.resource).toBe('pods');
      expect(x02[0]?.evidence.skippedChecks).toEqual(expect.arrayContaining(['IRSA-P01', 'IRSA-P02']));
      expect(findings.some((finding) => finding.check === 'IRSA-P01')).toBe(false);
      expect(summaryOf(findings)).toEqual(
        expect.arrayContaining([
          'IRSA-W02 critical MutatingWebhookConfiguration /pod-identity-webhook',
          'IRSA-S07 high ServiceAccount payments/invoice-worker',
        ]),
      );
      expect(result.code).toBe(1);
    } finally {
      kube.permit('pods');
    }
  });

  it('reports IRSA-X01 when the API server refuses the credentials, and still audits the AWS side', async () => {
    const kubeconfig = join(scratch, 'kubeconfig-bad-token');
    await kube.writeKubeconfig(kubeconfig, { token: 'not-the-right-token' });

    const result = await runCli(
      args('audit', '--kubeconfig', kubeconfig, '--cluster', CLUSTER, ...live, '--format', 'json'),
      io,
    );

    const findings = findingsOf(result.stdout);
    const x01 = findings.filter((finding) => finding.check === 'IRSA-X01');
    expect(x01).toHaveLength(1);
    expect(x01[0]?.evidence.reason).toBe('unauthorized');
    expect(findings.some((finding) => finding.check === 'IRSA-A01')).toBe(true);
    expect(JSON.stringify(findings)).not.toContain('not-the-right-token');
    expect(result.code).toBe(1);
  });

  it('reports IRSA-X01 when the cluster does not exist in the account', async () => {
    const result = await runCli(
      args('audit', '--cluster', 'no-such-cluster', ...live, '--format', 'json'),
      io,
    );

    const findings = findingsOf(result.stdout);
    expect(findings.map((finding) => finding.check)).toEqual(['IRSA-X01']);
    expect(findings[0]?.message).toContain('no-such-cluster');
  });
});
