import type { AuditContext } from '../analysis/context';
import { POD_IDENTITY_SERVICE } from '../analysis/eks-conventions';
import type { IamRole, PodIdentityAssociation } from '../model/cluster-state';
import { evaluateTrust } from '../policy/trust-policy';
import type { Check, FindingDraft } from './check';

const REQUIRED_ACTIONS = ['sts:AssumeRole', 'sts:TagSession'];
const POD_IDENTITY_TRUST =
  '{"Effect":"Allow","Principal":{"Service":"pods.eks.amazonaws.com"},"Action":["sts:AssumeRole","sts:TagSession"]}';
// EKS Pod Identity tags every session with these six keys (EKS user guide, "pod-id-abac").
const SESSION_TAG_KEYS = [
  'eks-cluster-arn',
  'eks-cluster-name',
  'kubernetes-namespace',
  'kubernetes-service-account',
  'kubernetes-pod-name',
  'kubernetes-pod-uid',
];

/** The request context STS sees for an association, so documented `aws:RequestTag/...` conditions are judged. */
// Pod name and UID differ per pod and stay absent; a condition on them is judged as IAM would without them.
function podIdentityRequestContext(
  context: AuditContext,
  association: PodIdentityAssociation,
): ReadonlyMap<string, readonly string[]> {
  const { cluster } = context.state;
  const accountId = cluster.accountId ?? cluster.arn?.split(':')[4];
  const tags: readonly (readonly [string, string | undefined])[] = [
    ['eks-cluster-arn', cluster.arn],
    ['eks-cluster-name', cluster.name],
    ['kubernetes-namespace', association.namespace],
    ['kubernetes-service-account', association.serviceAccount],
  ];
  const entries: [string, readonly string[]][] = [['aws:TagKeys', SESSION_TAG_KEYS]];
  for (const [tag, value] of tags) {
    if (value !== undefined) entries.push([`aws:RequestTag/${tag}`, [value]]);
  }
  if (accountId !== undefined && accountId !== '') entries.push(['aws:SourceAccount', [accountId]]);
  if (cluster.arn !== undefined) entries.push(['aws:SourceArn', [cluster.arn]]);
  return new Map(entries);
}

/** The association as a finding resource. */
function associationResource(association: PodIdentityAssociation) {
  return {
    kind: 'PodIdentityAssociation',
    namespace: association.namespace,
    name: association.associationId,
  } as const;
}

/** The finding for an association whose role does not exist. */
function missingRoleDraft(context: AuditContext, association: PodIdentityAssociation): FindingDraft {
  const serviceAccount = `${association.namespace}/${association.serviceAccount}`;
  const segments = association.roleArn.split(':').slice(5).join(':').split('/').slice(1);
  const roleName = segments.pop() ?? association.roleArn;
  const rolePath = segments.length === 0 ? '' : ` --path /${segments.join('/')}/`;
  return {
    resource: associationResource(association),
    key: association.roleArn,
    message: `Pod Identity association ${association.associationId} (${serviceAccount}) names role ${association.roleArn}, which does not exist, so the EKS Pod Identity agent cannot get credentials for its pods.`,
    evidence: { roleArn: association.roleArn, serviceAccount },
    remediation: `Create the role with \`aws iam create-role --role-name ${roleName}${rolePath} --assume-role-policy-document '{"Version":"2012-10-17","Statement":[${POD_IDENTITY_TRUST}]}'\`, or point the association at an existing role with \`aws eks update-pod-identity-association --cluster-name ${context.state.cluster.name} --association-id ${association.associationId} --role-arn <existing role ARN>\`.`,
  };
}

