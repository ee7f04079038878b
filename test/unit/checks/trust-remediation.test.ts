// Trust findings carry the exact statement to add (this cluster's provider, the SA's subject), and role-ARN
// findings the exact annotation value, as SPEC §4 asks of every remediation.

import { describe, expect, it } from 'vitest';
import { AuditContext } from '../../../lambda/core/analysis/context';
import type { FindingDraft } from '../../../lambda/core/checks/check';
import { CHECKS } from '../../../lambda/core/checks/registry';
import s01AssumedRole from '../../fixtures/checks/irsa-s01/fail.assumed-role-arn';
import s01LeadingSpace from '../../fixtures/checks/irsa-s01/fail.leading-space';
import s01QuotedValue from '../../fixtures/checks/irsa-s01/fail.quoted-value';
import s01RegionInArn from '../../fixtures/checks/irsa-s01/fail.region-in-arn';
import s01RoleNameOnly from '../../fixtures/checks/irsa-s01/fail.role-name-only';
import s01ShortAccount from '../../fixtures/checks/irsa-s01/fail.short-account-id';
import s02RoleDeleted from '../../fixtures/checks/irsa-s02/fail.role-deleted';
import s04UnreadableAccount from '../../fixtures/checks/irsa-s04/fail.role-in-unreadable-account';
import s05CrossAccount from '../../fixtures/checks/irsa-s05/fail.cross-account-role-trusts-cluster-account-provider';
import s05OldProvider from '../../fixtures/checks/irsa-s05/fail.trusts-old-cluster-provider';
import s05ServicePrincipal from '../../fixtures/checks/irsa-s05/fail.trusts-only-service-principal';
import s06AssumeRole from '../../fixtures/checks/irsa-s06/fail.assume-role-action';
import s07SharedRole from '../../fixtures/checks/irsa-s07/fail.role-shared-with-unlisted-service-account';
import s07OldIssuerKey from '../../fixtures/checks/irsa-s07/fail.sub-keyed-on-old-issuer';
import s07Wildcard from '../../fixtures/checks/irsa-s07/fail.wildcard-under-string-equals';
import s07WrongNamespace from '../../fixtures/checks/irsa-s07/fail.wrong-namespace';
import { type CheckFixture, optionsOf } from '../../support/check-fixture';
import { ISSUER, OTHER_ACCOUNT, PROVIDER_ARN, roleArn } from '../../support/state-builder';

const OTHER_PROVIDER_ARN = `arn:aws:iam::${OTHER_ACCOUNT}:oidc-provider/${ISSUER}`;

interface Case {
  readonly name: string;
  readonly checkId: string;
  readonly fixture: CheckFixture;
  readonly providerArn: string;
  readonly subject: string;
}

