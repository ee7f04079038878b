import { describe, expect, it } from 'vitest';
import { type ErrorTextOptions, errorText } from '../../lambda/core/error-text';
import { AWS_ERROR_TEXT } from '../../lambda/sources/aws/aws-errors';

const multiLine = new Error('could not connect\n    at Socket.connect (node:net:1)');
const accessDenied = Object.assign(
  new Error(
    'User: arn:aws:iam::111122223333:role/auditor is not authorized to perform: iam:ListRoles\n  with an explicit deny in a service control policy',
  ),
  { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } },
);
const unprintable = {
  toString: () => {
    throw new Error('no');
  },
};

describe('errorText', () => {
  it.each<[string, unknown, ErrorTextOptions, string]>([
    ['the first line of a message', multiLine, {}, 'could not connect'],
    ['the name before the first line', multiLine, { named: true }, 'Error: could not connect'],
    [
      'every line, joined',
      multiLine,
      { lines: 'joined' },
      'could not connect at Socket.connect (node:net:1)',
    ],
    [
      'the message as thrown',
      multiLine,
      { lines: 'all' },
      'could not connect\n    at Socket.connect (node:net:1)',
    ],
    ['the name of an error without a message', new RangeError(''), {}, 'RangeError'],
    ['the name alone when named and without a message', new RangeError(''), { named: true }, 'RangeError'],
    ['a thrown string', 'plain text', { named: true }, 'plain text'],
    [
      'an error-shaped object that is no Error',
      { name: 'Throttling', message: 'Rate exceeded' },
      { named: true },
      'Throttling: Rate exceeded',
    ],
    ['no status for an error without $metadata', multiLine, { httpStatus: true }, 'could not connect'],
    ['an object without a prototype', Object.create(null), {}, 'a thrown Object that cannot be printed'],
    ['an object whose toString throws', unprintable, {}, 'a thrown Object that cannot be printed'],
  ])('renders %s', (_what, error, options, expected) => {
    expect(errorText(error, options)).toBe(expected);
  });

  it('cuts a longer text at maxLength with an ellipsis', () => {
    const text = errorText(new Error('x'.repeat(50)), { maxLength: 10 });

    expect(text).toBe('xxxxxxxxx…');
  });

  it('renders an AWS error as its code, every line of its message and its HTTP status', () => {
    expect(errorText(accessDenied, AWS_ERROR_TEXT)).toBe(
      'AccessDenied: User: arn:aws:iam::111122223333:role/auditor is not authorized to perform: iam:ListRoles with an explicit deny in a service control policy (HTTP 403)',
    );
  });

  it('bounds an AWS error at 300 characters', () => {
    const verbose = Object.assign(new Error('y'.repeat(400)), { name: 'ValidationException' });

    const text = errorText(verbose, AWS_ERROR_TEXT);

    expect(text).toHaveLength(300);
    expect(text).toBe(`ValidationException: ${'y'.repeat(278)}…`);
  });
});
