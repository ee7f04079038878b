// Pods of one workload share their records once collected (lambda/sources/intern.ts): the same objects, equal
// to what each pod parses to on its own but for the random suffix of its kube-api-access-xxxxx volume, so the
// checks see no difference and memory grows with workloads.

import { describe, expect, it } from 'vitest';
import type { Pod } from '../../../lambda/core/model/cluster-state';
import { API_ACCESS_VOLUME, PodInterner } from '../../../lambda/sources/intern';
import { parsePod } from '../../../lambda/sources/parse/kubernetes-objects';
import { loadSnapshot } from '../../../lambda/sources/snapshot/snapshot';
import { EXAMPLES, exampleItems } from '../../support/snapshot-dir';

/** A pod as parsed, its admission plugin token volume (and the mounts of it) named without the random suffix. */
const withoutApiAccessSuffix = (pod: Pod): Pod =>
  JSON.parse(
    JSON.stringify(pod).replaceAll(/"kube-api-access-[a-z0-9]{5}"/g, JSON.stringify(API_ACCESS_VOLUME)),
  );

describe('PodInterner', () => {
  it('keeps each pod equal to its own parse, sharing what two replicas have in common', async () => {
    const items = await exampleItems('healthy', 'pods.json');
    const replicas = items.filter((item) =>
      (item.metadata as { name: string }).name.startsWith('orders-api-74b6c9d8f5-'),
    );
    const parsed = replicas.map((item, index) => parsePod(item, `$.items[${index}]`));
    const interner = new PodInterner();

    const [first, second] = parsed.map((pod) => interner.pod(pod));

    expect(parsed).toHaveLength(2);
    expect(parsed[0]?.tokenVolumes.map((volume) => volume.volumeName)).toContain('kube-api-access-4jfqm');
    expect([first, second]).toEqual(parsed.map(withoutApiAccessSuffix));
    // The replicas differ in their kube-api-access-xxxxx names only: without them, whole containers are shared.
    expect(second?.containers).toBe(first?.containers);
    expect(second?.tokenVolumes).toBe(first?.tokenVolumes);
    const irsaVolume = (pod: typeof first) =>
      pod?.tokenVolumes.find((volume) => volume.volumeName === 'aws-iam-token');
    expect(irsaVolume(second)).toBe(irsaVolume(first));
    expect(second?.labels).toBe(first?.labels);
    expect(second?.owner).toBe(first?.owner);
    expect(second?.name).not.toBe(first?.name);
  });

  it('leaves every pod of a snapshot equal to its own parse, across workloads', async () => {
    const items = await exampleItems('pod-identity-migration', 'pods.json');

    const state = await loadSnapshot(`${EXAMPLES}/pod-identity-migration`);

    expect(state.pods).toEqual(
      items.map((item, index) => withoutApiAccessSuffix(parsePod(item, `$.items[${index}]`))),
    );
    // Different env stays different: the agent's pods and the workloads' share nothing of it.
    const agent = state.pods.find((pod) => pod.owner?.name === 'eks-pod-identity-agent');
    const workload = state.pods.find((pod) => pod.owner?.name === 'orders-api-74b6c9d8f5');
    expect(agent?.containers[1]?.env).not.toEqual(workload?.containers[0]?.env);
  });

  it('keeps the names of a pod that has two kube-api-access-xxxxx volumes, its mounts still meeting their own', () => {
    const mount = (name: string, mountPath: string) => ({ name, mountPath, readOnly: true });
    const pod: Pod = {
      namespace: 'payments',
      name: 'worker-0',
      serviceAccountName: 'worker',
      labels: {},
      annotations: {},
      containers: [
        {
          name: 'app',
          kind: 'container',
          env: [],
          envFrom: [],
          volumeMounts: [
            mount('kube-api-access-aaaaa', '/var/run/a'),
            mount('kube-api-access-bbbbb', '/var/run/b'),
          ],
        },
      ],
      tokenVolumes: [
        { volumeName: 'kube-api-access-aaaaa', path: 'token' },
        { volumeName: 'kube-api-access-bbbbb', audience: 'sts.amazonaws.com', path: 'token' },
      ],
    };

    expect(new PodInterner().pod(pod)).toEqual(pod);
  });
});
