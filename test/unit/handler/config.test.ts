import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../lambda/pipeline/config';
import { createHandler } from '../../../lambda/pipeline/scheduled-handler';

const TOPIC = 'arn:aws:sns:eu-west-1:111122223333:irsa-auditor-alerts';
const minimal = { AWS_REGION: 'eu-west-1', TOPIC_ARN: TOPIC, REPORTS_BUCKET: 'irsa-auditor-reports' };

function problemsOf(env: Record<string, string | undefined>): readonly string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('loadConfig', () => {
  it('applies the documented defaults when only the topic, bucket and region are set', () => {
    const config = loadConfig(minimal);

    expect(config).toEqual({
      region: 'eu-west-1',
      excludeNamespaces: [],
      alertSeverity: 'high',
      topicArn: TOPIC,
      reportsBucket: 'irsa-auditor-reports',
      probe: false,
      webhookName: 'iam-for-pods.amazonaws.com',
      clusterConcurrency: 4,
      securityHub: false,
    });
    expect(config.clusters).toBeUndefined();
  });

  it('reads every variable, trimming comma lists and dropping empty and repeated entries', () => {
    const config = loadConfig({
      ...minimal,
      CLUSTERS: ' platform-prod, platform_staging ,,platform-prod,',
      EXCLUDE_NAMESPACES: 'kube-system,monitoring',
      ALERT_SEVERITY: 'Critical',
      PROBE: 'TRUE',
      WEBHOOK_NAME: 'pod-identity.example.com',
      AWS_ENDPOINT_URL: 'http://127.0.0.1:5000',
      CLUSTER_CONCURRENCY: '8',
      REPORTS_KMS_KEY_ID: 'alias/irsa-auditor-reports',
      EVENT_BUS_NAME: 'platform-findings',
      SECURITY_HUB: 'true',
    });

    expect(config).toMatchObject({
      eventBusName: 'platform-findings',
      securityHub: true,
      clusters: ['platform-prod', 'platform_staging'],
      excludeNamespaces: ['kube-system', 'monitoring'],
      alertSeverity: 'critical',
      probe: true,
      webhookName: 'pod-identity.example.com',
      endpoint: 'http://127.0.0.1:5000',
      clusterConcurrency: 8,
      reportsKmsKeyId: 'alias/irsa-auditor-reports',
    });
  });

  it('takes the region from AWS_DEFAULT_REGION when AWS_REGION is absent', () => {
    const config = loadConfig({ ...minimal, AWS_REGION: undefined, AWS_DEFAULT_REGION: 'eu-west-1' });

    expect(config.region).toBe('eu-west-1');
  });

  it('audits every cluster when CLUSTERS is blank', () => {
    expect(loadConfig({ ...minimal, CLUSTERS: ' ' }).clusters).toBeUndefined();
  });

  it('names every problem in one ConfigError whose message is one line', () => {
    const env = {
      TOPIC_ARN: 'irsa-auditor-alerts',
      REPORTS_BUCKET: 'Reports_Bucket',
      ALERT_SEVERITY: 'urgent',
      PROBE: 'yes',
      CLUSTER_CONCURRENCY: '0',
      CLUSTERS: 'platform-prod,-bad',
      EXCLUDE_NAMESPACES: 'Kube_System',
      AWS_ENDPOINT_URL: 'localhost:5000',
      WEBHOOK_NAME: 'iam for pods',
    };

    const thrown = (() => {
      try {
        loadConfig(env);
      } catch (error) {
        return error;
      }
    })();

    expect(thrown).toBeInstanceOf(ConfigError);
    const error = thrown as ConfigError;
    expect(error.problems).toEqual([
      'AWS_REGION is not set (the Lambda runtime sets it)',
      'CLUSTERS: "-bad" is not an EKS cluster name',
      'EXCLUDE_NAMESPACES: "Kube_System" is not a Kubernetes namespace name',
      'ALERT_SEVERITY must be one of critical, high, medium, low, info, not "urgent"',
      'TOPIC_ARN "irsa-auditor-alerts" is not an SNS topic ARN',
      'REPORTS_BUCKET "Reports_Bucket" is not an S3 bucket name',
      'PROBE must be true or false, not "yes"',
      'WEBHOOK_NAME "iam for pods" is not a webhook name (it has spaces)',
      'AWS_ENDPOINT_URL "localhost:5000" is not an http(s) URL',
      'CLUSTER_CONCURRENCY must be a whole number from 1 to 32, not "0"',
    ]);
    expect(error.message).toMatch(/^invalid configuration \(10 problems\): AWS_REGION is not set/);
    expect(error.message).not.toContain('\n');
  });

  it('requires the topic and the bucket', () => {
    expect(problemsOf({ AWS_REGION: 'eu-west-1' })).toEqual([
      'TOPIC_ARN is not set',
      'REPORTS_BUCKET is not set',
    ]);
  });

  it('refuses a topic of another region, which the function cannot publish to', () => {
    expect(
      problemsOf({ ...minimal, TOPIC_ARN: 'arn:aws:sns:us-east-1:111122223333:irsa-auditor-alerts' }),
    ).toEqual(['TOPIC_ARN is in us-east-1, but the function runs in eu-west-1']);
  });

  it.each([
    ['a bucket name with two dots in a row', { REPORTS_BUCKET: 'irsa..reports' }],
    ['a two-character bucket name', { REPORTS_BUCKET: 'ab' }],
    ['a fractional concurrency', { CLUSTER_CONCURRENCY: '2.5' }],
    ['a concurrency above the maximum', { CLUSTER_CONCURRENCY: '33' }],
    ['a cluster name over 100 characters', { CLUSTERS: `c${'x'.repeat(100)}` }],
    ['a KMS key with a space', { REPORTS_KMS_KEY_ID: 'alias/my key' }],
    ['an event bus name with a space', { EVENT_BUS_NAME: 'platform findings' }],
    ['SECURITY_HUB yes', { SECURITY_HUB: 'yes' }],
    [
      'a GovCloud topic ARN in another region',
      { TOPIC_ARN: 'arn:aws-us-gov:sns:us-gov-west-1:111122223333:t' },
    ],
  ])('refuses %s', (_case, overrides) => {
    expect(problemsOf({ ...minimal, ...overrides })).toHaveLength(1);
  });

  it.each([
    ['a FIFO topic', { TOPIC_ARN: 'arn:aws:sns:eu-west-1:111122223333:alerts.fifo' }],
    ['a bucket name with dots', { REPORTS_BUCKET: 'reports.example.com' }],
    ['a concurrency of 1', { CLUSTER_CONCURRENCY: '1' }],
    ['PROBE false', { PROBE: 'false' }],
    ['the default event bus', { EVENT_BUS_NAME: 'default' }],
    [
      'an event bus ARN',
      { EVENT_BUS_NAME: 'arn:aws:events:eu-west-1:111122223333:event-bus/platform-findings' },
    ],
  ])('accepts %s', (_case, overrides) => {
    expect(problemsOf({ ...minimal, ...overrides })).toEqual([]);
  });
});

describe('createHandler with an invalid configuration', () => {
  it('logs one line naming every problem at cold start and fails each invocation with the same ConfigError', async () => {
    const lines: { level: string; message: string; fields: unknown }[] = [];
    const handler = createHandler(
      { AWS_REGION: 'eu-west-1', ALERT_SEVERITY: 'urgent' },
      { log: (level, message, fields) => lines.push({ level, message, fields }) },
    );

    const invocation = handler({ id: 'event-1' }, { getRemainingTimeInMillis: () => 60_000 });

    expect(lines).toHaveLength(1);
    expect(lines[0]?.level).toBe('error');
    expect(lines[0]?.message).toBe(
      'invalid configuration (3 problems): ALERT_SEVERITY must be one of critical, high, medium, low, info, not "urgent"; TOPIC_ARN is not set; REPORTS_BUCKET is not set',
    );
    await expect(invocation).rejects.toBeInstanceOf(ConfigError);
    await expect(invocation).rejects.toThrow('TOPIC_ARN is not set');
  });
});
