// The fake API server is only as good as its fidelity: the real kubectl must read it as it reads EKS.

import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type FakeKubeApi, startFakeKubeApi, testEksToken } from '../../../lambda/emulators/fake-kube-api';
import { kubectl } from '../../../lambda/emulators/fake-kube-api/kubectl';
import { EXAMPLES, exampleItems } from '../../support/snapshot-dir';

const CLUSTER = 'platform-prod';
const REGION = 'eu-west-1';
// The access key ID and secret of the SigV4 test suite in the AWS documentation.
const CREDENTIALS = {
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
};

let api: FakeKubeApi;
let directory: string;
let kubeconfig: string;

beforeAll(async () => {
  api = await startFakeKubeApi({
    snapshotDirectory: join(EXAMPLES, 'blog-incident'),
    eks: { clusterName: CLUSTER, credentials: CREDENTIALS },
  });
  directory = await mkdtemp(join(tmpdir(), 'fake-kube-api-test-'));
  kubeconfig = join(directory, 'kubeconfig');
  await api.writeKubeconfig(kubeconfig);
});

afterAll(async () => {
  await api.stop();
  await rm(directory, { recursive: true, force: true });
});

afterEach(() => {
  api.clearRequests();
  for (const resource of [
    'serviceaccounts',
    'pods',
    'namespaces',
    'nodes',
    'mutatingwebhookconfigurations',
    'daemonsets',
  ] as const)
    api.permit(resource);
});

const run = (args: readonly string[], config = kubeconfig) =>
  kubectl(args, { kubeconfig: config, cacheDirectory: join(directory, 'cache') });

/** A GET with the server's CA, returning the status and parsed body. */
function get(
  path: string,
  token?: string,
  server = api,
): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const outgoing = request(
      `${server.url}${path}`,
      {
        ca: Buffer.from(server.caData, 'base64'),
        headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
      },
      (response) => {
        let text = '';
        response.on('data', (chunk: Buffer) => {
          text += chunk.toString('utf8');
        });
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: JSON.parse(text) }));
      },
    );
    outgoing.on('error', reject);
    outgoing.end();
  });
}

