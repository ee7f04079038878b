// The function's IAM permissions (SPEC §8 least privilege): exactly the AWS calls lambda/ makes, no wildcard
// actions, and "*" only for the actions the Service Authorization Reference gives no resource type. The
// calls are those of the brief (SPEC §7 sinks, §2 sources); STS GetCallerIdentity needs no permission ("No
// permissions are required to perform this operation", STS API reference), so none is granted.

import type { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { synthesizeAuditor } from '../support/cdk-asset';
import { iamStatements, type Statement, statementsAllowing } from './template-values';

// Each synthesis runs the whole app and cdk-nag (about a second or two each; more on a loaded machine).
const SYNTH_TIMEOUT_MS = 60_000;

// Every action the function needs, with what IAM allows as its Resource.
const AUDIT_ACTIONS = [
  'eks:ListClusters',
  'eks:DescribeCluster',
  'eks:ListPodIdentityAssociations',
  'eks:DescribePodIdentityAssociation',
  'eks:DescribeAddon',
  'iam:ListOpenIDConnectProviders',
  'iam:GetOpenIDConnectProvider',
  'iam:GetRole',
  'iam:ListRoles',
  'iam:GetAccountSummary',
  'iam:GetInstanceProfile',
  'iam:ListRolePolicies',
  'iam:GetRolePolicy',
  'iam:ListAttachedRolePolicies',
  'iam:GetPolicy',
  'iam:GetPolicyVersion',
  'ec2:DescribeInstances',
  's3:GetObject',
  's3:PutObject',
  's3:ListBucket',
  'sns:Publish',
  'cloudwatch:PutMetricData',
  'kms:Decrypt',
  'kms:GenerateDataKey',
  'logs:CreateLogStream',
  'logs:PutLogEvents',
  // The asynchronous invocation's dead-letter queue: Lambda sends as the function's role.
  'sqs:SendMessage',
];
// Lambda manages a VPC function's network interfaces with its role (Lambda developer guide, "Giving Lambda
// functions access to resources in an Amazon VPC").
const VPC_ACTIONS = [
  'ec2:CreateNetworkInterface',
  'ec2:DescribeNetworkInterfaces',
  'ec2:DescribeSubnets',
  'ec2:DeleteNetworkInterface',
  'ec2:AssignPrivateIpAddresses',
  'ec2:UnassignPrivateIpAddresses',
];
// Actions without resource-level permissions (no resource type in the Service Authorization Reference).
const STAR_ONLY = new Set([
  'eks:ListClusters',
  'iam:ListOpenIDConnectProviders',
  'iam:ListRoles',
  'iam:GetAccountSummary',
  'ec2:DescribeInstances',
  'cloudwatch:PutMetricData',
  'ec2:DescribeNetworkInterfaces',
  'ec2:DescribeSubnets',
]);

const ARN = {
  cluster: (name: string) => `arn:<AWS::Partition>:eks:<AWS::Region>:<AWS::AccountId>:cluster/${name}`,
  association: (cluster: string) =>
    `arn:<AWS::Partition>:eks:<AWS::Region>:<AWS::AccountId>:podidentityassociation/${cluster}/*`,
};

let defaults: Template;
let configured: Template;
let defaultStatements: Statement[];
let configuredStatements: Statement[];
let sinkStatements: Statement[];
let sinkTemplate: Template;

beforeAll(() => {
  defaults = synthesizeAuditor().template;
  configured = synthesizeAuditor({
    context: {
      clusters: 'prod,staging',
      vpcId: 'vpc-0123456789abcdef0',
      subnetIds: 'subnet-0123456789abcdef0',
      securityGroupIds: 'sg-0123456789abcdef0',
    },
  }).template;
  defaultStatements = iamStatements(defaults);
  configuredStatements = iamStatements(configured);
  sinkTemplate = synthesizeAuditor({
    context: { eventBus: 'platform-findings', securityHub: 'true' },
  }).template;
  sinkStatements = iamStatements(sinkTemplate);
}, SYNTH_TIMEOUT_MS);

const allowed = (statements: readonly Statement[]) =>
  new Set(
    statements.filter((statement) => statement.effect === 'Allow').flatMap((statement) => statement.actions),
  );

/** The single resource list of the statements allowing `action`. */
function resourcesOf(statements: readonly Statement[], action: string): string[] {
  return statementsAllowing(statements, action).flatMap((statement) => statement.resources);
}

describe('the finding sinks (context eventBus and securityHub)', () => {
  it("add exactly events:PutEvents on that bus and securityhub:BatchImportFindings on the account's own product", () => {
    // Assess
    expect([...allowed(sinkStatements)].sort()).toEqual(
      [...AUDIT_ACTIONS, 'events:PutEvents', 'securityhub:BatchImportFindings'].sort(),
    );
    expect(resourcesOf(sinkStatements, 'events:PutEvents')).toEqual([
      'arn:<AWS::Partition>:events:<AWS::Region>:<AWS::AccountId>:event-bus/platform-findings',
    ]);
    expect(resourcesOf(sinkStatements, 'securityhub:BatchImportFindings')).toEqual([
      'arn:<AWS::Partition>:securityhub:<AWS::Region>:<AWS::AccountId>:product/<AWS::AccountId>/default',
    ]);
  });

  it('are off without the context: no statement and no environment variable', () => {
    // Act
    const functions = defaults.findResources('AWS::Lambda::Function');
    const variables = Object.values(functions).flatMap((resource) =>
      Object.keys(
        (resource as { Properties?: { Environment?: { Variables?: object } } }).Properties?.Environment
          ?.Variables ?? {},
      ),
    );

    // Assess
    expect(allowed(defaultStatements).has('events:PutEvents')).toBe(false);
    expect(allowed(defaultStatements).has('securityhub:BatchImportFindings')).toBe(false);
    expect(variables).not.toContain('EVENT_BUS_NAME');
    expect(variables).not.toContain('SECURITY_HUB');
    const configuredFunctions = sinkTemplate.findResources('AWS::Lambda::Function');
    expect(JSON.stringify(configuredFunctions)).toContain('"EVENT_BUS_NAME":"platform-findings"');
    expect(JSON.stringify(configuredFunctions)).toContain('"SECURITY_HUB":"true"');
  });
});

describe('the function role', () => {
  it.each([
    ['every cluster', () => defaultStatements, AUDIT_ACTIONS],
    ['configured clusters in a VPC', () => configuredStatements, [...AUDIT_ACTIONS, ...VPC_ACTIONS]],
  ])('allows exactly the actions the function calls (%s)', (_config, statements, expected) => {
    // Assess
    expect([...allowed(statements())].sort()).toEqual([...expected].sort());
  });

  it.each([
    ['every cluster', () => defaultStatements],
    ['configured clusters in a VPC', () => configuredStatements],
  ])('names every action, with no wildcard, no iam:* and no eks:* (%s)', (_config, statements) => {
    // Act
    const actions = statements().flatMap((statement) => statement.actions);

    // Assess
    expect(actions.length).toBeGreaterThan(0);
    for (const action of actions) expect(action).toMatch(/^[a-z0-9-]+:[A-Za-z0-9]+$/);
  });

  it.each([
    ['every cluster', () => defaultStatements],
    ['configured clusters in a VPC', () => configuredStatements],
  ])('grants "*" only to actions that have no resource-level permissions (%s)', (_config, statements) => {
    // Act
    const starred = statements().filter((statement) => statement.resources.includes('*'));

    // Assess
    for (const statement of starred) {
      expect(statement.resources).toEqual(['*']);
      for (const action of statement.actions) expect(STAR_ONLY, action).toContain(action);
    }
  });

  it('limits PutMetricData to the IrsaAuditor namespace', () => {
    // Act
    const [statement, ...others] = statementsAllowing(defaultStatements, 'cloudwatch:PutMetricData');

    // Assess
    expect(others).toEqual([]);
    expect(statement?.condition).toEqual({ StringEquals: { 'cloudwatch:namespace': 'IrsaAuditor' } });
  });

  it('lists the pod identity associations of the configured clusters only', () => {
    // Assess
    expect(resourcesOf(configuredStatements, 'eks:ListPodIdentityAssociations')).toEqual([
      ARN.cluster('prod'),
      ARN.cluster('staging'),
    ]);
    expect(resourcesOf(configuredStatements, 'eks:DescribePodIdentityAssociation')).toEqual([
      ARN.association('prod'),
      ARN.association('staging'),
    ]);
  });

  it('reads the pod identity associations of every cluster of the region when every cluster is audited', () => {
    // Assess
    expect(resourcesOf(defaultStatements, 'eks:ListPodIdentityAssociations')).toEqual([ARN.cluster('*')]);
    expect(resourcesOf(defaultStatements, 'eks:DescribePodIdentityAssociation')).toEqual([
      ARN.association('*'),
    ]);
  });

  it.each([
    ['every cluster', () => defaultStatements],
    ['configured clusters', () => configuredStatements],
  ])('describes the clusters of its own account and region only (%s)', (_config, statements) => {
    // Assess: IRSA-A01 compares the OIDC providers with every cluster's issuer, audited or not.
    expect(resourcesOf(statements(), 'eks:DescribeCluster')).toEqual([ARN.cluster('*')]);
  });

  it('reads roles and OIDC providers of its own account only', () => {
    // Assess
    expect(resourcesOf(defaultStatements, 'iam:GetRole')).toEqual([
      'arn:<AWS::Partition>:iam::<AWS::AccountId>:role/*',
    ]);
    expect(resourcesOf(defaultStatements, 'iam:GetOpenIDConnectProvider')).toEqual([
      'arn:<AWS::Partition>:iam::<AWS::AccountId>:oidc-provider/*',
    ]);
  });

  it('reads and writes objects under reports/ and runs/ (the metrics marker) of the reports bucket, and lists that bucket (404, not 403)', () => {
    // Prepare
    const [bucket] = Object.keys(
      defaults.findResources('AWS::S3::Bucket', {
        Properties: { VersioningConfiguration: { Status: 'Enabled' } },
      }),
    );

    // Assess
    for (const action of ['s3:GetObject', 's3:PutObject'])
      expect(resourcesOf(defaultStatements, action)).toEqual([
        `<${bucket}.Arn>/reports/*`,
        `<${bucket}.Arn>/runs/*`,
      ]);
    expect(resourcesOf(defaultStatements, 's3:ListBucket')).toEqual([`<${bucket}.Arn>`]);
  });

  it('publishes to its topic only, and uses its key only through SNS and S3', () => {
    // Prepare
    const [topic] = Object.keys(defaults.findResources('AWS::SNS::Topic'));
    const [key] = Object.keys(defaults.findResources('AWS::KMS::Key'));

    // Act
    const kms = statementsAllowing(defaultStatements, 'kms:Decrypt');

    // Assess
    expect(resourcesOf(defaultStatements, 'sns:Publish')).toEqual([`<${topic}>`]);
    expect(kms).toHaveLength(1);
    expect(kms[0]?.resources).toEqual([`<${key}.Arn>`]);
    expect(kms[0]?.actions).toEqual(expect.arrayContaining(['kms:GenerateDataKey']));
    expect(Object.keys(kms[0]?.condition?.StringEquals ?? {})).toEqual(['kms:ViaService']);
  });

  it('writes its own log group only', () => {
    // Prepare
    const [logGroup] = Object.keys(defaults.findResources('AWS::Logs::LogGroup'));

    // Assess
    for (const action of ['logs:CreateLogStream', 'logs:PutLogEvents'])
      expect(resourcesOf(defaultStatements, action)).toEqual([`<${logGroup}.Arn>`]);
  });

  it('manages network interfaces only in the configured subnets and security groups of its region', () => {
    // Prepare
    const ec2 = (resource: string) => `arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:${resource}`;

    // Assess
    expect(resourcesOf(configuredStatements, 'ec2:CreateNetworkInterface').sort()).toEqual(
      [
        ec2('network-interface/*'),
        ec2('subnet/subnet-0123456789abcdef0'),
        ec2('security-group/sg-0123456789abcdef0'),
      ].sort(),
    );
    for (const action of [
      'ec2:DeleteNetworkInterface',
      'ec2:AssignPrivateIpAddresses',
      'ec2:UnassignPrivateIpAddresses',
    ])
      expect(resourcesOf(configuredStatements, action)).toEqual([ec2('network-interface/*')]);
  });

  it('is granted nothing on Secrets Manager, STS or IAM writes', () => {
    // Act
    const actions = [...allowed(defaultStatements)];

    // Assess
    expect(actions.filter((action) => /^(secretsmanager|sts):/.test(action))).toEqual([]);
    expect(actions.filter((action) => action.startsWith('iam:') && !/^iam:(Get|List)/.test(action))).toEqual(
      [],
    );
  });
});
