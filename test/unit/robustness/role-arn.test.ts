// Role ARN parsing over valid ARNs built from their parts, pasted ARNs wrapped in quotes and
// whitespace, and arbitrary text: it never throws and says what is wrong when it refuses.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { accountOfArn, parseRoleArn, partitionOfArn } from '../../../lambda/core/policy/arn';
import { arnWrapping, roleArnOf, roleArnParts, roleArnText, runs } from '../../support/arbitraries';

describe('role ARN parsing robustness', () => {
  it('returns the parts of every valid role ARN built from them', () => {
    fc.assert(
      fc.property(roleArnParts, (parts) => {
        const arn = roleArnOf(parts);

        const parsed = parseRoleArn(arn);

        expect(parsed).toEqual({ ok: true, value: { arn, ...parts } });
        expect(accountOfArn(arn)).toBe(parts.accountId);
        expect(partitionOfArn(arn)).toBe(parts.partition);
      }),
      { numRuns: runs(500) },
    );
  });

  it('suggests the clean ARN when quotes or whitespace surround a valid one', () => {
    fc.assert(
      fc.property(roleArnParts, arnWrapping, (parts, layers) => {
        const arn = roleArnOf(parts);
        const pasted = layers.reduce((inner, { before, after }) => `${before}${inner}${after}`, arn);

        const parsed = parseRoleArn(pasted);

        expect(parsed.ok).toBe(false);
        expect(parsed.ok ? undefined : parsed.suggestion).toBe(arn);
        expect(parsed.ok ? '' : parsed.problem).toMatch(/quotes|whitespace/);
      }),
      { numRuns: runs(500) },
    );
  });

  it('never throws on arbitrary text and explains every refusal in one line', () => {
    fc.assert(
      fc.property(
        fc.oneof(roleArnText, fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme' })),
        (value) => {
          const parsed = parseRoleArn(value);

          if (parsed.ok) {
            expect(parsed.value.arn).toBe(value);
            expect(roleArnOf(parsed.value)).toBe(value);
          } else {
            expect(parsed.problem.trim()).not.toBe('');
            expect(parsed.problem).not.toMatch(/[\n\r]/);
            if (parsed.suggestion !== undefined) expect(parseRoleArn(parsed.suggestion).ok).toBe(true);
          }
        },
      ),
      { numRuns: runs(500) },
    );
  });

  it.each([
    ['a user instead of a role', 'arn:aws:iam::111122223333:user/app', /resource type is "user"/],
    ['a short account', 'arn:aws:iam::1111:role/app', /not 12 digits/],
    ['another service', 'arn:aws:s3:::bucket', /service is "s3"/],
    ['an empty name', 'arn:aws:iam::111122223333:role/', /name is empty/],
    ['a resource without a name', 'arn:aws:iam::111122223333:role', /name is missing/],
    ['a double slash in the path', 'arn:aws:iam::111122223333:role/team//app', /path/],
    ['a region', 'arn:aws:iam:eu-west-1:111122223333:role/app', /no region/],
    ['an inner space', 'arn:aws:iam::111122223333:role/my app', /whitespace/],
  ])('refuses %s', (_why, value, problem) => {
    const parsed = parseRoleArn(value);

    expect(parsed.ok ? '' : parsed.problem).toMatch(problem);
  });
});
