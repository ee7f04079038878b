// The servers of `npm run bench`, in a child process of bench/live.ts so that their objects do not count in
// the audit's peak RSS: the fake Kubernetes API server with the synthetic cluster, moto seeded with the
// account, and a delaying proxy in front of moto that counts requests per operation. Speaks to its parent
// over IPC: sends `ready` with the proxy's endpoint, answers `count` with the request counts, exits on `stop`.

import { readFileSync } from 'node:fs';
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { CreateClusterCommand } from '@aws-sdk/client-eks';
import { CreateOpenIDConnectProviderCommand, CreateRoleCommand } from '@aws-sdk/client-iam';
import { type KubeObject, startFakeKubeApi } from '../lambda/emulators/fake-kube-api';
import { MOTO_ACCOUNT_ID, MOTO_CREDENTIALS, motoClients, startMoto } from '../lambda/emulators/moto';

import { CLUSTER, type CountsMessage, type LiveBenchSize, REGION, type ReadyMessage } from './live-protocol';

const ISSUER = 'https://oidc.eks.eu-west-1.amazonaws.com/id/BE7C4A11D2E3F405162738495A6B7C8D';
const ISSUER_HOST = ISSUER.replace(/^https:\/\//, '');
const ROLE_ARN_ANNOTATION = 'eks.amazonaws.com/role-arn';
const TOKEN_DIR = '/var/run/secrets/eks.amazonaws.com/serviceaccount';
const SEED_CONCURRENCY = 16;

const roleName = (index: number) => `bench-role-${index}`;
const roleArn = (index: number) => `arn:aws:iam::${MOTO_ACCOUNT_ID}:role/${roleName(index)}`;

/**
 * The raw Kubernetes objects of the synthetic cluster. Faults: every 97th annotated SA is left out of its
 * role's trust (S07), every 251st names a role that does not exist, every 1000th pod was not mutated (P01).
 */
function kubeObjects(size: LiveBenchSize, caData: string) {
  const namespaceCount = Math.max(1, Math.ceil(size.serviceAccounts / 50));
  const namespaces: KubeObject[] = Array.from({ length: namespaceCount }, (_, index) => ({
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: `team-${index}`, labels: { 'kubernetes.io/metadata.name': `team-${index}` } },
  }));
  const serviceAccounts: KubeObject[] = [];
  const trusted = new Map<number, string[]>();
  for (let index = 0; index < size.serviceAccounts; index += 1) {
    const namespace = `team-${index % namespaceCount}`;
    const name = `app-${index}`;
    const role = index % size.rolesUsed;
    const missing = index % 251 === 250;
    serviceAccounts.push({
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: {
        name,
        namespace,
        annotations: {
          [ROLE_ARN_ANNOTATION]: missing ? roleArn(size.accountRoles + index) : roleArn(role),
        },
      },
    });
    if (index % 97 !== 0 && !missing) {
      const subjects = trusted.get(role) ?? [];
      subjects.push(`system:serviceaccount:${namespace}:${name}`);
      trusted.set(role, subjects);
    }
  }
  const pods: KubeObject[] = [];
  for (let index = 0; index < size.pods; index += 1) {
    const sa = index % size.serviceAccounts;
    const namespace = `team-${sa % namespaceCount}`;
    const saName = `app-${sa}`;
    const mutated = index % 1000 !== 0;
    const arn = sa % 251 === 250 ? roleArn(size.accountRoles + sa) : roleArn(sa % size.rolesUsed);
    pods.push(podObject(namespace, saName, index, mutated ? arn : undefined));
  }
  const healthy = JSON.parse(
    readFileSync(
      join(import.meta.dirname, '..', 'examples', 'healthy', 'mutatingwebhookconfigurations.json'),
      'utf8',
    ),
  ) as { items: { metadata: { name: string }; webhooks: { clientConfig: Record<string, unknown> }[] }[] };
  // The webhook trusts the fake API server's CA, as a healthy cluster's webhook trusts its cluster CA.
  const webhooks: KubeObject[] = healthy.items.map((item) =>
    item.metadata.name === 'pod-identity-webhook'
      ? {
          ...item,
          webhooks: item.webhooks.map((hook) => ({
            ...hook,
            clientConfig: { ...hook.clientConfig, caBundle: caData },
          })),
        }
      : item,
  );
  return {
    objects: { namespaces, serviceaccounts: serviceAccounts, pods, mutatingwebhookconfigurations: webhooks },
    trusted,
  };
}