describe('the fake API server read by kubectl', () => {
  it.each([
    ['serviceaccounts', ['get', 'serviceaccounts', '-A', '-o', 'json'], 'serviceaccounts.json'],
    ['pods', ['get', 'pods', '-A', '-o', 'json'], 'pods.json'],
    [
      'mutatingwebhookconfigurations',
      ['get', 'mutatingwebhookconfigurations', '-o', 'json'],
      'mutatingwebhookconfigurations.json',
    ],
    ['namespaces', ['get', 'namespaces', '-o', 'json'], 'namespaces.json'],
  ])(
    'round-trips %s: kubectl prints the served objects in its List wrapper',
    async (_resource, args, file) => {
      const served = await exampleItems('blog-incident', file);

      const result = await run(args);

      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      const printed = JSON.parse(result.stdout) as Record<string, unknown>;
      // kubectl wraps any list in a v1 List and restores each item's kind and apiVersion from the typed list.
      expect(printed.kind).toBe('List');
      expect(printed.apiVersion).toBe('v1');
      expect(printed.items).toEqual(served);
    },
  );

  it.each([
    ['nodes', ['get', 'nodes', '-o', 'json'], 'nodes.json'],
    ['daemonsets', ['get', 'daemonsets.apps', '-n', 'kube-system', '-o', 'json'], 'daemonsets.json'],
  ] as const)(
    'round-trips %s of examples/pod-identity-migration through kubectl',
    async (resource, args, file) => {
      const served = await exampleItems('pod-identity-migration', file);
      api.setObjects({ [resource]: served });
      try {
        const result = await run(args);

        expect(result.stderr).toBe('');
        expect(result.code).toBe(0);
        expect((JSON.parse(result.stdout) as { items: unknown }).items).toEqual(served);
      } finally {
        api.setObjects({ [resource]: [] });
      }
    },
  );

  it('pages with limit and continue when kubectl is given --chunk-size', async () => {
    const served = await exampleItems('blog-incident', 'pods.json');

    const result = await run(['get', 'pods', '-A', '-o', 'json', '--chunk-size', '5']);

    expect(result.code).toBe(0);
    expect((JSON.parse(result.stdout) as { items: unknown[] }).items).toEqual(served);
    const lists = api.requests.filter((entry) => entry.path === '/api/v1/pods');
    expect(lists).toHaveLength(Math.ceil(served.length / 5));
    expect(lists.map((entry) => entry.query.limit)).toEqual(lists.map(() => '5'));
    expect(lists[0]?.query.continue).toBeUndefined();
    expect(lists.slice(1).every((entry) => (entry.query.continue ?? '') !== '')).toBe(true);
  });

  it('lists one namespace through the namespaced path', async () => {
    const served = (await exampleItems('blog-incident', 'serviceaccounts.json')).filter(
      (item) => (item.metadata as { namespace: string }).namespace === 'payments',
    );

    const result = await run(['get', 'serviceaccounts', '-n', 'payments', '-o', 'json']);

    expect(result.code).toBe(0);
    expect((JSON.parse(result.stdout) as { items: unknown[] }).items).toEqual(served);
    expect(api.requests.map((entry) => entry.path)).toContain('/api/v1/namespaces/payments/serviceaccounts');
  });

  it('serves a single object with its kind, as kubectl get NAME shows it', async () => {
    const [webhook] = (await exampleItems('blog-incident', 'mutatingwebhookconfigurations.json')).filter(
      (item) => (item.metadata as { name: string }).name === 'pod-identity-webhook',
    );

    const result = await run(['get', 'mutatingwebhookconfiguration', 'pod-identity-webhook', '-o', 'json']);

    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual(webhook);
  });

  it('makes kubectl report a 403 with the RBAC message', async () => {
    api.forbid('pods');

    const result = await run(['get', 'pods', '-A', '-o', 'json']);

    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(
      'pods is forbidden: User "fake-kube-api-user" cannot list resource "pods" in API group "" at the cluster scope',
    );
  });

  it('accepts the token of `aws eks get-token` for its cluster through kubectl’s exec plugin', async () => {
    const config = join(directory, 'kubeconfig-eks');
    await api.writeKubeconfig(config, {
      name: 'eks',
      exec: {
        command: 'aws',
        args: ['eks', 'get-token', '--cluster-name', CLUSTER, '--region', REGION, '--output', 'json'],
        env: {
          AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
          AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
          AWS_CONFIG_FILE: '/dev/null',
          AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
        },
      },
    });

    const result = await run(['get', 'namespaces', '-o', 'json'], config);

    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect((JSON.parse(result.stdout) as { items: unknown[] }).items).toHaveLength(8);
  });

  it('accepts `aws eks get-token` with a session token, which is part of the signed query', async () => {
    const token = await awsEksGetToken(CLUSTER, { AWS_SESSION_TOKEN: 'session-token-example' });
    const sessionApi = await startFakeKubeApi({
      eks: { clusterName: CLUSTER, credentials: { ...CREDENTIALS, sessionToken: 'session-token-example' } },
    });
    try {
      const response = await get('/api/v1/namespaces', token, sessionApi);

      expect(response.status).toBe(200);
    } finally {
      await sessionApi.stop();
    }
  });

  it('rejects `aws eks get-token` for another cluster with 401 Unauthorized', async () => {
    const token = await awsEksGetToken('other-cluster');

    const response = await get('/api/v1/namespaces', token);

    expect(response.status).toBe(401);
    expect(response.body).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'Unauthorized',
      reason: 'Unauthorized',
      code: 401,
    });
    expect(api.requests.at(-1)?.authProblem).toBe('signature does not match a request for this cluster');
  });
});

