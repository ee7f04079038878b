// With the API server unreadable (aws-only collection) the engine still runs what IAM and EKS alone decide, on
// the roles that trust the cluster's issuer, and IRSA-X01 names the checks that could not run.

import { describe, expect, it } from 'vitest';
import { auditCluster } from '../../../lambda/core/engine/audit-cluster';
import type { ClusterState } from '../../../lambda/core/model/cluster-state';
import {
  ACCOUNT,
  CLUSTER_NAME,
  healthyState,
  ISSUER,
  irsaRole,
  NOW,
  OTHER_PROVIDER_ARN,
  PROVIDER_ARN,
  role,
  roleArn,
  trustDocument,
  webIdentityStatement,
} from '../../support/state-builder';

const UNREACHABLE = {
  resource: 'cluster-connection',
  reason: 'unreachable',
  message: 'connect ECONNREFUSED 10.0.12.7:443',
} as const;

/** What the collection holds when the API server refused the connection: no Kubernetes object at all. */
const awsOnly = (overrides: Partial<ClusterState> = {}): ClusterState =>
  healthyState({
    serviceAccounts: [],
    pods: [],
    mutatingWebhookConfigurations: [],
    namespaces: [],
    collectionErrors: [UNREACHABLE],
    ...overrides,
  });

const audit = (state: ClusterState) =>
  auditCluster(state, { now: NOW, webhookName: 'iam-for-pods.amazonaws.com' });
const found = (state: ClusterState) =>
  audit(state).report.findings.map(
    (finding) => `${finding.check} ${finding.resource.kind} ${finding.resource.name}`,
  );

