// The cluster's EC2 nodes through the real EC2 and IAM clients against moto_server: only the instances tagged
// for the cluster, with their metadata options, and the role of each instance profile; then what the audit
// makes of them (IRSA-P09 on the node whose pods reach its role).

import { join } from 'node:path';
import { RunInstancesCommand } from '@aws-sdk/client-ec2';
import {
  AddRoleToInstanceProfileCommand,
  CreateInstanceProfileCommand,
  CreateRoleCommand,
} from '@aws-sdk/client-iam';
import { describe, expect, it } from 'vitest';
import { CHECKS } from '../../../lambda/core/checks/registry';
import { auditCluster } from '../../../lambda/core/engine/audit-cluster';
import { MOTO_ACCOUNT_ID, motoClients } from '../../../lambda/emulators/moto';
import { seedMotoWithExample } from '../../../lambda/emulators/seed-moto';
import { ClusterStateAssembler } from '../../../lambda/sources/assemble-state';
import { collectAws } from '../../../lambda/sources/aws/collect-aws';
import { EXAMPLES } from '../../support/snapshot-dir';
import { NOW } from '../../support/state-builder';
import { useMoto } from '../../support/use-moto';

const HEALTHY = join(EXAMPLES, 'healthy');
const CLUSTER = 'platform-prod';
const NODE_ROLE = `arn:aws:iam::${MOTO_ACCOUNT_ID}:role/platform-prod-node-role-b`;

describe('collecting the nodes of a cluster from moto_server', () => {
  const moto = useMoto();

  it('reads only the tagged instances, their metadata options and their profiles’ roles', async () => {
    const clients = motoClients(moto.endpoint);
    await seedMotoWithExample(clients, HEALTHY);
    await clients.iam.send(
      new CreateRoleCommand({
        RoleName: 'platform-prod-node-role-b',
        AssumeRolePolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            { Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' },
          ],
        }),
      }),
    );
    await clients.iam.send(new CreateInstanceProfileCommand({ InstanceProfileName: 'platform-prod-node-b' }));
    await clients.iam.send(
      new AddRoleToInstanceProfileCommand({
        InstanceProfileName: 'platform-prod-node-b',
        RoleName: 'platform-prod-node-role-b',
      }),
    );
    const launch = (tags: Record<string, string>, hopLimit: number) =>
      clients.ec2.send(
        new RunInstancesCommand({
          ImageId: 'ami-12c6146b',
          InstanceType: 'm6i.large',
          MinCount: 1,
          MaxCount: 1,
          IamInstanceProfile: { Name: 'platform-prod-node-b' },
          MetadataOptions: {
            HttpTokens: 'required',
            HttpPutResponseHopLimit: hopLimit,
            HttpEndpoint: 'enabled',
          },
          TagSpecifications: [
            { ResourceType: 'instance', Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) },
          ],
        }),
      );
    const node = (await launch({ [`kubernetes.io/cluster/${CLUSTER}`]: 'owned' }, 2)).Instances?.[0];
    await launch({ Name: 'bastion' }, 1);

    const collection = await collectAws(clients, { clusterName: CLUSTER, roleArns: [] });

    expect(collection.errors).toEqual([]);
    expect(collection.nodeInstances).toEqual([
      expect.objectContaining({
        InstanceId: node?.InstanceId,
        PrivateDnsName: node?.PrivateDnsName,
        MetadataOptions: expect.objectContaining({ HttpTokens: 'required', HttpPutResponseHopLimit: 2 }),
      }),
    ]);
    expect(collection.instanceProfiles).toEqual([
      expect.objectContaining({ Roles: [expect.objectContaining({ Arn: NODE_ROLE })] }),
    ]);

    // A pod of the example scheduled there reaches the node's role: IRSA-P09 names it.
    const assembler = new ClusterStateAssembler(() => 'moto');
    assembler.setCluster(collection.cluster);
    assembler.add('nodeInstances', collection.nodeInstances ?? []);
    assembler.add('instanceProfiles', collection.instanceProfiles ?? []);
    assembler.add('pods', [
      {
        metadata: { name: 'ledger-5f6d7c8b9-abcde', namespace: 'payments' },
        spec: { nodeName: node?.PrivateDnsName, containers: [{ name: 'app' }] },
        status: { phase: 'Running' },
      },
    ]);
    for (const part of [
      'serviceAccounts',
      'mutatingWebhookConfigurations',
      'oidcProviders',
      'roles',
    ] as const)
      assembler.collected(part);
    const result = auditCluster(
      assembler.build(),
      { now: NOW, webhookName: 'iam-for-pods.amazonaws.com' },
      CHECKS,
    );
    const p09 = result.report.findings.filter((finding) => finding.check === 'IRSA-P09');
    expect(p09.map((finding) => finding.resource.name)).toEqual([node?.PrivateDnsName]);
    expect(p09[0]?.message).toContain(`can reach IAM role ${NODE_ROLE}`);
  });
});
