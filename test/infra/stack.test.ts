// The synthesized template (SPEC §8), resource by resource: the function (Node.js 22, arm64, one run at a
// time, the environment lambda/pipeline/config.ts reads), the schedule, the KMS-encrypted TLS-only topic, the reports
// bucket, the dead-letter queue, the alarms, the dashboard and the EKS access entries. Expected values are
// AWS's and the specification's (metric names of §7, CloudFormation property values), not the stack's code.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../lambda/pipeline/config';
import { PROJECT_ROOT, synthesizeAuditor } from '../support/cdk-asset';
import {
  type DashboardBody,
  dashboardExpressions,
  dashboardMetricRows,
  flatten,
  onlyResource,
} from './template-values';

// Each synthesis runs the whole app and cdk-nag (about a second or two each; more on a loaded machine).
const SYNTH_TIMEOUT_MS = 60_000;

const CONFIGURED = {
  schedule: 'rate(15 minutes)',
  clusters: 'prod,staging',
  excludeNamespaces: 'kube-system',
  alertEmail: 'oncall@example.com',
  alertSeverity: 'critical',
  vpcId: 'vpc-0123456789abcdef0',
  subnetIds: 'subnet-0123456789abcdef0,subnet-0fedcba9876543210',
  securityGroupIds: 'sg-0123456789abcdef0',
  probe: 'true',
  historyRetentionDays: '30',
};
const SEVERITIES = ['critical', 'high', 'medium', 'low', 'info'];

let defaults: Template;
let configured: Template;

beforeAll(() => {
  defaults = synthesizeAuditor().template;
  configured = synthesizeAuditor({ context: CONFIGURED }).template;
}, SYNTH_TIMEOUT_MS);

/** The logical ID of the only resource of `type` whose properties match. */
function logicalId(template: Template, type: string, properties: Record<string, unknown> = {}): string {
  const ids = Object.keys(template.findResources(type, { Properties: properties }));
  expect(ids, `${type} matching ${JSON.stringify(properties)}`).toHaveLength(1);
  return ids[0] as string;
}

const reportsBucketId = (template: Template) =>
  logicalId(template, 'AWS::S3::Bucket', {
    BucketEncryption: {
      ServerSideEncryptionConfiguration: [
        Match.objectLike({ ServerSideEncryptionByDefault: Match.objectLike({ SSEAlgorithm: 'aws:kms' }) }),
      ],
    },
  });

