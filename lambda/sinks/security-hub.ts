// New and resolved findings as AWS Security Finding Format (ASFF) findings in Security Hub, through the account's
// default product integration (`product/<account>/default`). A finding's ID is its cluster's and its stable
// fingerprint, so a re-import updates it: a resolved finding is imported again with RecordState ARCHIVED and
// Workflow RESOLVED. BatchImportFindings takes at most 100 findings per call, each at most 240 KB (every text
// field here is cut to its ASFF limit, the evidence to 1 KB: the report in S3 has all of it); a finding
// Security Hub refuses fails the publication, so the caller keeps its baseline and the next run imports again.

import {
  type AwsSecurityFinding,
  BatchImportFindingsCommand,
  type SecurityHubClient,
  type SeverityLabel,
} from '@aws-sdk/client-securityhub';
import type { Drift } from '../core/drift/drift';
import { errorText } from '../core/error-text';
import { type Finding, resourcePath, type Severity } from '../core/model/finding';
import type { FindingEventSource } from './finding-events';

const MAX_FINDINGS_PER_CALL = 100;
// ASFF field limits (AwsSecurityFinding): Title 256, Description 1024, Recommendation.Text 512 characters;
// a Details.Other value 1024.
const TITLE_LIMIT = 256;
const DESCRIPTION_LIMIT = 1024;
const RECOMMENDATION_LIMIT = 512;
const OTHER_VALUE_LIMIT = 1024;

const LABEL: Readonly<Record<Severity, SeverityLabel>> = {
  critical: 'CRITICAL',
  high: 'HIGH',
  medium: 'MEDIUM',
  low: 'LOW',
  info: 'INFORMATIONAL',
};

/** The ASFF product of findings an account imports itself. */
export function defaultProductArn(partition: string, region: string, account: string): string {
  return `arn:${partition}:securityhub:${region}:${account}:product/${account}/default`;
}

/** The Security Hub finding ID: unique across clusters, stable across runs. */
export function securityHubId(source: FindingEventSource, finding: Finding): string {
  const cluster = source.clusterArn ?? `${source.account}/${source.region}/${source.cluster}`;
  return `${cluster}/${finding.id}`;
}

const cut = (text: string, limit: number) => (text.length <= limit ? text : `${text.slice(0, limit - 1)}…`);

/** One finding in ASFF; `resolved` archives it. */
export function asffFinding(
  source: FindingEventSource,
  finding: Finding,
  status: 'new' | 'resolved',
  partition: string,
): AwsSecurityFinding {
  const at = source.runAt.toISOString();
  const resource = finding.resource;
  const resourceId = resourcePath(source.cluster, resource);
  const evidence = JSON.stringify(finding.evidence);
  return {
    SchemaVersion: '2018-10-08',
    Id: securityHubId(source, finding),
    ProductArn: defaultProductArn(partition, source.region, source.account),
    GeneratorId: `irsa-auditor/${finding.check}`,
    AwsAccountId: source.account,
    Types: ['Software and Configuration Checks/AWS Security Best Practices'],
    CreatedAt: at,
    UpdatedAt: at,
    Severity: { Label: LABEL[finding.severity], Original: finding.severity },
    Title: cut(`${finding.check} ${finding.title}`, TITLE_LIMIT),
    Description: cut(finding.message, DESCRIPTION_LIMIT),
    Remediation: { Recommendation: { Text: cut(finding.remediation, RECOMMENDATION_LIMIT) } },
    ProductFields: {
      'irsa-auditor/check': finding.check,
      'irsa-auditor/fingerprint': finding.id,
      'irsa-auditor/cluster': source.cluster,
      ...(source.reportUri === undefined ? {} : { 'irsa-auditor/report': source.reportUri }),
    },
    Resources: [
      {
        Type: 'Other',
        Id: resourceId,
        Partition: partition as 'aws',
        Region: source.region,
        Details: {
          Other: {
            kind: resource.kind,
            ...(resource.namespace === undefined ? {} : { namespace: resource.namespace }),
            name: cut(resource.name, OTHER_VALUE_LIMIT),
            cluster: source.clusterArn ?? source.cluster,
            evidence: cut(evidence, OTHER_VALUE_LIMIT),
          },
        },
      },
    ],
    RecordState: status === 'new' ? 'ACTIVE' : 'ARCHIVED',
    Workflow: { Status: status === 'new' ? 'NEW' : 'RESOLVED' },
  };
}

/** The ASFF findings of a drift: the new ones active, the resolved ones archived. */
export function securityHubFindings(
  source: FindingEventSource,
  drift: Drift,
  partition: string,
): AwsSecurityFinding[] {
  return [
    ...drift.newFindings.map((finding) => asffFinding(source, finding, 'new', partition)),
    ...drift.resolved.map((finding) => asffFinding(source, finding, 'resolved', partition)),
  ];
}

/** Some findings were not imported: how many, and Security Hub's first reason. */
export class SecurityHubImportError extends Error {
  override readonly name = 'SecurityHubImportError';
  constructor(
    readonly failed: number,
    readonly total: number,
    detail: string,
  ) {
    super(`${failed} of ${total} findings were not imported into Security Hub: ${detail}`);
  }
}

/** Imports every finding, 100 per call; throws SecurityHubImportError when any was refused or a call failed. */
export async function importFindings(
  client: SecurityHubClient,
  findings: readonly AwsSecurityFinding[],
): Promise<number> {
  let failed = 0;
  let firstError: string | undefined;
  for (let start = 0; start < findings.length; start += MAX_FINDINGS_PER_CALL) {
    const batch = findings.slice(start, start + MAX_FINDINGS_PER_CALL);
    try {
      const output = await client.send(new BatchImportFindingsCommand({ Findings: batch }));
      failed += output.FailedCount ?? 0;
      const refused = output.FailedFindings?.[0];
      firstError ??= refused === undefined ? undefined : `${refused.ErrorCode}: ${refused.ErrorMessage}`;
    } catch (error) {
      failed += batch.length;
      firstError ??= errorText(error, { named: true });
    }
  }
  if (failed > 0) throw new SecurityHubImportError(failed, findings.length, firstError ?? 'unknown error');
  return findings.length;
}
