import type { AuditContext } from '../analysis/context';
import { POD_IDENTITY_SERVICE } from '../analysis/eks-conventions';
import { firstHopContext } from '../analysis/pod-identity';
import { statementLabel } from '../analysis/trust-diagnosis';
import type { IamRole, PodIdentityAssociation } from '../model/cluster-state';
import { accountOfArn, partitionOfArn } from '../policy/arn';
import { evaluateTrust } from '../policy/trust-policy';
import type { Check, FindingDraft } from './check';

// What no real association has: if the trust admits these, it admits any association, of any cluster.
const STRANGER_ACCOUNT = '000000000000';
const STRANGER_CLUSTER = 'irsa-auditor-any-cluster';
const STRANGER_NAMESPACE = 'irsa-auditor-any-namespace';
const STRANGER_SERVICE_ACCOUNT = 'irsa-auditor-any-serviceaccount';
const STRANGER_EXTERNAL_ID = 'irsa-auditor-any-external-id';
const STRANGER_ROLE = 'irsa-auditor-any-role';

/** The request of a made-up association of a made-up cluster in a made-up account, with its session tags. */
function strangerContext(partition: string): ReadonlyMap<string, readonly string[]> {
  return firstHopContext({
    clusterArn: `arn:${partition}:eks:eu-west-1:${STRANGER_ACCOUNT}:cluster/${STRANGER_CLUSTER}`,
    clusterName: STRANGER_CLUSTER,
    accountId: STRANGER_ACCOUNT,
    namespace: STRANGER_NAMESPACE,
    serviceAccount: STRANGER_SERVICE_ACCOUNT,
    tagged: true,
  });
}

/** The associations of this cluster that use a role, first hop or target. */
function usersOf(context: AuditContext, arn: string, hop: 'roleArn' | 'targetRoleArn'): string[] {
  return (context.state.podIdentityAssociations ?? [])
    .filter((association: PodIdentityAssociation) => association[hop] === arn)
    .map((association) => `${association.namespace}/${association.serviceAccount}`);
}

/** A Pod Identity role whose trust a made-up association gets through: no condition narrows it. */
function probeFirstHop(context: AuditContext, role: IamRole): FindingDraft | undefined {
  if (role.trustPolicy === undefined) return undefined;
  const decision = evaluateTrust(role.trustPolicy, {
    principalType: 'Service',
    principal: POD_IDENTITY_SERVICE,
    action: 'sts:AssumeRole',
    context: strangerContext(partitionOfArn(role.arn)),
  });
  if (!decision.allowed) return undefined;
  const label =
    decision.decidingStatement === undefined ? 'a statement' : statementLabel(decision.decidingStatement);
  const usedBy = usersOf(context, role.arn, 'roleArn');
  const example =
    usedBy[0] === undefined
      ? '"aws:RequestTag/kubernetes-namespace": "<namespace>", "aws:RequestTag/kubernetes-service-account": "<service account>"'
      : `"aws:RequestTag/kubernetes-namespace": "${usedBy[0].split('/')[0]}", "aws:RequestTag/kubernetes-service-account": "${usedBy[0].split('/')[1]}"`;
  return {
    resource: { kind: 'Role', name: role.arn },
    key: role.arn,
    message: `${label} of role ${role.name}'s trust policy lets ${POD_IDENTITY_SERVICE} assume it for any Pod Identity association (it let a made-up ${STRANGER_NAMESPACE}/${STRANGER_SERVICE_ACCOUNT} of a made-up cluster in): no condition names a namespace, a service account, a cluster or an account, so whoever may create an association and pass this role gives its credentials to any pod.`,
    evidence: {
      roleArn: role.arn,
      statement: label,
      probe: `${STRANGER_CLUSTER}/${STRANGER_NAMESPACE}/${STRANGER_SERVICE_ACCOUNT}`,
      usedBy: usedBy.slice(0, 20),
      explanation: decision.explanation,
    },
    remediation: `In ${label} of ${role.name}, add "Condition": {"StringEquals": {${example}, "aws:RequestTag/eks-cluster-name": "${context.state.cluster.name}"}} (the session tags EKS sets; without session tags, "ArnEquals": {"aws:SourceArn": "<cluster ARN>"}), then \`aws iam update-assume-role-policy --role-name ${role.name} --policy-document file://trust.json\`.`,
  };
}

