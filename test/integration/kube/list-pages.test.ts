// The Kubernetes source through the real client-node KubeConfig and node:https, against the fake API server.

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type FakeKubeApi, type KubeObject, startFakeKubeApi } from '../../../lambda/emulators/fake-kube-api';
import { createEksToken } from '../../../lambda/sources/aws/eks-token';
import {
  KubeApiError,
  KubeConfigError,
  type KubeResource,
  type KubeTarget,
  kubeConfigFor,
  type ListOptions,
  listPages,
} from '../../../lambda/sources/kube/list-resources';
import { EXAMPLES, exampleItems } from '../../support/snapshot-dir';

const CLUSTER = 'platform-prod';
const REGION = 'eu-west-1';
const CREDENTIALS = {
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
};
const NAMESPACES = ['apps', 'batch', 'data', 'web'];

/** `count` minimal pods spread over NAMESPACES, named so that key order is predictable. */
function syntheticPods(count: number): KubeObject[] {
  return Array.from({ length: count }, (_, index) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: `pod-${String(index).padStart(5, '0')}`,
      namespace: NAMESPACES[index % NAMESPACES.length],
      uid: `uid-${index}`,
    },
    spec: { serviceAccountName: 'default', containers: [{ name: 'app', image: 'public.ecr.aws/app:1' }] },
  }));
}

function nameOf(item: unknown): string {
  const metadata = (item as { metadata: { namespace?: string; name: string } }).metadata;
  return `${metadata.namespace ?? ''}/${metadata.name}`;
}

let api: FakeKubeApi;
let directory: string;

beforeAll(async () => {
  api = await startFakeKubeApi({
    snapshotDirectory: join(EXAMPLES, 'blog-incident'),
    objects: { pods: syntheticPods(1234) },
    eks: { clusterName: CLUSTER, credentials: CREDENTIALS },
  });
  directory = await mkdtemp(join(tmpdir(), 'kube-source-test-'));
});

afterAll(async () => {
  await api.stop();
  await rm(directory, { recursive: true, force: true });
});

afterEach(() => {
  api.clearRequests();
  api.setLatency(0);
  for (const resource of [
    'serviceaccounts',
    'pods',
    'namespaces',
    'mutatingwebhookconfigurations',
  ] as const) {
    api.permit(resource);
    api.throttle(resource, 0);
  }
});

function eksTarget(overrides: Partial<Extract<KubeTarget, { kind: 'eks' }>> = {}): KubeTarget {
  return {
    kind: 'eks',
    clusterName: CLUSTER,
    endpoint: api.url,
    caData: api.caData,
    token: () => createEksToken({ clusterName: CLUSTER, region: REGION, credentials: CREDENTIALS }),
    ...overrides,
  };
}

/** Every page of a list, as the audit's collector would consume them, discarding pages a restart superseded. */
async function collect(
  config: KubeConfig,
  resource: KubeResource,
  options: ListOptions = {},
): Promise<{ items: unknown[]; pages: number[]; restarts: number }> {
  let items: unknown[] = [];
  const pages: number[] = [];
  let restarts = 0;
  for await (const page of listPages(config, resource, {
    ...options,
    onRestart: async (restarted) => {
      expect(restarted).toBe(resource);
      restarts += 1;
      items = [];
      await options.onRestart?.(restarted);
    },
  })) {
    pages.push(page.length);
    items.push(...page);
  }
  return { items, pages, restarts };
}

async function failureOf(promise: Promise<unknown>): Promise<KubeApiError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (!(error instanceof KubeApiError)) throw new Error(`expected a KubeApiError, got ${String(error)}`);
  return error;
}

