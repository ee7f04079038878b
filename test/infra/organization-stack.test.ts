// The organization stack's resources besides the state machine and IAM (README "Organization mode", brief): the step
// functions as Lambda runs them, the reports bucket's runs/ expiry, the alarms and outputs; and the member
// stack as a StackSet template: parameters, no bootstrap, the role only where CreateMemberRole is true.

import type { CfnElement } from 'aws-cdk-lib';
import { beforeAll, describe, expect, it } from 'vitest';
import { type SynthesizedOrganization, synthesizeOrganization } from '../support/cdk-asset';
import {
  type DashboardBody,
  dashboardExpressions,
  dashboardMetricRows,
  flatten,
  onlyResource,
} from './template-values';

// Each synthesis runs the whole app and cdk-nag (a few seconds on a loaded machine).
const SYNTH_TIMEOUT_MS = 60_000;

let synthesized: SynthesizedOrganization;

beforeAll(() => {
  synthesized = synthesizeOrganization();
}, SYNTH_TIMEOUT_MS);

const logicalId = (element: unknown) => synthesized.organization.getLogicalId(element as CfnElement);

describe('the step functions', () => {
  it('run Node.js 22 on arm64, the ESM handler index.handler, each from its own bundle', () => {
    // Act
    const functions = Object.values(
      synthesized.organizationTemplate.findResources('AWS::Lambda::Function'),
    ).map((resource) => (resource as { Properties: Record<string, unknown> }).Properties);

    // Assess
    expect(functions).toHaveLength(3);
    for (const fn of functions)
      expect(fn).toMatchObject({ Runtime: 'nodejs22.x', Architectures: ['arm64'], Handler: 'index.handler' });
    expect(new Set(functions.map((fn) => (fn.Code as { S3Key: string }).S3Key)).size).toBe(3);
  });

  it('have minutes to work, and each its own log group with a retention', () => {
    // Act
    const functions = synthesized.organization.functions;
    const template = synthesized.organizationTemplate;
    const properties = (element: unknown) =>
      (
        template.findResources('AWS::Lambda::Function')[logicalId(element)] as {
          Properties: Record<string, unknown>;
        }
      ).Properties;

    // Assess
    for (const step of [functions.discover, functions.auditTarget, functions.aggregate]) {
      const fn = properties(step.function.node.defaultChild);
      expect(fn.Timeout as number).toBeGreaterThanOrEqual(300);
      expect(fn.MemorySize as number).toBeGreaterThan(128);
      expect(flatten((fn.LoggingConfig as { LogGroup: unknown }).LogGroup)).toBe(
        `<${logicalId(step.logGroup.node.defaultChild)}>`,
      );
    }
  });

  it(
    'give the member role name, external ID, accounts and regions of the context to discover',
    () => {
      // Act
      const custom = synthesizeOrganization({
        context: {
          accounts: 'all',
          regions: 'eu-central-1',
          memberRoleName: 'PlatformAudit',
          externalId: 'acme-42',
        },
      });
      const discover = custom.organization.functions.discover.function;
      const variables = (
        custom.organizationTemplate.findResources('AWS::Lambda::Function')[
          custom.organization.getLogicalId(discover.node.defaultChild as CfnElement)
        ] as { Properties: { Environment: { Variables: Record<string, unknown> } } }
      ).Properties.Environment.Variables;

      // Assess
      expect(variables).toMatchObject({
        ACCOUNTS: 'all',
        REGIONS: 'eu-central-1',
        MEMBER_ROLE_NAME: 'PlatformAudit',
        EXTERNAL_ID: 'acme-42',
      });
    },
    SYNTH_TIMEOUT_MS,
  );
});

describe('the reports bucket', () => {
  it('expires runs/ after 7 days, beside the reports/ history rule of single mode', () => {
    // Act
    const buckets = synthesized.organizationTemplate.findResources('AWS::S3::Bucket');
    const reports = buckets[logicalId(synthesized.organization.reports.bucket.node.defaultChild)] as {
      Properties: { LifecycleConfiguration: { Rules: Record<string, unknown>[] } };
    };
    const rules = reports.Properties.LifecycleConfiguration.Rules;

    // Assess
    expect(rules.find((rule) => rule.Prefix === 'runs/')).toMatchObject({
      Status: 'Enabled',
      ExpirationInDays: 7,
    });
    expect(rules.find((rule) => rule.Prefix === 'reports/')).toMatchObject({ ExpirationInDays: 90 });
  });
});

