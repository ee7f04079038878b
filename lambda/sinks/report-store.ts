// Reports in S3 (SPEC §7): reports/<account>/<region>/<cluster>/latest.json, the drift baseline, and
// .../history/<ISO-8601>.json, one per run; each the §6 JSON of that one cluster, server-side encrypted.

import {
  CopyObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  type PutObjectCommandInput,
  type S3Client,
} from '@aws-sdk/client-s3';
import { errorText } from '../core/error-text';
import {
  type AuditReport,
  type ClusterReport,
  type Evidence,
  type Finding,
  isSeverity,
  type ResourceRef,
  SEVERITIES,
  type SeveritySummary,
} from '../core/model/finding';

/** A stored report and the run that wrote it (S3 user metadata `run-id`). */
export interface StoredReport {
  readonly report: AuditReport;
  readonly runId?: string;
}

/** Options of the store: a KMS key (ID, ARN or alias) switches SSE-S3 (AES256) to SSE-KMS. */
export interface ReportStoreOptions {
  readonly kmsKeyId?: string;
}

/** An S3 read or write of a report failed, or what was read is not a §6 report; names the object. */
export class ReportStoreError extends Error {
  override readonly name = 'ReportStoreError';
  constructor(
    readonly operation: 'read' | 'write' | 'parse',
    readonly uri: string,
    problem: string,
    override readonly cause?: unknown,
  ) {
    super(`could not ${operation === 'parse' ? 'use' : operation} ${uri}: ${problem}`);
  }
}

// S3 user metadata keys travel as x-amz-meta-<key> headers, lower-cased by S3.
const RUN_ID_METADATA = 'run-id';
// The report's own time (its generatedAt), so that a reader can tell which run a baseline is from without
// downloading it: an incident's latest.json can hold a hundred thousand findings.
const GENERATED_AT_METADATA = 'generated-at';
/** A key part must not add or escape a path level. */
export const KEY_PART = /^(?!\.{1,2}$)[A-Za-z0-9._-]+$/;

/** Reads and writes one cluster's reports in one bucket. */
export class ReportStore {
  private readonly kmsKeyId: string | undefined;

  constructor(
    private readonly s3: S3Client,
    readonly bucket: string,
    options: ReportStoreOptions = {},
  ) {
    this.kmsKeyId = options.kmsKeyId === '' ? undefined : options.kmsKeyId;
  }

  /** `reports/<account>/<region>/<cluster>/latest.json`. */
  latestKey(account: string, region: string, cluster: string): string {
    return `${prefixOf(account, region, cluster)}/latest.json`;
  }

  /** `reports/<account>/<region>/<cluster>/history/<ISO-8601>.json`: sorts by time as text. */
  historyKey(account: string, region: string, cluster: string, at: Date): string {
    return `${prefixOf(account, region, cluster)}/history/${at.toISOString()}.json`;
  }

  /** The baseline of a cluster, or undefined when none was stored yet (a first run). */
  async latest(account: string, region: string, cluster: string): Promise<StoredReport | undefined> {
    const key = this.latestKey(account, region, cluster);
    const object = await this.getText(key);
    if (object === undefined) return undefined;
    const report = parseStoredReport(object.text, this.objectUri(key));
    return object.runId === undefined ? { report } : { report, runId: object.runId };
  }

  /**
   * When the cluster's baseline was generated (its report's generatedAt), or undefined when there is none; read
   * from the object's metadata, and only from its body for a baseline written before the metadata existed.
   */
  async latestGeneratedAt(account: string, region: string, cluster: string): Promise<string | undefined> {
    const key = this.latestKey(account, region, cluster);
    let generatedAt: string | undefined;
    try {
      const head = await this.s3.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      generatedAt = head.Metadata?.[GENERATED_AT_METADATA];
    } catch (error) {
      if (isNoSuchKey(error)) return undefined;
      throw new ReportStoreError('read', this.objectUri(key), readProblem(error), error);
    }
    return generatedAt ?? (await this.latest(account, region, cluster))?.report.generatedAt;
  }

  /** Writes this run's report to the history; returns the key. */
  async saveHistory(
    account: string,
    region: string,
    cluster: string,
    report: AuditReport,
    at: Date,
  ): Promise<string> {
    const key = this.historyKey(account, region, cluster, at);
    await this.put(key, cluster, report, {});
    return key;
  }

