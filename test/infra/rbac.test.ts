// deploy/rbac.yaml (and deploy/rbac-probe.yaml) grant exactly what the function uses (SPEC §8): the scheduled
// function and the irsa-audit CLI run a live audit against moto and the fake API server seeded with
// examples/blog-incident, and the (verb, API group, resource) of every request the API server logged must be
// the rules of the manifests, as the real kubectl parses them. Nothing on Secrets, no wildcards.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { CreateTopicCommand } from '@aws-sdk/client-sns';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditReport } from '../../lambda/core/model/finding';
import {
  type FakeKubeApi,
  type FakeResource,
  type FakeVerb,
  startFakeKubeApi,
} from '../../lambda/emulators/fake-kube-api';
import { kubectl } from '../../lambda/emulators/fake-kube-api/kubectl';
import {
  MOTO_CREDENTIALS,
  type MotoServer,
  motoClients,
  motoSinkClients,
  startMoto,
} from '../../lambda/emulators/moto';
import { exampleEksIdentities, seedMotoWithExample } from '../../lambda/emulators/seed-moto';
import { createHandler } from '../../lambda/pipeline/scheduled-handler';
import { KUBERNETES_GROUP, PROBE_RBAC_MANIFEST, RBAC_MANIFEST } from '../../lib/cluster-access';
import { ROOT, runCli } from '../support/run-cli';
import { EXAMPLES } from '../support/snapshot-dir';

const EXAMPLE = join(EXAMPLES, 'blog-incident');
const CLUSTER = 'platform-prod';
const REGION = 'eu-west-1';
const SINK = 'irsa-rbac-test';
const RBAC = join(ROOT, RBAC_MANIFEST);
const RBAC_PROBE = join(ROOT, PROBE_RBAC_MANIFEST);
// The Kubernetes group the stack's EKS access entries map the function's role to (kubernetesGroups).
const AUDITOR_GROUP = KUBERNETES_GROUP;

let kube: FakeKubeApi;
let moto: MotoServer;
let scratch: string;
let topicArn: string;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'irsa-rbac-'));
  kube = await startFakeKubeApi({
    snapshotDirectory: EXAMPLE,
    eks: { clusterName: CLUSTER, credentials: MOTO_CREDENTIALS },
  });
  const identities = await exampleEksIdentities(EXAMPLE);
  moto = await startMoto({
    eksClusters: {
      ...identities,
      [CLUSTER]: { ...identities[CLUSTER], endpoint: kube.url, caData: kube.caData },
    },
  });
  await seedMotoWithExample(motoClients(moto.endpoint, REGION), EXAMPLE);
  const sinks = motoSinkClients(moto.endpoint, REGION);
  await sinks.s3.send(
    new CreateBucketCommand({ Bucket: SINK, CreateBucketConfiguration: { LocationConstraint: REGION } }),
  );
  topicArn = (await sinks.sns.send(new CreateTopicCommand({ Name: SINK }))).TopicArn ?? '';
  await kube.writeKubeconfig(join(scratch, 'kubeconfig'));
}, 120_000);

afterAll(async () => {
  await kube?.stop();
  await moto?.stop();
  if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
});

/** One RBAC object as kubectl decoded it. */
interface KubeObject {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata?: { readonly name?: string; readonly namespace?: string };
  readonly [field: string]: unknown;
}

interface PolicyRule {
  readonly apiGroups?: readonly string[];
  readonly resources?: readonly string[];
  readonly verbs?: readonly string[];
  readonly [field: string]: unknown;
}

interface RoleRef {
  readonly apiGroup?: string;
  readonly kind?: string;
  readonly name?: string;
}

interface Subject {
  readonly apiGroup?: string;
  readonly kind?: string;
  readonly name?: string;
}

