import type { Check } from './check';

/** An audit that could not reach the cluster must say so, never report it as healthy. */
export const x01ClusterUnreachable: Check = {
  id: 'IRSA-X01',
  title: 'The cluster API server was reached and authenticated.',
  severity: 'high',
  remediation: "Check the endpoint's network path, the access entry of the auditor's role, and the CA.",
  needs: [],
  *run(context) {
    for (const error of context.state.collectionErrors) {
      if (error.resource !== 'cluster-connection') continue;
      const { name } = context.state.cluster;
      yield {
        resource: { kind: 'Cluster', name },
        key: error.reason,
        message: `Cluster ${name} could not be audited: ${error.reason} (${error.message}).`,
        evidence: { reason: error.reason, error: error.message },
        remediation: `Check that the auditor can reach the cluster endpoint (private endpoints need the function in the cluster's VPC) and that its role has an EKS access entry on ${name}.`,
      };
    }
  },
};
