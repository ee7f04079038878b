// Authentication as on EKS, on the real kube-apiserver (issue 13, item 2): the auditor's `k8s-aws-v1.` token
// goes through the server's webhook token authenticator, which checks the presigned GetCallerIdentity against
// moto and maps the role to the `irsa-auditor` group as an EKS access entry does. A token for another cluster,
// an expired token or a role without an access entry is refused with 401, and the audit says so as IRSA-X01.

import { join } from 'node:path';
import type { AwsCredentialIdentity } from '@smithy/types';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_OPTIONS } from '../../../lambda/core/analysis/context';
import type { AuditReport, Finding } from '../../../lambda/core/model/finding';
import { motoClients } from '../../../lambda/emulators/moto';
import { auditOneCluster } from '../../../lambda/pipeline/audit-one-cluster';
import { EksTokenCache } from '../../../lambda/sources/aws/eks-token';
import { clusterCollector } from '../../../lambda/sources/live/cluster-collector';
import {
  AUDITOR_GROUP,
  createExampleObjects,
  type RealEksCluster,
  startRealEksCluster,
} from '../../support/real-kube/real-eks-cluster';
import { ROOT, runCli } from '../../support/run-cli';
import { EXAMPLES } from '../../support/snapshot-dir';

const EXAMPLE = join(EXAMPLES, 'healthy');
const CLUSTER = 'platform-prod';
const OTHER_CLUSTER = 'platform-staging';
const REGION = 'eu-west-1';
const UNMAPPED_ROLE = 'arn:aws:iam::111122223333:role/ci-deployer';

let cluster: RealEksCluster;

beforeAll(async () => {
  cluster = await startRealEksCluster({
    example: EXAMPLE,
    clusterName: CLUSTER,
    region: REGION,
    alsoKnownAs: [OTHER_CLUSTER],
  });
  console.info(`real kube-apiserver ${cluster.kube.version} at ${cluster.kube.url}`);
  const applied = await cluster.kubectl(['apply', '-f', join(ROOT, 'deploy', 'rbac.yaml')]);
  expect(applied.stderr).toBe('');
  await createExampleObjects(cluster, EXAMPLE);
}, 120_000);

afterAll(async () => {
  await cluster?.stop();
});

async function audit(clusterName: string, credentials: AwsCredentialIdentity) {
  const result = await runCli(
    [
      'audit',
      '--cluster',
      clusterName,
      '--region',
      REGION,
      '--endpoint-url',
      cluster.moto.endpoint,
      '--format',
      'json',
    ],
    { io: { credentials, now: () => new Date() } },
  );
  const report = JSON.parse(result.stdout) as AuditReport;
  return { code: result.code, findings: report.clusters[0]?.findings ?? [] };
}

const x01 = (findings: readonly Finding[]) => findings.filter((finding) => finding.check === 'IRSA-X01');

describe('EKS authentication on the real kube-apiserver', () => {
  it('admits the auditor role mapped to irsa-auditor, and the audit reads the cluster', async () => {
    cluster.authenticator.clearReviews();

    const { findings } = await audit(CLUSTER, cluster.auditorCredentials);

    expect(x01(findings)).toEqual([]);
    expect(findings.filter((finding) => finding.check === 'IRSA-X02')).toEqual([]);
    const reviews = cluster.authenticator.reviews;
    expect(reviews.length).toBeGreaterThan(0);
    expect(reviews.every((review) => review.authenticated)).toBe(true);
    expect(reviews[0]).toMatchObject({
      arn: 'arn:aws:sts::111122223333:assumed-role/irsa-auditor/irsa-auditor',
      groups: [AUDITOR_GROUP],
    });
  });

  it('refuses a token signed for another cluster name: 401, IRSA-X01', async () => {
    cluster.authenticator.clearReviews();

    // platform-staging's DescribeCluster points at this server, whose authenticator serves platform-prod.
    const { findings } = await audit(OTHER_CLUSTER, cluster.auditorCredentials);

    const [finding, ...more] = x01(findings);
    expect(more).toEqual([]);
    expect(finding?.message).toMatch(/401|Unauthorized/);
    expect(cluster.authenticator.reviews.map((review) => review.problem)).toContain(
      'EKS token rejected: signature does not match a request for this cluster',
    );
  });

  it('refuses a role without an access entry: 401, IRSA-X01', async () => {
    const credentials = await cluster.assumeRole(UNMAPPED_ROLE, 'pipeline');
    cluster.authenticator.clearReviews();

    const { findings } = await audit(CLUSTER, credentials);

    expect(x01(findings)).toHaveLength(1);
    expect(x01(findings)[0]?.message).toMatch(/401|Unauthorized/);
    expect(cluster.authenticator.reviews.map((review) => review.problem)).toContain(
      'no access entry for arn:aws:sts::111122223333:assumed-role/ci-deployer/pipeline',
    );
  });

  it('refuses a token signed more than 15 minutes ago: 401, IRSA-X01', async () => {
    const signedAt = new Date(Date.now() - 20 * 60 * 1000);
    const tokens = new EksTokenCache({ credentials: cluster.auditorCredentials, now: () => signedAt });
    const collector = clusterCollector({
      clients: motoClients(cluster.moto.endpoint, REGION),
      token: (clusterName) => tokens.token(clusterName, REGION),
    });
    cluster.authenticator.clearReviews();

    const outcome = await auditOneCluster(collector.sourceFor(CLUSTER), {
      deadlineMs: 60_000,
      excludeNamespaces: [],
      audit: { ...DEFAULT_OPTIONS, now: new Date() },
    });

    const findings = outcome.result.report.findings;
    expect(x01(findings)).toHaveLength(1);
    expect(x01(findings)[0]?.message).toMatch(/401|Unauthorized/);
    expect(cluster.authenticator.reviews.map((review) => review.problem)).toContain(
      'EKS token rejected: X-Amz-Date parameter is expired (15 minute expiration)',
    );
  });
});