  /** Replaces the baseline, tagged with the run that wrote it (so a retry of that run can tell); returns the key. */
  async saveLatest(
    account: string,
    region: string,
    cluster: string,
    report: AuditReport,
    runId: string,
  ): Promise<string> {
    const key = this.latestKey(account, region, cluster);
    await this.put(key, cluster, report, {
      [RUN_ID_METADATA]: runId,
      [GENERATED_AT_METADATA]: report.generatedAt,
    });
    return key;
  }

  /** `s3://<bucket>/<key>`. */
  objectUri(key: string): string {
    return `s3://${this.bucket}/${key}`;
  }

  /** Writes any JSON document under `key` (encrypted as the reports are), tagged with the run when given. */
  async putJson(key: string, value: unknown, runId?: string): Promise<void> {
    try {
      await this.s3.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Body: `${JSON.stringify(value)}\n`,
          ContentType: 'application/json',
          Metadata: runId === undefined ? {} : { [RUN_ID_METADATA]: runId },
          ...this.encryption(),
        }),
      );
    } catch (error) {
      throw new ReportStoreError('write', this.objectUri(key), errorText(error, { named: true }), error);
    }
  }

  /** A JSON document and the run that wrote it, or undefined when there is no such object; the value is unchecked. */
  async getJson(key: string): Promise<{ readonly value: unknown; readonly runId?: string } | undefined> {
    const object = await this.getText(key);
    if (object === undefined) return undefined;
    try {
      const value: unknown = JSON.parse(object.text);
      return object.runId === undefined ? { value } : { value, runId: object.runId };
    } catch (error) {
      throw new ReportStoreError(
        'parse',
        this.objectUri(key),
        `not JSON (${errorText(error, { named: true })})`,
        error,
      );
    }
  }

  /**
   * Copies an object within the bucket (no download), re-encrypted and tagged with the run (and, for a report,
   * the time it was generated), as saveLatest does.
   */
  async copy(sourceKey: string, destinationKey: string, runId: string, generatedAt?: string): Promise<void> {
    try {
      await this.s3.send(
        new CopyObjectCommand({
          Bucket: this.bucket,
          Key: destinationKey,
          CopySource: `${this.bucket}/${sourceKey.split('/').map(encodeURIComponent).join('/')}`,
          // REPLACE: the copy carries this run's ID, not the source's metadata.
          MetadataDirective: 'REPLACE',
          Metadata: {
            [RUN_ID_METADATA]: runId,
            ...(generatedAt === undefined ? {} : { [GENERATED_AT_METADATA]: generatedAt }),
          },
          ContentType: 'application/json',
          ...this.encryption(),
        }),
      );
    } catch (error) {
      throw new ReportStoreError(
        'write',
        this.objectUri(destinationKey),
        `copy from ${this.objectUri(sourceKey)} failed: ${errorText(error, { named: true })}`,
        error,
      );
    }
  }

  /** An object's text and the run that wrote it, or undefined when there is no such object. */
  private async getText(
    key: string,
  ): Promise<{ readonly text: string; readonly runId?: string } | undefined> {
    try {
      const object = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      const text = (await object.Body?.transformToString('utf-8')) ?? '';
      const runId = object.Metadata?.[RUN_ID_METADATA];
      return runId === undefined ? { text } : { text, runId };
    } catch (error) {
      if (isNoSuchKey(error)) return undefined;
      throw new ReportStoreError('read', this.objectUri(key), readProblem(error), error);
    }
  }

  private encryption(): Partial<PutObjectCommandInput> {
    return this.kmsKeyId === undefined
      ? { ServerSideEncryption: 'AES256' }
      : // An S3 Bucket Key turns one KMS request per object into one per bucket and key for a while.
        { ServerSideEncryption: 'aws:kms', SSEKMSKeyId: this.kmsKeyId, BucketKeyEnabled: true };
  }

  private async put(
    key: string,
    cluster: string,
    report: AuditReport,
    metadata: Record<string, string>,
  ): Promise<void> {
    const uri = this.objectUri(key);
    if (report.clusters.length !== 1 || report.clusters[0]?.name !== cluster) {
      throw new ReportStoreError('write', uri, `the report must hold exactly cluster ${cluster}`);
    }
    const encryption = this.encryption();
    try {
      await this.s3.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Body: `${JSON.stringify(report, null, 2)}\n`,
          ContentType: 'application/json',
          Metadata: metadata,
          ...encryption,
        }),
      );
    } catch (error) {
      throw new ReportStoreError('write', uri, errorText(error, { named: true }), error);
    }
  }
}

