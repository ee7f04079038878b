// deploy/rbac.yaml and deploy/rbac-probe.yaml proven on the real RBAC authorizer (issue 13, item 3): applied with
// the real kubectl, the audit and the probe read everything they need as the `irsa-auditor` group; with one rule
// taken away the audit reports IRSA-X02 for exactly that resource; and the group can read no Secret.

import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLive, ofCheck } from '../../support/real-kube/live-audit';
import {
  AUDITOR_GROUP,
  AUDITOR_ROLE_ARN,
  createExampleObjects,
  type RealEksCluster,
  startRealEksCluster,
} from '../../support/real-kube/real-eks-cluster';
import { ROOT } from '../../support/run-cli';
import { EXAMPLES } from '../../support/snapshot-dir';

const EXAMPLE = join(EXAMPLES, 'healthy');
const CLUSTER = 'platform-prod';
const REGION = 'eu-west-1';
/** The Kubernetes resources of deploy/rbac.yaml and the names the audit's findings give them. */
const LISTED = [
  ['serviceaccounts', 'serviceAccounts'],
  ['pods', 'pods'],
  ['namespaces', 'namespaces'],
  ['nodes', 'nodes'],
  ['mutatingwebhookconfigurations', 'mutatingWebhookConfigurations'],
] as const;

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

let cluster: RealEksCluster;
let shippedRules: Rule[];

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
  await createExampleObjects(cluster, EXAMPLE);
  shippedRules = (
    JSON.parse((await cluster.kubectl(['get', 'clusterrole', 'irsa-auditor', '-o', 'json'])).stdout) as {
      rules: Rule[];
    }
  ).rules;
}, 120_000);

afterAll(async () => {
  await cluster?.stop();
});

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

/** `[list create]` → `create,list`. */
const verbsOf = (cell: string | undefined) =>
  (cell ?? '')
    .replace(/^\[|\]$/g, '')
    .split(/\s+/)
    .filter(Boolean)
    .sort()
    .join(',');

/** `kubectl auth can-i` as the auditor (impersonated by the admin): "yes" or "no". */
async function auditorCan(verb: string, resource: string, namespace?: string): Promise<string> {
  const answer = await cluster.kubectl([
    'auth',
    'can-i',
    verb,
    resource,
    ...(namespace === undefined ? ['--all-namespaces'] : ['--namespace', namespace]),
    '--as',
    AUDITOR_ROLE_ARN,
    '--as-group',
    AUDITOR_GROUP,
  ]);
  // A refusal may carry the authorizer's reason: `no - RBAC: role.rbac.authorization.k8s.io "..." not found`.
  return answer.stdout.trim().split(/\s/)[0] ?? '';
}

async function setRules(rules: readonly Rule[]): Promise<void> {
  const patched = await cluster.kubectl([
    'patch',
    'clusterrole',
    'irsa-auditor',
    '--type',
    'json',
    '-p',
    JSON.stringify([{ op: 'replace', path: '/rules', value: rules }]),
  ]);
  expect(patched.stderr).toBe('');
}

/** The RBAC authorizer reads roles from its informer: wait until it answers as expected. */
async function untilAuditorCan(
  verb: string,
  resource: string,
  expected: 'yes' | 'no',
  namespace?: string,
): Promise<void> {
  for (let attempt = 0; attempt < 50; attempt += 1) {
    if ((await auditorCan(verb, resource, namespace)) === expected) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`kubectl auth can-i ${verb} ${resource} never answered ${expected}`);
}

