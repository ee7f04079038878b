// What a failed AssumeRole or a failed call as the member role means (no network: the errors are built as the
// SDK deserialises them).

import { describe, expect, it } from 'vitest';
import {
  assumeRoleFailure,
  memberRoleArn,
  regionCallFailure,
} from '../../../lambda/organization/member-session';

const sdkError = (name: string, message: string, httpStatusCode: number) =>
  Object.assign(new Error(message), { name, $fault: 'client', $metadata: { httpStatusCode } });

const ROLE = 'arn:aws:iam::111122223333:role/IrsaAuditorMember';
const HOME_REGION = 'eu-central-2';
const SCP_DENY =
  'User: arn:aws:sts::999988887777:assumed-role/IrsaAuditorDiscover/x is not authorized to perform: eks:ListClusters on resource: arn:aws:eks:ap-east-1:111122223333:cluster/* with an explicit deny in a service control policy';

describe('member role ARN', () => {
  it.each([
    ['eu-west-1', 'arn:aws:iam::111122223333:role/IrsaAuditorMember'],
    ['cn-north-1', 'arn:aws-cn:iam::111122223333:role/IrsaAuditorMember'],
    ['us-gov-west-1', 'arn:aws-us-gov:iam::111122223333:role/IrsaAuditorMember'],
  ])('is in the partition of the auditor’s region %s', (region, arn) => {
    expect(memberRoleArn('111122223333', 'IrsaAuditorMember', region)).toBe(arn);
  });
});

describe('assumeRoleFailure', () => {
  it('reads AccessDenied as a missing or refusing role, and says to deploy the member stack', () => {
    const failure = assumeRoleFailure(
      sdkError('AccessDenied', 'not authorized to perform: sts:AssumeRole', 403),
      '111122223333',
      ROLE,
      HOME_REGION,
    );

    expect(failure.reason).toBe('access-denied');
    expect(failure.message).toContain(`cannot assume ${ROLE}`);
    expect(failure.message).toContain('deploy MemberAccountStack in account 111122223333');
  });

  it('reads throttling as throttled', () => {
    expect(
      assumeRoleFailure(sdkError('Throttling', 'Rate exceeded', 400), '111122223333', ROLE, HOME_REGION)
        .reason,
    ).toBe('throttled');
  });

  it.each([
    ['RegionDisabledException', 'STS is not activated in this region for account:111122223333.'],
    ['InvalidClientTokenId', 'The security token included in the request is invalid.'],
  ])('reads %s (an HTTP 403) as the home region not enabled, and names that region', (code, message) => {
    const failure = assumeRoleFailure(sdkError(code, message, 403), '111122223333', ROLE, HOME_REGION);

    expect(failure.reason).toBe('region-not-enabled');
    expect(failure.region).toBe(HOME_REGION);
    expect(failure.message).toContain(
      `AssumeRole goes to the STS endpoint of the auditor's home region ${HOME_REGION}`,
    );
    expect(failure.message).toContain(`enable ${HOME_REGION} (Account > AWS Regions)`);
    expect(failure.message).not.toContain('MemberAccountStack');
  });

  it('reads an explicit deny of a service control policy as such, without telling to deploy the member stack', () => {
    const failure = assumeRoleFailure(
      sdkError(
        'AccessDenied',
        `User: arn:aws:sts::999988887777:assumed-role/IrsaAuditorDiscover/x is not authorized to perform: sts:AssumeRole on resource: ${ROLE} with an explicit deny in a service control policy`,
        403,
      ),
      '111122223333',
      ROLE,
      HOME_REGION,
    );

    expect(failure.reason).toBe('explicit-deny');
    expect(failure.message).toContain('a service control policy denies it explicitly');
    expect(failure.message).toContain('redeploying MemberAccountStack does not change');
    expect(failure.message).not.toMatch(/deploy MemberAccountStack in account/);
  });
});

describe('regionCallFailure', () => {
  it.each(['UnrecognizedClientException', 'InvalidClientTokenId'])(
    'reads %s as a region not enabled in the account',
    (code) => {
      const failure = regionCallFailure(
        sdkError(code, 'The security token included in the request is invalid.', 403),
        { account: '111122223333', roleArn: ROLE },
        'ap-east-1',
        'EKS ListClusters',
      );

      expect(failure.reason).toBe('region-not-enabled');
      expect(failure.message).toContain(
        'ap-east-1 is most likely an opt-in region not enabled in account 111122223333',
      );
    },
  );

  it('reads AccessDeniedException as a member role without the read permissions', () => {
    const failure = regionCallFailure(
      sdkError('AccessDeniedException', 'not authorized to perform: eks:ListClusters', 403),
      { account: '111122223333', roleArn: ROLE },
      'eu-west-1',
      'EKS ListClusters',
    );

    expect(failure.reason).toBe('access-denied');
    expect(failure.message).toContain('redeploy MemberAccountStack in account 111122223333');
  });

  it('reads an explicit deny of a service control policy as such, and does not tell to redeploy the member stack', () => {
    const failure = regionCallFailure(
      sdkError('AccessDeniedException', SCP_DENY, 403),
      { account: '111122223333', roleArn: ROLE },
      'ap-east-1',
      'EKS ListClusters',
    );

    expect(failure.reason).toBe('explicit-deny');
    expect(failure.message).toContain('a service control policy denies it explicitly');
    expect(failure.message).toContain("remove ap-east-1 from the auditor's regions");
    expect(failure.message).not.toMatch(/redeploy MemberAccountStack in account/);
  });
});
