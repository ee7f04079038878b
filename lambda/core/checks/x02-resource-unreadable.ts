import type { ResourceType } from '../model/cluster-state';
import type { Check } from './check';

// What lets the auditor read each input: a rule of its Kubernetes ClusterRole, or IAM actions.
const KUBERNETES_RESOURCES: Partial<Readonly<Record<ResourceType, string>>> = {
  serviceAccounts: '{apiGroups: [""], resources: ["serviceaccounts"], verbs: ["get", "list"]}',
  pods: '{apiGroups: [""], resources: ["pods"], verbs: ["get", "list"]}',
  mutatingWebhookConfigurations:
    '{apiGroups: ["admissionregistration.k8s.io"], resources: ["mutatingwebhookconfigurations"], verbs: ["get", "list"]}',
  namespaces: '{apiGroups: [""], resources: ["namespaces"], verbs: ["get", "list"]}',
  // A server-side dry run is authorized exactly like a real create (the probe never stores a pod).
  webhookProbes: '{apiGroups: [""], resources: ["pods"], verbs: ["create"]} (for --probe)',
};
const IAM_ACTIONS: Partial<Readonly<Record<ResourceType, string>>> = {
  cluster: 'eks:DescribeCluster',
  oidcProviders: 'iam:ListOpenIDConnectProviders and iam:GetOpenIDConnectProvider',
  roles: 'iam:ListRoles and iam:GetRole',
  podIdentityAssociations: 'eks:ListPodIdentityAssociations and eks:DescribePodIdentityAssociation',
  accountClusters: 'eks:ListClusters and eks:DescribeCluster',
};

/** The grant that lets the auditor read a resource type, as a sentence. */
function grantFor(resource: ResourceType): string {
  const rule = KUBERNETES_RESOURCES[resource];
  if (rule !== undefined) {
    return `add the rule ${rule} to the ClusterRole bound to the auditor's Kubernetes group (the manifest the project ships) and apply it`;
  }
  return `allow ${IAM_ACTIONS[resource] ?? `reading ${resource}`} in the IAM policy of the auditor's role`;
}

/** A partial audit must name what it could not read, and which checks it skipped for that. */
export const x02ResourceUnreadable: Check = {
  id: 'IRSA-X02',
  title: 'Every resource type the audit needs could be read.',
  severity: 'high',
  remediation:
    'Grant the auditor read access to the resource (see the ClusterRole it ships), or retry later if it was throttled.',
  needs: [],
  *run(context) {
    for (const error of context.state.collectionErrors) {
      if (error.resource === 'cluster-connection') continue;
      const { name } = context.state.cluster;
      const cause = `${error.reason} ${error.message}`.toLowerCase();
      const grant = grantFor(error.resource);
      const skipped = context.skippedChecks(error.resource);
      const remediation =
        /forbidden|403|accessdenied|access denied|not authorized|unauthorizedoperation/.test(cause)
          ? `The auditor was denied: ${grant}, then audit again.`
          : /throttl|rate exceeded|429|toomanyrequests|slow ?down/.test(cause)
            ? 'The API kept throttling the auditor after its retries: audit again later, or schedule the runs further apart; if other tools share the quota, stagger them.'
            : `Check the error above; if access is the cause, ${grant}; then audit again.`;
      yield {
        resource: { kind: 'Cluster', name },
        key: error.resource,
        message: `The audit of ${name} is partial: ${error.resource} could not be read (${error.reason}: ${error.message}), so the checks that need it${skipped.length === 0 ? '' : ` (${skipped.join(', ')})`} were skipped.`,
        evidence: {
          resource: error.resource,
          reason: error.reason,
          error: error.message,
          skippedChecks: [...skipped],
        },
        remediation,
      };
    }
  },
};
