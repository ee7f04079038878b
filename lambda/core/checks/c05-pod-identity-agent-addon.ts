import type { AuditContext } from '../analysis/context';
import type { Check, FindingDraft } from './check';

/** Statuses in which the add-on's DaemonSet runs, or is about to. */
const WORKING = new Set(['ACTIVE', 'CREATING', 'UPDATING']);

/**
 * Pod Identity associations give pods credentials only through the agent on their node: on EC2 nodes that is
 * the eks-pod-identity-agent add-on (EKS Auto Mode nodes run it themselves). Without it, or with it broken,
 * every association of the cluster is inert.
 */
export const c05PodIdentityAgentAddon: Check = {
  id: 'IRSA-C05',
  title: 'The EKS Pod Identity agent add-on is installed and healthy where associations need it.',
  severity: 'high',
  remediation: 'Install the eks-pod-identity-agent add-on, or repair it (see its health issues).',
  needs: ['podIdentityAgentAddon', 'podIdentityAssociations'],
  run: judge,
  withoutKubernetes: { needs: ['podIdentityAgentAddon', 'podIdentityAssociations'], run: judge },
};

function* judge(context: AuditContext): Iterable<FindingDraft> {
  const { cluster } = context.state;
  const addon = context.state.podIdentityAgentAddon;
  const associations = (context.state.podIdentityAssociations ?? []).filter((association) =>
    context.inScope(association.namespace),
  );
  if (addon === undefined || associations.length === 0 || cluster.autoMode === true) return;
  if (addon.installed && addon.status !== undefined && WORKING.has(addon.status)) return;
  const listed = associations
    .slice(0, 10)
    .map((association) => `${association.namespace}/${association.serviceAccount}`)
    .join(', ');
  const more = associations.length > 10 ? ` and ${associations.length - 10} more` : '';
  const resource = { kind: 'Cluster', name: cluster.name };
  const evidence = {
    addon: 'eks-pod-identity-agent',
    installed: addon.installed,
    status: addon.status ?? null,
    version: addon.version ?? null,
    issues: addon.issues,
    associations: associations.length,
  };
  if (!addon.installed) {
    yield {
      resource,
      key: 'not-installed',
      message: `Cluster ${cluster.name} has ${associations.length} Pod Identity associations (${listed}${more}) but no eks-pod-identity-agent add-on: unless the agent runs as a DaemonSet you manage yourself, no pod on its EC2 nodes can get those credentials.`,
      evidence,
      remediation: `\`aws eks create-addon --cluster-name ${cluster.name} --addon-name eks-pod-identity-agent\`, then re-create the pods of those ServiceAccounts if they started without credentials.`,
    };
    return;
  }
  yield {
    resource,
    key: 'unhealthy',
    message: `The eks-pod-identity-agent add-on of cluster ${cluster.name} is ${addon.status ?? 'in an unknown state'}${addon.issues.length === 0 ? '' : ` (${addon.issues.join('; ')})`}, so the ${associations.length} Pod Identity associations (${listed}${more}) may give their pods no credentials.`,
    evidence,
    remediation: `Fix the add-on's health issues (\`aws eks describe-addon --cluster-name ${cluster.name} --addon-name eks-pod-identity-agent --query addon.health\`), then \`aws eks update-addon --cluster-name ${cluster.name} --addon-name eks-pod-identity-agent --resolve-conflicts OVERWRITE\`.`,
  };
}
