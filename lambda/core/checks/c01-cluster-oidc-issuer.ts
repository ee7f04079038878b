import { podCarriesRoleArn } from '../analysis/pod-injection';
import type { Check } from './check';

/** IRSA needs the cluster's OIDC issuer; without it no projected token can be exchanged for credentials. */
export const c01ClusterOidcIssuer: Check = {
  id: 'IRSA-C01',
  title: 'The cluster has an OIDC issuer.',
  severity: 'high',
  remediation: 'Use a cluster that reports identity.oidc.issuer (every EKS cluster since 1.13 does).',
  needs: ['cluster', 'serviceAccounts', 'pods'],
  *run(context) {
    if (context.issuer !== undefined) return;
    const users = context.annotatedServiceAccounts.length;
    const pods = context.podsInScope.filter(podCarriesRoleArn).length;
    if (users === 0 && pods === 0) return;
    const { name, region } = context.state.cluster;
    yield {
      resource: { kind: 'Cluster', name },
      message: `Cluster ${name} reports no OIDC issuer, yet ${users} ServiceAccount(s) ask for an IAM role and ${pods} pod(s) carry AWS_ROLE_ARN: none of them can get web identity credentials.`,
      evidence: { oidcIssuer: null, annotatedServiceAccounts: users, podsWithRoleArn: pods },
      remediation: `Check the cluster with \`aws eks describe-cluster --name ${name}${region === undefined ? '' : ` --region ${region}`} --query cluster.identity\`; an EKS cluster always has an issuer, so this snapshot may be from a non-EKS cluster or be incomplete.`,
    };
  },
};
