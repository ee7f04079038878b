import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AuditContext } from '../../../lambda/core/analysis/context';
import { parseRoleArn } from '../../../lambda/core/policy/arn';
import { loadSnapshot, SnapshotError } from '../../../lambda/sources/snapshot/snapshot';
import { copyExample, EXAMPLES, exampleItems, type SnapshotCopy } from '../../support/snapshot-dir';

let copy: SnapshotCopy | undefined;
afterEach(async () => {
  await copy?.dispose();
  copy = undefined;
});

async function loadError(directory: string): Promise<SnapshotError> {
  const error = await loadSnapshot(directory).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (!(error instanceof SnapshotError)) throw new Error(`expected a SnapshotError, got ${String(error)}`);
  return error;
}

describe('loadSnapshot', () => {
  it('reads every object of a kubectl List as a model record', async () => {
    const pods = await exampleItems('healthy', 'pods.json');
    const serviceAccounts = await exampleItems('healthy', 'serviceaccounts.json');

    const state = await loadSnapshot(`${EXAMPLES}/healthy`);

    expect(state.pods).toHaveLength(pods.length);
    expect(state.serviceAccounts).toHaveLength(serviceAccounts.length);
    expect(state.malformedObjects).toEqual([]);
    expect(state.cluster.name).toBe('platform-prod');
    expect(state.cluster.region).toBe('eu-west-1');
    expect(state.cluster.accountId).toBe('111122223333');
    expect(state.cluster.certificateAuthority.certificates).toHaveLength(1);
  });

  it('reduces a pod to what the audit needs', async () => {
    const state = await loadSnapshot(`${EXAMPLES}/healthy`);

    const pod = state.pods.find((candidate) => candidate.serviceAccountName === 'orders-api')!;

    expect(pod.namespace).toBe('payments');
    expect(pod.tokenVolumes).toContainEqual(
      expect.objectContaining({
        volumeName: 'aws-iam-token',
        audience: 'sts.amazonaws.com',
        expirationSeconds: 86400,
      }),
    );
    expect(pod.containers[0]?.env.map((variable) => variable.name)).toContain('AWS_WEB_IDENTITY_TOKEN_FILE');
    expect(pod.owner?.kind).toBe('ReplicaSet');
    expect(Object.keys(pod)).not.toContain('status');
  });

  it('accepts a trust policy as an object or as a URL-encoded string', async () => {
    copy = await copyExample('healthy');
    const roles = (await copy.readJson('roles.json')) as { Roles: Record<string, unknown>[] };
    const asObjects = await loadSnapshot(copy.directory);
    const encoded = roles.Roles.map((role) => ({
      ...role,
      AssumeRolePolicyDocument: encodeURIComponent(JSON.stringify(role.AssumeRolePolicyDocument)),
    }));
    await copy.writeJson('roles.json', { Roles: encoded });

    const asStrings = await loadSnapshot(copy.directory);

    expect(asStrings.roles.map((role) => role.trustPolicy)).toEqual(
      asObjects.roles.map((role) => role.trustPolicy),
    );
    expect(asStrings.roles.every((role) => role.trustPolicy !== undefined)).toBe(true);
  });

  it('treats a missing optional file as not collected, not as empty', async () => {
    copy = await copyExample('healthy');
    await copy.remove('namespaces.json');
    await copy.remove('clusters.json');

    const state = await loadSnapshot(copy.directory);

    expect(state.namespaces).toBeUndefined();
    expect(state.accountClusters).toBeUndefined();
    expect(state.podIdentityAssociations).toBeUndefined();
  });

  it('keeps where each pod runs: its node, and whether it shares the node network', async () => {
    copy = await copyExample('healthy');
    const pods = await exampleItems('healthy', 'pods.json');
    const onHostNetwork = pods.map((pod) =>
      (pod.metadata as { name: string }).name === 'orders-api-74b6c9d8f5-sd79v'
        ? { ...pod, spec: { ...(pod.spec as object), hostNetwork: true } }
        : pod,
    );
    await copy.writeJson('pods.json', { apiVersion: 'v1', kind: 'List', items: onHostNetwork });

    const state = await loadSnapshot(copy.directory);

    // examples/healthy/pods.json: spec.nodeName as kubectl printed it.
    expect(state.pods.find((pod) => pod.name === 'orders-api-74b6c9d8f5-9j5gf')?.nodeName).toBe(
      'ip-10-42-11-87.eu-west-1.compute.internal',
    );
    expect(state.pods.filter((pod) => pod.hostNetwork === true).map((pod) => pod.name)).toEqual([
      'orders-api-74b6c9d8f5-sd79v',
    ]);
  });

  it('reads nodes (OS, EKS compute type), the DaemonSets of kube-system and whether each pod is Ready', async () => {
    copy = await copyExample('pod-identity-migration');
    const nodes = await exampleItems('pod-identity-migration', 'nodes.json');
    const template = nodes[0] as { metadata: { labels: Record<string, string> }; status: object };
    const labelled = (name: string, labels: Record<string, string>) => ({
      ...template,
      metadata: { ...template.metadata, name, labels: { ...template.metadata.labels, ...labels } },
    });
    const { 'kubernetes.io/os': _os, ...withoutOs } = template.metadata.labels;
    await copy.writeJson('nodes.json', {
      apiVersion: 'v1',
      kind: 'List',
      items: [
        ...nodes,
        labelled('ip-10-42-90-12.eu-west-1.compute.internal', { 'kubernetes.io/os': 'windows' }),
        labelled('mi-0a1b2c3d4e5f60789', { 'eks.amazonaws.com/compute-type': 'hybrid' }),
        // Without the label, the kubelet's nodeInfo still says which OS the node runs.
        { ...template, metadata: { ...template.metadata, name: 'unlabelled', labels: withoutOs } },
      ],
    });

    const state = await loadSnapshot(copy.directory);

    expect(state.nodes).toEqual([
      { name: 'ip-10-42-11-87.eu-west-1.compute.internal', os: 'linux' },
      { name: 'ip-10-42-45-130.eu-west-1.compute.internal', os: 'linux' },
      { name: 'ip-10-42-78-214.eu-west-1.compute.internal', os: 'linux' },
      { name: 'ip-10-42-90-12.eu-west-1.compute.internal', os: 'windows' },
      { name: 'mi-0a1b2c3d4e5f60789', os: 'linux', computeType: 'hybrid' },
      { name: 'unlabelled', os: 'linux' },
    ]);
    // examples/pod-identity-migration/daemonsets.json: status as kubectl printed it.
    expect(state.daemonSets).toEqual([
      { namespace: 'kube-system', name: 'eks-pod-identity-agent', desiredNumberScheduled: 3, numberReady: 2 },
    ]);
    const agents = state.pods.filter((pod) => pod.owner?.name === 'eks-pod-identity-agent');
    expect(agents.map((pod) => [pod.nodeName, pod.ready])).toEqual([
      ['ip-10-42-78-214.eu-west-1.compute.internal', false],
      ['ip-10-42-11-87.eu-west-1.compute.internal', true],
      ['ip-10-42-45-130.eu-west-1.compute.internal', true],
    ]);
    expect(state.malformedObjects).toEqual([]);
  });

  it('reads role-policies.json: inline policies as get-role-policy prints them, attached ones with their ARN', async () => {
    copy = await copyExample('pod-identity-migration');
    const written = JSON.parse(await readFile(join(copy.directory, 'role-policies.json'), 'utf8'));
    // The API (and the SDK) return the document URL-encoded; the CLI decodes it. Both are read.
    const [inline, attached] = written.RolePolicies;
    await copy.writeJson('role-policies.json', {
      RolePolicies: [
        { ...inline, PolicyDocument: encodeURIComponent(JSON.stringify(inline.PolicyDocument)) },
        attached,
      ],
    });

    const state = await loadSnapshot(copy.directory);

    expect(
      state.rolePolicies?.map((policy) => ({
        role: policy.roleName,
        name: policy.policyName,
        arn: policy.policyArn ?? null,
        resources: policy.document?.statements.flatMap((statement) => statement.resource ?? []),
      })),
    ).toEqual([
      {
        role: 'etl-runner-pod-identity',
        name: 'assume-etl-lake-writer',
        arn: null,
        resources: ['arn:aws:iam::444455556666:role/etl-lake-writer'],
      },
      {
        role: 'etl-runner-pod-identity',
        name: 'AmazonS3ReadOnlyAccess',
        arn: 'arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess',
        resources: ['*'],
      },
    ]);
    expect(state.malformedObjects).toEqual([]);
  });

  it('reports a permissions policy that does not parse as a malformed object, and keeps it', async () => {
    copy = await copyExample('pod-identity-migration');
    await copy.writeJson('role-policies.json', {
      RolePolicies: [
        { RoleName: 'etl-runner-pod-identity', PolicyName: 'broken', PolicyDocument: '{"Statement": ' },
      ],
    });

    const state = await loadSnapshot(copy.directory);

    expect(state.rolePolicies).toHaveLength(1);
    expect(state.malformedObjects).toEqual([
      expect.objectContaining({
        kind: 'RolePolicy',
        name: 'etl-runner-pod-identity/broken',
        path: '$.RolePolicies[0].PolicyDocument',
        problem: expect.stringMatching(/^policy document is not valid JSON/),
      }),
    ]);
  });

  it('reads the agent add-on as describe-addon prints it, `{"addon": null}` as not installed, and Auto Mode', async () => {
    copy = await copyExample('healthy');
    const cluster = JSON.parse(await readFile(join(copy.directory, 'cluster.json'), 'utf8'));
    await copy.writeJson('cluster.json', {
      cluster: {
        ...cluster.cluster,
        computeConfig: { enabled: true, nodePools: ['general-purpose', 'system'] },
      },
    });
    await copy.writeJson('pod-identity-agent-addon.json', {
      addon: {
        addonName: 'eks-pod-identity-agent',
        clusterName: 'platform-prod',
        status: 'DEGRADED',
        addonVersion: 'v1.3.4-eksbuild.1',
        health: {
          issues: [{ code: 'InsufficientNumberOfReplicas', message: 'not enough replicas', resourceIds: [] }],
        },
      },
    });
    const degraded = await loadSnapshot(copy.directory);
    await copy.writeJson('pod-identity-agent-addon.json', { addon: null });

    const absent = await loadSnapshot(copy.directory);

    expect(degraded.cluster.autoMode).toBe(true);
    expect(degraded.podIdentityAgentAddon).toEqual({
      installed: true,
      status: 'DEGRADED',
      version: 'v1.3.4-eksbuild.1',
      issues: ['InsufficientNumberOfReplicas: not enough replicas'],
    });
    expect(absent.podIdentityAgentAddon).toEqual({ installed: false, issues: [] });
  });

  it('reads pod identity associations when the optional file is present', async () => {
    copy = await copyExample('healthy');
    await copy.writeJson('pod-identity-associations.json', {
      associations: [
        {
          clusterName: 'platform-prod',
          namespace: 'payments',
          serviceAccount: 'orders-api',
          roleArn: 'arn:aws:iam::111122223333:role/orders-api-pod-identity',
          associationArn:
            'arn:aws:eks:eu-west-1:111122223333:podidentityassociation/platform-prod/a-1a2b3c4d5e6f7g8h9',
          associationId: 'a-1a2b3c4d5e6f7g8h9',
        },
      ],
    });

    const state = await loadSnapshot(copy.directory);

    expect(state.podIdentityAssociations).toEqual([
      expect.objectContaining({ associationId: 'a-1a2b3c4d5e6f7g8h9', serviceAccount: 'orders-api' }),
    ]);
  });

  it('reads every field of an association as `aws eks describe-pod-identity-association` prints it', async () => {
    copy = await copyExample('healthy');
    // The CLI's output for a cross-account association owned by an add-on (EKS API reference, PodIdentityAssociation).
    await copy.writeJson('pod-identity-associations.json', {
      associations: [
        {
          clusterName: 'platform-prod',
          namespace: 'kube-system',
          serviceAccount: 'ebs-csi-controller-sa',
          roleArn: 'arn:aws:iam::111122223333:role/ebs-csi-pod-identity',
          associationArn:
            'arn:aws:eks:eu-west-1:111122223333:podidentityassociation/platform-prod/a-9z8y7x6w5v4u3t2s1',
          associationId: 'a-9z8y7x6w5v4u3t2s1',
          tags: {},
          createdAt: '2026-06-12T09:14:03.518000+00:00',
          modifiedAt: '2026-11-02T16:40:51.207000+00:00',
          ownerArn:
            'arn:aws:eks:eu-west-1:111122223333:addon/platform-prod/aws-ebs-csi-driver/e6c9a1f2-0b4d-4c3e-9f7a-5d2b8e1c6a40',
          disableSessionTags: true,
          targetRoleArn: 'arn:aws:iam::444455556666:role/ebs-snapshots',
          externalId: 'eu-west-1/111122223333/platform-prod/kube-system/ebs-csi-controller-sa',
          policy:
            '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ec2:Describe*","Resource":"*"}]}',
        },
      ],
    });

    const state = await loadSnapshot(copy.directory);

    expect(state.podIdentityAssociations).toEqual([
      {
        associationId: 'a-9z8y7x6w5v4u3t2s1',
        associationArn:
          'arn:aws:eks:eu-west-1:111122223333:podidentityassociation/platform-prod/a-9z8y7x6w5v4u3t2s1',
        namespace: 'kube-system',
        serviceAccount: 'ebs-csi-controller-sa',
        roleArn: 'arn:aws:iam::111122223333:role/ebs-csi-pod-identity',
        targetRoleArn: 'arn:aws:iam::444455556666:role/ebs-snapshots',
        externalId: 'eu-west-1/111122223333/platform-prod/kube-system/ebs-csi-controller-sa',
        disableSessionTags: true,
        policy:
          '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ec2:Describe*","Resource":"*"}]}',
        ownerArn:
          'arn:aws:eks:eu-west-1:111122223333:addon/platform-prod/aws-ebs-csi-driver/e6c9a1f2-0b4d-4c3e-9f7a-5d2b8e1c6a40',
        createdAt: '2026-06-12T09:14:03.518000+00:00',
        modifiedAt: '2026-11-02T16:40:51.207000+00:00',
      },
    ]);
  });

  it('reports an association whose disableSessionTags is not a boolean as a malformed object', async () => {
    copy = await copyExample('healthy');
    await copy.writeJson('pod-identity-associations.json', {
      associations: [
        {
          namespace: 'payments',
          serviceAccount: 'orders-api',
          roleArn: 'arn:aws:iam::111122223333:role/orders-api-pod-identity',
          associationId: 'a-1a2b3c4d5e6f7g8h9',
          disableSessionTags: 'yes',
        },
      ],
    });

    const state = await loadSnapshot(copy.directory);

    expect(state.podIdentityAssociations).toEqual([]);
    expect(state.malformedObjects).toEqual([
      expect.objectContaining({
        path: expect.stringContaining('disableSessionTags'),
        problem: 'expected a boolean, found a string',
      }),
    ]);
  });

  it.each([
    'cluster.json',
    'oidc-providers.json',
    'roles.json',
    'serviceaccounts.json',
    'pods.json',
    'mutatingwebhookconfigurations.json',
  ])('names the missing required file %s', async (file) => {
    copy = await copyExample('healthy');
    await copy.remove(file);

    const error = await loadError(copy.directory);

    expect(error.file).toBe(file);
    expect(error.message).toMatch(new RegExp(`^${file}: required file is missing`));
  });

  it.each([
    ['pods.json', { items: {} }, '$.items', 'pods.json: $.items: expected an array, found an object'],
    ['roles.json', { roles: [] }, '$.Roles', 'roles.json: $.Roles: expected an array, found nothing'],
    ['cluster.json', [], '$', 'cluster.json: $: expected an object, found an array'],
    [
      'cluster.json',
      { cluster: { arn: 'x' } },
      '$.cluster.name',
      'cluster.json: $.cluster.name: expected a string',
    ],
  ])('names the file and JSON path when %s has the wrong shape', async (file, content, path, message) => {
    copy = await copyExample('healthy');
    await copy.writeJson(file, content);

    const error = await loadError(copy.directory);

    expect(error.jsonPath).toBe(path);
    expect(error.message.startsWith(message)).toBe(true);
    expect(error.message).not.toContain('\n');
  });

  it('names the file that is not JSON', async () => {
    copy = await copyExample('healthy');
    await copy.writeText('serviceaccounts.json', '{"items": [');

    const error = await loadError(copy.directory);

    expect(error.message).toMatch(/^serviceaccounts\.json: not valid JSON/);
  });

  it('records a malformed pod and still reads the others', async () => {
    copy = await copyExample('healthy');
    const list = (await copy.readJson('pods.json')) as { items: Record<string, unknown>[] };
    const broken = { ...list.items[0], spec: undefined };
    await copy.writeJson('pods.json', { ...list, items: [broken, ...list.items.slice(1)] });

    const state = await loadSnapshot(copy.directory);

    expect(state.pods).toHaveLength(list.items.length - 1);
    expect(state.malformedObjects).toEqual([
      expect.objectContaining({ source: 'pods.json', kind: 'Pod', path: '$.items[0].spec' }),
    ]);
  });

  it('keeps a role whose trust policy cannot be parsed, and records why', async () => {
    copy = await copyExample('healthy');
    const roles = (await copy.readJson('roles.json')) as { Roles: Record<string, unknown>[] };
    roles.Roles[0] = { ...roles.Roles[0], AssumeRolePolicyDocument: '%7B%22Statement%22%3A' };
    await copy.writeJson('roles.json', roles);

    const state = await loadSnapshot(copy.directory);

    expect(state.roles).toHaveLength(roles.Roles.length);
    expect(state.roles[0]?.trustPolicy).toBeUndefined();
    expect(state.malformedObjects).toEqual([
      expect.objectContaining({ kind: 'Role', path: '$.Roles[0].AssumeRolePolicyDocument' }),
    ]);
  });

  it('says that a snapshot directory does not exist, instead of naming the first missing file', async () => {
    const missing = join(EXAMPLES, 'no-such-snapshot');

    const error = await loadError(missing);

    expect(error.message).toBe(`snapshot directory ${missing} does not exist`);
  });

  it('says that a snapshot path is not a directory', async () => {
    const file = join(EXAMPLES, 'healthy', 'cluster.json');

    const error = await loadError(file);

    expect(error.message).toBe(`snapshot directory ${file} is not a directory`);
  });

  it("reads only the cluster's account as readable, so a role merged from another account hides no others", async () => {
    copy = await copyExample('healthy');
    const other = 'arn:aws:iam::444455556666:role/shared/fx-rates-reader';
    const roles = (await copy.readJson('roles.json')) as { Roles: Record<string, unknown>[] };
    const merged = { ...roles.Roles[0], Arn: other, RoleName: 'fx-rates-reader', Path: '/shared/' };
    await copy.writeJson('roles.json', { Roles: [...roles.Roles, merged] });

    const state = await loadSnapshot(copy.directory);

    expect(state.readableAccounts).toEqual(['111122223333']);
    const context = new AuditContext(state, { now: new Date(), webhookName: 'iam-for-pods.amazonaws.com' });
    const arn = (value: string) => {
      const parsed = parseRoleArn(value);
      if (!parsed.ok) throw new Error(`not a role ARN: ${value}`);
      return parsed.value;
    };
    expect(context.resolveRole(arn(other)).status).toBe('found');
    expect(context.resolveRole(arn('arn:aws:iam::444455556666:role/other-team')).status).toBe(
      'unreadable-account',
    );
    expect(context.resolveRole(arn('arn:aws:iam::111122223333:role/deleted')).status).toBe('missing');
  });
});
