import type { AuditContext } from '../analysis/context';
import { POD_IDENTITY_SERVICE } from '../analysis/eks-conventions';
import {
  associationResource,
  externalIdOf,
  POD_IDENTITY_TRUST,
  podIdentityRequestContext,
  requiredActions,
  tagsSessions,
  targetRequestContext,
  updateAssociationCommand,
} from '../analysis/pod-identity';
import type { IamRole, PodIdentityAssociation } from '../model/cluster-state';
import { accountOfArn } from '../policy/arn';
import { evaluatePermission, type PermissionDecision } from '../policy/identity-policy';
import { evaluateTrust, type TrustDecision } from '../policy/trust-policy';
import type { Check, FindingDraft } from './check';

/** The two roles of an association: the one EKS assumes, and the target it then assumes with it. */
type Hop = 'role' | 'target';

/** The trust question of one hop: who asks, for which actions, with which request context. */
interface HopRequest {
  readonly principalType: 'Service' | 'AWS';
  readonly principal: string;
  readonly actions: readonly string[];
  readonly context: ReadonlyMap<string, readonly string[]>;
}

function hopRequest(context: AuditContext, association: PodIdentityAssociation, hop: Hop): HopRequest {
  return hop === 'role'
    ? {
        principalType: 'Service',
        principal: POD_IDENTITY_SERVICE,
        actions: requiredActions(association),
        context: podIdentityRequestContext(context.state, association),
      }
    : {
        principalType: 'AWS',
        principal: association.roleArn,
        actions: requiredActions(association),
        context: targetRequestContext(context.state, association),
      };
}

/** The hop's decision for one action; a target trusting the first role's account root admits the role too. */
function decide(
  policy: NonNullable<IamRole['trustPolicy']>,
  request: HopRequest,
  action: string,
): TrustDecision {
  const asked = {
    principalType: request.principalType,
    principal: request.principal,
    action,
    context: request.context,
  };
  const decision = evaluateTrust(policy, asked);
  const account = request.principalType === 'AWS' ? accountOfArn(request.principal) : undefined;
  if (decision.allowed || decision.decision === 'explicit-deny' || account === undefined) return decision;
  // `"AWS": "<account>"` or `:root` delegates to the account: its identity policies decide (not judged here).
  const viaAccount = evaluateTrust(policy, {
    ...asked,
    principal: request.principal.replace(/:role\/.*$/, ':root'),
  });
  return viaAccount.allowed ? viaAccount : decision;
}

const describeAssociation = (association: PodIdentityAssociation) =>
  `Pod Identity association ${association.associationId} (${association.namespace}/${association.serviceAccount})`;

/** The finding for an association whose role (or target role) does not exist. */
function missingRoleDraft(
  context: AuditContext,
  association: PodIdentityAssociation,
  hop: Hop,
): FindingDraft {
  const arn = hop === 'role' ? association.roleArn : (association.targetRoleArn ?? '');
  const segments = arn.split(':').slice(5).join(':').split('/').slice(1);
  const roleName = segments.pop() ?? arn;
  const rolePath = segments.length === 0 ? '' : ` --path /${segments.join('/')}/`;
  const trust = hop === 'role' ? POD_IDENTITY_TRUST : targetTrustStatement(context, association);
  const repoint =
    hop === 'role'
      ? updateAssociationCommand(context.state, association, '<existing role ARN>', association.targetRoleArn)
      : updateAssociationCommand(
          context.state,
          association,
          association.roleArn,
          '<existing target role ARN>',
        );
  return {
    resource: associationResource(association),
    key: arn,
    message:
      hop === 'role'
        ? `${describeAssociation(association)} names role ${arn}, which does not exist, so the EKS Pod Identity agent cannot get credentials for its pods.`
        : `${describeAssociation(association)} names target role ${arn}, which does not exist, so EKS Pod Identity cannot chain from role ${association.roleArn} to it and its pods get no credentials.`,
    evidence: {
      roleArn: association.roleArn,
      ...(hop === 'target' ? { targetRoleArn: arn } : {}),
      serviceAccount: `${association.namespace}/${association.serviceAccount}`,
    },
    remediation: `Create the role with \`aws iam create-role --role-name ${roleName}${rolePath} --assume-role-policy-document '{"Version":"2012-10-17","Statement":[${trust}]}'\`${hop === 'target' ? ' in its account' : ''}, or point the association at an existing role with \`${repoint}\`.`,
  };
}

