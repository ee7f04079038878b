// The permissions policies of a Pod Identity association role that chains to a target role, read with the real
// IAM client from moto_server (inline policies, and the default version of attached managed policies), then
// judged by IRSA-S13. moto has no EKS Pod Identity: only the association itself comes from aws-sdk-client-mock.

import { join } from 'node:path';
import {
  DescribePodIdentityAssociationCommand,
  ListPodIdentityAssociationsCommand,
} from '@aws-sdk/client-eks';
import {
  AttachRolePolicyCommand,
  CreatePolicyCommand,
  CreatePolicyVersionCommand,
  CreateRoleCommand,
  IAMServiceException,
  ListRolePoliciesCommand,
  PutRolePolicyCommand,
} from '@aws-sdk/client-iam';
import type { AwsStub } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { auditCluster } from '../../../lambda/core/engine/audit-cluster';
import { MOTO_ACCOUNT_ID, motoClients } from '../../../lambda/emulators/moto';
import { seedMotoWithExample } from '../../../lambda/emulators/seed-moto';
import { ClusterStateAssembler, type ListPart } from '../../../lambda/sources/assemble-state';
import { type AwsCollection, collectAws } from '../../../lambda/sources/aws/collect-aws';
import { mockEksPassingThrough, mockIamPassingThrough } from '../../support/aws-mocks';
import { EXAMPLES } from '../../support/snapshot-dir';
import { NOW } from '../../support/state-builder';
import { useMoto } from '../../support/use-moto';

const HEALTHY = join(EXAMPLES, 'healthy');
const ROLE = 'orders-api-pod-identity';
const TARGET = 'arn:aws:iam::444455556666:role/orders-data-reader';
const POD_IDENTITY_TRUST = JSON.stringify({
  Version: '2012-10-17',
  Statement: [
    {
      Effect: 'Allow',
      Principal: { Service: 'pods.eks.amazonaws.com' },
      Action: ['sts:AssumeRole', 'sts:TagSession'],
    },
  ],
});
const allow = (actions: string[], resource: string) =>
  JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: actions, Resource: resource }],
  });

// biome-ignore lint/suspicious/noExplicitAny: aws-sdk-client-mock's stubs are typed for any client.
const mocks: AwsStub<any, any, any>[] = [];
afterEach(() => {
  for (const mock of mocks.splice(0)) mock.restore();
});

/** The association of examples/healthy's orders-api, chaining to a role of the data account. */
function mockAssociation(clients: ReturnType<typeof motoClients>) {
  const eks = mockEksPassingThrough(clients, mocks);
  eks
    .on(ListPodIdentityAssociationsCommand)
    .resolves({ associations: [{ associationId: 'a-3kq9xw2vbn7yplm4t' }] });
  eks.on(DescribePodIdentityAssociationCommand).resolves({
    association: {
      clusterName: 'platform-prod',
      associationId: 'a-3kq9xw2vbn7yplm4t',
      namespace: 'payments',
      serviceAccount: 'orders-api',
      roleArn: `arn:aws:iam::${MOTO_ACCOUNT_ID}:role/${ROLE}`,
      targetRoleArn: TARGET,
      externalId: `eu-west-1/${MOTO_ACCOUNT_ID}/platform-prod/payments/orders-api`,
      disableSessionTags: false,
    },
  });
}

/** The S13 findings of the collected AWS side (with the cluster's Kubernetes side empty). */
function s13Of(collection: AwsCollection) {
  const assembler = new ClusterStateAssembler((part) => `${part} (test)`);
  assembler.setCluster(collection.cluster);
  const lists: [ListPart, readonly unknown[] | undefined][] = [
    ['roles', collection.roles],
    ['rolePolicies', collection.rolePolicies],
    ['podIdentityAssociations', collection.podIdentityAssociations],
  ];
  for (const [part, items] of lists) if (items !== undefined) assembler.add(part, items);
  for (const part of ['serviceAccounts', 'pods', 'mutatingWebhookConfigurations', 'oidcProviders'] as const)
    assembler.collected(part);
  const state = assembler.build([collection.accountId]);
  return auditCluster(state, { now: NOW, webhookName: 'iam-for-pods.amazonaws.com' }).report.findings.filter(
    (finding) => finding.check === 'IRSA-S13',
  );
}

