// The function's IAM permissions: exactly the calls lambda/ makes (SPEC §8: no iam:*, no eks:*, resources
// scoped wherever the API allows). A statement that cannot be scoped says why, and that text becomes the
// reason of the cdk-nag suppression of exactly its finding.

import { Stack } from 'aws-cdk-lib';
import { Effect, PolicyStatement, type Role } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { ILogGroup } from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { NagSuppressions } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { METRIC_NAMESPACE } from '../lambda/sinks/metrics';
import { REPORTS_PREFIX, RUNS_PREFIX } from './reports-bucket';
import type { VpcSettings } from './settings';

/** What the function reads and writes. */
export interface AuditedResources {
  /** The audited clusters; undefined: every cluster of the region. */
  readonly clusters?: readonly string[];
  readonly topic: ITopic;
  readonly bucket: IBucket;
  readonly key: IKey;
  readonly logGroup: ILogGroup;
  readonly vpc?: VpcSettings;
  /** The event bus the finding events go to. */
  readonly eventBus?: string;
  /** Whether findings are imported into Security Hub. */
  readonly securityHub?: boolean;
}

/** A statement and, when a Resource has a wildcard, why it cannot be narrower. */
export interface ExplainedStatement {
  readonly statement: PolicyStatement;
  /** Why the wildcard in `Resource` is needed; required when a resource contains `*`. */
  readonly wildcardReason?: string;
}

/** Where the collection reads (EKS and IAM) apply. */
export interface CollectionScope {
  /** The audited clusters; undefined: every cluster of the account in each region. */
  readonly clusters?: readonly string[];
  /** The regions of the EKS ARNs; undefined: the stack's own region. */
  readonly regions?: readonly string[];
}

/** An Allow statement with a Sid, its actions and resources, and an optional condition block. */
export function allowStatement(
  sid: string,
  actions: string[],
  arns: string[],
  conditions?: Record<string, Record<string, unknown>>,
): PolicyStatement {
  return new PolicyStatement({
    sid,
    effect: Effect.ALLOW,
    actions,
    resources: arns,
    ...(conditions === undefined ? {} : { conditions }),
  });
}

/**
 * The reads collectCluster makes (lambda/sources/aws, live/collect-cluster.ts), of the account the stack is
 * deployed in: the single-account function's, and exactly the member role's in organization mode.
 */