describe('the alarms', () => {
  const alarms = () =>
    Object.values(synthesized.organizationTemplate.findResources('AWS::CloudWatch::Alarm')).map(
      (resource) => (resource as { Properties: Record<string, unknown> }).Properties,
    );

  it('watch critical findings and audit errors of the organization, as Aggregate publishes them', () => {
    // Act
    const auditor = alarms().filter((alarm) => alarm.Namespace === 'IrsaAuditor');

    // Assess
    expect(
      auditor.map((alarm) => ({ metric: alarm.MetricName, dimensions: alarm.Dimensions ?? [] })),
    ).toEqual(
      expect.arrayContaining([
        { metric: 'Findings', dimensions: [{ Name: 'Severity', Value: 'critical' }] },
        { metric: 'AuditErrors', dimensions: [] },
      ]),
    );
    expect(auditor).toHaveLength(2);
  });

  it('watch failed and timed-out executions of the state machine', () => {
    // Act
    const states = alarms().filter((alarm) => alarm.Namespace === 'AWS/States');
    const machineId = logicalId(synthesized.organization.run.stateMachine.node.defaultChild);

    // Assess
    expect(states.map((alarm) => alarm.MetricName).sort()).toEqual([
      'ExecutionsFailed',
      'ExecutionsTimedOut',
    ]);
    for (const alarm of states)
      expect((alarm.Dimensions as { Value: unknown }[]).map(({ Value }) => flatten(Value))).toEqual([
        `<${machineId}>`,
      ]);
  });

  it('watch the errors of each of the three functions', () => {
    // Act
    const lambda = alarms().filter((alarm) => alarm.Namespace === 'AWS/Lambda');
    const functionIds = synthesized.organization.functions.all.map(
      (fn) => `<${logicalId(fn.node.defaultChild)}>`,
    );

    // Assess
    expect(lambda.map((alarm) => alarm.MetricName)).toEqual(['Errors', 'Errors', 'Errors']);
    expect(
      lambda
        .flatMap((alarm) => (alarm.Dimensions as { Value: unknown }[]).map(({ Value }) => flatten(Value)))
        .sort(),
    ).toEqual(functionIds.sort());
  });

  it('notify the alert topic when they fire and when they clear', () => {
    // Act
    const topic = `<${logicalId(synthesized.organization.alerts.topic.node.defaultChild)}>`;

    // Assess
    expect(alarms()).toHaveLength(7);
    for (const alarm of alarms()) {
      expect((alarm.AlarmActions as unknown[]).map(flatten)).toEqual([topic]);
      expect((alarm.OKActions as unknown[]).map(flatten)).toEqual([topic]);
    }
  });
});

describe('the organization stack outputs', () => {
  it('name the topic, the bucket, the two roles the members trust and the state machine', () => {
    // Act
    const outputs = synthesized.organizationTemplate.toJSON().Outputs as Record<string, { Value: unknown }>;
    const { functions } = synthesized.organization;

    // Assess
    expect(Object.keys(outputs).sort()).toEqual(
      [
        'AlertTopicArn',
        'DiscoverRoleArn',
        'ReportsBucketName',
        'StateMachineArn',
        'TargetAuditRoleArn',
      ].sort(),
    );
    expect(flatten(outputs.DiscoverRoleArn?.Value)).toBe(
      `<${logicalId(functions.discover.role.node.defaultChild)}.Arn>`,
    );
    expect(flatten(outputs.TargetAuditRoleArn?.Value)).toBe(
      `<${logicalId(functions.auditTarget.role.node.defaultChild)}.Arn>`,
    );
  });
});

