// Region names and account IDs: one table run through the shared patterns, the CDK context validation (synth) and
// the functions' configuration (cold start), so that the app never deploys a value its functions then refuse.

import { describe, expect, it } from 'vitest';
import { ACCOUNT_ID, partitionOfRegion, REGION_NAME } from '../../../lambda/core/model/aws-identifiers';
import { loadDiscoverConfig } from '../../../lambda/organization/organization-config';
import { ConfigError, loadConfig } from '../../../lambda/pipeline/config';
import { appSettingsFromContext, InvalidContextError } from '../../../lib/settings';

const REGIONS: readonly (readonly [string, boolean])[] = [
  ['us-east-1', true],
  ['cn-north-1', true],
  ['us-gov-west-1', true],
  ['us-iso-east-1', true],
  ['us-isob-east-1', true],
  ['eu-isoe-west-1', true],
  ['eusc-de-east-1', true],
  ['ap-southeast-5', true],
  ['mx-central-1', true],
  ['US-EAST-1', false],
  ['us-east', false],
  ['useast1', false],
  ['us_east_1', false],
  ['us-east-1a', false],
  ['us-east-', false],
  ['evil.example.com/x', false],
];

const ACCOUNTS: readonly (readonly [string, boolean])[] = [
  ['111122223333', true],
  ['000000000000', true],
  ['11112222333', false],
  ['1111222233334', false],
  ['11112222333a', false],
  ['1111-2222-3333', false],
];

/** The context problems synth reports for `key` in organization mode. */
function contextProblems(key: string, context: Record<string, unknown>): readonly string[] {
  const full: Record<string, unknown> = {
    mode: 'organization',
    accounts: '111122223333',
    regions: 'eu-west-1',
    ...context,
  };
  try {
    appSettingsFromContext((name) => full[name]);
  } catch (error) {
    if (!(error instanceof InvalidContextError)) throw error;
    return error.problems.filter((problem) => problem.key === key).map((problem) => problem.reason);
  }
  return [];
}

/** The configuration problems a function reports that name `variable`. */
function configProblems(variable: string, load: () => unknown): readonly string[] {
  try {
    load();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return error.problems.filter((problem) => problem.startsWith(variable));
  }
  return [];
}

const SCHEDULED = { TOPIC_ARN: 'arn:aws:sns:eu-west-1:111122223333:alerts', REPORTS_BUCKET: 'irsa-reports' };
const DISCOVER = {
  AWS_REGION: 'eu-west-1',
  REPORTS_BUCKET: 'irsa-reports',
  EXTERNAL_ID: 'external-id-1',
  ACCOUNTS: '111122223333',
  REGIONS: 'eu-west-1',
};

