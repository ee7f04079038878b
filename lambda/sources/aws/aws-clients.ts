// The AWS SDK clients of one account and region, built once and shared by every collection of a run.

import { EC2Client } from '@aws-sdk/client-ec2';
import { EKSClient, type EKSClientConfig } from '@aws-sdk/client-eks';
import { IAMClient } from '@aws-sdk/client-iam';
import { STSClient } from '@aws-sdk/client-sts';

/** Static credentials or a provider of them (`AwsCredentialIdentity | AwsCredentialIdentityProvider`), as every client takes. */
export type AwsCredentials = NonNullable<EKSClientConfig['credentials']>;

/** Where the clients point and as whom they sign; without credentials the SDK's default chain applies. */
export interface AwsClientOptions {
  readonly region: string;
  /** One endpoint for every service (an emulator such as moto's server, or a VPC endpoint proxy). */
  readonly endpoint?: string;
  readonly credentials?: AwsCredentials;
  readonly maxAttempts?: number;
}

/** The clients the AWS sources need, with the region they were built for. */
export interface AwsClients {
  readonly eks: EKSClient;
  readonly iam: IAMClient;
  /** DescribeInstances of the cluster's nodes (their metadata options). */
  readonly ec2: EC2Client;
  readonly sts: STSClient;
  readonly region: string;
}

// IAM's control plane throttles at a few requests per second per account, shared with every other tool:
// two more attempts than the SDK's default of 3 turn a busy minute into a slower audit instead of a partial one.
const DEFAULT_MAX_ATTEMPTS = 5;

/** Clients with the SDK's adaptive retry (throttling), all pointed at `endpoint` when given (emulators). */
export function createAwsClients(options: AwsClientOptions): AwsClients {
  const config = {
    region: options.region,
    retryMode: 'adaptive',
    maxAttempts: options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
    ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
    ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
  } as const;
  return {
    eks: new EKSClient(config),
    iam: new IAMClient(config),
    ec2: new EC2Client(config),
    sts: new STSClient(config),
    region: options.region,
  };
}
