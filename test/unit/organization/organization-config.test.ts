// The organization steps' configuration: defaults, every problem named at once, the contract's variable names.

import { describe, expect, it } from 'vitest';
import {
  loadAggregateConfig,
  loadAuditTargetConfig,
  loadDiscoverConfig,
  ORGANIZATION_VARIABLES,
} from '../../../lambda/organization/organization-config';
import { ConfigError } from '../../../lambda/pipeline/config';

const COMMON = { AWS_REGION: 'eu-west-1', REPORTS_BUCKET: 'irsa-reports', EXTERNAL_ID: 'external-id-1' };

function problemsOf(load: () => unknown): readonly string[] {
  try {
    load();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('organization configuration', () => {
  it('names the variables of the contract', () => {
    expect(Object.values(ORGANIZATION_VARIABLES).sort()).toEqual(
      [
        'ACCOUNTS',
        'ALERT_SEVERITY',
        'AWS_ENDPOINT_URL',
        'AWS_REGION',
        'DISCOVERY_CONCURRENCY',
        'EXCLUDE_NAMESPACES',
        'EXTERNAL_ID',
        'MEMBER_ROLE_NAME',
        'PROBE',
        'REGIONS',
        'REPORTS_BUCKET',
        'REPORTS_KMS_KEY_ID',
        'TOPIC_ARN',
        'WEBHOOK_NAME',
      ].sort(),
    );
  });

  it('reads the discover step with its defaults', () => {
    const config = loadDiscoverConfig({
      ...COMMON,
      ACCOUNTS: ' 111122223333, 222233334444 ,',
      REGIONS: 'eu-west-1,us-east-1',
    });

    expect(config).toEqual({
      region: 'eu-west-1',
      reportsBucket: 'irsa-reports',
      memberRoleName: 'IrsaAuditorMember',
      externalId: 'external-id-1',
      accounts: ['111122223333', '222233334444'],
      regions: ['eu-west-1', 'us-east-1'],
      discoveryConcurrency: 8,
    });
  });

  it('reads ACCOUNTS=all as every account of the organization', () => {
    expect(loadDiscoverConfig({ ...COMMON, ACCOUNTS: 'ALL', REGIONS: 'eu-west-1' }).accounts).toBe('all');
  });

  it('names every problem of the discover step at once', () => {
    const problems = problemsOf(() =>
      loadDiscoverConfig({
        AWS_REGION: 'eu-west-1',
        REPORTS_BUCKET: 'Not_A_Bucket',
        ACCOUNTS: '1234,222233334444',
        REGIONS: 'eu-west-1,Mars',
        DISCOVERY_CONCURRENCY: '64',
        MEMBER_ROLE_NAME: 'team/Auditor',
      }),
    );

    expect(problems).toEqual([
      'REPORTS_BUCKET "Not_A_Bucket" is not an S3 bucket name',
      'MEMBER_ROLE_NAME "team/Auditor" is not an IAM role name (up to 64 letters, digits and +=,.@_-, no path)',
      'EXTERNAL_ID is not set (the external ID the member roles require)',
      'ACCOUNTS: "1234" is not a 12-digit account ID',
      'REGIONS: "Mars" is not an AWS region name',
      'DISCOVERY_CONCURRENCY must be a whole number from 1 to 32, not "64"',
    ]);
  });

  it('requires the accounts and regions to discover', () => {
    expect(problemsOf(() => loadDiscoverConfig(COMMON))).toEqual([
      'ACCOUNTS is not set (say "all" or list 12-digit account IDs)',
      'REGIONS is not set (a comma list of regions)',
    ]);
  });

  it('reads the audit-target step as single mode reads its audit settings', () => {
    const config = loadAuditTargetConfig({
      ...COMMON,
      EXCLUDE_NAMESPACES: 'kube-system',
      ALERT_SEVERITY: 'Critical',
      PROBE: 'true',
    });

    expect(config).toMatchObject({
      excludeNamespaces: ['kube-system'],
      alertSeverity: 'critical',
      probe: true,
      webhookName: 'iam-for-pods.amazonaws.com',
    });
    expect(
      problemsOf(() => loadAuditTargetConfig({ ...COMMON, ALERT_SEVERITY: 'urgent', PROBE: 'yes' })),
    ).toEqual([
      'ALERT_SEVERITY must be one of critical, high, medium, low, info, not "urgent"',
      'PROBE must be true or false, not "yes"',
    ]);
  });

  it('requires a topic of the function’s own region for the aggregate step, and no member role', () => {
    const { EXTERNAL_ID: _, ...withoutExternalId } = COMMON;

    expect(
      loadAggregateConfig({ ...withoutExternalId, TOPIC_ARN: 'arn:aws:sns:eu-west-1:123456789012:irsa' }),
    ).toMatchObject({ topicArn: 'arn:aws:sns:eu-west-1:123456789012:irsa', alertSeverity: 'high' });
    expect(
      problemsOf(() =>
        loadAggregateConfig({ ...COMMON, TOPIC_ARN: 'arn:aws:sns:us-east-1:123456789012:irsa' }),
      ),
    ).toEqual(['TOPIC_ARN is in us-east-1, but the function runs in eu-west-1']);
  });
});
