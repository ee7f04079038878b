// Kubernetes access for the function (SPEC §8): per audited cluster an EKS access entry that maps the
// function's role to a Kubernetes group, which deploy/rbac.yaml binds to exactly the reads the audit makes.
// No EKS access policy fits: AmazonEKSViewPolicy cannot read admissionregistration.k8s.io (the webhook
// configuration), and AmazonEKSAdminViewPolicy reads everything, Secrets included.

import { CfnAccessEntry } from 'aws-cdk-lib/aws-eks';
import type { IRole } from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';

/** The Kubernetes group of the access entries; deploy/rbac.yaml binds its ClusterRole to this group. */
export const KUBERNETES_GROUP = 'irsa-auditor';

/** The RBAC manifest of the audit's reads, relative to the repository root. */
export const RBAC_MANIFEST = 'deploy/rbac.yaml';
/** The optional RBAC manifest of the probe's dry-run pod create, applied in addition when `probe` is on. */
export const PROBE_RBAC_MANIFEST = 'deploy/rbac-probe.yaml';

/** What the access entries are built from. */
export interface ClusterAccessProps {
  readonly role: IRole;
  readonly clusters: readonly string[];
}

/** One STANDARD access entry per cluster, without access policies, in the group KUBERNETES_GROUP. */
export class ClusterAccess extends Construct {
  readonly entries: readonly CfnAccessEntry[];

  constructor(scope: Construct, id: string, props: ClusterAccessProps) {
    super(scope, id);
    // The cluster must use authenticationMode API or API_AND_CONFIG_MAP, or CloudFormation fails here; with
    // CONFIG_MAP only, map the role in aws-auth instead (README).
    this.entries = props.clusters.map(
      (clusterName) =>
        new CfnAccessEntry(this, `Entry-${clusterName}`, {
          clusterName,
          principalArn: props.role.roleArn,
          type: 'STANDARD',
          kubernetesGroups: [KUBERNETES_GROUP],
        }),
    );
  }
}