/** The caBundle of examples/blog-incident's pod identity webhook: the staging cluster's CA, not this cluster's. */
function incidentCaBundle(): string {
  const incident = JSON.parse(
    readFileSync(
      join(import.meta.dirname, '..', 'examples', 'blog-incident', 'mutatingwebhookconfigurations.json'),
      'utf8',
    ),
  ) as { items: { metadata: { name: string }; webhooks: { clientConfig: { caBundle?: string } }[] }[] };
  const bundle = incident.items.find((item) => item.metadata.name === 'pod-identity-webhook')?.webhooks[0]
    ?.clientConfig.caBundle;
  if (bundle === undefined) throw new Error('examples/blog-incident has no pod-identity-webhook caBundle');
  return bundle;
}

/** A pod as the API server returns it; with a role, as the pod identity webhook mutates it. */
const CREATED_FROM = Date.UTC(2026, 10, 20, 9);

function podObject(
  namespace: string,
  serviceAccount: string,
  index: number,
  arn: string | undefined,
): KubeObject {
  const env =
    arn === undefined
      ? []
      : [
          { name: 'AWS_ROLE_ARN', value: arn },
          { name: 'AWS_WEB_IDENTITY_TOKEN_FILE', value: `${TOKEN_DIR}/token` },
          { name: 'AWS_STS_REGIONAL_ENDPOINTS', value: 'regional' },
        ];
  const mounts = arn === undefined ? [] : [{ name: 'aws-iam-token', mountPath: TOKEN_DIR, readOnly: true }];
  const hash = '5d7c6b9f84';
  // As on a real cluster, each pod's service account token volume has a name of its own.
  const apiAccess = `kube-api-access-${index.toString(36).padStart(5, '0').slice(-5)}`;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: `${serviceAccount}-${hash}-${index.toString(36).padStart(5, '0')}`,
      namespace,
      labels: { app: serviceAccount, 'pod-template-hash': hash },
      // Pods start over time, a second apart here: each pod's timestamp is its own, as on a real cluster.
      creationTimestamp: new Date(CREATED_FROM + index * 1000).toISOString().replace('.000Z', 'Z'),
      ownerReferences: [
        { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: `${serviceAccount}-${hash}`, controller: true },
      ],
      uid: `00000000-0000-4000-8000-${index.toString(16).padStart(12, '0')}`,
    },
    spec: {
      serviceAccountName: serviceAccount,
      containers: ['app', 'log-shipper'].map((name) => ({
        name,
        image: `111122223333.dkr.ecr.eu-west-1.amazonaws.com/${name}:1.0.0`,
        env: [{ name: 'LOG_LEVEL', value: 'info' }, ...env],
        volumeMounts: [
          {
            name: apiAccess,
            mountPath: '/var/run/secrets/kubernetes.io/serviceaccount',
            readOnly: true,
          },
          ...mounts,
        ],
      })),
      volumes: [
        ...(arn === undefined
          ? []
          : [
              {
                name: 'aws-iam-token',
                projected: {
                  sources: [
                    {
                      serviceAccountToken: {
                        audience: 'sts.amazonaws.com',
                        expirationSeconds: 86400,
                        path: 'token',
                      },
                    },
                  ],
                },
              },
            ]),
        {
          name: apiAccess,
          projected: { sources: [{ serviceAccountToken: { expirationSeconds: 3607, path: 'token' } }] },
        },
      ],
    },
    status: { phase: 'Running' },
  };
}