describe('listPages', () => {
  it('pages 1,234 pods at limit 500 in exactly 3 list requests', async () => {
    const config = await kubeConfigFor(eksTarget());

    const { items, pages } = await collect(config, 'pods');

    expect(pages).toEqual([500, 500, 234]);
    expect(new Set(items.map(nameOf)).size).toBe(1234);
    const lists = api.requests.filter((entry) => entry.path === '/api/v1/pods');
    expect(lists.map((entry) => [entry.status, entry.query.limit])).toEqual([
      [200, '500'],
      [200, '500'],
      [200, '500'],
    ]);
  });

  it('yields the raw JSON the API served, timestamps as strings', async () => {
    const served = await exampleItems('blog-incident', 'serviceaccounts.json');
    const config = await kubeConfigFor(eksTarget());

    const { items } = await collect(config, 'serviceAccounts');

    // The API omits kind and apiVersion on list items; everything else arrives untouched.
    expect(items).toEqual(served.map(({ kind: _kind, apiVersion: _apiVersion, ...rest }) => rest));
  });

  it('restarts the list after 410 Gone and, with the restart signalled, ends with no duplicates', async () => {
    const config = await kubeConfigFor(eksTarget());
    let expired = false;

    const { items, restarts } = await collect(config, 'pods', {
      onPage: (_resource, page) => {
        // Between the first and second page, as when etcd compacts the revision the list started from.
        if (page === 1 && !expired) {
          expired = true;
          api.expireContinueTokens();
        }
      },
    });

    expect(restarts).toBe(1);
    expect(items).toHaveLength(1234);
    expect(new Set(items.map(nameOf)).size).toBe(1234);
    const statuses = api.requests
      .filter((entry) => entry.path === '/api/v1/pods')
      .map((entry) => entry.status);
    expect(statuses).toEqual([200, 410, 200, 200, 200]);
    expect(api.requests.filter((entry) => entry.status === 410)[0]?.query.continue).toBeDefined();
  });

  it('gives up with an error when every restart expires again', async () => {
    const config = await kubeConfigFor(eksTarget());

    const error = await failureOf(
      collect(config, 'pods', { onPage: (_resource, page) => page === 1 && api.expireContinueTokens() }),
    );

    expect(error.reason).toBe('error');
    expect(error.status).toBe(410);
    expect(error.resource).toBe('pods');
  });

  it('lists one namespace through the namespaced path, filtered by the server', async () => {
    const config = await kubeConfigFor(eksTarget());

    const { items } = await collect(config, 'pods', { namespace: 'data' });

    // Every fourth pod from index 2 lives in `data`: indices 2, 6, ..., 1230.
    expect(items).toHaveLength(308);
    expect(items.every((item) => nameOf(item).startsWith('data/'))).toBe(true);
    expect(api.requests.map((entry) => entry.path)).toEqual(['/api/v1/namespaces/data/pods']);
  });

  it('lists cluster-scoped types at their cluster path even when a namespace is given', async () => {
    const config = await kubeConfigFor(eksTarget());

    const { items } = await collect(config, 'mutatingWebhookConfigurations', { namespace: 'data' });

    expect(items).toHaveLength(3);
    expect(api.requests.map((entry) => entry.path)).toEqual([
      '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations',
    ]);
  });

  it('reports 403 on pods as forbidden for pods while ServiceAccounts still list', async () => {
    api.forbid('pods');
    const config = await kubeConfigFor(eksTarget());

    const error = await failureOf(collect(config, 'pods'));
    const { items } = await collect(config, 'serviceAccounts');

    expect(error).toMatchObject({ reason: 'forbidden', resource: 'pods', status: 403 });
    expect(error.message).toContain('cannot list resource "pods" in API group "" at the cluster scope');
    expect(items).toHaveLength(17);
  });

  it('retries 429 after the Retry-After the server asked for, then succeeds', async () => {
    api.throttle('serviceaccounts', 2, 1);
    const config = await kubeConfigFor(eksTarget());
    const started = Date.now();

    const { items } = await collect(config, 'serviceAccounts');

    expect(items).toHaveLength(17);
    expect(Date.now() - started).toBeGreaterThanOrEqual(2000);
    const statuses = api.requests
      .filter((entry) => entry.path === '/api/v1/serviceaccounts')
      .map((entry) => entry.status);
    expect(statuses).toEqual([429, 429, 200]);
  });

  it('reports throttled when 429 outlasts the retries', async () => {
    api.throttle('namespaces', 10, 0);
    const config = await kubeConfigFor(eksTarget());

    const error = await failureOf(collect(config, 'namespaces', { maxThrottleRetries: 2 }));

    expect(error).toMatchObject({ reason: 'throttled', resource: 'namespaces', status: 429 });
    expect(api.requests).toHaveLength(3);
  });

  it('reports tls when the CA is not the one that issued the server certificate', async () => {
    const other = await startFakeKubeApi();
    await other.stop();

    const error = await failureOf(collect(await kubeConfigFor(eksTarget({ caData: other.caData })), 'pods'));

    expect(error.reason).toBe('tls');
    expect(error.resource).toBe('pods');
    expect(api.requests).toEqual([]);
  });

  it('reports unauthorized for a token the server rejects', async () => {
    const config = await kubeConfigFor(eksTarget({ token: async () => 'k8s-aws-v1.bm90LWEtdXJs' }));

    const error = await failureOf(collect(config, 'serviceAccounts'));

    expect(error).toMatchObject({ reason: 'unauthorized', resource: 'serviceAccounts', status: 401 });
    expect(error.message).not.toContain('k8s-aws-v1');
  });

  it('reports unauthorized for an EKS token signed for another cluster', async () => {
    const token = () => createEksToken({ clusterName: 'other', region: REGION, credentials: CREDENTIALS });
    const config = await kubeConfigFor(eksTarget({ token }));

    const error = await failureOf(collect(config, 'pods'));

    expect(error.reason).toBe('unauthorized');
    expect(api.requests[0]?.authProblem).toBe('signature does not match a request for this cluster');
  });

  it('reports unauthorized when no token can be made, without sending a request', async () => {
    const config = await kubeConfigFor(
      eksTarget({
        token: async () => {
          throw new Error('Could not load credentials from any providers');
        },
      }),
    );

    const error = await failureOf(collect(config, 'pods'));

    expect(error.reason).toBe('unauthorized');
    expect(error.message).toContain('Could not load credentials from any providers');
    expect(api.requests).toEqual([]);
  });

  it('reports unreachable when nothing listens at the endpoint', async () => {
    const stopped = await startFakeKubeApi();
    await stopped.stop();

    const error = await failureOf(
      collect(await kubeConfigFor(eksTarget({ endpoint: stopped.url, caData: stopped.caData })), 'pods'),
    );

    expect(error.reason).toBe('unreachable');
    expect(error.message).toContain('ECONNREFUSED');
  });

  it('reports timeout when the server does not answer in time', async () => {
    api.setLatency(1000);
    const config = await kubeConfigFor(eksTarget());

    const error = await failureOf(collect(config, 'namespaces', { timeoutMs: 200 }));

    expect(error.reason).toBe('timeout');
    expect(error.resource).toBe('namespaces');
  });

  it('refreshes the token for every request', async () => {
    let calls = 0;
    const config = await kubeConfigFor(
      eksTarget({
        token: () => {
          calls += 1;
          return createEksToken({ clusterName: CLUSTER, region: REGION, credentials: CREDENTIALS });
        },
      }),
    );

    await collect(config, 'pods');

    expect(calls).toBe(3);
  });
});