describe('the member stack', () => {
  it('has the AuditorAccountId (12 digits), ExternalId and CreateMemberRole parameters', () => {
    // Act
    const parameters = synthesized.memberTemplate.toJSON().Parameters as Record<
      string,
      Record<string, unknown>
    >;

    // Assess
    expect(Object.keys(parameters).sort()).toEqual(['AuditorAccountId', 'CreateMemberRole', 'ExternalId']);
    expect(parameters.AuditorAccountId).toMatchObject({ Type: 'String', AllowedPattern: '^\\d{12}$' });
    expect(parameters.AuditorAccountId?.Default).toBeUndefined();
    expect(parameters.ExternalId).toMatchObject({ Type: 'String', Default: 'irsa-auditor-organization' });
    expect(parameters.CreateMemberRole).toMatchObject({ AllowedValues: ['true', 'false'], Default: 'true' });
  });

  it(
    'defaults AuditorAccountId and ExternalId to the context (auditorAccount, externalId)',
    () => {
      // Act
      const custom = synthesizeOrganization({
        context: { auditorAccount: '555555555555', externalId: 'acme-42' },
      });
      const parameters = custom.memberTemplate.toJSON().Parameters as Record<string, { Default?: unknown }>;

      // Assess
      expect(parameters.AuditorAccountId?.Default).toBe('555555555555');
      expect(parameters.ExternalId?.Default).toBe('acme-42');
    },
    SYNTH_TIMEOUT_MS,
  );

  it('needs no bootstrap: no BootstrapVersion parameter or rule, no assets, no deploy role for the CLI', () => {
    // Act
    const template = synthesized.memberTemplate.toJSON() as Record<string, unknown>;
    const artifact = synthesized.app.synth().getStackArtifact(synthesized.member.artifactId);

    // Assess
    expect(Object.keys((template.Rules ?? {}) as object)).not.toContain('CheckBootstrapVersion');
    expect(Object.keys(template.Parameters as object)).not.toContain('BootstrapVersion');
    expect(artifact.assets).toEqual([]);
    expect(artifact.assumeRoleArn).toBeUndefined();
    expect(artifact.requiresBootstrapStackVersion).toBeUndefined();
    expect(artifact.environment.account).toBe('unknown-account');
  });

  it(
    'stays account-agnostic when the CLI has credentials, so the same template serves every account',
    () => {
      // Act
      const withCredentials = synthesizeOrganization({
        environment: { CDK_DEFAULT_ACCOUNT: '999999999999', CDK_DEFAULT_REGION: 'eu-west-1' },
      });
      const text = JSON.stringify(withCredentials.memberTemplate.toJSON());

      // Assess: the CLI's account only becomes the AuditorAccountId default.
      expect(text.match(/999999999999/g)).toHaveLength(1);
      expect(
        (withCredentials.memberTemplate.toJSON().Parameters as Record<string, { Default?: unknown }>)
          .AuditorAccountId?.Default,
      ).toBe('999999999999');
    },
    SYNTH_TIMEOUT_MS,
  );

  it('creates the role only where CreateMemberRole is true (IAM roles are global: one region per account)', () => {
    // Act
    const roles = Object.values(synthesized.memberTemplate.findResources('AWS::IAM::Role'));
    const conditions = synthesized.memberTemplate.toJSON().Conditions as Record<string, unknown>;

    // Assess
    expect(roles).toHaveLength(1);
    expect((roles[0] as { Condition?: string }).Condition).toBe('CreatesMemberRole');
    expect(conditions.CreatesMemberRole).toEqual({ 'Fn::Equals': [{ Ref: 'CreateMemberRole' }, 'true'] });
  });

  it('refuses CreateMemberRole=false at deploy time when the template has no access entries (no resources)', () => {
    // Act
    const rules = synthesized.memberTemplate.toJSON().Rules as Record<
      string,
      { Assertions: { Assert: unknown; AssertDescription: string }[] }
    >;
    const withClusters = synthesizeOrganization({ context: { memberClusters: 'platform-prod' } });

    // Assess: CloudFormation rejects a stack without resources; the rule says why and what to do instead
    expect(rules.RoleOrAccessEntries?.Assertions).toEqual([
      {
        Assert: { 'Fn::Equals': [{ Ref: 'CreateMemberRole' }, 'true'] },
        AssertDescription: expect.stringContaining('memberClusters'),
      },
    ]);
    expect(withClusters.memberTemplate.toJSON().Rules).toBeUndefined();
  });

  it('creates no access entry without memberClusters and says how to create one with the member role', () => {
    // Act
    const outputs = synthesized.memberTemplate.toJSON().Outputs as Record<string, { Value: unknown }>;

    // Assess
    expect(synthesized.memberTemplate.findResources('AWS::EKS::AccessEntry')).toEqual({});
    expect(flatten(outputs.ClusterAccessEntries?.Value)).toBe(
      'none; per cluster: aws eks create-access-entry --cluster-name <cluster> --principal-arn arn:<AWS::Partition>:iam::<AWS::AccountId>:role/IrsaAuditorMember --type STANDARD --kubernetes-groups irsa-auditor',
    );
    expect(flatten(outputs.MemberRoleArn?.Value)).toBe(
      'arn:<AWS::Partition>:iam::<AWS::AccountId>:role/IrsaAuditorMember',
    );
  });

  it.each([
    [false, 'kubectl apply -f deploy/rbac.yaml'],
    [true, 'kubectl apply -f deploy/rbac.yaml -f deploy/rbac-probe.yaml'],
  ])(
    'prints the RBAC command for probe=%s',
    (probe, command) => {
      // Act
      const template = probe
        ? synthesizeOrganization({ context: { probe } }).memberTemplate
        : synthesized.memberTemplate;
      const outputs = template.toJSON().Outputs as Record<string, { Value: unknown }>;

      // Assess
      expect(outputs.ApplyRbacCommand?.Value).toBe(command);
      expect(outputs.KubernetesGroup?.Value).toBe('irsa-auditor');
    },
    SYNTH_TIMEOUT_MS,
  );

  it(
    'holds nothing but the role and access entries',
    () => {
      // Act
      const custom = synthesizeOrganization({ context: { memberClusters: 'prod,staging' } });
      const types = Object.values(
        custom.memberTemplate.toJSON().Resources as Record<string, { Type: string }>,
      ).map(({ Type }) => Type);

      // Assess
      expect(types.sort()).toEqual(['AWS::EKS::AccessEntry', 'AWS::EKS::AccessEntry', 'AWS::IAM::Role']);
      expect(onlyResource(custom.memberTemplate, 'AWS::IAM::Role').RoleName).toBe('IrsaAuditorMember');
    },
    SYNTH_TIMEOUT_MS,
  );
});