/** The statement a target role needs: the association's role, both actions, and the external ID. */
function targetTrustStatement(context: AuditContext, association: PodIdentityAssociation): string {
  const externalId = externalIdOf(context.state, association);
  const condition =
    externalId === undefined ? '' : `,"Condition":{"StringEquals":{"sts:ExternalId":"${externalId}"}}`;
  return `{"Effect":"Allow","Principal":{"AWS":"${association.roleArn}"},"Action":${JSON.stringify(requiredActions(association))}${condition}}`;
}

/** The finding for a role whose trust refuses the hop some action, or undefined when it admits them all. */
function refusedTrustDraft(
  context: AuditContext,
  association: PodIdentityAssociation,
  role: IamRole,
  hop: Hop,
): FindingDraft | undefined {
  const serviceAccount = `${association.namespace}/${association.serviceAccount}`;
  const policy = role.trustPolicy;
  const request = hopRequest(context, association, hop);
  const decisions = request.actions.map((action) => ({
    action,
    decision: policy === undefined ? undefined : decide(policy, request, action),
  }));
  const refused = decisions.filter(({ decision }) => decision?.allowed !== true);
  if (refused.length === 0) return undefined;
  const granted = decisions.filter(({ decision }) => decision?.allowed === true).map(({ action }) => action);
  const refusedActions = refused.map(({ action }) => action);
  // A statement that trusts the principal for the action but whose conditions refuse this association.
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
  // A condition on a session tag that is absent because the association disables tags.
  const untaggedKey =
    !tagsSessions(association) &&
    failedCondition?.contextValues === undefined &&
    /^aws:(Request|Principal)Tag\//i.test(failedCondition?.entry.key ?? '')
      ? failedCondition?.entry.key
      : undefined;
  const denial = refused.find(({ decision }) => decision?.decision === 'explicit-deny')?.decision;
  const who = hop === 'role' ? POD_IDENTITY_SERVICE : `role ${association.roleArn}`;
  const what =
    granted.length > 0
      ? `lets ${who} call ${granted.join(' and ')} but not ${refusedActions.join(' or ')}, which EKS Pod Identity also needs`
      : refusedActions.length === 1
        ? `does not let ${who} call ${refusedActions[0]}, which EKS Pod Identity needs`
        : `lets ${who} call neither ${refusedActions.join(' nor ')}, both of which EKS Pod Identity needs`;
  const why =
    policy === undefined
      ? ` (its trust policy could not be read: ${role.trustPolicyError ?? 'it is missing'})`
      : denial !== undefined
        ? ` (${denial.explanation.replace(/\.$/, '')})`
        : untaggedKey !== undefined
          ? ` (its conditions need the session tag ${untaggedKey}, but the association sets disableSessionTags, so EKS tags no session and the condition can never match)`
          : failedCondition !== undefined
            ? ` (its conditions refuse this association: ${failedCondition.reason})`
            : '';
  const update = `\`aws iam update-assume-role-policy --role-name ${role.name} --policy-document file://trust.json\``;
  const sessionTags = `aws:RequestTag/kubernetes-namespace "${association.namespace}", aws:RequestTag/kubernetes-service-account "${association.serviceAccount}", aws:RequestTag/eks-cluster-name "${context.state.cluster.name}"`;
  const statement = hop === 'role' ? POD_IDENTITY_TRUST : targetTrustStatement(context, association);
  const subject =
    hop === 'role'
      ? `Role ${role.name} of ${describeAssociation(association)}`
      : `Target role ${role.arn} of ${describeAssociation(association)}`;
  const consequence =
    hop === 'role'
      ? 'so the EKS Pod Identity agent cannot get credentials for its pods'
      : `so EKS Pod Identity cannot chain from role ${association.roleArn} to it and its pods get no credentials`;
  const externalId = externalIdOf(context.state, association);
  const admits =
    hop === 'target'
      ? `role ${association.roleArn}${externalId === undefined ? '' : ` with the sts:ExternalId "${externalId}" EKS passes`}${tagsSessions(association) ? '' : ' (and no session tags: they are disabled)'}`
      : tagsSessions(association)
        ? `this association's session tags (${sessionTags})`
        : 'this association without session tags (they are disabled: use aws:SourceArn or aws:SourceAccount instead)';
  return {
    resource: associationResource(association),
    key: role.arn,
    message: `${subject} ${what}${why}, ${consequence}.`,
    evidence: {
      roleArn: association.roleArn,
      ...(hop === 'target' ? { targetRoleArn: role.arn } : {}),
      serviceAccount,
      refusedActions,
      sessionTags: tagsSessions(association),
      explanations: refused.flatMap(({ decision }) => (decision === undefined ? [] : [decision.explanation])),
      ...(role.trustPolicyError === undefined ? {} : { trustPolicyError: role.trustPolicyError }),
    },
    remediation:
      denial?.decidingStatement !== undefined
        ? `Edit the Deny Statement[${denial.decidingStatement.statement.index}] in the trust policy of role ${role.name} so that it no longer matches ${who} for this association (${update}).`
        : blocking !== undefined
          ? `Make the conditions of Statement[${blocking.statement.index}] in the trust policy of role ${role.name} admit ${admits} and allow ${requiredActions(association).join(' and ')} (${update}).`
          : `Add this statement to the trust policy of role ${role.name} (${update}): ${statement}.`,
  };
}

