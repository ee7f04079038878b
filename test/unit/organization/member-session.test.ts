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
    );

    expect(failure.reason).toBe('access-denied');
    expect(failure.message).toContain(`cannot assume ${ROLE}`);
    expect(failure.message).toContain('deploy MemberAccountStack in account 111122223333');
  });

  it('reads throttling as throttled', () => {
    expect(assumeRoleFailure(sdkError('Throttling', 'Rate exceeded', 400), '111122223333', ROLE).reason).toBe(
      'throttled',
    );
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
});