describe('region names', () => {
  it.each(REGIONS)('%j is a region name: %s', (region, valid) => {
    expect(REGION_NAME.test(region)).toBe(valid);
  });

  it.each(REGIONS)('synth accepts -c regions=%j: %s', (region, valid) => {
    expect(contextProblems('regions', { regions: region })).toHaveLength(valid ? 0 : 1);
  });

  it.each(REGIONS)('the scheduled function accepts AWS_REGION=%j: %s', (region, valid) => {
    expect(configProblems('AWS_REGION', () => loadConfig({ ...SCHEDULED, AWS_REGION: region }))).toHaveLength(
      valid ? 0 : 1,
    );
  });

  it.each(REGIONS)('the discover step accepts REGIONS=%j: %s', (region, valid) => {
    expect(
      configProblems('REGIONS', () => loadDiscoverConfig({ ...DISCOVER, REGIONS: region })),
    ).toHaveLength(valid ? 0 : 1);
  });

  it.each(REGIONS)('the discover step accepts AWS_REGION=%j: %s', (region, valid) => {
    expect(
      configProblems('AWS_REGION', () => loadDiscoverConfig({ ...DISCOVER, AWS_REGION: region })),
    ).toHaveLength(valid ? 0 : 1);
  });

  it.each(['', ' us-east-1', 'us-east-1 '])(
    '%j is not a region name (empty, or with spaces around it)',
    (region) => {
      expect(REGION_NAME.test(region)).toBe(false);
    },
  );

  it('is read without the spaces around it, at synth and at cold start alike', () => {
    // Act
    const settings = appSettingsFromContext(
      (name) => ({ mode: 'organization', accounts: '111122223333', regions: ' eusc-de-east-1 ' })[name],
    );
    const scheduled = loadConfig({
      AWS_REGION: ' eusc-de-east-1 ',
      TOPIC_ARN: 'arn:aws-eusc:sns:eusc-de-east-1:111122223333:alerts',
      REPORTS_BUCKET: 'irsa-reports',
    });
    const discover = loadDiscoverConfig({ ...DISCOVER, REGIONS: ' eusc-de-east-1 ' });

    // Assess
    expect(settings.mode === 'organization' && settings.settings.regions).toEqual(['eusc-de-east-1']);
    expect(scheduled.region).toBe('eusc-de-east-1');
    expect(discover.regions).toEqual(['eusc-de-east-1']);
  });

  it('is required: an empty region is refused at synth and at cold start alike', () => {
    expect(contextProblems('regions', { regions: '' })).toEqual([
      'is required: a comma-separated list of regions (eu-west-1,us-east-1)',
    ]);
    expect(configProblems('AWS_REGION', () => loadConfig({ ...SCHEDULED, AWS_REGION: '' }))).toEqual([
      'AWS_REGION is not set (the Lambda runtime sets it)',
    ]);
    expect(configProblems('REGIONS', () => loadDiscoverConfig({ ...DISCOVER, REGIONS: '' }))).toEqual([
      'REGIONS is not set (a comma list of regions)',
    ]);
  });

  it.each([
    ['us-east-1', 'aws', 'amazonaws.com'],
    ['ap-southeast-5', 'aws', 'amazonaws.com'],
    ['cn-north-1', 'aws-cn', 'amazonaws.com.cn'],
    ['us-gov-west-1', 'aws-us-gov', 'amazonaws.com'],
    ['us-iso-east-1', 'aws-iso', 'c2s.ic.gov'],
    ['us-isob-east-1', 'aws-iso-b', 'sc2s.sgov.gov'],
    ['eu-isoe-west-1', 'aws-iso-e', 'cloud.adc-e.uk'],
    ['us-isof-south-1', 'aws-iso-f', 'csp.hci.ic.gov'],
    ['eusc-de-east-1', 'aws-eusc', 'amazonaws.eu'],
  ])('puts %s in the partition %s (%s)', (region, name, dnsSuffix) => {
    expect(partitionOfRegion(region)).toEqual({ name, dnsSuffix });
  });
});

describe('account IDs', () => {
  it.each(ACCOUNTS)('%j is an account ID: %s', (account, valid) => {
    expect(ACCOUNT_ID.test(account)).toBe(valid);
  });

  it.each(ACCOUNTS)('synth accepts -c accounts=%j: %s', (account, valid) => {
    expect(contextProblems('accounts', { accounts: account })).toHaveLength(valid ? 0 : 1);
  });

  it.each(ACCOUNTS)('synth accepts -c auditorAccount=%j: %s', (account, valid) => {
    expect(contextProblems('auditorAccount', { auditorAccount: account })).toHaveLength(valid ? 0 : 1);
  });

  it.each(ACCOUNTS)('the discover step accepts ACCOUNTS=%j: %s', (account, valid) => {
    expect(
      configProblems('ACCOUNTS', () => loadDiscoverConfig({ ...DISCOVER, ACCOUNTS: account })),
    ).toHaveLength(valid ? 0 : 1);
  });

  it.each(['', '111122223333 '])('%j is not an account ID (empty, or with a space after it)', (account) => {
    expect(ACCOUNT_ID.test(account)).toBe(false);
  });
});
