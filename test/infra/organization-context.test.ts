// Organization mode's configuration from CDK context (README "Organization mode", brief): defaults, accepted forms
// (`-c key=a,b` strings and cdk.json arrays/numbers), and errors that name every bad key and value at once,
// before anything is synthesized. The default mode stays single-account.

import { describe, expect, it } from 'vitest';
import {
  type AppSettings,
  appSettingsFromContext,
  InvalidContextError,
  type OrganizationSettings,
} from '../../lib/settings';
import { CDK_JSON_CONTEXT, ORGANIZATION_CONTEXT, synthesizeOrganization } from '../support/cdk-asset';

const read =
  (context: Record<string, unknown>) =>
  (key: string): unknown =>
    context[key];

function organization(context: Record<string, unknown>, environment = {}): OrganizationSettings {
  const chosen: AppSettings = appSettingsFromContext(
    read({ ...ORGANIZATION_CONTEXT, ...context }),
    environment,
  );
  if (chosen.mode !== 'organization') throw new Error(`context chose mode ${chosen.mode}`);
  return chosen.settings;
}

function problemsOf(context: Record<string, unknown>): InvalidContextError {
  try {
    appSettingsFromContext(read(context));
  } catch (error) {
    if (error instanceof InvalidContextError) return error;
    throw error;
  }
  throw new Error(`context ${JSON.stringify(context)} was accepted`);
}

describe('the deployment mode', () => {
  it.each([
    ['no mode at all', {}],
    ["cdk.json's context", { ...CDK_JSON_CONTEXT }],
    ['-c mode=single', { mode: 'single' }],
  ])('is single-account with %s', (_case, context) => {
    // Act
    const chosen = appSettingsFromContext(read(context));

    // Assess
    expect(chosen.mode).toBe('single');
  });

  it('is organization with -c mode=organization, in any case', () => {
    // Act
    const chosen = appSettingsFromContext(read({ ...ORGANIZATION_CONTEXT, mode: ' Organization ' }));

    // Assess
    expect(chosen.mode).toBe('organization');
  });

  it('refuses an unknown mode, naming the modes it knows, with the other bad values of the same context', () => {
    // Act
    const error = problemsOf({ mode: 'multi', alertSeverity: 'urgent' });

    // Assess
    expect(error.problems.map(({ key }) => key).sort()).toEqual(['alertSeverity', 'mode']);
    expect(error.message).toContain('mode="multi": must be one of single, organization');
  });

  it('refuses organization keys without -c mode=organization, a forgotten mode being the likely mistake', () => {
    // Act
    const error = problemsOf({ accounts: '111111111111', regions: 'eu-west-1' });

    // Assess
    expect(error.problems).toEqual([
      { key: 'accounts', value: '111111111111', reason: 'is only read with mode=organization' },
      { key: 'regions', value: 'eu-west-1', reason: 'is only read with mode=organization' },
    ]);
  });
});

describe('organization settings', () => {
  it('defaults to 20 clusters at once, 10% tolerated failures, the IrsaAuditorMember role and the shared defaults', () => {
    // Act
    const settings = organization({});

    // Assess
    expect(settings).toEqual({
      schedule: { expression: 'rate(1 hour)', intervalSeconds: 3600 },
      excludeNamespaces: [],
      alertSeverity: 'high',
      probe: false,
      historyRetentionDays: 90,
      accounts: ['111111111111', '222222222222'],
      regions: ['eu-west-1', 'us-east-1'],
      maxConcurrency: 20,
      toleratedFailurePercentage: 10,
      memberRoleName: 'IrsaAuditorMember',
      externalId: 'irsa-auditor-organization',
      memberClusters: [],
    });
  });

  it('reads cdk.json on top of the acceptance context the same way', () => {
    // Act
    const settings = organization({ ...CDK_JSON_CONTEXT, ...ORGANIZATION_CONTEXT });

    // Assess
    expect(settings).toEqual(organization({}));
  });

  it('reads every setting given on the command line as strings', () => {
    // Act
    const settings = organization({
      accounts: '333333333333, 444444444444,',
      regions: 'ap-southeast-2,us-gov-west-1',
      maxConcurrency: '50',
      toleratedFailurePercentage: '2.5',
      memberRoleName: 'PlatformIrsaAudit',
      externalId: 'acme-7f3c9e1d',
      auditorAccount: '555555555555',
      memberClusters: 'prod,staging',
      schedule: 'rate(6 hours)',
      alertEmail: 'oncall@example.com',
      alertSeverity: 'critical',
      excludeNamespaces: 'kube-system',
      probe: 'true',
    });

    // Assess
    expect(settings).toMatchObject({
      accounts: ['333333333333', '444444444444'],
      regions: ['ap-southeast-2', 'us-gov-west-1'],
      maxConcurrency: 50,
      toleratedFailurePercentage: 2.5,
      memberRoleName: 'PlatformIrsaAudit',
      externalId: 'acme-7f3c9e1d',
      auditorAccount: '555555555555',
      memberClusters: ['prod', 'staging'],
      schedule: { expression: 'rate(6 hours)', intervalSeconds: 21_600 },
      alertEmail: 'oncall@example.com',
      alertSeverity: 'critical',
      excludeNamespaces: ['kube-system'],
      probe: true,
    });
  });

  it('reads cdk.json arrays and numbers', () => {
    // Act
    const settings = organization({
      accounts: ['333333333333'],
      regions: ['eu-central-1'],
      maxConcurrency: 1000,
      toleratedFailurePercentage: 0,
    });

    // Assess
    expect(settings).toMatchObject({
      accounts: ['333333333333'],
      regions: ['eu-central-1'],
      maxConcurrency: 1000,
      toleratedFailurePercentage: 0,
    });
  });

  it.each(['all', 'ALL', ['all']])('reads accounts=%j as every account of the organization', (accounts) => {
    // Act
    const settings = organization({ accounts });

    // Assess
    expect(settings.accounts).toBe('all');
  });

  it('trusts the account the CLI deploys to when auditorAccount is not set, and none without credentials', () => {
    // Act
    const withCredentials = organization({}, { CDK_DEFAULT_ACCOUNT: '999999999999' });
    const offline = organization({});
    const explicit = organization(
      { auditorAccount: '555555555555' },
      { CDK_DEFAULT_ACCOUNT: '999999999999' },
    );

    // Assess
    expect(withCredentials.auditorAccount).toBe('999999999999');
    expect(offline.auditorAccount).toBeUndefined();
    expect(explicit.auditorAccount).toBe('555555555555');
  });
});

