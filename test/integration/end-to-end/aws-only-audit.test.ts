// The AWS side of a cluster whose API server cannot be reached, tried as a new user would: a cluster in moto
// with no IAM OIDC provider for its issuer, roles that trust that issuer, and an endpoint nothing listens on.
// `audit --cluster` reports what IAM and EKS alone show (the missing provider, the role that trusts any
// ServiceAccount) beside IRSA-X01, which names the checks that could not run.

import { CreateClusterCommand } from '@aws-sdk/client-eks';
import { CreateRoleCommand } from '@aws-sdk/client-iam';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditReport, Finding } from '../../../lambda/core/model/finding';
import {
  MOTO_ACCOUNT_ID,
  MOTO_CREDENTIALS,
  type MotoServer,
  motoClients,
  startMoto,
} from '../../../lambda/emulators/moto';
import { runCli } from '../../support/run-cli';

const REGION = 'eu-west-1';
const CLUSTER = 'orphaned-issuer';
const ISSUER_HOST = `oidc.eks.${REGION}.amazonaws.com/id/0A1B2C3D4E5F60718293A4B5C6D7E8F9`;
const PROVIDER_ARN = `arn:aws:iam::${MOTO_ACCOUNT_ID}:oidc-provider/${ISSUER_HOST}`;

const webIdentityTrust = (conditions: Record<string, Record<string, string>>) =>
  JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: { Federated: PROVIDER_ARN },
        Action: 'sts:AssumeRoleWithWebIdentity',
        Condition: conditions,
      },
    ],
  });

let moto: MotoServer;

beforeAll(async () => {
  moto = await startMoto({
    eksClusters: {
      // Port 9 (discard) on loopback: nothing answers, the connection is refused at once.
      [CLUSTER]: { issuer: `https://${ISSUER_HOST}`, endpoint: 'https://127.0.0.1:9' },
    },
  });
  const clients = motoClients(moto.endpoint, REGION);
  await clients.eks.send(
    new CreateClusterCommand({
      name: CLUSTER,
      roleArn: `arn:aws:iam::${MOTO_ACCOUNT_ID}:role/eks-cluster`,
      resourcesVpcConfig: { subnetIds: ['subnet-0179024df634511da'] },
    }),
  );
  await clients.iam.send(
    new CreateRoleCommand({
      RoleName: 'orders-api',
      AssumeRolePolicyDocument: webIdentityTrust({
        StringEquals: {
          [`${ISSUER_HOST}:sub`]: 'system:serviceaccount:orders:orders-api',
          [`${ISSUER_HOST}:aud`]: 'sts.amazonaws.com',
        },
      }),
    }),
  );
  await clients.iam.send(
    new CreateRoleCommand({
      RoleName: 'any-pod',
      AssumeRolePolicyDocument: webIdentityTrust({
        StringEquals: { [`${ISSUER_HOST}:aud`]: 'sts.amazonaws.com' },
      }),
    }),
  );
  await clients.iam.send(
    new CreateRoleCommand({
      RoleName: 'ec2-node',
      AssumeRolePolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' },
        ],
      }),
    }),
  );
}, 120_000);

afterAll(async () => {
  await moto?.stop();
});

describe('audit --cluster when the API server cannot be reached', () => {
  it('reports the missing OIDC provider and the over-broad role beside IRSA-X01, and exits 1', async () => {
    const result = await runCli(
      [
        'audit',
        '--cluster',
        CLUSTER,
        '--region',
        REGION,
        '--endpoint-url',
        moto.endpoint,
        '--format',
        'json',
      ],
      { io: { credentials: MOTO_CREDENTIALS } },
    );

    const findings: readonly Finding[] =
      (JSON.parse(result.stdout) as AuditReport).clusters[0]?.findings ?? [];
    const found = findings.map(
      (finding) => `${finding.check} ${finding.resource.kind} ${finding.resource.name}`,
    );
    expect(found).toEqual([
      `IRSA-C02 Cluster ${CLUSTER}`,
      `IRSA-X01 Cluster ${CLUSTER}`,
      `IRSA-S10 Role arn:aws:iam::${MOTO_ACCOUNT_ID}:role/any-pod`,
    ]);
    const c02 = findings.find((finding) => finding.check === 'IRSA-C02');
    expect(c02?.message).toContain('the 2 role(s) there that trust it (any-pod, orders-api)');
    expect(c02?.remediation).toContain(`create-open-id-connect-provider --url https://${ISSUER_HOST}`);
    const x01 = findings.find((finding) => finding.check === 'IRSA-X01');
    expect(x01?.evidence.reason).toBe('unreachable');
    // The checks that need the ServiceAccounts, pods or webhooks did not run, and X01 says so by ID.
    expect(x01?.evidence.checksNotRun).toEqual(expect.arrayContaining(['IRSA-P01', 'IRSA-S07', 'IRSA-W02']));
    expect(x01?.evidence.checksNotRun).not.toContain('IRSA-C02');
    expect(x01?.message).toContain('only what IAM and EKS alone decide was audited');
    expect(result.code).toBe(1);
  });
});
