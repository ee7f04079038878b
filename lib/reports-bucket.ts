// The reports bucket (SPEC §7: reports/<account>/<region>/<cluster>/latest.json and .../history/*.json) and the
// bucket that receives its server access logs. In organization mode it also holds each run's working files
// under runs/<runId>/ (the Distributed Map's items, per-cluster results and baselines), which expire.

import { Duration } from 'aws-cdk-lib';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectOwnership } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

/** Where the function writes: the lifecycle rule and the function's permissions cover exactly this prefix. */
export const REPORTS_PREFIX = 'reports/';
/** Organization mode's working files of each run (runs/<runId>/...; README "Organization mode" "S3 layout"). */
export const RUNS_PREFIX = 'runs/';
/** A run's working files and idempotency markers (runs/<runId>/...) are kept this long, in both modes. */
export const RUNS_RETENTION_DAYS = 7;

// A previous latest.json (each run replaces it) stays recoverable this long; history objects are never replaced.
const NONCURRENT_VERSION_DAYS = 30;
// Access logs are evidence of who read the reports; a year covers a typical audit period.
const ACCESS_LOG_DAYS = 365;

/** What the buckets are built from. */
export interface ReportsBucketProps {
  /** The customer managed key the reports are encrypted with (SSE-KMS with an S3 Bucket Key). */
  readonly key: IKey;
  /** Objects under reports/ expire this many days after they were last written. */
  readonly historyRetentionDays: number;
  /** Objects under runs/ expire this many days after they were written; no rule when undefined. */
  readonly runsRetentionDays?: number;
}

/** The versioned, KMS-encrypted, TLS-only, private reports bucket, and its access-log bucket. */
export class ReportsBucket extends Construct {
  readonly bucket: Bucket;
  readonly accessLogs: Bucket;

  constructor(scope: Construct, id: string, props: ReportsBucketProps) {
    super(scope, id);
    // Server access logs can only be delivered to a bucket encrypted with S3 managed keys (SSE-S3).
    this.accessLogs = new Bucket(this, 'AccessLogs', {
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [{ id: 'ExpireAccessLogs', expiration: Duration.days(ACCESS_LOG_DAYS) }],
    });

    // KMS, not S3 managed keys: the reports map which workload identities are broken in this account, so
    // reading them takes kms:Decrypt on the auditor's key as well as s3:GetObject, and CloudTrail records it.
    this.bucket = new Bucket(this, 'Reports', {
      encryption: BucketEncryption.KMS,
      encryptionKey: props.key,
      bucketKeyEnabled: true,
      versioned: true,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: this.accessLogs,
      serverAccessLogsPrefix: 'reports-bucket/',
      lifecycleRules: [
        {
          // A lifecycle filter cannot match the history/ level inside each cluster's prefix, so the rule covers
          // reports/: history objects expire after N days, and latest.json, rewritten by every run, only when
          // its cluster has not been audited for N days.
          id: 'ExpireReports',
          prefix: REPORTS_PREFIX,
          expiration: Duration.days(props.historyRetentionDays),
          noncurrentVersionExpiration: Duration.days(NONCURRENT_VERSION_DAYS),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
        // Expiring a current version in a versioned bucket leaves a delete marker; once its noncurrent versions
        // are gone too, the marker is removed.
        { id: 'RemoveExpiredDeleteMarkers', expiredObjectDeleteMarker: true },
        ...(props.runsRetentionDays === undefined
          ? []
          : [
              {
                // A run's items, results and baselines matter only until its Aggregate step has read them; the
                // days left over are for looking into a failed run.
                id: 'ExpireRuns',
                prefix: RUNS_PREFIX,
                expiration: Duration.days(props.runsRetentionDays),
                noncurrentVersionExpiration: Duration.days(1),
                abortIncompleteMultipartUploadAfter: Duration.days(1),
              },
            ]),
      ],
    });
  }
}