function trustPolicy(subjects: readonly string[]): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: { Federated: `arn:aws:iam::${MOTO_ACCOUNT_ID}:oidc-provider/${ISSUER_HOST}` },
        Action: 'sts:AssumeRoleWithWebIdentity',
        Condition: {
          StringEquals: {
            [`${ISSUER_HOST}:sub`]: subjects.length === 0 ? ['system:serviceaccount:none:none'] : subjects,
            [`${ISSUER_HOST}:aud`]: 'sts.amazonaws.com',
          },
        },
      },
    ],
  });
}

/** Seeds the cluster, the OIDC provider and the account's roles straight into moto (not through the proxy). */
async function seedMoto(
  endpoint: string,
  size: LiveBenchSize,
  trusted: ReadonlyMap<number, string[]>,
  names: readonly string[],
) {
  const clients = motoClients(endpoint, REGION);
  for (const name of names)
    await clients.eks.send(
      new CreateClusterCommand({
        name,
        roleArn: `arn:aws:iam::${MOTO_ACCOUNT_ID}:role/${CLUSTER}-cluster-role`,
        resourcesVpcConfig: { subnetIds: ['subnet-0179024df634511da'] },
      }),
    );
  await clients.iam.send(
    new CreateOpenIDConnectProviderCommand({
      Url: ISSUER,
      ClientIDList: ['sts.amazonaws.com'],
      ThumbprintList: ['9e99a48a9960b14926bb7f3b02e22da2b0ab7280'],
    }),
  );
  let next = 0;
  const worker = async () => {
    for (let index = next++; index < size.accountRoles; index = next++) {
      // Roles beyond the used ones are the rest of the account: other workloads, trusting nobody here.
      const subjects = index < size.rolesUsed ? (trusted.get(index) ?? []) : [];
      await clients.iam.send(
        new CreateRoleCommand({ RoleName: roleName(index), AssumeRolePolicyDocument: trustPolicy(subjects) }),
      );
    }
  };
  await Promise.all(Array.from({ length: SEED_CONCURRENCY }, worker));
}

