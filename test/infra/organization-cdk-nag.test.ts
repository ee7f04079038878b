// cdk-nag's AWS Solutions checks on organization mode's two stacks (SPEC §9), as test/infra/cdk-nag.test.ts
// does for single mode: no unsuppressed error or warning in each configuration, every suppression with a
// reason, IAM5 ones for exact findings only, and the list of suppressed findings pinned.

import type { Stack } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { type SynthesizedOrganization, synthesizeOrganization } from '../support/cdk-asset';
import { nagReport } from '../support/nag-report';

// Each synthesis runs the whole app and cdk-nag (a few seconds each on a loaded machine).
const SYNTH_TIMEOUT_MS = 90_000;

const CONFIGURATIONS = {
  'listed accounts (acceptance command)': {},
  'every account, email, probe, member clusters': {
    context: {
      accounts: 'all',
      alertEmail: 'oncall@example.com',
      probe: true,
      memberClusters: 'prod,staging',
    },
  },
  'a known account and region': {
    context: { memberClusters: 'prod' },
    environment: { CDK_DEFAULT_ACCOUNT: '111122223333', CDK_DEFAULT_REGION: 'eu-west-1' },
  },
};

type Configuration = keyof typeof CONFIGURATIONS;
const synthesized = new Map<Configuration, SynthesizedOrganization>();

beforeAll(() => {
  for (const [name, options] of Object.entries(CONFIGURATIONS))
    synthesized.set(name as Configuration, synthesizeOrganization(options));
}, SYNTH_TIMEOUT_MS);

const of = (name: Configuration): SynthesizedOrganization => {
  const result = synthesized.get(name);
  if (result === undefined) throw new Error(`${name} was not synthesized`);
  return result;
};

const stacksOf = (name: Configuration): [string, Stack][] => [
  ['IrsaAuditorOrganization', of(name).organization],
  ['IrsaAuditorMember', of(name).member],
];

describe.each(Object.keys(CONFIGURATIONS) as Configuration[])('cdk-nag AwsSolutions on %s', (name) => {
  it('reports no unsuppressed error or warning on either stack', () => {
    // Act
    const findings = stacksOf(name).flatMap(([stackName, stack]) => {
      const annotations = Annotations.fromStack(stack);
      return [
        ...annotations.findError('*', Match.stringLikeRegexp('AwsSolutions-.*')),
        ...annotations.findWarning('*', Match.stringLikeRegexp('AwsSolutions-.*')),
      ].map((finding) => `${stackName} ${finding.id}: ${String(finding.entry.data).split('\n')[0]}`);
    });

    // Assess
    expect(findings).toEqual([]);
  });

  it('leaves the CDK itself with no error or warning on either stack', () => {
    // Act
    const findings = stacksOf(name).flatMap(([, stack]) => {
      const annotations = Annotations.fromStack(stack);
      return [
        ...annotations.findError('*', Match.anyValue()),
        ...annotations.findWarning('*', Match.anyValue()),
      ];
    });

    // Assess
    expect(findings).toEqual([]);
  });

  it('lists every suppressed row with a reason of at least 10 characters, and none non-compliant', () => {
    // Act
    const rows = stacksOf(name).flatMap(([stackName]) => nagReport(of(name).outdir, stackName));

    // Assess
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.filter((row) => row.compliance === 'Non-Compliant')).toEqual([]);
    for (const row of rows.filter((candidate) => candidate.compliance === 'Suppressed'))
      expect(
        row.reason.replace(/^\[[^\]]*\] /, '').length,
        `${row.ruleId} on ${row.resource}`,
      ).toBeGreaterThanOrEqual(10);
  });
});

