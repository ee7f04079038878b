// A live collection of several namespaces (`--namespace a --namespace b`) whose list expires (410 Gone) while a
// later namespace is being paged: the objects of the namespaces listed before it must survive the restart.

import { CreateClusterCommand } from '@aws-sdk/client-eks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeKubeApi, type KubeObject, startFakeKubeApi } from '../../../lambda/emulators/fake-kube-api';
import { MOTO_CREDENTIALS, type MotoServer, motoClients, startMoto } from '../../../lambda/emulators/moto';
import { EksTokenCache } from '../../../lambda/sources/aws/eks-token';
import { collectCluster } from '../../../lambda/sources/live/collect-cluster';

const CLUSTER = 'paged-namespaces';
const REGION = 'eu-west-1';
// More than one page (the collection lists 500 per page) in each namespace, so each has a continue token.
const PODS_PER_NAMESPACE = 600;
const NAMESPACES = ['team-a', 'team-b'];

let moto: MotoServer;
let kube: FakeKubeApi;

const podsOf = (namespace: string): KubeObject[] =>
  Array.from({ length: PODS_PER_NAMESPACE }, (_, index) => ({
    metadata: { name: `app-${index}`, namespace, uid: `${namespace}-${index}` },
    spec: { serviceAccountName: 'default', containers: [{ name: 'app', image: 'app:1' }] },
    status: { phase: 'Running' },
  }));

beforeAll(async () => {
  kube = await startFakeKubeApi({
    objects: {
      pods: NAMESPACES.flatMap(podsOf),
      namespaces: NAMESPACES.map((name) => ({ metadata: { name } })),
    },
    eks: { clusterName: CLUSTER, credentials: MOTO_CREDENTIALS },
  });
  moto = await startMoto({ eksClusters: { [CLUSTER]: { endpoint: kube.url, caData: kube.caData } } });
  await motoClients(moto.endpoint, REGION).eks.send(
    new CreateClusterCommand({
      name: CLUSTER,
      roleArn: 'arn:aws:iam::111122223333:role/cluster',
      resourcesVpcConfig: { subnetIds: ['subnet-0179024df634511da'] },
    }),
  );
}, 120_000);

afterAll(async () => {
  await kube?.stop();
  await moto?.stop();
});

/** Collects the two namespaces, expiring every continue token when `expireAt` pods pages have arrived. */
async function collectExpiringAt(expireAt: number) {
  const tokens = new EksTokenCache({ credentials: MOTO_CREDENTIALS });
  let podPages = 0;
  return collectCluster({
    clusterName: CLUSTER,
    clients: motoClients(moto.endpoint, REGION),
    namespaces: NAMESPACES,
    kubeTarget: ({ endpoint, caData }) => ({
      kind: 'eks',
      clusterName: CLUSTER,
      endpoint: endpoint ?? '',
      caData: caData ?? '',
      token: () => tokens.token(CLUSTER, REGION),
    }),
    onProgress: (message) => {
      if (!message.includes(': pods page ')) return;
      podPages += 1;
      if (podPages === expireAt) kube.expireContinueTokens();
    },
  });
}

describe('a list restarted after 410 Gone in a later namespace', () => {
  it('keeps every namespace listed before it, once, and lists the pods of all namespaces', async () => {
    // Pages: team-a 1, team-a 2, team-b 1 — its continue token then expires.
    const state = await collectExpiringAt(3);

    expect(state.collectionErrors).toEqual([]);
    const counts = Object.fromEntries(
      NAMESPACES.map((namespace) => [
        namespace,
        state.pods.filter((pod) => pod.namespace === namespace).length,
      ]),
    );
    expect(counts).toEqual({ 'team-a': PODS_PER_NAMESPACE, 'team-b': PODS_PER_NAMESPACE });
    expect(new Set(state.pods.map((pod) => `${pod.namespace}/${pod.name}`)).size).toBe(
      2 * PODS_PER_NAMESPACE,
    );
    const expired = kube.requests.filter((request) => request.status === 410);
    expect(expired.map((request) => request.path)).toEqual(['/api/v1/namespaces/team-b/pods']);
  });
});