describe('the shipped RBAC on the real authorizer', () => {
  it('lets the audit and the probe read everything: no IRSA-X01 or IRSA-X02', async () => {
    const findings = await audit('--probe');

    expect(ofCheck(findings, 'IRSA-X01')).toEqual([]);
    expect(ofCheck(findings, 'IRSA-X02')).toEqual([]);
    // The probe ran: no webhook configuration is installed here, so its dry-run pods come back unmutated.
    expect(ofCheck(findings, 'IRSA-W07').length).toBeGreaterThan(0);
  });

  it('grants no Secret, no wildcard and nothing beyond list (and the probe create on pods)', async () => {
    const listed = await cluster.kubectl([
      'auth',
      'can-i',
      '--list',
      '--as',
      AUDITOR_ROLE_ARN,
      '--as-group',
      AUDITOR_GROUP,
    ]);
    expect(listed.code).toBe(0);
    const rows = listed.stdout
      .split('\n')
      .slice(1)
      .map((line) => line.trim().split(/\s{2,}/))
      .filter((row) => row.length >= 4 && row[0] !== '');
    // kubectl prints each row's verbs in the order the rules happen to merge; compare them as sets.
    const resources = rows.map((row) => [row[0], verbsOf(row[3])]);

    expect(resources).toEqual(
      expect.arrayContaining([
        ['pods', 'create,list'],
        ['namespaces', 'list'],
        ['serviceaccounts', 'list'],
        ['nodes', 'list'],
        ['mutatingwebhookconfigurations.admissionregistration.k8s.io', 'list'],
      ]),
    );
    // DaemonSets only in kube-system, where the EKS Pod Identity agent runs.
    expect(resources).not.toContainEqual(['daemonsets.apps', 'list']);
    expect(await auditorCan('list', 'daemonsets.apps', 'kube-system')).toBe('yes');
    expect(await auditorCan('list', 'daemonsets.apps', 'default')).toBe('no');
    expect(await auditorCan('list', 'daemonsets.apps')).toBe('no');
    expect(listed.stdout).not.toMatch(/secrets/i);
    // What every authenticated user may do (self-reviews, discovery) is the rest; no resource wildcard.
    expect(rows.filter((row) => row[0] === '*.*' || row[0] === '*')).toEqual([]);
    expect(await auditorCan('get', 'secrets')).toBe('no');
    expect(await auditorCan('list', 'secrets')).toBe('no');
  });

  for (const [plural, resource] of LISTED) {
    it(`reports IRSA-X02 for exactly ${resource} when the rule for ${plural} is removed`, async () => {
      await setRules(
        shippedRules
          .map((rule) => ({ ...rule, resources: rule.resources.filter((name) => name !== plural) }))
          .filter((rule) => rule.resources.length > 0),
      );
      await untilAuditorCan('list', plural, 'no');
      try {
        const findings = await audit();

        const x02 = ofCheck(findings, 'IRSA-X02');
        expect(x02.map((finding) => [finding.evidence.resource, finding.evidence.reason])).toEqual([
          [resource, 'forbidden'],
        ]);
        expect(x02[0]?.message).toContain(`cannot list resource "${plural}"`);
        expect(ofCheck(findings, 'IRSA-X01')).toEqual([]);
      } finally {
        await setRules(shippedRules);
        await untilAuditorCan('list', plural, 'yes');
      }
    });
  }

  it('reports IRSA-X02 for exactly daemonSets when the Role in kube-system is removed', async () => {
    try {
      const removed = await cluster.kubectl(['delete', 'role', 'irsa-auditor', '--namespace', 'kube-system']);
      expect(removed.code).toBe(0);
      await untilAuditorCan('list', 'daemonsets.apps', 'no', 'kube-system');
      const findings = await audit();

      const x02 = ofCheck(findings, 'IRSA-X02');
      expect(x02.map((finding) => [finding.evidence.resource, finding.evidence.reason])).toEqual([
        ['daemonSets', 'forbidden'],
      ]);
      expect(x02[0]?.message).toContain(
        'cannot list resource "daemonsets" in API group "apps" in the namespace "kube-system"',
      );
      expect(x02[0]?.remediation).toContain('the Role in kube-system');
    } finally {
      const restored = await cluster.kubectl(['apply', '-f', join(ROOT, 'deploy', 'rbac.yaml')]);
      expect(restored.stderr).toBe('');
      await untilAuditorCan('list', 'daemonsets.apps', 'yes', 'kube-system');
    }
  });

  it('reports IRSA-X02 for the probe, and only for it, without deploy/rbac-probe.yaml', async () => {
    const removed = await cluster.kubectl(['delete', '-f', join(ROOT, 'deploy', 'rbac-probe.yaml')]);
    expect(removed.code).toBe(0);
    await untilAuditorCan('create', 'pods', 'no');

    const findings = await audit('--probe');

    const x02 = ofCheck(findings, 'IRSA-X02');
    expect(x02.map((finding) => finding.evidence.resource)).toEqual(['webhookProbes']);
    expect(x02[0]?.message).toContain('cannot create resource "pods" in API group ""');
    expect(x02[0]?.remediation).toContain('resources: ["pods"], verbs: ["create"]');
    expect(ofCheck(findings, 'IRSA-W07')).toEqual([]);
  });
});