/** The objects of manifest files, decoded by the real kubectl exactly as `kubectl apply -f` decodes them. */
async function manifestObjects(...files: string[]): Promise<KubeObject[]> {
  // `apply --dry-run=client` needs a server's discovery and OpenAPI (the fake has no RBAC API); a --local
  // annotate decodes every document offline and prints it back, one compact JSON object per line.
  const result = await kubectl(
    [
      'annotate',
      '--local',
      ...files.flatMap((file) => ['-f', file]),
      '-o',
      'jsonpath={@}{"\\n"}',
      'irsa-auditor.test/parsed-',
    ],
    { kubeconfig: join(scratch, 'kubeconfig'), cacheDirectory: join(scratch, 'kube-cache') },
  );
  if (result.code !== 0) throw new Error(`kubectl cannot decode ${files.join(', ')}: ${result.stderr}`);
  return result.stdout
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as KubeObject);
}

const rulesOf = (role: KubeObject): readonly PolicyRule[] => (role.rules ?? []) as PolicyRule[];
const subjectsOf = (binding: KubeObject): readonly Subject[] => (binding.subjects ?? []) as Subject[];
const roleRefOf = (binding: KubeObject): RoleRef => (binding.roleRef ?? {}) as RoleRef;

/**
 * `verb group/resource` for every permission the ClusterRoles bound to `group` grant, and
 * `verb group/resource in <namespace>` for those a Role grants through a RoleBinding of its namespace.
 */
function grantedTo(objects: readonly KubeObject[], group: string): string[] {
  const roleKey = (kind: string | undefined, namespace: string | undefined, name: string | undefined) =>
    `${kind}/${namespace ?? ''}/${name}`;
  const roles = new Map(
    objects
      .filter((object) => object.kind === 'ClusterRole' || object.kind === 'Role')
      .map((role) => [roleKey(role.kind, role.metadata?.namespace, role.metadata?.name), role]),
  );
  const granted = new Set<string>();
  for (const binding of objects) {
    if (binding.kind !== 'ClusterRoleBinding' && binding.kind !== 'RoleBinding') continue;
    const bindsGroup = subjectsOf(binding).some(
      (subject) => subject.kind === 'Group' && subject.name === group,
    );
    const ref = roleRefOf(binding);
    // A RoleBinding grants in its own namespace only, whether it refers to a Role or a ClusterRole.
    const namespace = binding.kind === 'RoleBinding' ? binding.metadata?.namespace : undefined;
    const role = roles.get(roleKey(ref.kind, ref.kind === 'Role' ? namespace : undefined, ref.name));
    if (!bindsGroup || role === undefined) continue;
    for (const rule of rulesOf(role)) {
      for (const apiGroup of rule.apiGroups ?? []) {
        for (const resource of rule.resources ?? []) {
          for (const verb of rule.verbs ?? []) granted.add(permission(verb, apiGroup, resource, namespace));
        }
      }
    }
  }
  return [...granted].sort();
}

const permission = (verb: string, apiGroup: string, resource: string, namespace?: string) =>
  `${verb} ${apiGroup}/${resource}${namespace === undefined ? '' : ` in ${namespace}`}`;

/** The namespace a resource path addresses (`.../namespaces/<ns>/<resource>`), if any. */
function namespaceOf(path: string): string | undefined {
  const segments = path.split('/');
  const index = segments.indexOf('namespaces');
  return index >= 0 && segments.length > index + 2 ? segments[index + 1] : undefined;
}

/** The API group of a resource path: `/api/v1/...` is the core group "", `/apis/<group>/<version>/...` is <group>. */
function apiGroupOf(path: string): string {
  const [, prefix, group] = path.split('/');
  if (prefix === 'api') return '';
  if (prefix === 'apis' && group !== undefined) return group;
  throw new Error(`${path} is not a resource path`);
}

/**
 * The grant that covers each request the fake API server answered since the last clearRequests: the
 * cluster-wide `verb group/resource` when one is granted, else the grant in the request's namespace.
 */
