// AWS identifiers and region names, defined once for the CDK app (lib/) and the functions (lambda/), so that what
// synth accepts is what the functions accept at cold start and what the run documents may carry.

/** An AWS account ID: exactly 12 digits. */
export const ACCOUNT_ID = /^\d{12}$/;

/**
 * A region name in any partition: a geography of two or more letters, one or more words, a number (us-east-1,
 * cn-north-1, us-gov-west-1, us-iso-east-1, eusc-de-east-1, ap-southeast-5). The shape rather than a list, so a
 * region AWS opens after a release is accepted.
 */
export const REGION_NAME = /^[a-z]{2,}(-[a-z]+)+-\d+$/;

/** A partition as ARNs name it: aws, aws-cn, aws-us-gov, aws-iso-b, aws-eusc. */
export const PARTITION_NAME = /^aws(-[a-z]+)*$/;

/** An IAM role name without a path. IAM: "Use alphanumeric and '+=,.@-_' characters. Maximum 64 characters." */
export const ROLE_NAME = /^[\w+=,.@-]{1,64}$/;

/** What sts:AssumeRole accepts as ExternalId: 2 to 1,224 of letters, digits and +=,.@:/_- (AssumeRole API reference). */
export const EXTERNAL_ID = /^[\w+=,.@:/-]{2,1224}$/;

/**
 * An EKS cluster name. EKS: "The name can contain only alphanumeric characters (case-sensitive), hyphens, and
 * underscores. It must start with an alphanumeric character and can't be longer than 100 characters."
 */
export const CLUSTER_NAME = /^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$/;

/** A partition: the name ARNs carry and the DNS suffix of its service endpoints. */
export interface Partition {
  readonly name: string;
  readonly dnsSuffix: string;
}

const AWS_PARTITION: Partition = { name: 'aws', dnsSuffix: 'amazonaws.com' };

// The region prefixes of the partitions other than aws, as botocore's partitions.json recognises them by pattern;
// every other region (those not yet known included) is in aws.
const PARTITION_PREFIXES: readonly (readonly [string, Partition])[] = [
  ['cn-', { name: 'aws-cn', dnsSuffix: 'amazonaws.com.cn' }],
  ['us-gov-', { name: 'aws-us-gov', dnsSuffix: 'amazonaws.com' }],
  ['us-iso-', { name: 'aws-iso', dnsSuffix: 'c2s.ic.gov' }],
  ['us-isob-', { name: 'aws-iso-b', dnsSuffix: 'sc2s.sgov.gov' }],
  ['eu-isoe-', { name: 'aws-iso-e', dnsSuffix: 'cloud.adc-e.uk' }],
  ['us-isof-', { name: 'aws-iso-f', dnsSuffix: 'csp.hci.ic.gov' }],
  ['eusc-de-', { name: 'aws-eusc', dnsSuffix: 'amazonaws.eu' }],
];

/** The partition a region belongs to (aws for any region of no other partition). */
export function partitionOfRegion(region: string): Partition {
  return PARTITION_PREFIXES.find(([prefix]) => region.startsWith(prefix))?.[1] ?? AWS_PARTITION;
}