describe('organization context errors', () => {
  it.each([
    [
      'a bad account ID',
      { accounts: '11111111111' },
      'accounts',
      '"11111111111" is not a 12-digit AWS account ID',
    ],
    [
      'an account ID with letters',
      { accounts: '11111111111a' },
      'accounts',
      'is not a 12-digit AWS account ID',
    ],
    ['"all" with account IDs', { accounts: 'all,111111111111' }, 'accounts', '"all" cannot be combined'],
    ['no accounts', { accounts: undefined }, 'accounts', 'is required'],
    ['empty accounts', { accounts: '' }, 'accounts', 'is required'],
    ['missing regions', { regions: undefined }, 'regions', 'is required'],
    ['a bad region', { regions: 'eu-west-1,Ireland' }, 'regions', '"Ireland" is not a region name'],
    ['concurrency 0', { maxConcurrency: 0 }, 'maxConcurrency', 'from 1 to 1000'],
    ['concurrency 1001', { maxConcurrency: '1001' }, 'maxConcurrency', 'from 1 to 1000'],
    ['a fractional concurrency', { maxConcurrency: 2.5 }, 'maxConcurrency', 'whole number'],
    [
      'a tolerated failure above 100%',
      { toleratedFailurePercentage: 101 },
      'toleratedFailurePercentage',
      '0 to 100',
    ],
    [
      'a negative tolerated failure',
      { toleratedFailurePercentage: '-1' },
      'toleratedFailurePercentage',
      '0 to 100',
    ],
    [
      'a role name with a path',
      { memberRoleName: 'audit/IrsaAuditorMember' },
      'memberRoleName',
      'without a path',
    ],
    ['a one-character external ID', { externalId: 'x' }, 'externalId', '2 to 1224'],
    ['an external ID with a space', { externalId: 'my id' }, 'externalId', '2 to 1224'],
    ['a bad auditor account', { auditorAccount: '12345' }, 'auditorAccount', '12-digit'],
    ['a bad member cluster', { memberClusters: '-prod' }, 'memberClusters', 'is not an EKS cluster name'],
    ['named clusters', { clusters: 'prod' }, 'clusters', 'leave clusters at "all"'],
    ['a VPC', { vpcId: 'vpc-0123456789abcdef0' }, 'vpcId', 'not supported in organization mode'],
    ['an event bus', { eventBus: 'default' }, 'eventBus', 'not supported in organization mode yet'],
    ['Security Hub', { securityHub: 'true' }, 'securityHub', 'not supported in organization mode yet'],
  ])('names %s', (_case, context, key, reason) => {
    // Act
    const error = problemsOf({ ...ORGANIZATION_CONTEXT, ...context });

    // Assess
    expect(error.problems.map((problem) => problem.key)).toEqual([key]);
    expect(error.problems[0]?.reason).toContain(reason);
  });

  it('names every problem at once, shared keys included, on one line', () => {
    // Act
    const error = problemsOf({
      mode: 'organization',
      accounts: '12345',
      maxConcurrency: 5000,
      schedule: 'rate(5 minute)',
    });

    // Assess
    expect(error.problems.map(({ key }) => key).sort()).toEqual([
      'accounts',
      'maxConcurrency',
      'regions',
      'schedule',
    ]);
    expect(error.message).toMatch(/^invalid CDK context \(4 problems\): /);
    expect(error.message).not.toContain('\n');
  });

  it('stops the in-process synthesis of the organization stacks before any stack is built', () => {
    // Act
    const synthesize = () => synthesizeOrganization({ context: { regions: 'eu-west-1', accounts: 'all,1' } });

    // Assess
    expect(synthesize).toThrow(InvalidContextError);
    expect(synthesize).toThrow(/accounts="all,1"/);
  });
});