const cases: readonly Case[] = [
  {
    name: 'a role that trusts the old cluster',
    checkId: 'IRSA-S05',
    fixture: s05OldProvider,
    providerArn: PROVIDER_ARN,
    subject: 'system:serviceaccount:payments:orders-api',
  },
  {
    name: 'a node role that trusts only ec2.amazonaws.com',
    checkId: 'IRSA-S05',
    fixture: s05ServicePrincipal,
    providerArn: PROVIDER_ARN,
    subject: 'system:serviceaccount:payments:orders-api',
  },
  {
    name: "a cross-account role that federates the cluster account's provider",
    checkId: 'IRSA-S05',
    fixture: s05CrossAccount,
    providerArn: OTHER_PROVIDER_ARN,
    subject: 'system:serviceaccount:payments:orders-api',
  },
  {
    name: 'a statement allowing sts:AssumeRole',
    checkId: 'IRSA-S06',
    fixture: s06AssumeRole,
    providerArn: PROVIDER_ARN,
    subject: 'system:serviceaccount:payments:orders-api',
  },
  {
    name: 'a :sub in the wrong namespace',
    checkId: 'IRSA-S07',
    fixture: s07WrongNamespace,
    providerArn: PROVIDER_ARN,
    subject: 'system:serviceaccount:payments:orders-api',
  },
  {
    name: 'a wildcard under StringEquals',
    checkId: 'IRSA-S07',
    fixture: s07Wildcard,
    providerArn: PROVIDER_ARN,
    subject: 'system:serviceaccount:payments:orders-api',
  },
  {
    name: "a :sub keyed on the old cluster's issuer",
    checkId: 'IRSA-S07',
    fixture: s07OldIssuerKey,
    providerArn: PROVIDER_ARN,
    subject: 'system:serviceaccount:payments:orders-api',
  },
  {
    name: 'a role shared with an SA its :sub does not list',
    checkId: 'IRSA-S07',
    fixture: s07SharedRole,
    providerArn: PROVIDER_ARN,
    subject: 'system:serviceaccount:payments:refunds',
  },
  {
    name: 'a deleted role',
    checkId: 'IRSA-S02',
    fixture: s02RoleDeleted,
    providerArn: PROVIDER_ARN,
    subject: 'system:serviceaccount:payments:orders-api',
  },
  {
    name: 'a role in an account the audit cannot read',
    checkId: 'IRSA-S04',
    fixture: s04UnreadableAccount,
    providerArn: OTHER_PROVIDER_ARN,
    subject: 'system:serviceaccount:payments:orders-api',
  },
];

function findingsOf(checkId: string, fixture: CheckFixture): FindingDraft[] {
  const check = CHECKS.find((candidate) => candidate.id === checkId);
  if (check === undefined) throw new Error(`no check ${checkId}`);
  return [...check.run(new AuditContext(fixture.state, optionsOf(fixture)))];
}

// The remediation embeds one JSON statement; everything outside the outermost braces is prose.
function statementIn(remediation: string): unknown {
  return JSON.parse(remediation.slice(remediation.indexOf('{'), remediation.lastIndexOf('}') + 1));
}

describe('trust-policy remediations', () => {
  it.each(cases)(
    '$checkId gives the statement with the right provider and subject for $name',
    ({ checkId, fixture, providerArn, subject }) => {
      const expected = {
        Effect: 'Allow',
        Principal: { Federated: providerArn },
        Action: 'sts:AssumeRoleWithWebIdentity',
        Condition: { StringEquals: { [`${ISSUER}:sub`]: subject, [`${ISSUER}:aud`]: 'sts.amazonaws.com' } },
      };

      const findings = findingsOf(checkId, fixture);

      expect(findings).toHaveLength(1);
      expect(statementIn(findings[0]!.remediation)).toEqual(expected);
    },
  );

  it('names the statement whose Action to change for IRSA-S06', () => {
    const [finding] = findingsOf('IRSA-S06', s06AssumeRole);

    expect(finding?.remediation).toMatch(
      /^Set the Action of Statement\[0\] to sts:AssumeRoleWithWebIdentity/,
    );
  });
});

describe('role-arn annotation remediations', () => {
  it.each([
    { name: 'an assumed-role (session) ARN', fixture: s01AssumedRole },
    { name: 'a value with a leading space', fixture: s01LeadingSpace },
    { name: 'a quoted value', fixture: s01QuotedValue },
    { name: 'an ARN with a region', fixture: s01RegionInArn },
    { name: 'a bare role name IAM knows', fixture: s01RoleNameOnly },
  ])('IRSA-S01 gives the exact annotation command for $name', ({ fixture }) => {
    const [finding] = findingsOf('IRSA-S01', fixture);

    expect(finding?.remediation).toBe(
      `Run \`kubectl annotate serviceaccount -n payments orders-api eks.amazonaws.com/role-arn=${roleArn('orders-api')} --overwrite\`, then re-create the pods.`,
    );
  });

  it('IRSA-S01 does not guess an account ID it cannot know', () => {
    const [finding] = findingsOf('IRSA-S01', s01ShortAccount);

    expect(finding?.remediation).toContain('arn:aws:iam::<account-id>:role/<role-name>');
  });
});