describe('the suppressed findings', () => {
  // Logical IDs carry hashes: written <Reports.Arn>, <Steps...Function.Arn>, <RunStateMachine>.
  const suppressed = (stackName: string) =>
    nagReport(of('every account, email, probe, member clusters').outdir, stackName)
      .filter((row) => row.compliance === 'Suppressed')
      .map((row) =>
        // The finding may hold "]" (a Fn::Select token); the reason follows the first "] ".
        `${row.ruleId} ${row.resource} ${row.reason.match(/^\[(.*?)\] /)?.[1] ?? ''}`
          .trim()
          .replace(/<Reports[0-9A-F]{8}\.Arn>/, '<Reports.Arn>')
          .replace(/<Steps(\w+?)Function[0-9A-F]{8}\.Arn>/, '<$1.Arn>')
          .replace(/\{"Fn::Select".*?\}\]\}\]\}/, '<name>'),
      )
      .sort();

  it('are exactly the reviewed ones on the organization stack', () => {
    // Assess
    const iam5 = (path: string, finding: string) =>
      `AwsSolutions-IAM5 IrsaAuditorOrganization/${path} ${finding}`;
    const machine = 'Run/StateMachine/Role/DefaultPolicy/Resource';
    const children = 'Run/StateMachine/DistributedMapPolicy/Resource';
    expect(suppressed('IrsaAuditorOrganization')).toEqual(
      [
        // Node.js 22 is the runtime the bundles are built and smoke-tested for.
        'AwsSolutions-L1 IrsaAuditorOrganization/Steps/DiscoverFunction/Resource',
        'AwsSolutions-L1 IrsaAuditorOrganization/Steps/TargetAuditFunction/Resource',
        'AwsSolutions-L1 IrsaAuditorOrganization/Steps/AggregateFunction/Resource',
        // accounts=all: any account's member role, and Organizations' ListAccounts ("*" only).
        iam5('Steps/DiscoverRole/DefaultPolicy/Resource', 'Resource::*'),
        iam5(
          'Steps/DiscoverRole/DefaultPolicy/Resource',
          'Resource::arn:<AWS::Partition>:iam::*:role/IrsaAuditorMember',
        ),
        iam5('Steps/DiscoverRole/DefaultPolicy/Resource', 'Resource::<Reports.Arn>/runs/*'),
        iam5(
          'Steps/TargetAuditRole/DefaultPolicy/Resource',
          'Resource::arn:<AWS::Partition>:iam::*:role/IrsaAuditorMember',
        ),
        iam5('Steps/TargetAuditRole/DefaultPolicy/Resource', 'Resource::<Reports.Arn>/runs/*'),
        iam5('Steps/TargetAuditRole/DefaultPolicy/Resource', 'Resource::<Reports.Arn>/reports/*'),
        iam5('Steps/AggregateRole/DefaultPolicy/Resource', 'Resource::*'),
        iam5('Steps/AggregateRole/DefaultPolicy/Resource', 'Resource::<Reports.Arn>/runs/*'),
        iam5('Steps/AggregateRole/DefaultPolicy/Resource', 'Resource::<Reports.Arn>/reports/*'),
        iam5(machine, 'Resource::*'),
        iam5(machine, 'Resource::<Discover.Arn>:*'),
        iam5(machine, 'Resource::<TargetAudit.Arn>:*'),
        iam5(machine, 'Resource::<Aggregate.Arn>:*'),
        iam5(machine, 'Resource::<Reports.Arn>/runs/*'),
        iam5(
          children,
          'Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:<name>:*',
        ),
        iam5(
          children,
          'Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:<name>/*:*',
        ),
      ].sort(),
    );
  });

  it('are exactly the reviewed ones on the member stack: the reads whose resources are only known at run time', () => {
    // Assess
    const iam5 = (finding: string) => `AwsSolutions-IAM5 IrsaAuditorMember/MemberRole/Resource ${finding}`;
    expect(suppressed('IrsaAuditorMember')).toEqual(
      [
        iam5('Resource::*'),
        iam5('Resource::arn:<AWS::Partition>:eks:eu-west-1:<AWS::AccountId>:cluster/*'),
        iam5('Resource::arn:<AWS::Partition>:eks:us-east-1:<AWS::AccountId>:cluster/*'),
        iam5('Resource::arn:<AWS::Partition>:eks:eu-west-1:<AWS::AccountId>:podidentityassociation/*/*'),
        iam5('Resource::arn:<AWS::Partition>:eks:us-east-1:<AWS::AccountId>:podidentityassociation/*/*'),
        iam5(
          'Resource::arn:<AWS::Partition>:eks:eu-west-1:<AWS::AccountId>:addon/*/eks-pod-identity-agent/*',
        ),
        iam5(
          'Resource::arn:<AWS::Partition>:eks:us-east-1:<AWS::AccountId>:addon/*/eks-pod-identity-agent/*',
        ),
        iam5('Resource::arn:<AWS::Partition>:iam::<AWS::AccountId>:oidc-provider/*'),
        iam5('Resource::arn:<AWS::Partition>:iam::<AWS::AccountId>:instance-profile/*'),
        iam5('Resource::arn:<AWS::Partition>:iam::<AWS::AccountId>:role/*'),
        iam5('Resource::arn:<AWS::Partition>:iam::<AWS::AccountId>:policy/*'),
        iam5('Resource::arn:<AWS::Partition>:iam::aws:policy/*'),
      ].sort(),
    );
  });
});
