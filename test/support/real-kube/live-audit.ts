// What the real-server tests run: `irsa-audit audit --cluster` as the auditor (its credentials sign the EKS
// token), against moto's EKS and IAM, at the present time (the API server judges certificates by it), and the
// pod the incident hits, as its ReplicaSet creates it.

import type { AwsCredentialIdentity } from '@smithy/types';
import { expect } from 'vitest';
import type { AuditReport, Finding } from '../../../lambda/core/model/finding';
import { runCli } from '../run-cli';

export interface LiveTarget {
  readonly cluster: string;
  readonly region: string;
  /** moto's endpoint, whose DescribeCluster points at the API server. */
  readonly endpoint: string;
  readonly credentials: AwsCredentialIdentity;
}

/** The findings of the one cluster a live `audit --format json` reports; stderr must stay empty. */
export async function auditLive(target: LiveTarget, ...extra: string[]): Promise<readonly Finding[]> {
  const result = await runCli(
    [
      'audit',
      '--cluster',
      target.cluster,
      '--region',
      target.region,
      '--endpoint-url',
      target.endpoint,
      ...extra,
      '--format',
      'json',
    ],
    { io: { credentials: target.credentials, now: () => new Date() } },
  );
  expect(result.stderr).toBe('');
  return (JSON.parse(result.stdout) as AuditReport).clusters[0]?.findings ?? [];
}

export const ofCheck = (findings: readonly Finding[], check: string) =>
  findings.filter((finding) => finding.check === check);

/** A pod as examples/healthy's orders-api ReplicaSet creates it, before any webhook. */
export function ordersApiPod(): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: 'orders-api-74b6c9d8f5-',
      namespace: 'payments',
      labels: { 'app.kubernetes.io/name': 'orders-api', 'pod-template-hash': '74b6c9d8f5' },
      ownerReferences: [
        {
          apiVersion: 'apps/v1',
          blockOwnerDeletion: true,
          controller: true,
          kind: 'ReplicaSet',
          name: 'orders-api-74b6c9d8f5',
          uid: 'dfadecba-ec45-4057-be9f-5f6257b2e3c5',
        },
      ],
    },
    spec: {
      serviceAccountName: 'orders-api',
      containers: [
        {
          name: 'orders-api',
          image: '111122223333.dkr.ecr.eu-west-1.amazonaws.com/payments/orders-api:2026.11.3',
          env: [{ name: 'SPRING_PROFILES_ACTIVE', value: 'prod' }],
        },
      ],
    },
  };
}
