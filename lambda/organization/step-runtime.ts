// What the three organization steps share beyond the cold start of every entry (pipeline/cold-start.ts): their
// options, and one member session per account for the life of the container.

import type { StructuredLog } from '../pipeline/structured-log';
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