describe('the function', () => {
  it('runs Node.js 22 on arm64, the ESM handler index.handler, one run at a time', () => {
    // Assess
    defaults.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      ReservedConcurrentExecutions: 1,
    });
  });

  it('has minutes to audit (Lambda allows up to 15) and memory beyond the 128 MB default', () => {
    // Act
    const fn = onlyResource(defaults, 'AWS::Lambda::Function');

    // Assess
    expect(fn.Timeout).toBeGreaterThanOrEqual(120);
    expect(fn.Timeout).toBeLessThanOrEqual(900);
    expect(fn.MemorySize).toBeGreaterThanOrEqual(512);
  });

  it('is given the topic, bucket and key of the stack, and by default every cluster', () => {
    // Act
    const variables = (onlyResource(defaults, 'AWS::Lambda::Function').Environment as { Variables: object })
      .Variables;

    // Assess
    expect(variables).toEqual({
      ALERT_SEVERITY: 'high',
      TOPIC_ARN: { Ref: logicalId(defaults, 'AWS::SNS::Topic') },
      REPORTS_BUCKET: { Ref: reportsBucketId(defaults) },
      REPORTS_KMS_KEY_ID: { 'Fn::GetAtt': [logicalId(defaults, 'AWS::KMS::Key'), 'Arn'] },
      PROBE: 'false',
    });
  });

  it('is given the configured clusters, excluded namespaces, alert threshold and probe', () => {
    // Act
    const variables = (onlyResource(configured, 'AWS::Lambda::Function').Environment as { Variables: object })
      .Variables;

    // Assess
    expect(variables).toMatchObject({
      CLUSTERS: 'prod,staging',
      EXCLUDE_NAMESPACES: 'kube-system',
      ALERT_SEVERITY: 'critical',
      PROBE: 'true',
    });
  });

  it.each([
    ['default', () => defaults, undefined],
    ['configured', () => configured, ['prod', 'staging']],
  ])('has a %s environment the function accepts at cold start', (_name, template, clusters) => {
    // Prepare: what CloudFormation resolves the references to, and the variable Lambda sets.
    const variables = (onlyResource(template(), 'AWS::Lambda::Function').Environment as { Variables: object })
      .Variables as Record<string, unknown>;
    const resolved = Object.fromEntries(
      Object.entries(variables).map(([name, value]) => [
        name,
        typeof value === 'string'
          ? value
          : name === 'TOPIC_ARN'
            ? 'arn:aws:sns:eu-west-1:111122223333:IrsaAuditor-AlertsTopic-ABC'
            : name === 'REPORTS_BUCKET'
              ? 'irsaauditor-reports-abc123'
              : 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab',
      ]),
    );

    // Act
    const load = () => loadConfig({ AWS_REGION: 'eu-west-1', ...resolved });

    // Assess
    expect(load).not.toThrow(ConfigError);
    expect(load().clusters).toEqual(clusters);
  });

  it('writes its logs to a log group with a retention', () => {
    // Act
    const fn = onlyResource(defaults, 'AWS::Lambda::Function');

    // Assess
    expect(fn.LoggingConfig).toEqual({ LogGroup: { Ref: logicalId(defaults, 'AWS::Logs::LogGroup') } });
    expect(onlyResource(defaults, 'AWS::Logs::LogGroup').RetentionInDays).toBeGreaterThan(0);
  });

  it('sends failed asynchronous runs to the encrypted dead-letter queue after two retries', () => {
    // Prepare
    const queue = logicalId(defaults, 'AWS::SQS::Queue');

    // Assess
    defaults.hasResourceProperties('AWS::Lambda::Function', {
      DeadLetterConfig: { TargetArn: { 'Fn::GetAtt': [queue, 'Arn'] } },
    });
    defaults.hasResourceProperties('AWS::Lambda::EventInvokeConfig', { MaximumRetryAttempts: 2 });
  });

  it('runs in the configured subnets with the configured security groups', () => {
    // Assess
    configured.hasResourceProperties('AWS::Lambda::Function', {
      VpcConfig: {
        SubnetIds: ['subnet-0123456789abcdef0', 'subnet-0fedcba9876543210'],
        SecurityGroupIds: ['sg-0123456789abcdef0'],
      },
    });
    expect(onlyResource(defaults, 'AWS::Lambda::Function').VpcConfig).toBeUndefined();
    // Imported, not created: the VPC's owners keep the network.
    configured.resourceCountIs('AWS::EC2::SecurityGroup', 0);
  });

  it('uses a role of its own that only Lambda assumes, without a path (aws-auth rejects role ARNs with one)', () => {
    // Act
    const role = onlyResource(defaults, 'AWS::IAM::Role');

    // Assess
    expect(role.AssumeRolePolicyDocument).toEqual({
      Version: '2012-10-17',
      Statement: [
        { Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' } },
      ],
    });
    expect(role.Path).toBeUndefined();
    expect(role.ManagedPolicyArns).toBeUndefined();
  });
});

describe('the schedule', () => {
  it.each([
    ['by default', () => defaults, 'rate(1 hour)'],
    ['as configured', () => configured, 'rate(15 minutes)'],
  ])('invokes the function %s', (_when, template, expression) => {
    // Prepare
    const fn = logicalId(template(), 'AWS::Lambda::Function');
    const queue = logicalId(template(), 'AWS::SQS::Queue');

    // Assess
    template().hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: expression,
      State: 'ENABLED',
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [fn, 'Arn'] },
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': [queue, 'Arn'] } },
        }),
      ],
    });
    template().hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      Principal: 'events.amazonaws.com',
    });
  });
});