function requested(api: FakeKubeApi, granted: readonly string[]): string[] {
  const used = new Set<string>();
  for (const request of api.requests) {
    // A request without a resource is a non-resource URL (discovery, /version), which RBAC grants apart.
    if (request.resource === undefined || request.verb === undefined) {
      used.add(`non-resource ${request.method} ${request.path}`);
      continue;
    }
    const clusterWide = permission(request.verb, apiGroupOf(request.path), request.resource);
    const namespace = namespaceOf(request.path);
    used.add(
      granted.includes(clusterWide) || namespace === undefined
        ? clusterWide
        : permission(request.verb, apiGroupOf(request.path), request.resource, namespace),
    );
  }
  return [...used].sort();
}

/** The two live audits the RBAC is for: the deployed function's code path and the CLI run as the same group. */
const runners = {
  'the scheduled function': async (probe: boolean) => {
    const handler = createHandler(
      {
        AWS_REGION: REGION,
        AWS_ENDPOINT_URL: moto.endpoint,
        CLUSTERS: CLUSTER,
        TOPIC_ARN: topicArn,
        REPORTS_BUCKET: SINK,
        PROBE: String(probe),
      },
      { credentials: MOTO_CREDENTIALS, log: () => undefined },
    );
    const summary = await handler(
      { id: `rbac-${probe}-${Date.now()}`, time: new Date().toISOString() },
      { awsRequestId: 'rbac-test', getRemainingTimeInMillis: () => 60_000 },
    );
    return summary.clusters.map((cluster) => cluster.status);
  },
  'irsa-audit audit --cluster': async (probe: boolean) => {
    const result = await runCli(
      [
        'audit',
        '--cluster',
        CLUSTER,
        '--region',
        REGION,
        '--endpoint-url',
        moto.endpoint,
        '--format',
        'json',
        ...(probe ? ['--probe'] : []),
      ],
      { io: { credentials: MOTO_CREDENTIALS } },
    );
    expect(result.stderr).toBe('');
    const report = JSON.parse(result.stdout) as AuditReport;
    return report.clusters.map((cluster) =>
      cluster.findings.some((finding) => finding.check === 'IRSA-X01') ? 'unreachable' : 'audited',
    );
  },
} as const;

const cases = Object.keys(runners).flatMap((runner) => [
  { runner: runner as keyof typeof runners, probe: false, manifests: [RBAC] },
  { runner: runner as keyof typeof runners, probe: true, manifests: [RBAC, RBAC_PROBE] },
]);