describe('the fake API server’s authentication', () => {
  it.each([
    ['an unknown static token', 'not-the-token'],
    ['a k8s-aws-v1 token that is not base64url', 'k8s-aws-v1.!!!'],
    [
      'a presigned URL for another STS action',
      `k8s-aws-v1.${Buffer.from(`https://sts.${REGION}.amazonaws.com/?Action=GetSessionToken&Version=2011-06-15`).toString('base64url')}`,
    ],
    [
      'a presigned URL on a host that is not STS',
      `k8s-aws-v1.${Buffer.from('https://sts.example.com/?Action=GetCallerIdentity&Version=2011-06-15').toString('base64url')}`,
    ],
  ])('answers 401 to %s', async (_case, token) => {
    const response = await get('/api/v1/pods', token);

    expect(response.status).toBe(401);
    expect(response.body.reason).toBe('Unauthorized');
  });

  it('answers 401 to an EKS token signed more than 15 minutes ago', async () => {
    const token = await testEksToken({
      clusterName: CLUSTER,
      region: REGION,
      credentials: CREDENTIALS,
      now: new Date(Date.now() - 16 * 60 * 1000),
    });

    const response = await get('/api/v1/pods', token);

    expect(response.status).toBe(401);
    expect(api.requests.at(-1)?.authProblem).toBe('X-Amz-Date parameter is expired (15 minute expiration)');
  });

  it('treats a request without a token as system:anonymous, which may read /version only', async () => {
    const version = await get('/version');
    const pods = await get('/api/v1/pods');

    expect(version.status).toBe(200);
    expect(pods.status).toBe(403);
    // As kube-apiserver words it (checked in test/integration/real-kube/fidelity.test.ts).
    expect(pods.body.message).toBe(
      'pods is forbidden: User "system:anonymous" cannot list resource "pods" in API group "" at the cluster scope',
    );
  });
});

describe('the fake API server’s lists', () => {
  it('answers a stale continue token with 410 Gone, reason Expired', async () => {
    const first = await get('/api/v1/pods?limit=2', api.token);
    const token = (first.body.metadata as { continue: string }).continue;
    api.expireContinueTokens();

    const next = await get(`/api/v1/pods?limit=2&continue=${token}`, api.token);

    expect(next.status).toBe(410);
    expect(next.body).toMatchObject({ kind: 'Status', status: 'Failure', reason: 'Expired', code: 410 });
  });

  it('expires continue tokens when the objects change, and serves the new objects', async () => {
    const before = await get('/api/v1/namespaces?limit=1', api.token);
    const token = (before.body.metadata as { continue: string }).continue;
    const only = {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'solo', labels: { 'kubernetes.io/metadata.name': 'solo' }, resourceVersion: '1' },
    };
    api.setObjects({ namespaces: [only] });
    try {
      const stale = await get(`/api/v1/namespaces?limit=1&continue=${token}`, api.token);
      const fresh = await get('/api/v1/namespaces', api.token);

      expect(stale.status).toBe(410);
      expect(fresh.body.items).toEqual([{ metadata: only.metadata }]);
      expect(Number((fresh.body.metadata as { resourceVersion: string }).resourceVersion)).toBeGreaterThan(
        Number((before.body.metadata as { resourceVersion: string }).resourceVersion),
      );
    } finally {
      api.setObjects({ namespaces: await exampleItems('blog-incident', 'namespaces.json') });
    }
  });

  it('serves lists as the API does: typed kind, resourceVersion, items without kind, remainingItemCount', async () => {
    const response = await get('/api/v1/serviceaccounts?limit=5', api.token);

    expect(response.status).toBe(200);
    expect(response.body.kind).toBe('ServiceAccountList');
    expect(response.body.apiVersion).toBe('v1');
    const metadata = response.body.metadata as Record<string, unknown>;
    expect(metadata.resourceVersion).toMatch(/^\d+$/);
    expect(metadata.remainingItemCount).toBe(17 - 5);
    const items = response.body.items as Record<string, unknown>[];
    expect(items).toHaveLength(5);
    expect(items.every((item) => !('kind' in item) && !('apiVersion' in item))).toBe(true);
  });

  it('answers 404 for /openapi/v3, which kubectl can do without', async () => {
    const response = await get('/openapi/v3', api.token);

    expect(response.status).toBe(404);
    expect(response.body.reason).toBe('NotFound');
  });
});

async function awsEksGetToken(clusterName: string, extraEnv: Record<string, string> = {}): Promise<string> {
  const { stdout } = await promisify(execFile)(
    'aws',
    ['eks', 'get-token', '--cluster-name', clusterName, '--region', REGION, '--output', 'json'],
    {
      env: {
        PATH: process.env.PATH ?? '',
        AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
        AWS_CONFIG_FILE: '/dev/null',
        AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
        ...extraEnv,
      },
    },
  ).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT')
      throw new Error('the AWS CLI is not installed: install it with `pip install awscli` (or AWS CLI v2)');
    throw error;
  });
  return (JSON.parse(stdout) as { status: { token: string } }).status.token;
}
