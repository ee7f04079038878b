// cdk-nag's AWS Solutions checks on the stack (SPEC §9): no unsuppressed error or warning, in each
// configuration; every suppression has a reason of at least 10 characters and is applied to the exact finding
// (IAM5 per wildcard resource), so a new wildcard is never suppressed by accident.

import { Annotations, Match } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { STACK_NAME } from '../../lib/irsa-auditor-app';
import { type SynthesizedAuditor, synthesizeAuditor } from '../support/cdk-asset';
import { nagReport } from '../support/nag-report';

// Each synthesis runs the whole app and cdk-nag (about a second or two each; more on a loaded machine).
const SYNTH_TIMEOUT_MS = 60_000;

const CONFIGURATIONS = {
  'every cluster (defaults)': {},
  'configured clusters, VPC, email, probe': {
    context: {
      clusters: 'prod,staging',
      vpcId: 'vpc-0123456789abcdef0',
      subnetIds: 'subnet-0123456789abcdef0,subnet-0fedcba9876543210',
      securityGroupIds: 'sg-0123456789abcdef0',
      alertEmail: 'oncall@example.com',
      probe: true,
    },
  },
  // With credentials the cdk CLI sets these: ARNs then hold the literal account and region.
  'a known account and region': {
    context: { clusters: 'prod' },
    environment: { CDK_DEFAULT_ACCOUNT: '111122223333', CDK_DEFAULT_REGION: 'eu-west-1' },
  },
};

type Configuration = keyof typeof CONFIGURATIONS;
const synthesized = new Map<Configuration, SynthesizedAuditor>();

beforeAll(() => {
  for (const [name, options] of Object.entries(CONFIGURATIONS))
    synthesized.set(name as Configuration, synthesizeAuditor(options));
}, SYNTH_TIMEOUT_MS);

const of = (name: Configuration): SynthesizedAuditor => {
  const result = synthesized.get(name);
  if (result === undefined) throw new Error(`${name} was not synthesized`);
  return result;
};

/** Every cdk-nag suppression in the construct tree, with the path it is attached to. */
function suppressions(
  root: IConstruct,
): { path: string; id: string; reason: string; appliesTo?: unknown[] }[] {
  return root.node.findAll().flatMap((construct) => {
    const metadata = construct.node.metadata.filter((entry) => entry.type === 'cdk_nag');
    const cfn = (construct as { cfnOptions?: { metadata?: { cdk_nag?: { rules_to_suppress?: unknown[] } } } })
      .cfnOptions?.metadata?.cdk_nag?.rules_to_suppress;
    const rules = [
      ...metadata.flatMap(
        (entry) => (entry.data as { rules_to_suppress?: unknown[] }).rules_to_suppress ?? [],
      ),
      ...(cfn ?? []),
    ] as { id: string; reason: string; appliesTo?: unknown[]; applies_to?: unknown[] }[];
    // In template metadata cdk-nag writes `applies_to`.
    return rules.map(({ id, reason, appliesTo, applies_to }) => ({
      path: construct.node.path,
      id,
      reason,
      appliesTo: appliesTo ?? applies_to ?? [],
    }));
  });
}

describe.each(Object.keys(CONFIGURATIONS) as Configuration[])('cdk-nag AwsSolutions on %s', (name) => {
  it('reports no unsuppressed error', () => {
    // Act
    const errors = Annotations.fromStack(of(name).stack).findError(
      '*',
      Match.stringLikeRegexp('AwsSolutions-.*'),
    );

    // Assess
    expect(errors.map((error) => `${error.id}: ${String(error.entry.data).split('\n')[0]}`)).toEqual([]);
  });

  it('reports no unsuppressed warning', () => {
    // Act
    const warnings = Annotations.fromStack(of(name).stack).findWarning(
      '*',
      Match.stringLikeRegexp('AwsSolutions-.*'),
    );

    // Assess
    expect(warnings.map((warning) => `${warning.id}: ${String(warning.entry.data).split('\n')[0]}`)).toEqual(
      [],
    );
  });

  it('leaves the CDK itself with no error or warning on the stack', () => {
    // Act
    const annotations = Annotations.fromStack(of(name).stack);

    // Assess
    expect(annotations.findError('*', Match.anyValue())).toEqual([]);
    expect(annotations.findWarning('*', Match.anyValue())).toEqual([]);
  });

  it('suppresses only what the report lists as suppressed, each row with its reason', () => {
    // Act
    const rows = nagReport(of(name).outdir, STACK_NAME);

    // Assess
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.filter((row) => row.compliance === 'Non-Compliant')).toEqual([]);
    for (const row of rows.filter((candidate) => candidate.compliance === 'Suppressed'))
      expect(
        row.reason.replace(/^\[[^\]]*\] /, '').length,
        `${row.ruleId} on ${row.resource}`,
      ).toBeGreaterThanOrEqual(10);
  });

  it('gives every suppression a reason of at least 10 characters, IAM5 ones for exact findings only', () => {
    // Act
    const all = suppressions(of(name).app);

    // Assess
    expect(all.length).toBeGreaterThan(0);
    for (const suppression of all) {
      expect(
        suppression.reason.trim().length,
        `${suppression.id} on ${suppression.path}`,
      ).toBeGreaterThanOrEqual(10);
      if (suppression.id === 'AwsSolutions-IAM5')
        expect(suppression.appliesTo?.length ?? 0).toBeGreaterThan(0);
    }
  });
});

describe('the suppressed findings', () => {
  it('are exactly the reviewed ones', () => {
    // Act: the bucket's logical ID carries a hash, so it is written <Reports.Arn>.
    const suppressed = nagReport(of('every cluster (defaults)').outdir, STACK_NAME)
      .filter((row) => row.compliance === 'Suppressed')
      .map((row) =>
        `${row.ruleId} ${row.resource} ${row.reason.match(/^\[([^\]]*)\]/)?.[1] ?? ''}`
          .trim()
          .replace(/<Reports[0-9A-F]{8}\.Arn>/, '<Reports.Arn>'),
      );

    // Assess
    const iam5 = (finding: string) =>
      `AwsSolutions-IAM5 IrsaAuditor/Auditor/Role/DefaultPolicy/Resource ${finding}`;
    expect(suppressed.sort()).toEqual(
      [
        // Node.js 22 is the runtime the bundle is built and smoke-tested for.
        'AwsSolutions-L1 IrsaAuditor/Auditor/Function/Resource',
        iam5('Resource::*'),
        iam5('Resource::arn:<AWS::Partition>:eks:<AWS::Region>:<AWS::AccountId>:cluster/*'),
        iam5('Resource::arn:<AWS::Partition>:eks:<AWS::Region>:<AWS::AccountId>:podidentityassociation/*/*'),
        iam5(
          'Resource::arn:<AWS::Partition>:eks:<AWS::Region>:<AWS::AccountId>:addon/*/eks-pod-identity-agent/*',
        ),
        iam5('Resource::arn:<AWS::Partition>:iam::<AWS::AccountId>:oidc-provider/*'),
        iam5('Resource::arn:<AWS::Partition>:iam::<AWS::AccountId>:instance-profile/*'),
        iam5('Resource::arn:<AWS::Partition>:iam::<AWS::AccountId>:role/*'),
        iam5('Resource::arn:<AWS::Partition>:iam::<AWS::AccountId>:policy/*'),
        iam5('Resource::arn:<AWS::Partition>:iam::aws:policy/*'),
        iam5('Resource::<Reports.Arn>/reports/*'),
        iam5('Resource::<Reports.Arn>/runs/*'),
      ].sort(),
    );
  });
});