describe('the alert topic', () => {
  it('is encrypted with a customer managed key that rotates', () => {
    // Prepare
    const key = logicalId(defaults, 'AWS::KMS::Key');

    // Assess
    defaults.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: { 'Fn::GetAtt': [key, 'Arn'] } });
    defaults.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
  });

  it('lets CloudWatch alarms use the key, which an alarm needs to publish to an encrypted topic', () => {
    // Act
    const policy = onlyResource(defaults, 'AWS::KMS::Key').KeyPolicy as {
      Statement: Record<string, unknown>[];
    };

    // Assess
    expect(policy.Statement).toContainEqual(
      expect.objectContaining({
        Effect: 'Allow',
        Principal: { Service: 'cloudwatch.amazonaws.com' },
        Action: expect.arrayContaining(['kms:Decrypt', 'kms:GenerateDataKey*']),
      }),
    );
  });

  it('refuses publishing without TLS and lets only this account`s alarms publish as CloudWatch', () => {
    // Prepare
    const topic = { Ref: logicalId(defaults, 'AWS::SNS::Topic') };

    // Act
    const statements = (
      onlyResource(defaults, 'AWS::SNS::TopicPolicy').PolicyDocument as {
        Statement: Record<string, unknown>[];
      }
    ).Statement;

    // Assess
    expect(statements).toContainEqual(
      expect.objectContaining({
        Effect: 'Deny',
        Principal: '*',
        Action: 'sns:Publish',
        Resource: topic,
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      }),
    );
    const cloudwatch = statements.find((statement) => statement.Effect === 'Allow');
    expect(cloudwatch).toMatchObject({
      Principal: { Service: 'cloudwatch.amazonaws.com' },
      Action: 'sns:Publish',
    });
    const condition = cloudwatch?.Condition as Record<string, Record<string, unknown>>;
    expect(flatten(condition.StringEquals?.['aws:SourceAccount'])).toBe('<AWS::AccountId>');
    expect(flatten(condition.ArnLike?.['aws:SourceArn'])).toBe(
      'arn:<AWS::Partition>:cloudwatch:<AWS::Region>:<AWS::AccountId>:alarm:*',
    );
  });

  it('has an email subscription only when alertEmail is set', () => {
    // Assess
    defaults.resourceCountIs('AWS::SNS::Subscription', 0);
    configured.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'oncall@example.com',
      TopicArn: { Ref: logicalId(configured, 'AWS::SNS::Topic') },
    });
  });
});

describe('the reports bucket', () => {
  it('is versioned, encrypted with the key (S3 Bucket Key on), and blocks public access', () => {
    // Prepare
    const key = logicalId(defaults, 'AWS::KMS::Key');

    // Act
    const bucket = defaults.findResources('AWS::S3::Bucket')[reportsBucketId(defaults)]?.Properties;

    // Assess
    expect(bucket).toMatchObject({
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [
          {
            BucketKeyEnabled: true,
            ServerSideEncryptionByDefault: {
              SSEAlgorithm: 'aws:kms',
              KMSMasterKeyID: { 'Fn::GetAtt': [key, 'Arn'] },
            },
          },
        ],
      },
      VersioningConfiguration: { Status: 'Enabled' },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
    });
  });

  it.each([
    ['90 days by default', () => defaults, 90],
    ['the configured days', () => configured, 30],
  ])('expires reports after %s, and old versions of latest.json too', (_when, template, days) => {
    // Act
    const bucket = template().findResources('AWS::S3::Bucket')[reportsBucketId(template())]?.Properties;

    // Assess
    expect(bucket?.LifecycleConfiguration.Rules).toContainEqual(
      expect.objectContaining({
        Status: 'Enabled',
        Prefix: 'reports/',
        ExpirationInDays: days,
        NoncurrentVersionExpiration: { NoncurrentDays: expect.any(Number) },
      }),
    );
  });

  it('refuses requests without TLS on the bucket and its objects', () => {
    // Prepare
    const bucket = reportsBucketId(defaults);

    // Assess
    defaults.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: bucket },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 's3:*',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            Resource: [
              { 'Fn::GetAtt': [bucket, 'Arn'] },
              { 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucket, 'Arn'] }, '/*']] },
            ],
          }),
        ]),
      },
    });
  });

  it('logs its accesses to a private, TLS-only bucket with S3 managed keys (the only kind log delivery supports)', () => {
    // Prepare
    const reports = defaults.findResources('AWS::S3::Bucket')[reportsBucketId(defaults)]?.Properties;
    const target = reports?.LoggingConfiguration?.DestinationBucketName?.Ref as string;

    // Act
    const logs = defaults.findResources('AWS::S3::Bucket')[target]?.Properties;

    // Assess
    expect(logs).toMatchObject({
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
    });
    defaults.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: target },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          Match.objectLike({ Effect: 'Allow', Principal: { Service: 'logging.s3.amazonaws.com' } }),
        ]),
      },
    });
  });
});

