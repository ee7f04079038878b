// What the three organization steps share at cold start: the configuration check that fails every invocation
// with one readable ConfigError (as lambda/pipeline/scheduled-handler.ts does), the S3 report store, and one member
// session per account for the life of the container.

import { S3Client } from '@aws-sdk/client-s3';
import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import { ConfigError } from '../pipeline/config';
import { jsonLineLog, type LogValue, type StructuredLog } from '../pipeline/structured-log';
import { ReportStore } from '../sinks/report-store';
import type { AwsCredentials } from '../sources/aws/aws-clients';
import { createMemberSession, type MemberSession, type MemberSessionOptions } from './member-session';
import type { MemberRoleConfig, OrganizationCommonConfig } from './organization-config';

/** What a caller outside Lambda may choose; the deployed handlers use the defaults. */
export interface StepOptions {
  /** The auditor's own AWS credentials; the default credential chain when absent. */
  readonly credentials?: AwsCredentials;
  readonly log?: StructuredLog;
  /** Extra middleware for the STS client that assumes the member roles (tests inject faults with it). */
  readonly stsPlugins?: MemberSessionOptions['stsPlugins'];
}

// As the collection clients (createAwsClients): a throttled S3, SNS or CloudWatch call is retried, not lost.
export const SINK_MAX_ATTEMPTS = 5;

/** The client settings of the auditor's own calls in its home region (S3, SNS, CloudWatch, Organizations). */
export function homeClientConfig(config: OrganizationCommonConfig, credentials: AwsCredentials) {
  return {
    region: config.region,
    credentials,
    retryMode: 'adaptive',
    maxAttempts: SINK_MAX_ATTEMPTS,
    ...(config.endpoint === undefined ? {} : { endpoint: config.endpoint }),
  } as const;
}

/** The auditor's credentials: the given ones, else the default chain (the function's role in Lambda). */
export function auditorCredentials(options: StepOptions): AwsCredentials {
  return options.credentials ?? fromNodeProviderChain();
}

/** The reports bucket, encrypted as configured. */
export function reportStoreFor(config: OrganizationCommonConfig, credentials: AwsCredentials): ReportStore {
  // An emulator's endpoint is one host: bucket names go in the path, not in the host name.
  const s3 = new S3Client({
    ...homeClientConfig(config, credentials),
    forcePathStyle: config.endpoint !== undefined,
  });
  return new ReportStore(
    s3,
    config.reportsBucket,
    config.reportsKmsKeyId === undefined ? {} : { kmsKeyId: config.reportsKmsKeyId },
  );
}

/** One member session per account, kept for the container: its credentials are reused until near expiry. */
export function memberSessions(
  config: OrganizationCommonConfig & MemberRoleConfig,
  purpose: MemberSessionOptions['purpose'],
  options: StepOptions,
  credentials: AwsCredentials,
): (account: string) => MemberSession {
  const sessions = new Map<string, MemberSession>();
  const sessionOptions: MemberSessionOptions = {
    homeRegion: config.region,
    memberRoleName: config.memberRoleName,
    externalId: config.externalId,
    purpose,
    credentials,
    ...(config.endpoint === undefined ? {} : { endpoint: config.endpoint }),
    ...(options.stsPlugins === undefined ? {} : { stsPlugins: options.stsPlugins }),
  };
  return (account) => {
    let session = sessions.get(account);
    if (session === undefined) {
      session = createMemberSession(sessionOptions, account);
      sessions.set(account, session);
    }
    return session;
  };
}

/**
 * Validates the configuration now (cold start) and returns the step's handler. An invalid configuration is
 * logged at once, one line naming every problem, and fails every invocation with the same ConfigError (the
 * Lambda errors alarm fires); it does not fail the import, so the bundle still loads to say what is wrong.
 */
export function atColdStart<Config, Handler extends (...args: never[]) => Promise<unknown>>(
  step: string,
  load: () => Config,
  build: (config: Config) => Handler,
  describe: (config: Config) => Readonly<Record<string, LogValue>>,
  log: StructuredLog = jsonLineLog(),
): Handler {
  try {
    const config = load();
    const handler = build(config);
    log('info', 'configuration loaded', { step, ...describe(config) });
    return handler;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    log('error', error.message, { step, problems: [...error.problems] });
    return (async () => {
      throw error;
    }) as unknown as Handler;
  }
}