/** The draft for one hop, or undefined when its role exists and trusts the hop (or cannot be read: S04). */
function hopDraft(
  context: AuditContext,
  association: PodIdentityAssociation,
  hop: Hop,
): FindingDraft | undefined {
  const arn = hop === 'role' ? association.roleArn : association.targetRoleArn;
  if (arn === undefined) return undefined;
  const role = context.role(arn);
  if (role !== undefined) return refusedTrustDraft(context, association, role, hop);
  const account = accountOfArn(arn);
  // A target in an account the audit cannot read stays unverified, as an IRSA role there does (IRSA-S04).
  if (hop === 'target' && (account === undefined || !context.isReadableAccount(account))) return undefined;
  return missingRoleDraft(context, association, hop);
}

/** Session tags that differ per pod: present on every real call, absent from the context the audit builds. */
const PER_POD_TAGS = ['kubernetes-pod-name', 'kubernetes-pod-uid'];
/** Request keys of the second hop the audit knows in full (tags it can name, the caller, the external ID). */
function knownSecondHopKey(context: ReadonlyMap<string, readonly string[]>) {
  const lowered = new Set([...context.keys()].map((key) => key.toLowerCase()));
  return (key: string) => {
    if (lowered.has(key)) return true;
    const tag = /^aws:(request|principal)tag\/(.+)$/.exec(key)?.[2];
    if (tag !== undefined) return !PER_POD_TAGS.includes(tag);
    return ['sts:externalid', 'aws:principalarn', 'aws:principalaccount', 'aws:tagkeys'].includes(key);
  };
}

/**
 * Whether the first role must be allowed by its own permissions to assume the target: always across accounts,
 * and in one account unless the target's trust names the role itself (then the trust alone grants it).
 */
function identityPolicyNeeded(
  context: AuditContext,
  association: PodIdentityAssociation,
  target: string,
): boolean {
  if (accountOfArn(target) !== accountOfArn(association.roleArn)) return true;
  const policy = context.role(target)?.trustPolicy;
  if (policy === undefined) return true;
  const request = hopRequest(context, association, 'target');
  return !request.actions.every(
    (action) =>
      evaluateTrust(policy, {
        principalType: 'AWS',
        principal: association.roleArn,
        action,
        context: request.context,
      }).allowed,
  );
}