describe('the dead-letter queue', () => {
  it('is encrypted, refuses requests without TLS, and keeps lost runs for 14 days', () => {
    // Prepare
    const queue = logicalId(defaults, 'AWS::SQS::Queue');

    // Assess
    defaults.hasResourceProperties('AWS::SQS::Queue', {
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 1_209_600,
    });
    defaults.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: queue }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          // EventBridge's delivery failures, only from this rule.
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 'events.amazonaws.com' },
            Action: 'sqs:SendMessage',
            Condition: {
              ArnEquals: {
                'aws:SourceArn': { 'Fn::GetAtt': [logicalId(defaults, 'AWS::Events::Rule'), 'Arn'] },
              },
            },
          }),
        ]),
      },
    });
  });
});

describe('the alarms', () => {
  it.each([
    [
      'any critical finding',
      {
        Namespace: 'IrsaAuditor',
        MetricName: 'Findings',
        Dimensions: [{ Name: 'Severity', Value: 'critical' }],
      },
    ],
    ['any audit error', { Namespace: 'IrsaAuditor', MetricName: 'AuditErrors' }],
    ['any function error', { Namespace: 'AWS/Lambda', MetricName: 'Errors' }],
    ['any throttled run', { Namespace: 'AWS/Lambda', MetricName: 'Throttles' }],
    [
      'any run in the dead-letter queue',
      { Namespace: 'AWS/SQS', MetricName: 'ApproximateNumberOfMessagesVisible' },
    ],
  ])('notify the topic of %s, and when it clears', (_what, metric) => {
    // Prepare
    const topic = { Ref: logicalId(defaults, 'AWS::SNS::Topic') };

    // Assess
    defaults.hasResourceProperties('AWS::CloudWatch::Alarm', {
      ...metric,
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 0,
      EvaluationPeriods: 1,
      AlarmActions: [topic],
      OKActions: [topic],
    });
  });

  it('keeps the audit alarms in their state between runs, when the audit publishes nothing', () => {
    // Act
    const alarms = Object.values(defaults.findResources('AWS::CloudWatch::Alarm')).map(
      (alarm) => alarm.Properties as Record<string, unknown>,
    );

    // Assess
    for (const alarm of alarms.filter((candidate) => candidate.Namespace === 'IrsaAuditor'))
      expect(alarm.TreatMissingData).toBe('ignore');
    const auditErrors = alarms.find((alarm) => alarm.MetricName === 'AuditErrors');
    expect(auditErrors?.Dimensions).toBeUndefined();
  });

  it.each([
    ['hourly runs', () => defaults, 3600],
    ['runs every 15 minutes', () => configured, 900],
  ])('look at one run per period with %s', (_when, template, period) => {
    // Assess
    template().hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'Findings', Period: period });
  });
});