describe('auditCluster with aws-only collection', () => {
  it('reports only IRSA-X01 for a healthy AWS side, and names every check that needed the API server', () => {
    const result = audit(awsOnly());

    expect(result.collected).toBe('aws-only');
    expect(found(awsOnly())).toEqual([`IRSA-X01 Cluster ${CLUSTER_NAME}`]);
    const x01 = result.report.findings[0];
    expect(x01?.evidence.checksNotRun).toEqual([
      'IRSA-C01',
      'IRSA-P01',
      'IRSA-P02',
      'IRSA-P03',
      'IRSA-P04',
      'IRSA-P05',
      'IRSA-P06',
      'IRSA-P07',
      'IRSA-P08',
      'IRSA-P09',
      'IRSA-S01',
      'IRSA-S02',
      'IRSA-S03',
      'IRSA-S04',
      'IRSA-S07',
      'IRSA-S08',
      'IRSA-S09',
      'IRSA-S11',
      'IRSA-S12',
      'IRSA-W01',
      'IRSA-W02',
      'IRSA-W03',
      'IRSA-W04',
      'IRSA-W05',
      'IRSA-W06',
    ]);
    expect(result.evaluated).toEqual(
      expect.arrayContaining([
        'IRSA-A01',
        'IRSA-C02',
        'IRSA-C03',
        'IRSA-S05',
        'IRSA-S06',
        'IRSA-S10',
        'IRSA-S14',
      ]),
    );
  });

  it('keeps the fingerprint of IRSA-X01 and IRSA-C02 that a full audit gives the same fault', () => {
    const noProvider = { oidcProviders: [] };
    const full = audit(healthyState({ ...noProvider, collectionErrors: [] })).report.findings;
    const partial = audit(awsOnly(noProvider)).report.findings;

    const c02 = (findings: typeof full) => findings.find((finding) => finding.check === 'IRSA-C02')?.id;
    expect(c02(partial)).toBeDefined();
    expect(c02(partial)).toBe(c02(full));
    const withX01 = audit(healthyState({ collectionErrors: [UNREACHABLE], collected: 'none' })).report
      .findings;
    expect(partial.find((finding) => finding.check === 'IRSA-X01')?.id).toBe(withX01[0]?.id);
  });

  it('reports a role that names the issuer but federates another account’s provider (S05) on the role', () => {
    const state = awsOnly({
      roles: [
        role(
          'cross-wired',
          trustDocument(
            webIdentityStatement('system:serviceaccount:payments:orders-api', {
              providerArn: OTHER_PROVIDER_ARN,
            }),
          ),
        ),
      ],
    });

    expect(found(state)).toEqual([
      `IRSA-X01 Cluster ${CLUSTER_NAME}`,
      `IRSA-S05 Role ${roleArn('cross-wired')}`,
    ]);
  });

  it('reports a role that federates the provider but allows only sts:AssumeRole (S06)', () => {
    const state = awsOnly({
      roles: [
        role(
          'wrong-action',
          trustDocument(
            webIdentityStatement('system:serviceaccount:payments:orders-api', { action: 'sts:AssumeRole' }),
          ),
        ),
      ],
    });

    expect(found(state)).toEqual([
      `IRSA-X01 Cluster ${CLUSTER_NAME}`,
      `IRSA-S06 Role ${roleArn('wrong-action')}`,
    ]);
  });

  it('reports an audience a trusting role requires and the provider does not accept (C03)', () => {
    const state = awsOnly({
      roles: [
        role(
          'vault-audience',
          trustDocument(
            webIdentityStatement('system:serviceaccount:payments:orders-api', { audience: 'vault' }),
          ),
        ),
      ],
    });

    const c03 = audit(state).report.findings.find((finding) => finding.check === 'IRSA-C03');
    expect(c03?.resource).toEqual({ kind: 'OIDCProvider', name: PROVIDER_ARN });
    expect(c03?.evidence).toMatchObject({ audience: 'vault', roles: ['vault-audience'] });
  });

  it('reports a trusting role whose trust policy nears the size quota (S14), and ignores roles for other principals', () => {
    const subjects = Array.from(
      { length: 60 },
      (_, index) => `system:serviceaccount:payments:worker-${index}`,
    );
    const state = awsOnly({
      roles: [
        role('crowded', trustDocument(webIdentityStatement(subjects))),
        role(
          'node',
          trustDocument({
            Effect: 'Allow',
            Principal: { Service: 'ec2.amazonaws.com' },
            Action: 'sts:AssumeRole',
          }),
        ),
      ],
    });

    expect(found(state)).toEqual([`IRSA-X01 Cluster ${CLUSTER_NAME}`, `IRSA-S14 Role ${roleArn('crowded')}`]);
  });

  it('finds nothing more for roles trusting another cluster’s issuer', () => {
    const elsewhere = 'oidc.eks.eu-west-1.amazonaws.com/id/FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF';
    const state = awsOnly({
      oidcProviders: [],
      roles: [
        role(
          'other-cluster',
          trustDocument(
            webIdentityStatement('system:serviceaccount:payments:orders-api', {
              issuer: elsewhere,
              providerArn: `arn:aws:iam::${ACCOUNT}:oidc-provider/${elsewhere}`,
            }),
          ),
        ),
      ],
    });

    expect(found(state)).toEqual([`IRSA-X01 Cluster ${CLUSTER_NAME}`]);
    expect(ISSUER).not.toBe(elsewhere);
  });

  it('runs the role-level plans only without Kubernetes: a full audit judges roles through the SAs naming them', () => {
    const unused = role(
      'wrong-action',
      trustDocument(
        webIdentityStatement('system:serviceaccount:payments:orders-api', { action: 'sts:AssumeRole' }),
      ),
    );
    const checks = (state: ClusterState) => audit(state).report.findings.map((finding) => finding.check);

    expect(checks(awsOnly({ roles: [irsaRole('orders-api', 'payments', 'orders-api'), unused] }))).toContain(
      'IRSA-S06',
    );
    expect(
      checks(healthyState({ roles: [irsaRole('orders-api', 'payments', 'orders-api'), unused] })),
    ).not.toContain('IRSA-S06');
  });
});