describe('deploy/rbac.yaml and deploy/rbac-probe.yaml', () => {
  it.each(cases)(
    'grant exactly the requests of $runner (probe: $probe)',
    async ({ runner, probe, manifests }) => {
      const granted = grantedTo(await manifestObjects(...manifests), AUDITOR_GROUP);
      kube.clearRequests();

      const statuses = await runners[runner](probe);
      const used = requested(kube, granted);

      expect(statuses).toEqual(['audited']);
      expect(kube.requests.filter((request) => request.status === 401 || request.status === 403)).toEqual([]);
      // The probe's create is in the log whatever the webhooks answered (blog-incident: rejected or unmutated).
      expect(used.includes(permission('create', '', 'pods'))).toBe(probe);
      expect(used).toEqual(granted);
    },
    60_000,
  );

  it('let the whole audit run under exactly these grants, and without rbac-probe.yaml the probe is IRSA-X02', async () => {
    // The fake forbids by resource and verb, not namespace: a grant in kube-system counts (the audit reads only there).
    const granted = new Set(
      grantedTo(await manifestObjects(RBAC), AUDITOR_GROUP).map((grant) => grant.replace(/ in \S+$/, '')),
    );
    const resources: readonly [FakeResource, string][] = [
      ['serviceaccounts', ''],
      ['pods', ''],
      ['namespaces', ''],
      ['nodes', ''],
      ['mutatingwebhookconfigurations', 'admissionregistration.k8s.io'],
      ['daemonsets', 'apps'],
    ];
    const verbs: readonly FakeVerb[] = ['get', 'list', 'create'];
    for (const [resource, apiGroup] of resources) {
      const denied = verbs.filter((verb) => !granted.has(permission(verb, apiGroup, resource)));
      if (denied.length > 0) kube.forbid(resource, ...denied);
    }
    try {
      const result = await runCli(
        [
          'audit',
          '--cluster',
          CLUSTER,
          '--region',
          REGION,
          '--endpoint-url',
          moto.endpoint,
          '--format',
          'json',
          '--probe',
        ],
        { io: { credentials: MOTO_CREDENTIALS } },
      );

      const findings = (JSON.parse(result.stdout) as AuditReport).clusters[0]?.findings ?? [];
      const unreadable = findings.filter((finding) => finding.check === 'IRSA-X02');
      expect(unreadable.map((finding) => finding.evidence.resource)).toEqual(['webhookProbes']);
      expect(findings.some((finding) => finding.check === 'IRSA-W02')).toBe(true);
      expect(findings.some((finding) => finding.check === 'IRSA-P01')).toBe(true);
    } finally {
      for (const [resource] of resources) kube.permit(resource);
    }
  }, 60_000);

  it('grant nothing on Secrets, no wildcard, no aggregation, no resource names and no non-resource URLs', async () => {
    const objects = await manifestObjects(RBAC, RBAC_PROBE);

    const roles = objects.filter((object) => object.kind === 'ClusterRole' || object.kind === 'Role');
    const rules = roles.flatMap(rulesOf);
    const values = rules.flatMap((rule) => [
      ...(rule.apiGroups ?? []),
      ...(rule.resources ?? []),
      ...(rule.verbs ?? []),
    ]);
    expect(
      roles.map((role) => `${role.kind} ${role.metadata?.namespace ?? ''}/${role.metadata?.name}`).sort(),
    ).toEqual([
      'ClusterRole /irsa-auditor',
      'ClusterRole /irsa-auditor-probe',
      'Role kube-system/irsa-auditor',
    ]);
    expect(values.filter((value) => value.includes('*'))).toEqual([]);
    expect(values.filter((value) => value.toLowerCase().includes('secret'))).toEqual([]);
    // Only the three fields a plain grant has: resourceNames, nonResourceURLs or a typo would change its meaning.
    expect(rules.map((rule) => Object.keys(rule).sort())).toEqual(
      rules.map(() => ['apiGroups', 'resources', 'verbs']),
    );
    // An aggregationRule would pull in the rules of every ClusterRole with matching labels.
    expect(roles.map((role) => Object.keys(role).sort())).toEqual(
      roles.map(() => ['apiVersion', 'kind', 'metadata', 'rules']),
    );
  });

  it('bind each role to the access entry group only', async () => {
    const objects = await manifestObjects(RBAC, RBAC_PROBE);

    const bindings = objects
      .filter((object) => object.kind === 'ClusterRoleBinding' || object.kind === 'RoleBinding')
      .map((binding) => ({
        kind: binding.kind,
        name: binding.metadata?.name,
        namespace: binding.metadata?.namespace,
        roleRef: roleRefOf(binding),
        subjects: subjectsOf(binding),
      }));

    const subjects = [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: AUDITOR_GROUP }];
    expect(bindings).toEqual([
      {
        kind: 'ClusterRoleBinding',
        name: 'irsa-auditor',
        namespace: undefined,
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'irsa-auditor' },
        subjects,
      },
      {
        kind: 'RoleBinding',
        name: 'irsa-auditor',
        namespace: 'kube-system',
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'irsa-auditor' },
        subjects,
      },
      {
        kind: 'ClusterRoleBinding',
        name: 'irsa-auditor-probe',
        namespace: undefined,
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'irsa-auditor-probe' },
        subjects,
      },
    ]);
    expect(objects.every((object) => object.apiVersion === 'rbac.authorization.k8s.io/v1')).toBe(true);
  });
});