export function collectionStatements(stack: Stack, scope: CollectionScope = {}): ExplainedStatement[] {
  const regions = scope.regions ?? [stack.region];
  const clusterArns = (name: string) =>
    regions.map((region) =>
      stack.formatArn({ service: 'eks', region, resource: 'cluster', resourceName: name }),
    );
  const associationArns = (cluster: string) =>
    regions.map((region) =>
      stack.formatArn({
        service: 'eks',
        region,
        resource: 'podidentityassociation',
        resourceName: `${cluster}/*`,
      }),
    );
  // DescribeAddon of the one add-on the audit reads (IRSA-C05): addon/<cluster>/<add-on>/<id>.
  const agentAddonArns = (cluster: string) =>
    regions.map((region) =>
      stack.formatArn({
        service: 'eks',
        region,
        resource: 'addon',
        resourceName: `${cluster}/eks-pod-identity-agent/*`,
      }),
    );
  const iamArn = (resource: string) =>
    stack.formatArn({ service: 'iam', region: '', resource, resourceName: '*' });

  const statements: ExplainedStatement[] = [
    {
      statement: allowStatement(
        'ListWithoutResourceLevelPermissions',
        [
          'eks:ListClusters',
          'iam:ListOpenIDConnectProviders',
          'iam:ListRoles',
          'iam:GetAccountSummary',
          'ec2:DescribeInstances',
        ],
        ['*'],
      ),
      wildcardReason:
        'eks:ListClusters, iam:ListOpenIDConnectProviders, iam:ListRoles, iam:GetAccountSummary (the trust policy size quota, IRSA-S14) and ec2:DescribeInstances (the nodes\' metadata options, IRSA-P01 and IRSA-P09) have no resource-level permissions (the Service Authorization Reference lists no resource type for them), so "*" is the only valid Resource',
    },
    {
      // IRSA-A01 compares the OIDC providers with the issuers of every cluster of the account, so every
      // cluster is described even when only some are audited; names are not known at synth.
      statement: allowStatement('DescribeEveryClusterOfTheRegion', ['eks:DescribeCluster'], clusterArns('*')),
      wildcardReason:
        'eks:DescribeCluster on every cluster of this account and region: the stale-OIDC-provider check (IRSA-A01) needs the issuer of each cluster, including clusters that are not audited, whose names are only known at run time',
    },
  ];

  if (scope.clusters === undefined) {
    statements.push(
      {
        statement: allowStatement(
          'ListPodIdentityAssociationsOfEveryCluster',
          ['eks:ListPodIdentityAssociations'],
          clusterArns('*'),
        ),
        wildcardReason:
          'clusters=all: the audited clusters are whatever ListClusters returns at run time, so every cluster of this account and region',
      },
      {
        statement: allowStatement(
          'ReadPodIdentityAssociationsOfEveryCluster',
          ['eks:DescribePodIdentityAssociation'],
          associationArns('*'),
        ),
        wildcardReason:
          'clusters=all: associations of every cluster of this account and region; cluster names and association IDs are only known at run time',
      },
      {
        statement: allowStatement(
          'ReadPodIdentityAgentAddonOfEveryCluster',
          ['eks:DescribeAddon'],
          agentAddonArns('*'),
        ),
        wildcardReason:
          'clusters=all: the eks-pod-identity-agent add-on of every cluster of this account and region (IRSA-C05); cluster names and add-on IDs are only known at run time',
      },
    );
  } else {
    statements.push(
      {
        statement: allowStatement(
          'ListPodIdentityAssociationsOfAuditedClusters',
          ['eks:ListPodIdentityAssociations'],
          scope.clusters.flatMap(clusterArns),
        ),
      },
      {
        statement: allowStatement(
          'ReadPodIdentityAssociationsOfAuditedClusters',
          ['eks:DescribePodIdentityAssociation'],
          scope.clusters.flatMap(associationArns),
        ),
        wildcardReason:
          'association IDs are generated by EKS when an association is created; the ARNs are limited to the audited clusters',
      },
      {
        statement: allowStatement(
          'ReadPodIdentityAgentAddonOfAuditedClusters',
          ['eks:DescribeAddon'],
          scope.clusters.flatMap(agentAddonArns),
        ),
        wildcardReason:
          'add-on IDs are generated by EKS when the add-on is created; the ARNs name the eks-pod-identity-agent add-on of the audited clusters only',
      },
    );
  }

  statements.push(
    {
      statement: allowStatement(
        'ReadOidcProviders',
        ['iam:GetOpenIDConnectProvider'],
        [iamArn('oidc-provider')],
      ),
      wildcardReason:
        'the audit reads every OIDC provider ListOpenIDConnectProviders returns (to match them with cluster issuers); their URLs are only known at run time; limited to this account',
    },
    {
      statement: allowStatement('ReadRoles', ['iam:GetRole'], [iamArn('role')]),
      wildcardReason:
        'ServiceAccount annotations and pod identity associations may name any role of the account; names are only known at run time; limited to this account',
    },
    {
      // IRSA-S13: may an association's role assume its target role? Read only for associations with a target.
      statement: allowStatement(
        'ReadPermissionsOfAssociationRoles',
        ['iam:ListRolePolicies', 'iam:GetRolePolicy', 'iam:ListAttachedRolePolicies'],
        [iamArn('role')],
      ),
      wildcardReason:
        'the roles of pod identity associations that chain to a target role, whose names are only known at run time; limited to this account',
    },
    {
      statement: allowStatement(
        'ReadManagedPoliciesOfAssociationRoles',
        ['iam:GetPolicy', 'iam:GetPolicyVersion'],
        [iamArn('policy'), `arn:${stack.partition}:iam::aws:policy/*`],
      ),
      wildcardReason:
        "the managed policies attached to those roles, the account's own or AWS managed ones, whose names are only known at run time",
    },
    {
      statement: allowStatement(
        'ReadNodeInstanceProfiles',
        ['iam:GetInstanceProfile'],
        [iamArn('instance-profile')],
      ),
      wildcardReason:
        'the nodes DescribeInstances returns may use any instance profile of the account; names are only known at run time; limited to this account',
    },
  );
  return statements;
}

