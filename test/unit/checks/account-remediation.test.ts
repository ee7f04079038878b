// Account-side findings must not advise a destructive or wrong-account fix: A01 keeps the delete command for a
// provider no role trusts, C02 names the account to create the provider in, and an unverified trust (S04) offers
// a real STS call instead of blaming a condition.

import { describe, expect, it } from 'vitest';
import { AuditContext } from '../../../lambda/core/analysis/context';
import type { FindingDraft } from '../../../lambda/core/checks/check';
import { CHECKS } from '../../../lambda/core/checks/registry';
import a01OtherAccountCluster from '../../fixtures/checks/irsa-a01/fail.provider-for-other-account-cluster';
import a01Untrusted from '../../fixtures/checks/irsa-a01/fail.stale-provider-in-cluster-region';
import a01StillTrusted from '../../fixtures/checks/irsa-a01/fail.stale-provider-still-trusted';
import c02NoProvider from '../../fixtures/checks/irsa-c02/fail.no-provider';
import c02RoleAccount from '../../fixtures/checks/irsa-c02/fail.role-account-lacks-provider';
import s04DenyUnknown from '../../fixtures/checks/irsa-s04/fail.deny-hangs-on-unknown-operator';
import s04UnknownOperator from '../../fixtures/checks/irsa-s04/fail.trust-hangs-on-unknown-operator';
import s07AbsentClaim from '../../fixtures/checks/irsa-s07/fail.condition-on-claim-eks-tokens-lack';
import { type CheckFixture, optionsOf } from '../../support/check-fixture';
import { ISSUER, OTHER_ACCOUNT, roleArn } from '../../support/state-builder';

function findingsOf(checkId: string, fixture: CheckFixture): FindingDraft[] {
  const check = CHECKS.find((candidate) => candidate.id === checkId);
  if (check === undefined) throw new Error(`no check ${checkId}`);
  return [...check.run(new AuditContext(fixture.state, optionsOf(fixture)))];
}

describe('IRSA-A01 remediation', () => {
  it.each([
    { name: "another account's cluster (hub-and-spoke)", fixture: a01OtherAccountCluster },
    { name: 'a deleted cluster whose role still trusts it', fixture: a01StillTrusted },
  ])(
    'asks for CloudTrail evidence and gives no delete command for a provider a role trusts: $name',
    ({ fixture }) => {
      const [finding] = findingsOf('IRSA-A01', fixture);

      expect(finding?.severity).toBe('info');
      expect(finding?.remediation).not.toContain('delete-open-id-connect-provider');
      expect(finding?.remediation).toContain('AttributeValue=AssumeRoleWithWebIdentity');
    },
  );

  it('gives the delete command for a provider no role trusts', () => {
    const [finding] = findingsOf('IRSA-A01', a01Untrusted);

    expect(finding?.severity).toBeUndefined();
    expect(finding?.remediation).toMatch(/^Run `aws iam delete-open-id-connect-provider /);
  });
});

describe('IRSA-C02 remediation', () => {
  it("creates the provider in the role's account, not with eksctl, when that is another account", () => {
    const [finding] = findingsOf('IRSA-C02', c02RoleAccount);

    expect(finding?.remediation).toContain(`With credentials of account ${OTHER_ACCOUNT}`);
    expect(finding?.remediation).toContain(`--url https://${ISSUER} --client-id-list sts.amazonaws.com`);
    expect(finding?.remediation).not.toContain('eksctl utils');
    expect(finding?.evidence.serviceAccounts).toEqual(['payments/fx-rates']);
  });

  it("offers eksctl for the cluster's own account", () => {
    const [finding] = findingsOf('IRSA-C02', c02NoProvider);

    expect(finding?.remediation).toContain(
      'eksctl utils associate-iam-oidc-provider --cluster platform-prod',
    );
    expect(finding?.message).toContain('No OpenIDConnect provider found in your account');
  });
});

describe('unverified trust', () => {
  it.each([
    { name: 'an Allow on an unknown operator', fixture: s04UnknownOperator, operator: 'DateLessThan' },
    { name: 'a Deny on an unknown operator', fixture: s04DenyUnknown, operator: 'NotIpAddress' },
  ])('names the operator and blames no condition for $name', ({ fixture, operator }) => {
    const [finding] = findingsOf('IRSA-S04', fixture);
    const s07 = findingsOf('IRSA-S07', fixture);
    const s09 = findingsOf('IRSA-S09', fixture);

    expect(finding?.evidence.unknownOperators).toEqual([operator]);
    expect(finding?.remediation).toContain(
      `aws sts assume-role-with-web-identity --role-arn ${roleArn('orders-api')}`,
    );
    expect(finding?.remediation).toContain(
      'kubectl create token -n payments orders-api --audience sts.amazonaws.com',
    );
    expect([...s07, ...s09]).toEqual([]);
  });

  it('asks to fix the refusing condition, not :sub, when a claim EKS tokens lack refuses the SA', () => {
    const [finding] = findingsOf('IRSA-S07', s07AbsentClaim);

    expect(finding?.remediation).toMatch(/^Remove or correct the condition of Statement\[0\] that refuses/);
    expect(finding?.remediation).not.toContain('Fix the :sub condition');
  });
});
