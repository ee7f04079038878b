import type { ResourceType } from '../model/cluster-state';
import type { Check } from './check';

// What lets the auditor read each input: a rule of the Kubernetes RBAC the project ships (deploy/rbac.yaml), or
// IAM actions. The audit only lists (it never GETs one object); the DaemonSets are read in kube-system only.
const CLUSTER_ROLE = "the ClusterRole bound to the auditor's Kubernetes group";
const KUBERNETES_RESOURCES: Partial<Readonly<Record<ResourceType, { rule: string; role: string }>>> = {
  serviceAccounts: {
    rule: '{apiGroups: [""], resources: ["serviceaccounts"], verbs: ["list"]}',
    role: CLUSTER_ROLE,
  },
  pods: { rule: '{apiGroups: [""], resources: ["pods"], verbs: ["list"]}', role: CLUSTER_ROLE },
  mutatingWebhookConfigurations: {
    rule: '{apiGroups: ["admissionregistration.k8s.io"], resources: ["mutatingwebhookconfigurations"], verbs: ["list"]}',
    role: CLUSTER_ROLE,
  },
  namespaces: { rule: '{apiGroups: [""], resources: ["namespaces"], verbs: ["list"]}', role: CLUSTER_ROLE },
  nodes: { rule: '{apiGroups: [""], resources: ["nodes"], verbs: ["list"]}', role: CLUSTER_ROLE },
  daemonSets: {
    rule: '{apiGroups: ["apps"], resources: ["daemonsets"], verbs: ["list"]}',
    role: "the Role in kube-system bound to the auditor's Kubernetes group",
  },
  // A server-side dry run is authorized exactly like a real create (the probe never stores a pod).
  webhookProbes: {
    rule: '{apiGroups: [""], resources: ["pods"], verbs: ["create"]} (for --probe)',
    role: CLUSTER_ROLE,
  },
};
const IAM_ACTIONS: Partial<Readonly<Record<ResourceType, string>>> = {
  cluster: 'eks:DescribeCluster',
  oidcProviders: 'iam:ListOpenIDConnectProviders and iam:GetOpenIDConnectProvider',
  roles: 'iam:ListRoles and iam:GetRole',
  podIdentityAssociations: 'eks:ListPodIdentityAssociations and eks:DescribePodIdentityAssociation',
  accountClusters: 'eks:ListClusters and eks:DescribeCluster',
  accountQuotas: 'iam:GetAccountSummary',
  nodeInstances: 'ec2:DescribeInstances',
  instanceProfiles: 'iam:GetInstanceProfile',
  podIdentityAgentAddon: 'eks:DescribeAddon',
  rolePolicies:
    'iam:ListRolePolicies, iam:GetRolePolicy, iam:ListAttachedRolePolicies, iam:GetPolicy and iam:GetPolicyVersion',
};

/** The grant that lets the auditor read a resource type, as a sentence. */
function grantFor(resource: ResourceType): string {
  const grant = KUBERNETES_RESOURCES[resource];
  if (grant !== undefined) {
    return `add the rule ${grant.rule} to ${grant.role} (the manifest the project ships) and apply it`;
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