describe('kubeConfigFor with a kubeconfig', () => {
  it('uses the named context rather than the current one', async () => {
    const path = join(directory, 'two-contexts');
    const good = api.kubeconfig({ name: 'good' });
    const stale = api.kubeconfig({ name: 'stale', token: 'revoked-token' });
    await writeFile(
      path,
      JSON.stringify({
        ...stale,
        clusters: [...stale.clusters, ...good.clusters],
        users: [...stale.users, ...good.users],
        contexts: [...stale.contexts, ...good.contexts],
      }),
    );

    const withContext = await collect(
      await kubeConfigFor({ kind: 'kubeconfig', path, context: 'good' }),
      'namespaces',
    );
    const current = await failureOf(collect(await kubeConfigFor({ kind: 'kubeconfig', path }), 'namespaces'));

    expect(withContext.items).toHaveLength(8);
    expect(current.reason).toBe('unauthorized');
  });

  it('authenticates through the kubeconfig’s exec plugin, as `aws eks update-kubeconfig` writes it', async () => {
    const path = join(directory, 'exec');
    await api.writeKubeconfig(path, {
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

    const { items } = await collect(await kubeConfigFor({ kind: 'kubeconfig', path }), 'namespaces');

    expect(items).toHaveLength(8);
  });

  it.each([
    [
      'a context the file does not define',
      { context: 'missing' },
      'has no context "missing" (contexts: fake-kube-api)',
    ],
    ['a file that does not exist', { path: '/nonexistent/kubeconfig' }, 'no such file'],
  ])('names the problem for %s', async (_case, target, problem) => {
    const path = join(directory, 'single');
    await api.writeKubeconfig(path);

    const error = await kubeConfigFor({ kind: 'kubeconfig', path, ...target }).then(
      () => undefined,
      (caught: unknown) => caught,
    );

    expect(error).toBeInstanceOf(KubeConfigError);
    expect((error as KubeConfigError).problem).toBe(problem);
  });
});
