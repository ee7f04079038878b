// The stack's configuration from CDK context (SPEC §8): defaults, accepted forms (`-c key=a,b` strings and
// cdk.json arrays/booleans), and errors that name the context key and the bad value. EventBridge's
// schedule syntax is from the EventBridge user guide ("Schedule expressions for rules").

import { describe, expect, it } from 'vitest';
import { InvalidContextError, settingsFromContext } from '../../lib/settings';
import { CDK_JSON_CONTEXT, synthesizeAuditor } from '../support/cdk-asset';

const read =
  (context: Record<string, unknown>) =>
  (key: string): unknown =>
    context[key];

function problemsOf(context: Record<string, unknown>): InvalidContextError {
  try {
    settingsFromContext(read(context));
  } catch (error) {
    if (error instanceof InvalidContextError) return error;
    throw error;
  }
  throw new Error(`context ${JSON.stringify(context)} was accepted`);
}

describe('settings from context', () => {
  it('defaults to an hourly audit of every cluster, high alerts, no probe, 90 days of history', () => {
    // Act
    const settings = settingsFromContext(read({}));

    // Assess
    expect(settings).toEqual({
      schedule: { expression: 'rate(1 hour)', intervalSeconds: 3600 },
      excludeNamespaces: [],
      alertSeverity: 'high',
      probe: false,
      historyRetentionDays: 90,
      securityHub: false,
    });
  });

  it('reads the defaults cdk.json ships as the same settings', () => {
    // Act
    const settings = settingsFromContext(read({ ...CDK_JSON_CONTEXT }));

    // Assess
    expect(settings).toEqual(settingsFromContext(read({})));
  });

  it.each([
    ['-c clusters=prod,staging', 'prod, staging,'],
    ['a cdk.json array', ['prod', 'staging']],
  ])('reads clusters given as %s', (_form, value) => {
    // Act
    const settings = settingsFromContext(read({ clusters: value }));

    // Assess
    expect(settings.clusters).toEqual(['prod', 'staging']);
  });

  it.each(['all', 'ALL', '', []])('reads clusters=%j as every cluster of the region', (value) => {
    // Act
    const settings = settingsFromContext(read({ clusters: value }));

    // Assess
    expect(settings.clusters).toBeUndefined();
  });

  it('reads every setting given on the command line as strings', () => {
    // Act
    const settings = settingsFromContext(
      read({
        schedule: 'cron(0 6 ? * MON-FRI *)',
        clusters: 'prod',
        excludeNamespaces: 'kube-system,scratch',
        alertEmail: 'oncall@example.com',
        alertSeverity: 'CRITICAL',
        vpcId: 'vpc-0123456789abcdef0',
        subnetIds: 'subnet-0123456789abcdef0,subnet-89abcdef',
        securityGroupIds: 'sg-0123456789abcdef0',
        probe: 'true',
        historyRetentionDays: '30',
        eventBus: 'platform-findings',
        securityHub: 'true',
      }),
    );

    // Assess
    expect(settings).toEqual({
      schedule: { expression: 'cron(0 6 ? * MON-FRI *)' },
      clusters: ['prod'],
      excludeNamespaces: ['kube-system', 'scratch'],
      alertEmail: 'oncall@example.com',
      alertSeverity: 'critical',
      vpc: {
        vpcId: 'vpc-0123456789abcdef0',
        subnetIds: ['subnet-0123456789abcdef0', 'subnet-89abcdef'],
        securityGroupIds: ['sg-0123456789abcdef0'],
      },
      probe: true,
      historyRetentionDays: 30,
      eventBus: 'platform-findings',
      securityHub: true,
    });
  });

  it.each([
    ['rate(1 minute)', 60],
    ['rate(5 minutes)', 300],
    ['rate(2 hours)', 7200],
    ['rate(1 day)', 86_400],
  ])('accepts the schedule %s, %i seconds apart', (schedule, seconds) => {
    // Act
    const settings = settingsFromContext(read({ schedule }));

    // Assess
    expect(settings.schedule).toEqual({ expression: schedule, intervalSeconds: seconds });
  });

  it.each([
    'cron(0 * * * ? *)',
    'cron(15 10 ? * 6L 2030-2035)',
    'cron(0/10 * ? * MON-FRI *)',
    'cron(0 8 1 * ? *)',
  ])('accepts the cron schedule %s', (schedule) => {
    // Act
    const settings = settingsFromContext(read({ schedule }));

    // Assess
    expect(settings.schedule).toEqual({ expression: schedule });
  });

  it.each([
    // Singular unit for 1, plural above 1 (EventBridge rejects the other forms).
    ['schedule', 'rate(5 minute)', 'plural'],
    ['schedule', 'rate(1 hours)', 'singular'],
    ['schedule', 'rate(0 minutes)', 'at least 1'],
    ['schedule', 'rate(1 week)', 'not an EventBridge schedule expression'],
    ['schedule', 'every hour', 'not an EventBridge schedule expression'],
    ['schedule', 'cron(0 * * * *)', '6 fields'],
    ['schedule', 'cron(0 * * * * *)', 'day-of-month and day-of-week'],
    ['schedule', 'cron(0 * ? * ? *)', 'day-of-month and day-of-week'],
    ['clusters', 'prod,-bad', '"-bad" is not an EKS cluster name'],
    ['clusters', 'all,prod', '"all" cannot be combined'],
    ['clusters', 42, 'comma-separated list'],
    ['excludeNamespaces', 'Kube_System', '"Kube_System" is not a Kubernetes namespace name'],
    ['alertEmail', 'oncall.example.com', 'email address'],
    ['alertEmail', 'on call@example.com', 'email address'],
    ['alertSeverity', 'urgent', 'critical, high, medium, low, info'],
    ['probe', 'yes', 'true or false'],
    ['historyRetentionDays', '0', 'from 1 to 3650'],
    ['historyRetentionDays', '12.5', 'from 1 to 3650'],
    ['vpcId', 'vpc-xyz', 'VPC ID'],
    ['eventBus', 'arn:aws:events:eu-west-1:111122223333:event-bus/x', 'name of an EventBridge event bus'],
    ['securityHub', 'yes', 'true or false'],
  ])('rejects %s=%j naming the key and the value', (key, value, reason) => {
    // Prepare: a complete VPC setting around the one bad VPC value, so only that value is wrong.
    const vpc =
      key === 'vpcId' ? { subnetIds: 'subnet-0123456789abcdef0', securityGroupIds: 'sg-01234567' } : {};

    // Act
    const error = problemsOf({ ...vpc, [key]: value });

    // Assess
    expect(error.problems).toEqual([{ key, value, reason: expect.stringContaining(reason) }]);
    expect(error.message).toContain(`${key}=${JSON.stringify(value)}`);
  });

  it('rejects a retention shorter than the time between runs, since each run rewrites the baseline', () => {
    // Act
    const error = problemsOf({ schedule: 'rate(7 days)', historyRetentionDays: 7 });

    // Assess
    expect(error.problems).toEqual([
      { key: 'historyRetentionDays', value: 7, reason: expect.stringContaining('rate(7 days)') },
    ]);
  });

  it.each([
    [{ vpcId: 'vpc-0123456789abcdef0' }, ['subnetIds', 'securityGroupIds']],
    [{ subnetIds: 'subnet-01234567', securityGroupIds: 'sg-01234567' }, ['vpcId']],
  ])('rejects VPC settings given in part (%j): all or none', (context, missing) => {
    // Act
    const error = problemsOf(context);

    // Assess
    expect(error.problems.map((problem) => problem.key)).toEqual(missing);
    for (const problem of error.problems) expect(problem.reason).toContain('set together or not at all');
  });

  it('reports every bad value at once, so one deployment attempt fixes them all', () => {
    // Act
    const error = problemsOf({ schedule: 'hourly', alertSeverity: 'urgent', probe: 1 });

    // Assess
    expect(error.problems.map((problem) => problem.key)).toEqual(['schedule', 'alertSeverity', 'probe']);
    expect(error.message).toMatch(
      /^invalid CDK context \(3 problems\): schedule="hourly": .*; alertSeverity="urgent": .*; probe=1: /,
    );
  });

  it('fails the synthesis of the app with that error, before any resource is built', () => {
    // Act
    const synthesize = () => synthesizeAuditor({ context: { schedule: 'rate(5 minute)' } });

    // Assess
    expect(synthesize).toThrow(InvalidContextError);
    expect(synthesize).toThrow('schedule="rate(5 minute)"');
  });
});