function prefixOf(account: string, region: string, cluster: string): string {
  for (const [label, part] of [
    ['account', account],
    ['region', region],
    ['cluster', cluster],
  ] as const) {
    if (!KEY_PART.test(part)) {
      throw new ReportStoreError(
        'write',
        `reports/${account}/${region}/${cluster}`,
        `invalid ${label} "${part}"`,
      );
    }
  }
  return `reports/${account}/${region}/${cluster}`;
}

function isNoSuchKey(error: unknown): boolean {
  return error instanceof Error && (error.name === 'NoSuchKey' || error.name === 'NotFound');
}

function readProblem(error: unknown): string {
  const status = (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata
    ?.httpStatusCode;
  // S3 answers 403, not 404, for a missing key when the caller may not s3:ListBucket the bucket.
  const hint =
    status === 403 ? ' (a first run also gets 403 here unless the role may s3:ListBucket the bucket)' : '';
  return `${errorText(error, { named: true })}${hint}`;
}

// Parsing at the edge: what S3 returns is untyped JSON that another version of the auditor may have written.

type Json = { readonly [key: string]: unknown };

class ShapeError extends Error {
  constructor(
    readonly path: string,
    readonly expected: string,
  ) {
    super(`${path} is not ${expected}`);
  }
}

/** Validates a stored report (§6 JSON) into the typed model; a ReportStoreError names the JSON path otherwise. */
export function parseStoredReport(text: string, uri: string): AuditReport {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ReportStoreError('parse', uri, `not JSON (${errorText(error, { named: true })})`, error);
  }
  try {
    const root = object(value, '$');
    if (root.schemaVersion !== '1') throw new ShapeError('$.schemaVersion', '"1"');
    return {
      schemaVersion: '1',
      generatedAt: string(root.generatedAt, '$.generatedAt'),
      clusters: array(root.clusters, '$.clusters').map((cluster, index) =>
        clusterReport(cluster, `$.clusters[${index}]`),
      ),
    };
  } catch (error) {
    if (error instanceof ShapeError)
      throw new ReportStoreError('parse', uri, `not a §6 report: ${error.message}`);
    throw error;
  }
}

function clusterReport(value: unknown, path: string): ClusterReport {
  const cluster = object(value, path);
  const summaryObject = object(cluster.summary, `${path}.summary`);
  const summary = Object.fromEntries(
    SEVERITIES.map((severity) => [severity, number(summaryObject[severity], `${path}.summary.${severity}`)]),
  ) as SeveritySummary;
  return {
    name: string(cluster.name, `${path}.name`),
    ...optionalString(cluster, 'arn', path),
    ...optionalString(cluster, 'region', path),
    ...optionalString(cluster, 'accountId', path),
    summary,
    findings: array(cluster.findings, `${path}.findings`).map((finding, index) =>
      findingOf(finding, `${path}.findings[${index}]`),
    ),
  };
}

function findingOf(value: unknown, path: string): Finding {
  const finding = object(value, path);
  const severity = string(finding.severity, `${path}.severity`);
  if (!isSeverity(severity)) throw new ShapeError(`${path}.severity`, `one of ${SEVERITIES.join(', ')}`);
  const resourceObject = object(finding.resource, `${path}.resource`);
  const resource: ResourceRef = {
    kind: string(resourceObject.kind, `${path}.resource.kind`),
    ...optionalString(resourceObject, 'namespace', `${path}.resource`),
    name: string(resourceObject.name, `${path}.resource.name`),
  };
  return {
    id: string(finding.id, `${path}.id`),
    check: string(finding.check, `${path}.check`),
    severity,
    title: string(finding.title, `${path}.title`),
    resource,
    message: string(finding.message, `${path}.message`),
    // JSON.parse produced it, so every value in it is JSON: exactly what Evidence allows.
    evidence: object(finding.evidence, `${path}.evidence`) as Evidence,
    remediation: string(finding.remediation, `${path}.remediation`),
  };
}

function object(value: unknown, path: string): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new ShapeError(path, 'an object');
  return value as Json;
}

function array(value: unknown, path: string): readonly unknown[] {
  if (!Array.isArray(value)) throw new ShapeError(path, 'an array');
  return value;
}

function string(value: unknown, path: string): string {
  if (typeof value !== 'string') throw new ShapeError(path, 'a string');
  return value;
}

function number(value: unknown, path: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new ShapeError(path, 'a number');
  return value;
}

function optionalString<K extends string>(source: Json, key: K, path: string): { [P in K]?: string } {
  const value = source[key];
  if (value === undefined) return {};
  return { [key]: string(value, `${path}.${key}`) } as { [P in K]?: string };
}