describe('the organization dashboard', () => {
  let body: DashboardBody;

  beforeAll(() => {
    body = JSON.parse(
      flatten(onlyResource(synthesized.organizationTemplate, 'AWS::CloudWatch::Dashboard').DashboardBody),
    );
  });

  const metricRows = () => dashboardMetricRows(body);
  const expressions = () => dashboardExpressions(body);

  it('graphs the organization findings of every severity, and by account (accounts are only known at run time)', () => {
    // Act
    const findings = metricRows().filter((row) => row[0] === 'IrsaAuditor' && row[1] === 'Findings');

    // Assess
    expect(findings.map((row) => row[3])).toEqual(['critical', 'high', 'medium', 'low', 'info']);
    expect(expressions()).toContainEqual(
      expect.stringMatching(/SEARCH\('\{IrsaAuditor,Account,Severity\} MetricName="Findings"'/),
    );
    expect(expressions()).toContainEqual(
      expect.stringMatching(/\{IrsaAuditor,Account\} MetricName="AuditErrors"/),
    );
  });

  it('shows every alarm and the runs of the state machine', () => {
    // Act
    const alarmWidget = body.widgets.find((widget) => widget.type === 'alarm');
    const stateMachineMetrics = metricRows()
      .filter((row) => row[0] === 'AWS/States')
      .map((row) => row[1]);

    // Assess
    expect(((alarmWidget?.properties.alarms as unknown[] | undefined) ?? []).length).toBe(
      Object.keys(synthesized.organizationTemplate.findResources('AWS::CloudWatch::Alarm')).length,
    );
    expect(stateMachineMetrics).toEqual(
      expect.arrayContaining([
        'ExecutionsStarted',
        'ExecutionsSucceeded',
        'ExecutionsFailed',
        'ExecutionsTimedOut',
      ]),
    );
  });
});
