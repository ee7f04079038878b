import { evaluateTrust } from '../policy/trust-policy';
import type { Check } from './check';
import { POD_IDENTITY_SERVICE } from './eks-conventions';

const REQUIRED_ACTIONS = ['sts:AssumeRole', 'sts:TagSession'];
const POD_IDENTITY_TRUST =
  '{"Effect":"Allow","Principal":{"Service":"pods.eks.amazonaws.com"},"Action":["sts:AssumeRole","sts:TagSession"]}';

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
      const resource = {
        kind: 'PodIdentityAssociation',
        namespace: association.namespace,
        name: association.associationId,
      };
      const role = context.role(association.roleArn);
      const roleName = association.roleArn.split('/').pop() ?? association.roleArn;
      if (role === undefined) {
        yield {
          resource,
          key: association.roleArn,
          message: `Pod Identity association ${association.associationId} (${association.namespace}/${association.serviceAccount}) names role ${association.roleArn}, which does not exist.`,
          evidence: {
            roleArn: association.roleArn,
            serviceAccount: `${association.namespace}/${association.serviceAccount}`,
          },
          remediation: `Create role ${roleName} with the trust statement ${POD_IDENTITY_TRUST}, or update the association with \`aws eks update-pod-identity-association --cluster-name ${context.state.cluster.name} --association-id ${association.associationId} --role-arn <arn>\`.`,
        };
        continue;
      }
      const policy = role.trustPolicy;
      const refused = REQUIRED_ACTIONS.filter((action) =>
        policy === undefined
          ? true
          : !evaluateTrust(policy, {
              principalType: 'Service',
              principal: POD_IDENTITY_SERVICE,
              action,
              context: new Map(),
            }).allowed,
      );
      if (refused.length === 0) continue;
      yield {
        resource,
        key: association.roleArn,
        message: `Role ${role.name} of Pod Identity association ${association.associationId} does not allow ${POD_IDENTITY_SERVICE} to ${refused.join(' and ')}.`,
        evidence: {
          roleArn: role.arn,
          refusedActions: refused,
          ...(role.trustPolicyError === undefined ? {} : { trustPolicyError: role.trustPolicyError }),
        },
        remediation: `Add this statement to the trust policy of role ${role.name}: ${POD_IDENTITY_TRUST}.`,
      };
    }
  },
};
