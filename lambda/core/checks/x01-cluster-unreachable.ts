import { KUBERNETES_RESOURCES } from '../model/cluster-state';
import type { Check } from './check';

/** The next step for each way a connection fails (SPEC §4: DNS, TLS, 401, timeout). */
function remediationFor(reason: string, clusterName: string): string {
  const text = reason.toLowerCase();
  const describe = (query: string) => `\`aws eks describe-cluster --name ${clusterName} --query ${query}\``;
  if (/dns|enotfound|eai_again|getaddrinfo/.test(text)) {
    return `The endpoint name did not resolve: if ${describe('cluster.resourcesVpcConfig')} shows endpointPublicAccess false, run the auditor in the cluster's VPC (CDK context vpcId/subnetIds) with DNS resolution enabled.`;
  }
  if (/tls|x509|certificate|self.signed|ssl/.test(text)) {
    return `The TLS handshake failed: verify the API server against the cluster CA from ${describe('cluster.certificateAuthority.data')}, not a CA from another cluster or kubeconfig.`;
  }
  if (/401|403|unauthori[sz]ed|forbidden|authenticat|credentials/.test(text)) {
    return `The API server rejected the auditor's token: check that its role appears in \`aws eks list-access-entries --cluster-name ${clusterName}\`, that ${describe('cluster.accessConfig.authenticationMode')} is API or API_AND_CONFIG_MAP, and that the clock of the caller is correct.`;
  }
  if (/timeout|timed out|etimedout|econnrefused|econnreset|ehostunreach/.test(text)) {
    return `The connection timed out or was refused: for a private endpoint (${describe('cluster.resourcesVpcConfig')}) run the auditor in the cluster's VPC and allow TCP 443 from its security group to the cluster security group; for a public one, check publicAccessCidrs.`;
  }
  return `Check that the auditor can reach the cluster endpoint (private endpoints need the function in the cluster's VPC) and that its role appears in \`aws eks list-access-entries --cluster-name ${clusterName}\`.`;
}

/** An audit that could not reach the cluster must say so, never report it as healthy. */
export const x01ClusterUnreachable: Check = {
  id: 'IRSA-X01',
  title: 'The cluster API server was reached and authenticated.',
  severity: 'high',
  remediation: "Check the endpoint's network path, the access entry of the auditor's role, and the CA.",
  needs: [],
  *run(context) {
    // With the AWS side collected, the engine ran what IAM and EKS alone decide and skipped the rest for want of
    // the API server: say which, so that a reader knows what the findings that are there could not cover.
    const skipped = [
      ...new Set(KUBERNETES_RESOURCES.flatMap((input) => context.skippedChecks(input))),
    ].sort();
    const awsOnly = context.state.collected === 'aws-only';
    for (const error of context.state.collectionErrors) {
      if (error.resource !== 'cluster-connection') continue;
      const { name } = context.state.cluster;
      const consequence = awsOnly
        ? `so none of its ServiceAccounts, pods or webhooks were checked: only what IAM and EKS alone decide was audited, and ${skipped.join(', ')} did not run.`
        : 'so none of its ServiceAccounts, pods or webhooks were checked.';
      yield {
        resource: { kind: 'Cluster', name },
        key: error.reason,
        message: `Cluster ${name} could not be audited: ${error.reason} (${error.message}), ${consequence}`,
        evidence: {
          reason: error.reason,
          error: error.message,
          ...(awsOnly ? { checksNotRun: skipped } : {}),
        },
        remediation: error.remediation ?? remediationFor(`${error.reason} ${error.message}`, name),
      };
    }
  },
};