/** The finding for a role whose trust refuses the Pod Identity agent some action, or undefined when it admits both. */
function refusedTrustDraft(
  context: AuditContext,
  association: PodIdentityAssociation,
  role: IamRole,
): FindingDraft | undefined {
  const serviceAccount = `${association.namespace}/${association.serviceAccount}`;
  const policy = role.trustPolicy;
  const requestContext = podIdentityRequestContext(context, association);
  const decisions = REQUIRED_ACTIONS.map((action) => ({
    action,
    decision:
      policy === undefined
        ? undefined
        : evaluateTrust(policy, {
            principalType: 'Service',
            principal: POD_IDENTITY_SERVICE,
            action,
            context: requestContext,
          }),
  }));
  const refused = decisions.filter(({ decision }) => decision?.allowed !== true);
  if (refused.length === 0) return undefined;
  const granted = decisions.filter(({ decision }) => decision?.allowed === true).map(({ action }) => action);
  const refusedActions = refused.map(({ action }) => action);
  // A statement that trusts the service for the action but whose conditions refuse this association.
  const blocking = refused
    .flatMap(({ decision }) => decision?.statements ?? [])
    .find(
      (evaluation) =>
        evaluation.statement.effect === 'Allow' &&
        evaluation.principalMatches &&
        evaluation.actionMatches &&
        !evaluation.conditionsSatisfied,
    );
  const failedCondition = blocking?.conditions.find((condition) => condition.outcome !== 'satisfied');
  const denial = refused.find(({ decision }) => decision?.decision === 'explicit-deny')?.decision;
  const what =
    granted.length === 0
      ? `lets ${POD_IDENTITY_SERVICE} call neither ${refusedActions.join(' nor ')}, both of which EKS Pod Identity needs`
      : `lets ${POD_IDENTITY_SERVICE} call ${granted.join(' and ')} but not ${refusedActions.join(' or ')}, which EKS Pod Identity also needs`;
  const why =
    policy === undefined
      ? ` (its trust policy could not be read: ${role.trustPolicyError ?? 'it is missing'})`
      : denial !== undefined
        ? ` (${denial.explanation.replace(/\.$/, '')})`
        : failedCondition !== undefined
          ? ` (its conditions refuse this association: ${failedCondition.reason})`
          : '';
  const update = `\`aws iam update-assume-role-policy --role-name ${role.name} --policy-document file://trust.json\``;
  const sessionTags = `aws:RequestTag/kubernetes-namespace "${association.namespace}", aws:RequestTag/kubernetes-service-account "${association.serviceAccount}", aws:RequestTag/eks-cluster-name "${context.state.cluster.name}"`;
  return {
    resource: associationResource(association),
    key: association.roleArn,
    message: `Role ${role.name} of Pod Identity association ${association.associationId} (${serviceAccount}) ${what}${why}, so the EKS Pod Identity agent cannot get credentials for its pods.`,
    evidence: {
      roleArn: role.arn,
      serviceAccount,
      refusedActions,
      explanations: refused.flatMap(({ decision }) => (decision === undefined ? [] : [decision.explanation])),
      ...(role.trustPolicyError === undefined ? {} : { trustPolicyError: role.trustPolicyError }),
    },
    remediation:
      denial?.decidingStatement !== undefined
        ? `Edit the Deny Statement[${denial.decidingStatement.statement.index}] in the trust policy of role ${role.name} so that it no longer matches ${POD_IDENTITY_SERVICE} for this association (${update}).`
        : blocking !== undefined
          ? `Make the conditions of Statement[${blocking.statement.index}] in the trust policy of role ${role.name} admit this association's session tags (${sessionTags}) and allow both sts:AssumeRole and sts:TagSession (${update}).`
          : `Add this statement to the trust policy of role ${role.name} (${update}): ${POD_IDENTITY_TRUST}.`,
  };
}

/** The EKS Pod Identity agent assumes the role as pods.eks.amazonaws.com and tags the session. */
export const s13PodIdentityRole: Check = {
  id: 'IRSA-S13',
  title: 'Each Pod Identity association names an existing role that trusts pods.eks.amazonaws.com.',
  severity: 'high',
  remediation: 'Trust pods.eks.amazonaws.com with sts:AssumeRole and sts:TagSession in the associated role.',
  needs: ['podIdentityAssociations', 'roles'],
  *run(context) {
    for (const association of context.state.podIdentityAssociations ?? []) {
      if (!context.inScope(association.namespace)) continue;
      const role = context.role(association.roleArn);
      const draft =
        role === undefined
          ? missingRoleDraft(context, association)
          : refusedTrustDraft(context, association, role);
      if (draft !== undefined) yield draft;
    }
  },
};