/** A proxy in front of moto that waits `latencyMs` before forwarding each request and counts them per operation. */
async function startDelayingProxy(target: string, latencyMs: number) {
  const counts = new Map<string, number>();
  const upstream = new URL(target);
  const server: Server = createServer((incoming, outgoing) => {
    void (async () => {
      const body = await readBody(incoming);
      const operation = operationOf(incoming, body);
      counts.set(operation, (counts.get(operation) ?? 0) + 1);
      await new Promise((resolve) => setTimeout(resolve, latencyMs));
      const forward = httpRequest(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: incoming.method,
          path: incoming.url,
          headers: incoming.headers,
        },
        (response) => {
          outgoing.writeHead(response.statusCode ?? 502, response.headers);
          response.pipe(outgoing);
        },
      );
      forward.on('error', () => {
        outgoing.writeHead(502);
        outgoing.end();
      });
      forward.end(body);
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    counts,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function readBody(incoming: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of incoming) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** The AWS operation of a request: the query protocol's Action (IAM, STS), else EKS's REST path. */
function operationOf(incoming: IncomingMessage, body: Buffer): string {
  const action = new URLSearchParams(body.toString('utf8')).get('Action');
  if (action !== null) return action;
  const path = new URL(incoming.url ?? '/', 'http://proxy').pathname;
  if (path === '/clusters') return incoming.method === 'GET' ? 'eks:ListClusters' : 'eks:CreateCluster';
  if (/^\/clusters\/[^/]+\/pod-identity-associations$/.test(path)) return 'eks:ListPodIdentityAssociations';
  if (/^\/clusters\/[^/]+\/pod-identity-associations\/[^/]+$/.test(path))
    return 'eks:DescribePodIdentityAssociation';
  if (/^\/clusters\/[^/]+$/.test(path)) return 'eks:DescribeCluster';
  if (/^\/clusters\/[^/]+\/addons\/[^/]+$/.test(path)) return 'eks:DescribeAddon';
  return `${incoming.method} ${path}`;
}

/** BENCH_CLUSTERS > 1 (bench/clusters.ts): that many clusters, `bench-01`..., each its own API server. */
const clusterNames = (count: number) =>
  count <= 1
    ? [CLUSTER]
    : Array.from({ length: count }, (_, index) => `${CLUSTER}-${String(index + 1).padStart(2, '0')}`);

async function serve(size: LiveBenchSize): Promise<void> {
  const names = clusterNames(Number(process.env.BENCH_CLUSTERS ?? 1));
  // BENCH_ANY_SIGNER=1 (bench/organization.ts): the token is signed by an assumed member role whose keys moto makes
  // up, so only its form and cluster are checked, not which keys signed it.
  const kubes = await Promise.all(
    names.map((clusterName) =>
      startFakeKubeApi({
        eks:
          process.env.BENCH_ANY_SIGNER === '1'
            ? { clusterName }
            : { clusterName, credentials: MOTO_CREDENTIALS },
      }),
    ),
  );
  // BENCH_WRONG_CA_BUNDLE=1 (bench/triage.ts): the seed incident, a webhook caBundle of another cluster's CA
  // (examples/blog-incident's staging CA), so pods are created without credentials.
  const wrongBundle = process.env.BENCH_WRONG_CA_BUNDLE === '1' ? incidentCaBundle() : undefined;
  const served = kubes.map((server) => kubeObjects(size, wrongBundle ?? server.caData));
  if (process.env.BENCH_KUBECONFIG !== undefined)
    await kubes[0]?.writeKubeconfig(process.env.BENCH_KUBECONFIG);
  for (const [index, server] of kubes.entries()) server.setObjects(served[index]?.objects ?? {});
  const { objects, trusted } = served[0] as ReturnType<typeof kubeObjects>;
  const moto = await startMoto({
    eksClusters: Object.fromEntries(
      names.map((name, index) => [
        name,
        { issuer: ISSUER, caData: kubes[index]?.caData ?? '', endpoint: kubes[index]?.url ?? '' },
      ]),
    ),
  });
  const proxy = await startDelayingProxy(moto.endpoint, size.latencyMs);
  const stop = async () => {
    await proxy.stop();
    await moto.stop();
    await Promise.all(kubes.map((server) => server.stop()));
    process.disconnect?.();
  };
  try {
    const seeded = performance.now();
    await seedMoto(moto.endpoint, size, trusted, names);
    const seedMs = performance.now() - seeded;
    for (const server of kubes) {
      server.setLatency(size.latencyMs);
      server.clearRequests();
    }
    proxy.counts.clear();
    process.on('message', (message: { kind?: string }) => {
      if (message.kind === 'stop') void stop();
      if (message.kind !== 'count') return;
      const kubeCounts: Record<string, { requests: number; objects: number }> = {};
      for (const [resource, items] of Object.entries(objects)) {
        kubeCounts[resource] = { requests: 0, objects: items.length * kubes.length };
      }
      // Read every run though the bench serves none: one (empty) page each.
      for (const resource of ['nodes', 'daemonsets']) kubeCounts[resource] ??= { requests: 0, objects: 0 };
      for (const entry of kubes.flatMap((server) => server.requests)) {
        const counted =
          entry.verb === 'list' && entry.resource !== undefined ? kubeCounts[entry.resource] : undefined;
        if (counted !== undefined) counted.requests += 1;
      }
      const distinctRoles = new Set(
        objects.serviceaccounts.map(
          (sa) =>
            (sa.metadata as { annotations: Record<string, string> }).annotations[ROLE_ARN_ANNOTATION] ?? '',
        ),
      ).size;
      const counts: CountsMessage = {
        kind: 'counts',
        kube: kubeCounts,
        aws: Object.fromEntries(proxy.counts),
        distinctRoles,
      };
      process.send?.(counts);
    });
    const ready: ReadyMessage = { kind: 'ready', endpoint: proxy.endpoint, seedMs };
    process.send?.(ready);
  } catch (error) {
    await stop();
    throw error;
  }
}

const size = JSON.parse(process.env.BENCH_SIZE ?? 'null') as LiveBenchSize | null;
if (size === null || process.send === undefined) {
  console.error('bench/live-servers.ts is started by bench/live.ts (BENCH_SIZE and an IPC channel)');
  process.exitCode = 2;
} else {
  await serve(size);
}
