import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadSnapshot } from '../../../lambda/sources/snapshot/snapshot';
import { SnapshotWriter } from '../../../lambda/sources/snapshot/write-snapshot';
import { EXAMPLES } from '../../support/snapshot-dir';

const example = async (file: string) =>
  JSON.parse(await readFile(join(EXAMPLES, 'blog-incident', file), 'utf8')) as Record<string, unknown[]>;

let directory = '';
afterEach(async () => {
  await rm(directory, { recursive: true, force: true });
});

describe('SnapshotWriter', () => {
  it('writes files that load back to the same state, streaming lists page by page', async () => {
    directory = await mkdtemp(join(tmpdir(), 'irsa-written-'));
    const writer = await SnapshotWriter.create(directory);
    const cluster = (await example('cluster.json')).cluster;
    const pods = (await example('pods.json')).items ?? [];

    await writer.writeCluster(cluster);
    await writer.writeList(
      'oidcProviders',
      (await example('oidc-providers.json')).OpenIDConnectProviders ?? [],
    );
    await writer.writeList('roles', (await example('roles.json')).Roles ?? []);
    await writer.writeList('accountClusters', (await example('clusters.json')).clusters ?? []);
    for (const [part, file] of [
      ['serviceAccounts', 'serviceaccounts.json'],
      ['mutatingWebhookConfigurations', 'mutatingwebhookconfigurations.json'],
      ['namespaces', 'namespaces.json'],
    ] as const) {
      await writer.writeList(part, (await example(file)).items ?? []);
    }
    const podList = writer.openList('pods');
    await podList.add(pods.slice(0, 3));
    await podList.restart();
    await podList.add(pods.slice(0, 5));
    await podList.add(pods.slice(5));
    await podList.close();

    const written = await loadSnapshot(directory);
    const original = await loadSnapshot(join(EXAMPLES, 'blog-incident'));
    expect(written).toEqual(original);
    const podFile = JSON.parse(await readFile(join(directory, 'pods.json'), 'utf8'));
    expect(podFile).toEqual({
      apiVersion: 'v1',
      items: pods,
      kind: 'List',
      metadata: { resourceVersion: '' },
    });
  });

  it('writes the account summary as aws iam get-account-summary prints it, and reads its quota back', async () => {
    directory = await mkdtemp(join(tmpdir(), 'irsa-written-'));
    const writer = await SnapshotWriter.create(directory);
    await writer.writeCluster((await example('cluster.json')).cluster);
    await writer.writeList(
      'oidcProviders',
      (await example('oidc-providers.json')).OpenIDConnectProviders ?? [],
    );
    await writer.writeList('roles', (await example('roles.json')).Roles ?? []);
    for (const part of ['serviceAccounts', 'pods', 'mutatingWebhookConfigurations'] as const)
      await writer.writeList(part, []);
    const summary = { SummaryMap: { Roles: 212, RolesQuota: 1000, AssumeRolePolicySizeQuota: 4096 } };

    await writer.writeAccountSummary(summary);

    expect(JSON.parse(await readFile(join(directory, 'account-summary.json'), 'utf8'))).toEqual(summary);
    expect((await loadSnapshot(directory)).accountQuotas).toEqual({ assumeRolePolicySizeQuota: 4096 });
  });

  it('writes an empty list as an empty array', async () => {
    directory = await mkdtemp(join(tmpdir(), 'irsa-written-'));
    const writer = await SnapshotWriter.create(directory);

    await writer.writeList('podIdentityAssociations', []);

    const file = JSON.parse(await readFile(join(directory, 'pod-identity-associations.json'), 'utf8'));
    expect(file).toEqual({ associations: [] });
  });
});