/** A target role that any principal of the association role's account gets into, without PrincipalArn or ExternalId. */
function probeTarget(
  context: AuditContext,
  role: IamRole,
  associationRoleArn: string,
): FindingDraft | undefined {
  if (role.trustPolicy === undefined) return undefined;
  const account = accountOfArn(associationRoleArn);
  if (account === undefined) return undefined;
  const partition = partitionOfArn(associationRoleArn);
  const stranger = `arn:${partition}:iam::${account}:role/${STRANGER_ROLE}`;
  const decision = evaluateTrust(role.trustPolicy, {
    principalType: 'AWS',
    // `:root` in a trust policy delegates to the account: any of its principals may ask.
    principal: `arn:${partition}:iam::${account}:root`,
    action: 'sts:AssumeRole',
    context: new Map([
      ['aws:PrincipalArn', [stranger]],
      ['aws:PrincipalAccount', [account]],
      ['sts:ExternalId', [STRANGER_EXTERNAL_ID]],
    ]),
  });
  if (!decision.allowed) return undefined;
  const label =
    decision.decidingStatement === undefined ? 'a statement' : statementLabel(decision.decidingStatement);
  return {
    resource: { kind: 'Role', name: role.arn },
    key: `${role.arn}#target`,
    message: `${label} of target role ${role.name}'s trust policy admits account ${account} as a whole (it let a made-up ${stranger} with another external ID in), so any principal of that account that an identity policy allows sts:AssumeRole on it gets the credentials meant for the Pod Identity association of ${usersOf(context, role.arn, 'targetRoleArn').join(', ')}.`,
    evidence: {
      roleArn: role.arn,
      statement: label,
      probePrincipal: stranger,
      associationRole: associationRoleArn,
      usedBy: usersOf(context, role.arn, 'targetRoleArn').slice(0, 20),
      explanation: decision.explanation,
    },
    remediation: `In ${label} of ${role.name}, trust the association's role itself ("Principal": {"AWS": "${associationRoleArn}"}) or condition the account on "ArnEquals": {"aws:PrincipalArn": "${associationRoleArn}"}, and add "StringEquals": {"sts:ExternalId": "<the association's externalId>"}, then \`aws iam update-assume-role-policy --role-name ${role.name} --policy-document file://trust.json\` in its account.`,
  };
}

/** The twin of IRSA-S10 for EKS Pod Identity: a trust that any association, or any principal, gets through. */
export const s15PodIdentityTrustAnyAssociation: Check = {
  id: 'IRSA-S15',
  title: 'A Pod Identity role admits only the associations meant for it; a target role only their role.',
  severity: 'high',
  remediation:
    'Condition Pod Identity trust on the session tags (namespace, service account, cluster) or the cluster ARN, and target-role trust on the association role and its external ID.',
  // The associations only add the target roles to probe: without them every Pod Identity role is still probed.
  needs: ['roles'],
  run: probeRoles,
  withoutKubernetes: { needs: ['roles'], run: probeRoles },
};

function* probeRoles(context: AuditContext): Iterable<FindingDraft> {
  const probed = new Set<string>();
  // Every role of a readable account that Pod Identity may assume: one in use is as open as one not yet.
  for (const role of context.state.roles) {
    if (!context.isReadableAccount(role.accountId) || probed.has(role.arn)) continue;
    probed.add(role.arn);
    const draft = probeFirstHop(context, role);
    if (draft !== undefined) yield draft;
  }
  for (const association of context.state.podIdentityAssociations ?? []) {
    if (association.targetRoleArn === undefined || !context.inScope(association.namespace)) continue;
    const target = context.role(association.targetRoleArn);
    if (target === undefined || probed.has(`${target.arn}#target`)) continue;
    probed.add(`${target.arn}#target`);
    const draft = probeTarget(context, target, association.roleArn);
    if (draft !== undefined) yield draft;
  }
}
