// The member account's side of organization mode (README "Organization mode" "The member role"): the read-only
// role the auditor's discover and audit-target roles assume (with the external ID), holding exactly the
// collection reads of a single-mode audit, and EKS access entries mapping it to the irsa-auditor group.
// Deployable with `cdk deploy` in each account AND as a CloudFormation StackSet: no assets, no bootstrap
// version rule, nothing account-specific baked in (the auditor account and external ID are parameters).

import { Aws, CfnCondition, CfnOutput, CfnParameter, CfnRule, Fn, Stack, type StackProps } from 'aws-cdk-lib';
import { AccountPrincipal, type CfnRole, PolicyDocument, Role } from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import { AssetlessSynthesizer } from './assetless-synthesizer';
import { collectionStatements, suppressWildcardFindings } from './auditor-permissions';
import { ClusterAccess, KUBERNETES_GROUP, PROBE_RBAC_MANIFEST, RBAC_MANIFEST } from './cluster-access';
import { DISCOVER_ROLE_NAME, TARGET_AUDIT_ROLE_NAME } from './organization-functions';
import type { OrganizationSettings } from './settings';

/** The stack's parameters (StackSets and `cdk deploy --parameters` set them). */
export const MEMBER_PARAMETERS = {
  auditorAccountId: 'AuditorAccountId',
  externalId: 'ExternalId',
  createMemberRole: 'CreateMemberRole',
} as const;

/** The stack's props: the validated context (no env: the same template deploys in any account). */
export interface MemberAccountStackProps extends Omit<StackProps, 'env' | 'synthesizer'> {
  readonly settings: OrganizationSettings;
}

/** The member role (in one region of the account) and the access entries of this region's clusters. */
export class MemberAccountStack extends Stack {
  /** The role; created only where the CreateMemberRole parameter is true. */
  readonly role: Role;
  readonly clusterAccess?: ClusterAccess;

