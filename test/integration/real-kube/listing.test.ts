// Listing on a real kube-apiserver (issue 13, test 4): limit/continue pagination over thousands of objects, and a
// real 410 Gone for a continue token that etcd compaction expired, after which the list starts over as
// listPages does on any cluster.

import { Agent, request } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubeConfigFor } from '../../../lambda/sources/kube/kube-config';
import { listPages } from '../../../lambda/sources/kube/list-resources';
import { type RealKubeApi, startRealKubeApi } from '../../support/real-kube/real-kube-api';

const NAMESPACE = 'bulk';
const SERVICE_ACCOUNTS = 1_200;

let kube: RealKubeApi;

/** One authenticated JSON call as the cluster's admin (set-up only; the code under test uses its own client). */
function call(method: string, path: string, body?: unknown): Promise<number> {
  const agent = new Agent({ ca: kube.caPem, keepAlive: true, maxSockets: 16 });
  return new Promise((resolve, reject) => {
    const req = request(
      `${kube.url}${path}`,
      {
        method,
        agent,
        headers: { authorization: `Bearer ${kube.adminToken}`, 'content-type': 'application/json' },
      },
      (res) => {
        res.resume();
        res.on('end', () => {
          agent.destroy();
          resolve(res.statusCode ?? 0);
        });
      },
    );
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

beforeAll(async () => {
  kube = await startRealKubeApi();
  console.info(`real kube-apiserver ${kube.version} at ${kube.url}`);
  expect(await call('POST', '/api/v1/namespaces', { metadata: { name: NAMESPACE } })).toBe(201);
  const names = Array.from(
    { length: SERVICE_ACCOUNTS },
    (_, index) => `worker-${String(index).padStart(4, '0')}`,
  );
  for (let start = 0; start < names.length; start += 50) {
    const statuses = await Promise.all(
      names
        .slice(start, start + 50)
        .map((name) =>
          call('POST', `/api/v1/namespaces/${NAMESPACE}/serviceaccounts`, { metadata: { name } }),
        ),
    );
    expect(new Set(statuses)).toEqual(new Set([201]));
  }
}, 240_000);

afterAll(async () => {
  await kube?.stop();
});

const config = () =>
  kubeConfigFor({
    kind: 'eks',
    clusterName: 'real',
    endpoint: kube.url,
    caData: kube.caData,
    token: async () => kube.adminToken,
  });

describe(`listing on the real kube-apiserver`, () => {
  it('is the version the tests build', () => {
    expect(kube.version).toBe('v1.20.2');
  });

  it('pages with limit/continue and gets every object once', async () => {
    const pages: number[] = [];
    const names: string[] = [];
    for await (const page of listPages(await config(), 'serviceAccounts', {
      namespace: NAMESPACE,
      limit: 500,
    })) {
      pages.push(page.length);
      for (const item of page) names.push((item as { metadata: { name: string } }).metadata.name);
    }

    expect(pages).toEqual([500, 500, 200]);
    expect(new Set(names).size).toBe(SERVICE_ACCOUNTS);
  });

  it('starts the list over after the real 410 Gone of a continue token that compaction expired', async () => {
    const pages: number[] = [];
    const restarts: string[] = [];
    const names = new Set<string>();
    const list = listPages(await config(), 'serviceAccounts', {
      namespace: NAMESPACE,
      limit: 500,
      onRestart: async (resource) => {
        restarts.push(resource);
        names.clear();
      },
    });
    for await (const page of list) {
      pages.push(page.length);
      for (const item of page) names.add((item as { metadata: { name: string } }).metadata.name);
      // After the first page, a write and a compaction at the new revision: the token of page 1 is now too old.
      if (pages.length === 1) {
        expect(
          await call('POST', `/api/v1/namespaces/${NAMESPACE}/serviceaccounts`, {
            metadata: { name: 'late' },
          }),
        ).toBe(201);
        await kube.compact();
      }
    }

    expect(restarts).toEqual(['serviceAccounts']);
    expect(pages).toEqual([500, 500, 500, 201]);
    expect(names.size).toBe(SERVICE_ACCOUNTS + 1);
  });
});