/** The finding for a first role whose permissions policies do not let it assume the target role. */
function identityDraft(context: AuditContext, association: PodIdentityAssociation): FindingDraft | undefined {
  const target = association.targetRoleArn;
  const role = context.role(association.roleArn);
  const all = context.state.rolePolicies;
  if (target === undefined || role === undefined || all === undefined) return undefined;
  if (!identityPolicyNeeded(context, association, target)) return undefined;
  const own = all.filter((policy) => policy.roleName === role.name);
  // A policy that could not be parsed is IRSA-X04; without it the grant cannot be judged.
  if (own.some((policy) => policy.document === undefined)) return undefined;
  const policies = own.flatMap((policy) =>
    policy.document === undefined
      ? []
      : [{ name: policy.policyArn ?? policy.policyName, document: policy.document }],
  );
  const requestContext = targetRequestContext(context.state, association);
  const decisions = requiredActions(association).map((action) => ({
    action,
    decision: evaluatePermission(policies, {
      action,
      resource: target,
      context: requestContext,
      principal: association.roleArn,
      knownKeys: knownSecondHopKey(requestContext),
    }),
  }));
  if (decisions.some(({ decision }) => decision.outcome === 'undetermined')) return undefined;
  const refused = decisions.filter(({ decision }) => decision.outcome !== 'allowed');
  if (refused.length === 0) return undefined;
  const actions = refused.map(({ action }) => action);
  const why = (decision: PermissionDecision) => {
    if (decision.outcome === 'denied')
      return `Statement[${decision.by.statement.index}] of policy ${decision.by.policy} denies it`;
    if (decision.outcome === 'not-allowed' && decision.refusedBy !== undefined)
      return `Statement[${decision.refusedBy.statement.index}] of policy ${decision.refusedBy.policy} allows it, but its conditions refuse this call: ${decision.refusedBy.condition?.reason ?? 'a condition fails'}`;
    return own.length === 0
      ? 'the role has no permissions policy at all'
      : own.length === 1
        ? 'its only permissions policy does not allow it on that role'
        : `none of its ${own.length} permissions policies allows it on that role`;
  };
  const first = refused[0]?.decision;
  const denied = refused.find(({ decision }) => decision.outcome === 'denied')?.decision;
  const statement = JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: [...requiredActions(association)], Resource: target }],
  });
  const policyName = `assume-${target.slice(target.lastIndexOf('/') + 1)}`;
  return {
    resource: associationResource(association),
    key: `identity:${target}`,
    message: `Role ${role.name} of ${describeAssociation(association)} may not call ${actions.join(' or ')} on its target role ${target} (${first === undefined ? '' : why(first)}), so EKS Pod Identity cannot chain from ${association.roleArn} to the target and its pods get no credentials.`,
    evidence: {
      roleArn: association.roleArn,
      targetRoleArn: target,
      refusedActions: actions,
      policies: own.map((policy) => policy.policyArn ?? policy.policyName),
      crossAccount: accountOfArn(target) !== accountOfArn(association.roleArn),
    },
    remediation:
      denied !== undefined && denied.outcome === 'denied'
        ? `Edit the Deny Statement[${denied.by.statement.index}] of policy ${denied.by.policy} (role ${role.name}) so that it no longer matches ${actions.join(' and ')} on ${target}.`
        : `Allow it in the role's permissions: \`aws iam put-role-policy --role-name ${role.name} --policy-name ${policyName} --policy-document '${statement}'\`.`,
  };
}

/**
 * The EKS Pod Identity agent assumes the role as pods.eks.amazonaws.com and tags the session (unless the
 * association disables tags); with a target role it then assumes the target with the first role's credentials,
 * which the first role's permissions policies must allow (always across accounts).
 */
export const s13PodIdentityRole: Check = {
  id: 'IRSA-S13',
  title: 'Each Pod Identity association names existing roles whose trust admits it, at both hops.',
  severity: 'high',
  remediation:
    'Trust pods.eks.amazonaws.com with sts:AssumeRole and sts:TagSession in the associated role, the associated role in the target role, and allow the associated role to assume the target in its permissions.',
  needs: ['podIdentityAssociations', 'roles'],
  *run(context) {
    for (const association of context.state.podIdentityAssociations ?? []) {
      if (!context.inScope(association.namespace)) continue;
      const first = hopDraft(context, association, 'role');
      if (first !== undefined) {
        yield first;
        continue;
      }
      // The second hop is only reached through the first; a broken first hop is the problem to fix.
      const second = hopDraft(context, association, 'target') ?? identityDraft(context, association);
      if (second !== undefined) yield second;
    }
  },
};