/** Builds the statements for these resources; a stack adds them with `addAuditorPermissions`. */
export function auditorStatements(stack: Stack, resources: AuditedResources): ExplainedStatement[] {
  const statements: ExplainedStatement[] = [
    ...collectionStatements(stack, resources.clusters === undefined ? {} : { clusters: resources.clusters }),
    {
      statement: allowStatement('PublishMetricsInTheAuditorNamespace', ['cloudwatch:PutMetricData'], ['*'], {
        StringEquals: { 'cloudwatch:namespace': METRIC_NAMESPACE },
      }),
      wildcardReason: `cloudwatch:PutMetricData has no resource-level permissions ("*" only); the cloudwatch:namespace condition limits it to ${METRIC_NAMESPACE}`,
    },
    {
      statement: allowStatement(
        'ReadAndWriteReports',
        ['s3:GetObject', 's3:PutObject'],
        [resources.bucket.arnForObjects(`${REPORTS_PREFIX}*`)],
      ),
      wildcardReason: `report keys hold the account, region, cluster and run time; limited to ${REPORTS_PREFIX} in the reports bucket`,
    },
    {
      statement: allowStatement(
        'ReadAndWriteRunMarkers',
        ['s3:GetObject', 's3:PutObject'],
        [resources.bucket.arnForObjects(`${RUNS_PREFIX}*`)],
      ),
      wildcardReason: `the metrics marker runs/<runId>/metrics.json is keyed by the run ID, known only at run time; limited to ${RUNS_PREFIX} in the reports bucket, which expires`,
    },
    {
      // Without ListBucket, S3 answers 403 instead of 404 for the first run's missing latest.json.
      statement: allowStatement('ListReports', ['s3:ListBucket'], [resources.bucket.bucketArn]),
    },
    { statement: allowStatement('PublishAlerts', ['sns:Publish'], [resources.topic.topicArn]) },
    {
      // SNS (encrypted topic) and S3 (SSE-KMS reports) use the key on the function's behalf.
      statement: allowStatement(
        'UseTheAuditorKeyThroughSnsAndS3',
        ['kms:Decrypt', 'kms:GenerateDataKey'],
        [resources.key.keyArn],
        {
          StringEquals: {
            'kms:ViaService': [`sns.${stack.region}.amazonaws.com`, `s3.${stack.region}.amazonaws.com`],
          },
        },
      ),
    },
    {
      // The log group's ARN attribute ends in ":*", which covers its log streams.
      statement: allowStatement(
        'WriteLogs',
        ['logs:CreateLogStream', 'logs:PutLogEvents'],
        [resources.logGroup.logGroupArn],
      ),
    },
  ];

  if (resources.eventBus !== undefined)
    statements.push({
      statement: allowStatement(
        'PutFindingEvents',
        ['events:PutEvents'],
        [stack.formatArn({ service: 'events', resource: 'event-bus', resourceName: resources.eventBus })],
      ),
    });
  if (resources.securityHub === true)
    statements.push({
      // The account's own product: findings it imports itself (ASFF ProductArn product/<account>/default).
      statement: allowStatement(
        'ImportFindingsIntoSecurityHub',
        ['securityhub:BatchImportFindings'],
        [
          stack.formatArn({
            service: 'securityhub',
            resource: 'product',
            resourceName: `${stack.account}/default`,
          }),
        ],
      ),
    });

  if (resources.vpc !== undefined) {
    const ec2Arn = (resource: string, name: string) =>
      stack.formatArn({ service: 'ec2', resource, resourceName: name });
    statements.push(
      {
        statement: allowStatement(
          'DescribeNetworkInterfaces',
          ['ec2:DescribeNetworkInterfaces', 'ec2:DescribeSubnets'],
          ['*'],
        ),
        wildcardReason:
          'ec2:DescribeNetworkInterfaces and ec2:DescribeSubnets have no resource-level permissions ("*" only); Lambda uses them to manage the function\'s network interfaces',
      },
      {
        statement: allowStatement(
          'CreateNetworkInterfacesInTheConfiguredSubnets',
          ['ec2:CreateNetworkInterface'],
          [
            ec2Arn('network-interface', '*'),
            ...resources.vpc.subnetIds.map((id) => ec2Arn('subnet', id)),
            ...resources.vpc.securityGroupIds.map((id) => ec2Arn('security-group', id)),
          ],
        ),
        wildcardReason:
          "Lambda creates the function's network interfaces; their IDs do not exist before; the subnets and security groups are the configured ones",
      },
      {
        statement: allowStatement(
          'ManageTheFunctionNetworkInterfaces',
          ['ec2:DeleteNetworkInterface', 'ec2:AssignPrivateIpAddresses', 'ec2:UnassignPrivateIpAddresses'],
          [ec2Arn('network-interface', '*')],
        ),
        wildcardReason:
          'network interface IDs are created by Lambda at run time; limited to network interfaces of this account and region',
      },
    );
  }
  return statements;
}