describe('reading the permissions of association roles from moto_server', () => {
  const moto = useMoto();

  async function seed() {
    const clients = motoClients(moto.endpoint);
    await seedMotoWithExample(clients, HEALTHY);
    await clients.iam.send(
      new CreateRoleCommand({ RoleName: ROLE, AssumeRolePolicyDocument: POD_IDENTITY_TRUST }),
    );
    mockAssociation(clients);
    return clients;
  }

  it('reads inline and attached managed policies (the default version) and S13 passes when they allow the target', async () => {
    const clients = await seed();
    await clients.iam.send(
      new PutRolePolicyCommand({
        RoleName: ROLE,
        PolicyName: 'orders-bucket',
        PolicyDocument: allow(['s3:GetObject'], '*'),
      }),
    );
    const created = await clients.iam.send(
      new CreatePolicyCommand({
        PolicyName: 'assume-orders-data-reader',
        PolicyDocument: allow(['sts:AssumeRole'], TARGET),
      }),
    );
    const policyArn = created.Policy?.Arn ?? '';
    // The second version becomes the default: the one that counts.
    await clients.iam.send(
      new CreatePolicyVersionCommand({
        PolicyArn: policyArn,
        PolicyDocument: allow(['sts:AssumeRole', 'sts:TagSession'], TARGET),
        SetAsDefault: true,
      }),
    );
    await clients.iam.send(new AttachRolePolicyCommand({ RoleName: ROLE, PolicyArn: policyArn }));

    const collection = await collectAws(clients, { clusterName: 'platform-prod', roleArns: [] });

    expect(collection.errors).toEqual([]);
    expect(
      (collection.rolePolicies ?? []).map((policy) => {
        const { RoleName, PolicyName, PolicyArn } = policy as Record<string, string>;
        return [RoleName, PolicyName, PolicyArn ?? null];
      }),
    ).toEqual([
      [ROLE, 'orders-bucket', null],
      [ROLE, 'assume-orders-data-reader', policyArn],
    ]);
    expect(collection.requestCounts['iam:GetPolicyVersion']).toBe(1);
    expect(s13Of(collection)).toEqual([]);
  });

  it('reports S13 naming the target when the role may not assume it', async () => {
    const clients = await seed();
    await clients.iam.send(
      new PutRolePolicyCommand({
        RoleName: ROLE,
        PolicyName: 'assume-orders-data-reader',
        PolicyDocument: allow(['sts:AssumeRole'], TARGET),
      }),
    );

    const findings = s13Of(await collectAws(clients, { clusterName: 'platform-prod', roleArns: [] }));

    expect(findings.map((finding) => finding.message)).toEqual([
      expect.stringContaining(`may not call sts:TagSession on its target role ${TARGET}`),
    ]);
    expect(findings[0]?.remediation).toContain(`aws iam put-role-policy --role-name ${ROLE}`);
  });

  it('records the policies as forbidden when ListRolePolicies is denied, and still collects the roles', async () => {
    const clients = await seed();
    // Every IAM read of the collection goes on to moto, but this one.
    const iam = mockIamPassingThrough(clients, mocks);
    iam.on(ListRolePoliciesCommand).rejects(
      new IAMServiceException({
        name: 'AccessDenied',
        $fault: 'client',
        $metadata: { httpStatusCode: 403 },
        message: `User is not authorized to perform: iam:ListRolePolicies on resource: role ${ROLE}`,
      }),
    );

    const collection = await collectAws(clients, { clusterName: 'platform-prod', roleArns: [] });

    expect(collection.rolePolicies).toBeUndefined();
    expect(collection.errors).toEqual([
      expect.objectContaining({ resource: 'rolePolicies', reason: 'forbidden' }),
    ]);
    expect(collection.roles.length).toBeGreaterThan(0);
  });
});
