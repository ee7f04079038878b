// Pods of one workload share their records once collected (lambda/sources/intern.ts): the same objects, equal
// to what each pod parses to on its own, so the checks see no difference and memory grows with workloads.

import { describe, expect, it } from 'vitest';
import { PodInterner } from '../../../lambda/sources/intern';
import { parsePod } from '../../../lambda/sources/parse/kubernetes-objects';
import { loadSnapshot } from '../../../lambda/sources/snapshot/snapshot';
import { EXAMPLES, exampleItems } from '../../support/snapshot-dir';

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
    expect([first, second]).toEqual(parsed);
    // Each pod has its own kube-api-access-xxxxx volume and mount; the env and the IRSA token volume are shared.
    expect(second?.containers[0]?.env).toBe(first?.containers[0]?.env);
    expect(second?.containers[0]?.volumeMounts[1]).toBe(first?.containers[0]?.volumeMounts[1]);
    expect(second?.containers[0]?.volumeMounts[0]).not.toBe(first?.containers[0]?.volumeMounts[0]);
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

    expect(state.pods).toEqual(items.map((item, index) => parsePod(item, `$.items[${index}]`)));
    // Different env stays different: the agent's pods and the workloads' share nothing of it.
    const agent = state.pods.find((pod) => pod.owner?.name === 'eks-pod-identity-agent');
    const workload = state.pods.find((pod) => pod.owner?.name === 'orders-api-74b6c9d8f5');
    expect(agent?.containers[1]?.env).not.toEqual(workload?.containers[0]?.env);
  });
});
