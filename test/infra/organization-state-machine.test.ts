// The organization run's state machine (README "Organization mode" diagram), read from the synthesized template: its
// DefinitionString with the CloudFormation tokens replaced by placeholder values, asserted state by state and
// validated by asl-validator (the maintained Amazon States Language validator); its logging, tracing, role
// and the schedule that starts it.

import { createRequire } from 'node:module';
import type { CfnElement } from 'aws-cdk-lib';
import type { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import type { OrganizationStack } from '../../lib/organization-stack';
import { synthesizeOrganization } from '../support/cdk-asset';
import {
  flatten,
  onlyResource,
  type Statement,
  statementsAllowing,
  statementsOfRole,
} from './template-values';

// Each synthesis runs the whole app and cdk-nag (a few seconds on a loaded machine).
const SYNTH_TIMEOUT_MS = 60_000;

/** What asl-validator's JS API returns (the package ships no type declarations). */
interface AslValidation {
  readonly isValid: boolean;
  readonly errorsText: (separator?: string) => string;
}
const validateAsl = createRequire(import.meta.url)('asl-validator') as (definition: unknown) => AslValidation;

// Placeholders for the tokens of the definition, shaped like the real values so asl-validator's ARN checks apply.
const PLACEHOLDER = {
  partition: 'aws',
  bucket: 'irsa-auditor-reports-placeholder',
  functionArn: (name: string) => `arn:aws:lambda:eu-west-1:111122223333:function:${name}`,
};

/** A State of the definition, loosely typed: the tests read the fields they assert. */
type State = Record<string, unknown> & { Type: string };
interface Definition {
  readonly StartAt: string;
  readonly States: Record<string, State>;
  readonly TimeoutSeconds?: number;
}

let organization: OrganizationStack;
let template: Template;
let definition: Definition;
let functionNames: { discover: string; auditTarget: string; aggregate: string };

/** The state machine's DefinitionString with every token replaced by its placeholder. */
function resolvedDefinition(stack: OrganizationStack, stackTemplate: Template): Definition {
  const logicalId = (element: unknown) => stack.getLogicalId(element as CfnElement);
  const functions = stack.functions;
  const names = new Map([
    [logicalId(functions.discover.function.node.defaultChild), 'discover'],
    [logicalId(functions.auditTarget.function.node.defaultChild), 'audit-target'],
    [logicalId(functions.aggregate.function.node.defaultChild), 'aggregate'],
  ]);
  const bucket = logicalId(stack.reports.bucket.node.defaultChild);
  const resolve = (value: unknown): string => {
    if (typeof value === 'string') return value;
    const record = value as Record<string, unknown>;
    if (record.Ref === 'AWS::Partition') return PLACEHOLDER.partition;
    if (record.Ref === bucket) return PLACEHOLDER.bucket;
    const getAtt = record['Fn::GetAtt'] as [string, string] | undefined;
    if (getAtt !== undefined && getAtt[1] === 'Arn' && names.has(getAtt[0]))
      return PLACEHOLDER.functionArn(names.get(getAtt[0]) ?? '');
    const join = record['Fn::Join'] as [string, unknown[]] | undefined;
    if (join !== undefined) return join[1].map(resolve).join(join[0]);
    throw new Error(`unexpected token in the definition: ${JSON.stringify(value)}`);
  };
  const machine = onlyResource(stackTemplate, 'AWS::StepFunctions::StateMachine');
  return JSON.parse(resolve(machine.DefinitionString)) as Definition;
}

const state = (name: string): State => {
  const found = definition.States[name] ?? findNested(name);
  if (found === undefined) throw new Error(`no state ${name}`);
  return found;
};
const findNested = (name: string): State | undefined =>
  Object.values(definition.States)
    .map(
      (candidate) =>
        (candidate.ItemProcessor as { States?: Record<string, State> } | undefined)?.States?.[name],
    )
    .find((candidate) => candidate !== undefined);

beforeAll(() => {
  const synthesized = synthesizeOrganization({
    context: { maxConcurrency: 35, toleratedFailurePercentage: 5 },
  });
  organization = synthesized.organization;
  template = synthesized.organizationTemplate;
  definition = resolvedDefinition(organization, template);
  functionNames = {
    discover: PLACEHOLDER.functionArn('discover'),
    auditTarget: PLACEHOLDER.functionArn('audit-target'),
    aggregate: PLACEHOLDER.functionArn('aggregate'),
  };
}, SYNTH_TIMEOUT_MS);

describe('the state machine definition', () => {
  it('is valid Amazon States Language for asl-validator', () => {
    // Act
    const validation = validateAsl(definition);

    // Assess
    expect(validation.errorsText('; ')).toBe('');
    expect(validation.isValid).toBe(true);
  });

  it('is checked by asl-validator for real: a transition to a missing state is refused', () => {
    // Prepare
    const broken = structuredClone(definition) as { States: Record<string, Record<string, unknown>> };
    (broken.States.Discover as Record<string, unknown>).Next = 'NoSuchState';

    // Act
    const validation = validateAsl(broken);

    // Assess
    expect(validation.isValid).toBe(false);
  });

  it('runs Discover, AuditClusters, Aggregate, then succeeds or fails on the map outcome', () => {
    // Assess
    expect(definition.StartAt).toBe('Discover');
    expect(Object.keys(definition.States).sort()).toEqual(
      [
        'Aggregate',
        'AuditClusters',
        'AuditClustersFailed',
        'Discover',
        'RecordMapFailure',
        'RunOutcome',
        'RunSkipped',
        'RunSucceeded',
        'SkipOverlappingRun',
      ].sort(),
    );
    expect(state('Discover').Next).toBe('SkipOverlappingRun');
    expect(state('AuditClusters').Next).toBe('Aggregate');
    expect(state('Aggregate').Next).toBe('RunOutcome');
    expect(state('RunOutcome')).toMatchObject({
      Type: 'Choice',
      Choices: [{ Variable: '$.mapFailed', BooleanEquals: true, Next: 'AuditClustersFailed' }],
      Default: 'RunSucceeded',
    });
    expect(state('RunSucceeded').Type).toBe('Succeed');
    // The run fails with the map's own error (States.ExceedToleratedFailureThreshold, ...), after the summary.
    expect(state('AuditClustersFailed')).toMatchObject({
      Type: 'Fail',
      ErrorPath: '$.mapError.Error',
      CausePath: '$.mapError.Cause',
    });
  });

  it('gives Discover the execution name as run ID, its start time and the two ARNs, and keeps the items key and skipped', () => {
    // Act
    const discover = state('Discover');

    // Assess
    expect(discover.Resource).toBe('arn:aws:states:::lambda:invoke');
    expect(discover.Parameters).toEqual({
      FunctionName: functionNames.discover,
      Payload: {
        'runId.$': '$$.Execution.Name',
        'generatedAt.$': '$$.Execution.StartTime',
        'stateMachineArn.$': '$$.StateMachine.Id',
        'executionArn.$': '$$.Execution.Id',
      },
    });
    expect(discover.ResultSelector).toEqual({
      'runId.$': '$.Payload.runId',
      'generatedAt.$': '$.Payload.generatedAt',
      'skipped.$': '$.Payload.skipped',
      'itemsKey.$': '$.Payload.itemsKey',
      mapFailed: false,
    });
  });

  it('ends a run that Discover skipped (an earlier run is in progress) as RunSkipped, and maps the clusters otherwise', () => {
    // Act
    const choice = state('SkipOverlappingRun');

    // Assess
    expect(choice).toMatchObject({
      Type: 'Choice',
      Choices: [{ Variable: '$.skipped', BooleanEquals: true, Next: 'RunSkipped' }],
      Default: 'AuditClusters',
    });
    expect(state('RunSkipped')).toMatchObject({
      Type: 'Succeed',
      Comment: expect.stringMatching(/earlier run .* still in progress/),
    });
  });

  it('maps the S3 JSON array at Discover`s items key in the reports bucket with a Distributed Map', () => {
    // Act
    const map = state('AuditClusters');

    // Assess
    expect(map.Type).toBe('Map');
    expect(map.ItemReader).toEqual({
      Resource: 'arn:aws:states:::s3:getObject',
      ReaderConfig: { InputType: 'JSON' },
      Parameters: { Bucket: PLACEHOLDER.bucket, 'Key.$': '$.itemsKey' },
    });
    expect((map.ItemProcessor as { ProcessorConfig: unknown }).ProcessorConfig).toEqual({
      Mode: 'DISTRIBUTED',
      ExecutionType: 'STANDARD',
    });
  });

  it('hands each item`s account, region and cluster to the audit with the run ID and time of the state input', () => {
    // Assess
    expect(state('AuditClusters').ItemSelector).toEqual({
      'runId.$': '$.runId',
      'generatedAt.$': '$.generatedAt',
      'account.$': '$$.Map.Item.Value.account',
      'region.$': '$$.Map.Item.Value.region',
      'cluster.$': '$$.Map.Item.Value.cluster',
    });
  });

  it('audits maxConcurrency clusters at once and tolerates toleratedFailurePercentage failed ones (context)', () => {
    // Assess
    expect(state('AuditClusters').MaxConcurrency).toBe(35);
    expect(state('AuditClusters').ToleratedFailurePercentage).toBe(5);
  });

  it(
    'uses the defaults, 20 at once and 10% tolerated, without context',
    () => {
      // Act
      const defaults = synthesizeOrganization();
      const map = resolvedDefinition(defaults.organization, defaults.organizationTemplate).States
        .AuditClusters;

      // Assess
      expect(map?.MaxConcurrency).toBe(20);
      expect(map?.ToleratedFailurePercentage).toBe(10);
    },
    SYNTH_TIMEOUT_MS,
  );

  it('discards the per-cluster outputs so the map`s output stays far below the 256 KB payload limit', () => {
    // Act
    const audit = state('AuditTarget');

    // Assess
    expect(state('AuditClusters').ResultPath).toBeNull();
    expect(audit.ResultSelector).toEqual({ 'status.$': '$.Payload.status' });
  });

  it('invokes the audit-target function with the item as its event', () => {
    // Act
    const processor = state('AuditClusters').ItemProcessor as {
      StartAt: string;
      States: Record<string, State>;
    };

    // Assess
    expect(processor.StartAt).toBe('AuditTarget');
    expect(Object.keys(processor.States)).toEqual(['AuditTarget']);
    expect(state('AuditTarget').Parameters).toEqual({
      FunctionName: functionNames.auditTarget,
      'Payload.$': '$',
    });
    expect(state('AuditTarget').End).toBe(true);
  });

  it('retries TargetThrottled and Lambda`s transient errors with backoff and full jitter', () => {
    // Act
    const retries = state('AuditTarget').Retry as Record<string, unknown>[];

    // Assess
    const throttled = retries.find((retry) => (retry.ErrorEquals as string[]).includes('TargetThrottled'));
    expect(throttled).toMatchObject({ ErrorEquals: ['TargetThrottled'], JitterStrategy: 'FULL' });
    expect(throttled?.BackoffRate as number).toBeGreaterThan(1);
    expect(throttled?.MaxAttempts as number).toBeGreaterThanOrEqual(3);
    const service = retries.find((retry) =>
      (retry.ErrorEquals as string[]).includes('Lambda.ServiceException'),
    );
    expect(service?.ErrorEquals).toEqual([
      'Lambda.TooManyRequestsException',
      'Lambda.ServiceException',
      'Lambda.AWSLambdaException',
      'Lambda.SdkClientException',
      'Lambda.ClientExecutionTimeoutException',
    ]);
    expect(service).toMatchObject({ JitterStrategy: 'FULL' });
    expect(service?.BackoffRate as number).toBeGreaterThan(1);
  });

  it.each(['Discover', 'Aggregate'])('retries Lambda`s transient errors on %s too', (name) => {
    // Act
    const retries = state(name).Retry as { ErrorEquals: string[] }[];

    // Assess
    expect(retries.flatMap((retry) => retry.ErrorEquals)).toEqual(
      expect.arrayContaining(['Lambda.TooManyRequestsException', 'Lambda.ServiceException']),
    );
  });

  it('retries Discover when it gives up on a throttled target (TargetThrottled), with jittered backoff', () => {
    // Act
    const retries = state('Discover').Retry as Record<string, unknown>[];
    const throttled = retries.find((retry) => (retry.ErrorEquals as string[]).includes('TargetThrottled'));

    // Assess
    expect(throttled).toMatchObject({ ErrorEquals: ['TargetThrottled'], JitterStrategy: 'FULL' });
    expect(throttled?.MaxAttempts as number).toBeGreaterThanOrEqual(3);
  });

  it('still aggregates when the map fails: Catch → RecordMapFailure (mapFailed: true) → Aggregate', () => {
    // Act
    const [caught, ...others] = state('AuditClusters').Catch as Record<string, unknown>[];

    // Assess
    expect(others).toEqual([]);
    expect(caught).toEqual({
      ErrorEquals: ['States.ALL'],
      ResultPath: '$.mapError',
      Next: 'RecordMapFailure',
    });
    expect(state('RecordMapFailure')).toMatchObject({
      Type: 'Pass',
      Result: true,
      ResultPath: '$.mapFailed',
      Next: 'Aggregate',
    });
  });

  it('gives Aggregate the run ID, its time and whether the map failed, and keeps only counts of its summary', () => {
    // Act
    const aggregate = state('Aggregate');

    // Assess
    expect(aggregate.Parameters).toEqual({
      FunctionName: functionNames.aggregate,
      Payload: { 'runId.$': '$.runId', 'generatedAt.$': '$.generatedAt', 'mapFailed.$': '$.mapFailed' },
    });
    expect(aggregate.ResultPath).toBe('$.summary');
    expect(Object.keys(aggregate.ResultSelector as object).sort()).toEqual(
      ['alerted.$', 'auditErrors.$', 'clustersAudited.$', 'failedTargets.$'].sort(),
    );
  });

  it('ends a run before the schedule starts the next one, so that two runs never overlap', () => {
    // The default schedule is rate(1 hour): the run ends before the hour is over, with a margin.
    expect(definition.TimeoutSeconds).toBeLessThan(3600);
    expect(definition.TimeoutSeconds).toBeGreaterThanOrEqual(3600 - 5 * 60);
  });

  it.each([
    ['rate(10 minutes)', 10 * 60],
    ['rate(6 hours)', 6 * 3600],
    ['rate(1 day)', 6 * 3600 + 1],
    ['cron(0 3 * * ? *)', 3600 + 1],
  ])('with schedule %s, a run ends within %i seconds and never runs unbounded', (schedule, bound) => {
    // Act
    const synthesized = synthesizeOrganization({ context: { schedule } });
    const timeout = resolvedDefinition(
      synthesized.organization,
      synthesized.organizationTemplate,
    ).TimeoutSeconds;

    // Assess: before the next run (at most 6 hours for long intervals, an hour for cron's uneven runs)
    expect(timeout).toBeLessThan(bound);
    expect(timeout).toBeGreaterThan(bound * 0.85);
  });
});

describe('the state machine', () => {
  it('is a STANDARD machine named IrsaAuditorOrganization with X-Ray tracing', () => {
    // Act
    const machine = onlyResource(template, 'AWS::StepFunctions::StateMachine');

    // Assess
    expect(machine.StateMachineName).toBe('IrsaAuditorOrganization');
    expect(machine.StateMachineType).toBe('STANDARD');
    expect(machine.TracingConfiguration).toEqual({ Enabled: true });
  });

  it('logs every event to its log group without execution data, so no finding reaches the logs', () => {
    // Act
    const machine = onlyResource(template, 'AWS::StepFunctions::StateMachine');
    const logs = machine.LoggingConfiguration as {
      Level: string;
      IncludeExecutionData: boolean;
      Destinations: { CloudWatchLogsLogGroup: { LogGroupArn: unknown } }[];
    };
    const logGroups = template.findResources('AWS::Logs::LogGroup');
    const destination = flatten(logs.Destinations[0]?.CloudWatchLogsLogGroup.LogGroupArn);
    const [logicalId] = destination.slice(1, -1).split('.');

    // Assess
    expect(logs.Level).toBe('ALL');
    expect(logs.IncludeExecutionData).toBe(false);
    expect(logGroups[logicalId ?? '']?.Properties.RetentionInDays).toBeGreaterThan(0);
  });

  it(
    'is started by the schedule (context schedule) through a role that may only start it',
    () => {
      // Act
      const synthesized = synthesizeOrganization({ context: { schedule: 'rate(6 hours)' } });
      const rule = onlyResource(synthesized.organizationTemplate, 'AWS::Events::Rule');
      const [target, ...others] = rule.Targets as { Arn: unknown; RoleArn: unknown }[];
      const machineId = synthesized.organization.getLogicalId(
        synthesized.organization.run.stateMachine.node.defaultChild as CfnElement,
      );
      const roleId = flatten(target?.RoleArn).slice(1, -1).split('.')[0] ?? '';
      const roleStatements = statementsOfRole(synthesized.organizationTemplate, roleId);

      // Assess
      expect(rule.ScheduleExpression).toBe('rate(6 hours)');
      expect(rule.State).toBe('ENABLED');
      expect(others).toEqual([]);
      expect(flatten(target?.Arn)).toBe(`<${machineId}>`);
      expect(roleStatements.map(({ actions, resources }) => ({ actions, resources }))).toEqual([
        { actions: ['states:StartExecution'], resources: [`<${machineId}>`] },
      ]);
    },
    SYNTH_TIMEOUT_MS,
  );
});

describe('the state machine role', () => {
  let statements: Statement[];
  let machineRole: string;

  beforeAll(() => {
    machineRole = organization.getLogicalId(
      organization.run.stateMachine.role.node.defaultChild as CfnElement,
    );
    statements = statementsOfRole(template, machineRole);
  });

  it('may invoke exactly the three step functions', () => {
    // Act
    const invoked = statementsAllowing(statements, 'lambda:InvokeFunction').flatMap(
      ({ resources }) => resources,
    );
    const functionIds = organization.functions.all.map((fn) =>
      organization.getLogicalId(fn.node.defaultChild as CfnElement),
    );

    // Assess
    expect(new Set(invoked.map((arn) => arn.replace(/:\*$/, '')))).toEqual(
      new Set(functionIds.map((id) => `<${id}.Arn>`)),
    );
  });

  it('reads the items under runs/ only, and decrypts them only through S3', () => {
    // Act
    const reads = statementsAllowing(statements, 's3:GetObject');
    const decrypts = statementsAllowing(statements, 'kms:Decrypt');

    // Assess
    expect(reads.flatMap(({ resources }) => resources)).toEqual([
      expect.stringMatching(/^<Reports[0-9A-F]{8}\.Arn>\/runs\/\*$/),
    ]);
    expect(decrypts).toHaveLength(1);
    expect(decrypts[0]?.condition).toEqual({
      StringEquals: {
        'kms:ViaService': { 'Fn::Join': ['', ['s3.', { Ref: 'AWS::Region' }, '.amazonaws.com']] },
      },
    });
  });

  it('may start, describe and stop the executions the Distributed Map runs as children', () => {
    // Act
    const actions = new Set(statements.flatMap(({ actions }) => actions));

    // Assess
    for (const action of ['states:StartExecution', 'states:DescribeExecution', 'states:StopExecution'])
      expect(actions.has(action), action).toBe(true);
  });

  it('has no action beyond invoking, reading items, the child executions, logging and tracing', () => {
    // Act
    const services = new Set(
      statements.flatMap(({ actions }) => actions.map((action) => action.split(':')[0])),
    );

    // Assess
    expect([...services].sort()).toEqual(['kms', 'lambda', 'logs', 's3', 'states', 'xray']);
  });
});
