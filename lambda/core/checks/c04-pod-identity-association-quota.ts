import type { AuditContext } from '../analysis/context';
import type { Check, FindingDraft } from './check';

/** EKS's "Pod Identity associations per cluster" quota. */
export const ASSOCIATION_QUOTA = 5000;
const HEADROOM = 0.1;

/** A cluster at its association quota cannot give the next ServiceAccount an identity. */
export const c04PodIdentityAssociationQuota: Check = {
  id: 'IRSA-C04',
  title: 'The cluster has room for more Pod Identity associations.',
  severity: 'low',
  remediation: 'Delete the associations of ServiceAccounts that no longer exist, or request a higher quota.',
  needs: ['podIdentityAssociations'],
  run: judge,
  withoutKubernetes: { needs: ['podIdentityAssociations'], run: judge },
};

function* judge(context: AuditContext): Iterable<FindingDraft> {
  const count = context.state.podIdentityAssociations?.length ?? 0;
  if (count < ASSOCIATION_QUOTA * (1 - HEADROOM)) return;
  const { name } = context.state.cluster;
  yield {
    resource: { kind: 'Cluster', name },
    key: name,
    message: `Cluster ${name} has ${count} EKS Pod Identity associations of EKS's quota of ${ASSOCIATION_QUOTA} per cluster: ${count >= ASSOCIATION_QUOTA ? 'no ServiceAccount can get a new one' : `only ${ASSOCIATION_QUOTA - count} more can be created`}.`,
    evidence: { associations: count, quota: ASSOCIATION_QUOTA },
    remediation: `List them with \`aws eks list-pod-identity-associations --cluster-name ${name}\` and delete those of ServiceAccounts that no longer exist with \`aws eks delete-pod-identity-association --cluster-name ${name} --association-id <id>\`, or request a higher "Pod Identity associations per cluster" quota in Service Quotas.`,
  };
}
