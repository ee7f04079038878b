import { describe, expect, it } from 'vitest';
import { parseRoleArn } from '../../../lambda/core/policy/arn';
import { normalizeIssuer, sameIssuer } from '../../../lambda/core/policy/issuer';

describe('parseRoleArn', () => {
  it.each([
    ['arn:aws:iam::111122223333:role/orders-api', '/', 'orders-api'],
    ['arn:aws:iam::111122223333:role/team-data/etl-runner', '/team-data/', 'etl-runner'],
    ['arn:aws-cn:iam::111122223333:role/a/b/c', '/a/b/', 'c'],
  ])('reads %s', (arn, path, name) => {
    const parsed = parseRoleArn(arn);

    expect(parsed).toEqual({
      ok: true,
      value: expect.objectContaining({ path, name, accountId: '111122223333' }),
    });
  });

  it.each([
    ['arn:aws:iam::111122223333:role', 'the role name is missing'],
    ['arn:aws:iam::111122223333:role/', 'the role name is empty'],
    ['arn:aws:iam::1111:role/x', 'is not 12 digits'],
    ['arn:aws:iam::111122223333:user/x', 'the resource type is "user"'],
    ['arn:aws:s3:::bucket/role/x', 'the service is "s3"'],
    ['orders-api', 'it is not an ARN'],
  ])('rejects %s', (arn, problem) => {
    const parsed = parseRoleArn(arn);

    expect(parsed.ok).toBe(false);
    expect(parsed.ok ? '' : parsed.problem).toContain(problem);
  });

  it('suggests the clean ARN when only quotes or whitespace are wrong', () => {
    const parsed = parseRoleArn(' "arn:aws:iam::111122223333:role/orders-api"\n');

    expect(parsed).toEqual(
      expect.objectContaining({ ok: false, suggestion: 'arn:aws:iam::111122223333:role/orders-api' }),
    );
  });
});

describe('issuer normalisation', () => {
  it.each([
    ['https://oidc.eks.eu-west-1.amazonaws.com/id/ABC', 'oidc.eks.eu-west-1.amazonaws.com/id/ABC'],
    ['oidc.eks.eu-west-1.amazonaws.com/id/ABC/', 'oidc.eks.eu-west-1.amazonaws.com/id/ABC'],
    ['HTTPS://OIDC.EKS.eu-west-1.amazonaws.com/id/ABC', 'oidc.eks.eu-west-1.amazonaws.com/id/ABC'],
  ])('normalises %s', (url, normalised) => {
    expect(normalizeIssuer(url)).toBe(normalised);
  });

  it('keeps the path case: issuer IDs are case-sensitive', () => {
    expect(
      sameIssuer('oidc.eks.eu-west-1.amazonaws.com/id/ABC', 'oidc.eks.eu-west-1.amazonaws.com/id/abc'),
    ).toBe(false);
  });
});
