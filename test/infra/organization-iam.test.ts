// Organization mode's IAM (README "Organization mode", SPEC §8 least privilege): the steps may assume only the
// member role of the configured accounts (any account only with accounts=all), list the organization only
// with accounts=all, and touch only runs/ and reports/; only aggregate publishes. The member role is trusted
// by the auditor account only through the two named roles and the external ID, and may only read.

import type { CfnElement } from 'aws-cdk-lib';
import type { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import type { OrganizationStack } from '../../lib/organization-stack';
import { type SynthesizedOrganization, synthesizeOrganization } from '../support/cdk-asset';
import {
  flatten,
  onlyResource,
  type Statement,
  statementsAllowing,
  statementsOfRole,
} from './template-values';

// Each synthesis runs the whole app and cdk-nag (a few seconds on a loaded machine).
const SYNTH_TIMEOUT_MS = 60_000;

// The member role's reads: the collection calls of a single-mode audit (SPEC §2 sources), and nothing else.
const COLLECTION_ACTIONS = [
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
];
const STEPS = ['discover', 'auditTarget', 'aggregate'] as const;
type Step = (typeof STEPS)[number];

let listed: SynthesizedOrganization;
let everyAccount: SynthesizedOrganization;

beforeAll(() => {
  listed = synthesizeOrganization({ context: { memberClusters: 'prod' } });
  everyAccount = synthesizeOrganization({
    context: { accounts: 'all', memberRoleName: 'PlatformIrsaAudit' },
  });
}, SYNTH_TIMEOUT_MS);

function roleId(stack: OrganizationStack, step: Step): string {
  return stack.getLogicalId(stack.functions[step].role.node.defaultChild as CfnElement);
}

function stepStatements(synthesized: SynthesizedOrganization, step: Step): Statement[] {
  return statementsOfRole(synthesized.organizationTemplate, roleId(synthesized.organization, step));
}

const actionsOf = (statements: readonly Statement[]) => new Set(statements.flatMap(({ actions }) => actions));

describe('the step roles', () => {
  it('give discover and audit-target the fixed names the member roles trust, aggregate a generated one', () => {
    // Act
    const roles = listed.organizationTemplate.findResources('AWS::IAM::Role');
    const name = (step: Step) =>
      (roles[roleId(listed.organization, step)] as { Properties: { RoleName?: string } }).Properties.RoleName;

    // Assess
    expect(name('discover')).toBe('IrsaAuditorDiscover');
    expect(name('auditTarget')).toBe('IrsaAuditorTargetAudit');
    expect(name('aggregate')).toBeUndefined();
  });

  it.each(['discover', 'auditTarget'] as const)(
    'let %s assume only the member role of each configured account',
    (step) => {
      // Act
      const assumes = statementsAllowing(stepStatements(listed, step), 'sts:AssumeRole');

      // Assess
      expect(assumes.flatMap(({ resources }) => resources).sort()).toEqual([
        'arn:<AWS::Partition>:iam::111111111111:role/IrsaAuditorMember',
        'arn:<AWS::Partition>:iam::222222222222:role/IrsaAuditorMember',
      ]);
    },
  );

  it.each(['discover', 'auditTarget'] as const)(
    'let %s assume the member role name in any account only with accounts=all',
    (step) => {
      // Act
      const assumes = statementsAllowing(stepStatements(everyAccount, step), 'sts:AssumeRole');

      // Assess
      expect(assumes.flatMap(({ resources }) => resources)).toEqual([
        'arn:<AWS::Partition>:iam::*:role/PlatformIrsaAudit',
      ]);
    },
  );

  it('let nothing assume a role beyond discover and audit-target', () => {
    // Act
    const aggregate = stepStatements(everyAccount, 'aggregate');

    // Assess
    expect(statementsAllowing(aggregate, 'sts:AssumeRole')).toEqual([]);
  });

  it('let discover list the organization`s accounts with accounts=all, and no step otherwise', () => {
    // Act
    const withAll = STEPS.flatMap((step) =>
      statementsAllowing(stepStatements(everyAccount, step), 'organizations:ListAccounts'),
    );
    const withList = STEPS.flatMap((step) =>
      statementsAllowing(stepStatements(listed, step), 'organizations:ListAccounts'),
    );

    // Assess
    expect(
      statementsAllowing(stepStatements(everyAccount, 'discover'), 'organizations:ListAccounts'),
    ).toHaveLength(1);
    expect(withAll).toHaveLength(1);
    expect(withList).toEqual([]);
  });

  it('let discover list the executions of the organization state machine only, and no other step', () => {
    // Act
    const lists = STEPS.flatMap((step) =>
      statementsAllowing(stepStatements(listed, step), 'states:ListExecutions').map((statement) => ({
        step,
        statement,
      })),
    );

    // Assess: built from the fixed name (the machine's own ARN would be a circular reference)
    expect(lists.map(({ step }) => step)).toEqual(['discover']);
    expect(lists[0]?.statement.actions).toEqual(['states:ListExecutions']);
    expect(lists[0]?.statement.resources).toEqual([
      'arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:stateMachine:IrsaAuditorOrganization',
    ]);
  });

  it.each([
    ['discover', ['s3:PutObject'], ['runs/*']],
    ['auditTarget', ['s3:GetObject', 's3:PutObject'], ['reports/*', 'runs/*']],
    ['aggregate', ['s3:GetObject', 's3:PutObject'], ['reports/*', 'runs/*']],
  ] as const)('let %s use objects under runs/ and reports/ only', (step, actions, prefixes) => {
    // Act
    const statements = stepStatements(listed, step);
    const objectResources = (action: string) =>
      statementsAllowing(statements, action)
        .flatMap(({ resources }) => resources)
        .map((resource) => resource.replace(/^<Reports[0-9A-F]{8}\.Arn>\//, ''))
        .sort();

    // Assess
    for (const action of actions) expect(objectResources(action), action).toEqual([...prefixes]);
    const s3 = [...actionsOf(statements)].filter((action) => action.startsWith('s3:'));
    expect(
      s3.filter((action) => !['s3:GetObject', 's3:PutObject', 's3:ListBucket'].includes(action)),
    ).toEqual([]);
  });

  it('let only aggregate publish to the topic and put metrics, the latter in the IrsaAuditor namespace only', () => {
    // Act
    const publishers = STEPS.filter((step) => actionsOf(stepStatements(listed, step)).has('sns:Publish'));
    const metrics = STEPS.flatMap((step) =>
      statementsAllowing(stepStatements(listed, step), 'cloudwatch:PutMetricData').map((statement) => ({
        step,
        statement,
      })),
    );
    const topicId = listed.organization.getLogicalId(
      listed.organization.alerts.topic.node.defaultChild as CfnElement,
    );

    // Assess
    expect(publishers).toEqual(['aggregate']);
    expect(
      statementsAllowing(stepStatements(listed, 'aggregate'), 'sns:Publish').flatMap(
        ({ resources }) => resources,
      ),
    ).toEqual([`<${topicId}>`]);
    expect(metrics.map(({ step }) => step)).toEqual(['aggregate']);
    expect(metrics[0]?.statement.condition).toEqual({
      StringEquals: { 'cloudwatch:namespace': 'IrsaAuditor' },
    });
  });

  it.each(STEPS)('give %s no wildcard action and no IAM, EKS, Secrets Manager or SSM action', (step) => {
    // Act
    const actions = [...actionsOf(stepStatements(everyAccount, step))];

    // Assess
    expect(actions.filter((action) => action.includes('*'))).toEqual([]);
    expect(actions.filter((action) => /^(iam|eks|secretsmanager|ssm):/.test(action))).toEqual([]);
  });

  it('hands each step the environment of the contract', () => {
    // Act
    const environmentOf = (step: Step) => {
      const id = listed.organization.getLogicalId(
        listed.organization.functions[step].function.node.defaultChild as CfnElement,
      );
      const fn = listed.organizationTemplate.findResources('AWS::Lambda::Function')[id] as {
        Properties: { Environment: { Variables: Record<string, unknown> } };
      };
      return Object.keys(fn.Properties.Environment.Variables).sort();
    };
    const common = ['EXTERNAL_ID', 'MEMBER_ROLE_NAME', 'REPORTS_BUCKET', 'REPORTS_KMS_KEY_ID'];

    // Assess
    expect(environmentOf('discover')).toEqual([...common, 'ACCOUNTS', 'REGIONS'].sort());
    expect(environmentOf('auditTarget')).toEqual([...common, 'ALERT_SEVERITY', 'PROBE'].sort());
    expect(environmentOf('aggregate')).toEqual([...common, 'ALERT_SEVERITY', 'TOPIC_ARN'].sort());
  });
});

describe('the member role', () => {
  let member: Template;
  let role: Record<string, unknown>;
  let statements: Statement[];

  beforeAll(() => {
    member = listed.memberTemplate;
    role = onlyResource(member, 'AWS::IAM::Role');
    const [id = ''] = Object.keys(member.findResources('AWS::IAM::Role'));
    statements = statementsOfRole(member, id);
  });

  it('is named memberRoleName, without a path (access entries and aws-auth need none)', () => {
    // Assess
    expect(role.RoleName).toBe('IrsaAuditorMember');
    expect(role.Path).toBeUndefined();
    expect(onlyResource(everyAccount.memberTemplate, 'AWS::IAM::Role').RoleName).toBe('PlatformIrsaAudit');
  });

  it('trusts only the auditor account, through the two auditor roles, with the external ID', () => {
    // Act
    const trust = role.AssumeRolePolicyDocument as { Statement: Record<string, unknown>[] };
    const [statement, ...others] = trust.Statement;
    const condition = statement?.Condition as Record<string, Record<string, unknown>>;

    // Assess
    expect(others).toEqual([]);
    expect(statement?.Effect).toBe('Allow');
    expect(statement?.Action).toBe('sts:AssumeRole');
    expect(flatten((statement?.Principal as { AWS?: unknown } | undefined)?.AWS)).toBe(
      'arn:<AWS::Partition>:iam::<AuditorAccountId>:root',
    );
    expect(Object.keys(statement?.Principal as object)).toEqual(['AWS']);
    expect(Object.keys(condition).sort()).toEqual(['ArnEquals', 'StringEquals']);
    expect(condition.StringEquals).toEqual({ 'sts:ExternalId': { Ref: 'ExternalId' } });
    expect(((condition.ArnEquals?.['aws:PrincipalArn'] ?? []) as unknown[]).map(flatten)).toEqual([
      'arn:<AWS::Partition>:iam::<AuditorAccountId>:role/IrsaAuditorDiscover',
      'arn:<AWS::Partition>:iam::<AuditorAccountId>:role/IrsaAuditorTargetAudit',
    ]);
  });

  it('may make exactly the collection reads of an audit, and nothing else', () => {
    // Assess
    expect([...actionsOf(statements)].sort()).toEqual([...COLLECTION_ACTIONS].sort());
    expect(statements.every((statement) => statement.effect === 'Allow')).toBe(true);
  });

  it('may not create, put, delete, update, attach, tag or pass anything, nor read secrets', () => {
    // Act
    const actions = [...actionsOf(statements)];

    // Assess
    expect(
      actions.filter((action) =>
        /:(Create|Put|Delete|Update|Attach|Detach|Tag|Untag|Pass|Associate)/.test(action),
      ),
    ).toEqual([]);
    expect(actions.filter((action) => /^(secretsmanager|ssm|kms|s3|sts):|\*/.test(action))).toEqual([]);
  });

  it('reads EKS only in the configured regions of its own account, and IAM only of its own account', () => {
    // Act
    const resources = statements.flatMap(({ resources }) => resources);
    // AWS managed policies live in the pseudo-account "aws": public documents, attached to the account's roles.
    const awsManaged = resources.filter((resource) => resource.includes(':iam::aws:'));
    const scoped = resources.filter((resource) => resource !== '*' && !awsManaged.includes(resource));

    // Assess
    for (const resource of scoped)
      expect(resource).toMatch(
        /^arn:<AWS::Partition>:(eks:(eu-west-1|us-east-1)|iam:):<AWS::AccountId>:(cluster|podidentityassociation|addon|role|oidc-provider|instance-profile|policy)\//,
      );
    expect(awsManaged).toEqual(['arn:<AWS::Partition>:iam::aws:policy/*']);
    expect(scoped.filter((resource) => resource.includes(':eks:eu-west-1:')).length).toBeGreaterThan(0);
    expect(scoped.filter((resource) => resource.includes(':eks:us-east-1:')).length).toBeGreaterThan(0);
    // "*" only for the list calls that have no resource type.
    expect(
      statements
        .filter(({ resources }) => resources.includes('*'))
        .flatMap(({ actions }) => actions)
        .sort(),
    ).toEqual([
      'ec2:DescribeInstances',
      'eks:ListClusters',
      'iam:GetAccountSummary',
      'iam:ListOpenIDConnectProviders',
      'iam:ListRoles',
    ]);
  });

  it('maps the member role (not the auditor`s) to the irsa-auditor group on each memberClusters cluster', () => {
    // Act
    const entries = Object.values(member.findResources('AWS::EKS::AccessEntry')).map(
      (entry) => (entry as { Properties: Record<string, unknown> }).Properties,
    );

    // Assess
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      ClusterName: 'prod',
      Type: 'STANDARD',
      KubernetesGroups: ['irsa-auditor'],
    });
    expect(entries[0]?.AccessPolicies).toBeUndefined();
    const [condition, whenCreated, otherwise] =
      (entries[0]?.PrincipalArn as { 'Fn::If'?: unknown[] } | undefined)?.['Fn::If'] ?? [];
    const [roleLogicalId] = Object.keys(member.findResources('AWS::IAM::Role'));
    // The role where this stack creates it; the same ARN, built, in the account's other regions.
    expect(condition).toBe('CreatesMemberRole');
    expect(flatten(whenCreated)).toBe(`<${roleLogicalId}.Arn>`);
    expect(flatten(otherwise)).toBe('arn:<AWS::Partition>:iam::<AWS::AccountId>:role/IrsaAuditorMember');
  });
});