describe('the dashboard', () => {
  let body: DashboardBody;
  let text: string;

  beforeAll(() => {
    text = flatten(onlyResource(defaults, 'AWS::CloudWatch::Dashboard').DashboardBody);
    body = JSON.parse(text);
  });

  const metricRows = () => dashboardMetricRows(body);
  const expressions = () => dashboardExpressions(body);

  it('graphs the account-wide findings of every severity', () => {
    // Act
    const findings = metricRows().filter((row) => row[0] === 'IrsaAuditor' && row[1] === 'Findings');

    // Assess
    expect(findings.map((row) => [row[2], row[3]])).toEqual(
      SEVERITIES.map((severity) => ['Severity', severity]),
    );
  });

  it('searches findings by cluster and the top checks, since clusters and checks are only known at run time', () => {
    // Act
    const searches = expressions();

    // Assess
    expect(searches).toContainEqual(
      expect.stringMatching(/SEARCH\('\{IrsaAuditor,Cluster,Severity\} MetricName="Findings"'/),
    );
    expect(searches).toContainEqual(
      expect.stringMatching(
        /^SORT\(SEARCH\('\{IrsaAuditor,Check,Cluster\} MetricName="FindingsByCheck"'.*\), MAX, DESC, \d+\)$/,
      ),
    );
  });

  it('graphs audit errors and the audit duration', () => {
    // Act
    const names = metricRows()
      .filter((row) => row[0] === 'IrsaAuditor')
      .map((row) => row[1]);

    // Assess
    expect(names).toEqual(expect.arrayContaining(['AuditErrors', 'AuditDurationMs']));
    expect(expressions()).toContainEqual(expect.stringContaining('MetricName="AuditErrors"'));
  });

  it('shows the state of every alarm', () => {
    // Act
    const alarmWidget = body.widgets.find((widget) => widget.type === 'alarm');

    // Assess
    expect(alarmWidget?.properties.alarms).toHaveLength(
      Object.keys(defaults.findResources('AWS::CloudWatch::Alarm')).length,
    );
  });
});

describe('cluster access', () => {
  it('maps the function role to the irsa-auditor group on each configured cluster, with no access policy', () => {
    // Prepare
    const role = { 'Fn::GetAtt': [logicalId(configured, 'AWS::IAM::Role'), 'Arn'] };

    // Act
    const entries = Object.values(configured.findResources('AWS::EKS::AccessEntry')).map(
      (entry) => entry.Properties,
    );

    // Assess
    expect(entries).toEqual(
      ['prod', 'staging'].map((cluster) => ({
        ClusterName: cluster,
        PrincipalArn: role,
        Type: 'STANDARD',
        KubernetesGroups: ['irsa-auditor'],
      })),
    );
  });

  it('creates no access entry when every cluster is audited, and says how to create them', () => {
    // Act
    const output = defaults.findOutputs('ClusterAccessEntries');

    // Assess
    defaults.resourceCountIs('AWS::EKS::AccessEntry', 0);
    expect(flatten(output.ClusterAccessEntries?.Value)).toMatch(
      /aws eks create-access-entry --cluster-name <cluster> --principal-arn <\w+\.Arn> --type STANDARD --kubernetes-groups irsa-auditor/,
    );
  });
});

describe('the outputs', () => {
  it('name the topic, the bucket and the function role', () => {
    // Act
    const outputs = defaults.findOutputs('*');

    // Assess
    expect(outputs.AlertTopicArn?.Value).toEqual({ Ref: logicalId(defaults, 'AWS::SNS::Topic') });
    expect(outputs.ReportsBucketName?.Value).toEqual({ Ref: reportsBucketId(defaults) });
    expect(outputs.FunctionRoleArn?.Value).toEqual({
      'Fn::GetAtt': [logicalId(defaults, 'AWS::IAM::Role'), 'Arn'],
    });
  });

  it.each([
    ['without the probe', () => defaults, ['deploy/rbac.yaml']],
    ['with the probe', () => configured, ['deploy/rbac.yaml', 'deploy/rbac-probe.yaml']],
  ])('give the kubectl command that applies the shipped RBAC manifests %s', (_when, template, manifests) => {
    // Act
    const command = template().findOutputs('ApplyRbacCommand').ApplyRbacCommand?.Value;

    // Assess
    expect(command).toBe(`kubectl apply ${manifests.map((manifest) => `-f ${manifest}`).join(' ')}`);
    for (const manifest of manifests) expect(existsSync(join(PROJECT_ROOT, manifest)), manifest).toBe(true);
  });
});