/** Adds the statements to the function's role and suppresses each wildcard finding with its reason. */
export function addAuditorPermissions(role: Role, resources: AuditedResources): void {
  addExplainedStatements(role, auditorStatements(Stack.of(role), resources));
}

/** Adds explained statements to a role's policy and suppresses each wildcard finding with its reason. */
export function addExplainedStatements(role: Role, statements: readonly ExplainedStatement[]): void {
  for (const { statement } of statements) role.addToPrincipalPolicy(statement);
  suppressWildcardFindings(role, statements);
}

/**
 * Suppresses cdk-nag's IAM5 finding of each wildcard resource of `statements` on `scope` (and its children)
 * with that statement's reason, and nothing else; throws when a wildcard has no reason.
 */
export function suppressWildcardFindings(scope: IConstruct, statements: readonly ExplainedStatement[]): void {
  const stack = Stack.of(scope);
  // cdk-nag reports one IAM5 finding per distinct wildcard resource: "Resource::<the resource as printed>".
  const reasons = new Map<string, string[]>();
  for (const { statement, wildcardReason } of statements) {
    for (const resource of statement.resources.filter((candidate) => candidate.includes('*'))) {
      if (wildcardReason === undefined)
        throw new Error(`statement ${statement.sid} has a wildcard resource and no reason for it`);
      const pattern = findingPattern(stack, resource);
      reasons.set(pattern, [...(reasons.get(pattern) ?? []), wildcardReason]);
    }
  }
  NagSuppressions.addResourceSuppressions(
    scope,
    [...reasons].map(([pattern, why]) => ({
      id: 'AwsSolutions-IAM5',
      reason: [...new Set(why)].join('; '),
      appliesTo: [pattern === 'Resource::*' ? pattern : { regex: pattern }],
    })),
    true,
  );
}

// The IAM5 finding of one resource: "Resource::*" literally, or a regular expression that matches the resource
// as cdk-nag prints it, each token (Ref, Fn::GetAtt) shown as "<...>" (e.g. "arn:<AWS::Partition>:eks:...").
function findingPattern(stack: Stack, resource: string): string {
  if (resource === '*') return 'Resource::*';
  const body = piecesOf(stack.resolve(resource))
    .map((piece) => (piece === undefined ? '<[^>]+>' : escapeRegExp(piece)))
    .join('');
  return `/^Resource::${body}$/`;
}

// The literal text of a resolved value, undefined for each token in it.
function piecesOf(value: unknown): (string | undefined)[] {
  if (typeof value === 'string') return [value];
  if (typeof value === 'object' && value !== null && 'Fn::Join' in value) {
    const [delimiter, parts] = (value as { 'Fn::Join': [string, unknown[]] })['Fn::Join'];
    return parts.flatMap((part, index) => [...(index === 0 ? [] : [delimiter]), ...piecesOf(part)]);
  }
  return [undefined];
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