  constructor(scope: Construct, id: string, props: MemberAccountStackProps) {
    // The CLI deploys with its own credentials and the template inline, so neither `cdk deploy` nor a StackSet
    // needs a bootstrapped account, and the template has no BootstrapVersion parameter or rule (a StackSet
    // instance has no bootstrap stack to check it against).
    super(scope, id, { ...props, synthesizer: new AssetlessSynthesizer() });
    const { settings } = props;

    const auditorAccount = new CfnParameter(this, MEMBER_PARAMETERS.auditorAccountId, {
      type: 'String',
      description: `The account the organization auditor runs in (its ${DISCOVER_ROLE_NAME} and ${TARGET_AUDIT_ROLE_NAME} roles assume the member role)`,
      allowedPattern: '^\\d{12}$',
      constraintDescription: 'must be a 12-digit AWS account ID',
      ...(settings.auditorAccount === undefined ? {} : { default: settings.auditorAccount }),
    });
    const externalId = new CfnParameter(this, MEMBER_PARAMETERS.externalId, {
      type: 'String',
      description: 'The external ID the auditor presents (context externalId of the organization stack)',
      default: settings.externalId,
      minLength: 2,
      maxLength: 1224,
      allowedPattern: '^[\\w+=,.@:/-]+$',
      constraintDescription: 'must be 2 to 1224 letters, digits and +=,.@:/_-',
    });
    const createRole = new CfnParameter(this, MEMBER_PARAMETERS.createMemberRole, {
      type: 'String',
      description:
        'IAM roles are global: true in ONE region of each account, false in its other regions (access entries only)',
      allowedValues: ['true', 'false'],
      default: 'true',
    });
    const createsRole = new CfnCondition(this, 'CreatesMemberRole', {
      expression: Fn.conditionEquals(createRole.valueAsString, 'true'),
    });

    const auditorRoleArn = (name: string) =>
      `arn:${Aws.PARTITION}:iam::${auditorAccount.valueAsString}:role/${name}`;
    const statements = collectionStatements(this, { regions: settings.regions });
    this.role = new Role(this, 'MemberRole', {
      roleName: settings.memberRoleName,
      description:
        'irsa-auditor organization mode: read-only EKS and IAM reads of the audit, for the auditor account',
      // The account root as principal, narrowed to the two auditor roles by aws:PrincipalArn: a role principal
      // would make the trust policy fail to deploy before the auditor stack exists (IAM validates role
      // principals), and would break when that role is recreated.
      assumedBy: new AccountPrincipal(auditorAccount.valueAsString).withConditions({
        StringEquals: { 'sts:ExternalId': externalId.valueAsString },
        ArnEquals: {
          'aws:PrincipalArn': [auditorRoleArn(DISCOVER_ROLE_NAME), auditorRoleArn(TARGET_AUDIT_ROLE_NAME)],
        },
      }),
      inlinePolicies: {
        CollectionReads: new PolicyDocument({ statements: statements.map(({ statement }) => statement) }),
      },
    });
    (this.role.node.defaultChild as CfnRole).cfnOptions.condition = createsRole;
    suppressWildcardFindings(this.role, statements);

    // The role's ARN without referring to the role resource, which does not exist where CreateMemberRole is
    // false; where it does, the access entries wait for it (EKS rejects a principal that does not exist yet).
    const memberRoleArn = `arn:${Aws.PARTITION}:iam::${Aws.ACCOUNT_ID}:role/${settings.memberRoleName}`;
    const accessPrincipal = Role.fromRoleArn(
      this,
      'AccessEntryPrincipal',
      Fn.conditionIf(createsRole.logicalId, this.role.roleArn, memberRoleArn).toString(),
      { mutable: false },
    );
    if (settings.memberClusters.length > 0) {
      this.clusterAccess = new ClusterAccess(this, 'ClusterAccess', {
        role: accessPrincipal,
        clusters: settings.memberClusters,
      });
    } else {
      // Without access entries the role is the stack's only resource: CloudFormation rejects a stack with none,
      // so say why at deploy time instead of "the template must contain at least one resource".
      new CfnRule(this, 'RoleOrAccessEntries', {
        assertions: [
          {
            assert: Fn.conditionEquals(createRole.valueAsString, 'true'),
            assertDescription:
              'CreateMemberRole=false creates only access entries, and this template has none: synthesize it with -c memberClusters=<clusters of this region>, or deploy with CreateMemberRole=true',
          },
        ],
      });
    }

    const manifests = settings.probe
      ? `-f ${RBAC_MANIFEST} -f ${PROBE_RBAC_MANIFEST}`
      : `-f ${RBAC_MANIFEST}`;
    new CfnOutput(this, 'MemberRoleArn', {
      description:
        'The role the auditor assumes in this account and signs EKS tokens with: the principal of the access entries, or the rolearn of an aws-auth mapping',
      value: memberRoleArn,
    });
    new CfnOutput(this, 'KubernetesGroup', {
      description: `The Kubernetes group the role is mapped to; ${RBAC_MANIFEST} binds its ClusterRole to it`,
      value: KUBERNETES_GROUP,
    });
    new CfnOutput(this, 'ApplyRbacCommand', {
      description: 'Run once per cluster, from the repository root, with kubectl pointed at that cluster',
      value: `kubectl apply ${manifests}`,
    });
    new CfnOutput(this, 'ClusterAccessEntries', {
      description:
        settings.memberClusters.length === 0
          ? 'memberClusters not set: no access entries were created; create one per cluster of this region (authenticationMode API or API_AND_CONFIG_MAP), or map the role in aws-auth'
          : 'Access entries created in this region (clusters need authenticationMode API or API_AND_CONFIG_MAP)',
      value:
        settings.memberClusters.length === 0
          ? `none; per cluster: aws eks create-access-entry --cluster-name <cluster> --principal-arn ${memberRoleArn} --type STANDARD --kubernetes-groups ${KUBERNETES_GROUP}`
          : settings.memberClusters.join(','),
    });
  }
}
