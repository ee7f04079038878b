import { describe, expect, it } from 'vitest';
import type { TrustPolicy } from '../../../lambda/core/policy/trust-policy-document';
import { parseTrustPolicy, trustPolicySize } from '../../../lambda/core/policy/trust-policy-parse';

const ISSUER = 'oidc.eks.eu-west-1.amazonaws.com/id/5C0A2F34B8D1E9F3A7C6B5D4E3F2A1B0';
const PROVIDER = `arn:aws:iam::111122223333:oidc-provider/${ISSUER}`;
const SUBJECT = 'system:serviceaccount:payments:orders-api';

const IRSA_DOCUMENT = {
  Version: '2012-10-17',
  Statement: [
    {
      Sid: 'TrustOrdersApi',
      Effect: 'Allow',
      Principal: { Federated: PROVIDER },
      Action: 'sts:AssumeRoleWithWebIdentity',
      Condition: {
        StringEquals: { [`${ISSUER}:sub`]: SUBJECT, [`${ISSUER}:aud`]: 'sts.amazonaws.com' },
      },
    },
  ],
};

const IRSA_POLICY: TrustPolicy = {
  version: '2012-10-17',
  statements: [
    {
      index: 0,
      sid: 'TrustOrdersApi',
      effect: 'Allow',
      principal: { any: false, byType: { Federated: [PROVIDER] } },
      action: ['sts:AssumeRoleWithWebIdentity'],
      conditions: [
        { operator: 'StringEquals', key: `${ISSUER}:sub`, values: [SUBJECT] },
        { operator: 'StringEquals', key: `${ISSUER}:aud`, values: ['sts.amazonaws.com'] },
      ],
    },
  ],
};

function parsedPolicy(raw: unknown): TrustPolicy {
  const parsed = parseTrustPolicy(raw);
  if ('error' in parsed) {
    throw new Error(`expected a policy, got error: ${parsed.error}`);
  }
  return parsed.policy;
}

function statementOf(statement: Record<string, unknown>): TrustPolicy['statements'][number] {
  const policy = parsedPolicy({ Statement: statement });
  const first = policy.statements[0];
  if (first === undefined) {
    throw new Error('expected one statement');
  }
  return first;
}

describe('parseTrustPolicy forms', () => {
  it.each([
    ['the object the AWS CLI prints', IRSA_DOCUMENT],
    [
      'the URL-encoded string the IAM API returns',
      encodeURIComponent(JSON.stringify(IRSA_DOCUMENT, null, 4)),
    ],
    ['a plain JSON string', JSON.stringify(IRSA_DOCUMENT, null, 2)],
    [
      'a URL-encoded string with surrounding whitespace',
      ` ${encodeURIComponent(JSON.stringify(IRSA_DOCUMENT))}\n`,
    ],
  ])('normalises %s into the same policy', (_label, raw) => {
    // Act
    const parsed = parseTrustPolicy(raw);

    // Assess
    expect(parsed).toEqual({ policy: IRSA_POLICY });
  });

  it('reads a Statement written as one object like a one-element array', () => {
    // Prepare
    const statement = IRSA_DOCUMENT.Statement[0];

    // Act
    const fromObject = parsedPolicy({ Version: '2012-10-17', Statement: statement });
    const fromArray = parsedPolicy({ Version: '2012-10-17', Statement: [statement] });

    // Assess
    expect(fromObject).toEqual(fromArray);
    expect(fromObject).toEqual(IRSA_POLICY);
  });

  it('numbers statements from 0 and leaves out absent optional fields', () => {
    // Act
    const policy = parsedPolicy({
      Statement: [
        { Effect: 'Allow', Principal: { Service: 'pods.eks.amazonaws.com' }, Action: 'sts:AssumeRole' },
        {
          Effect: 'Deny',
          NotPrincipal: { AWS: 'arn:aws:iam::111122223333:root' },
          NotAction: ['sts:TagSession'],
        },
      ],
    });

    // Assess
    expect(policy).toEqual({
      statements: [
        {
          index: 0,
          effect: 'Allow',
          principal: { any: false, byType: { Service: ['pods.eks.amazonaws.com'] } },
          action: ['sts:AssumeRole'],
          conditions: [],
        },
        {
          index: 1,
          effect: 'Deny',
          notPrincipal: { any: false, byType: { AWS: ['arn:aws:iam::111122223333:root'] } },
          notAction: ['sts:TagSession'],
          conditions: [],
        },
      ],
    });
  });
});

describe('parseTrustPolicy principals', () => {
  it.each([
    ['"*"', '*', { any: true, byType: {} }],
    ['{"AWS": "*"}', { AWS: '*' }, { any: true, byType: { AWS: ['*'] } }],
    [
      '{"AWS": [account root, "*"]}',
      { AWS: ['arn:aws:iam::111122223333:root', '*'] },
      { any: true, byType: { AWS: ['arn:aws:iam::111122223333:root', '*'] } },
    ],
    ['{"Federated": "*"}', { Federated: '*' }, { any: false, byType: { Federated: ['*'] } }],
    ['Federated as a string', { Federated: PROVIDER }, { any: false, byType: { Federated: [PROVIDER] } }],
    ['Federated as an array', { Federated: [PROVIDER] }, { any: false, byType: { Federated: [PROVIDER] } }],
  ])('normalises Principal %s', (_label, principal, expected) => {
    // Act
    const statement = statementOf({
      Effect: 'Allow',
      Principal: principal,
      Action: 'sts:AssumeRoleWithWebIdentity',
    });

    // Assess
    expect(statement.principal).toEqual(expected);
  });
});

describe('parseTrustPolicy conditions', () => {
  it('flattens each operator and key into one entry, in document order', () => {
    // Act
    const statement = statementOf({
      Effect: 'Allow',
      Principal: { Federated: PROVIDER },
      Action: 'sts:AssumeRoleWithWebIdentity',
      Condition: {
        StringLike: {
          [`${ISSUER}:sub`]: ['system:serviceaccount:payments:*', 'system:serviceaccount:billing:*'],
        },
        'ForAnyValue:StringEquals': { [`${ISSUER}:aud`]: 'sts.amazonaws.com' },
        Null: { [`${ISSUER}:sub`]: false },
      },
    });

    // Assess
    expect(statement.conditions).toEqual([
      {
        operator: 'StringLike',
        key: `${ISSUER}:sub`,
        values: ['system:serviceaccount:payments:*', 'system:serviceaccount:billing:*'],
      },
      { operator: 'ForAnyValue:StringEquals', key: `${ISSUER}:aud`, values: ['sts.amazonaws.com'] },
      { operator: 'Null', key: `${ISSUER}:sub`, values: ['false'] },
    ]);
  });

  it.each([
    ['a string', 'sts.amazonaws.com', ['sts.amazonaws.com']],
    ['true', true, ['true']],
    ['false', false, ['false']],
    ['a number', 3600, ['3600']],
    ['a mixed array', ['a', true, 7], ['a', 'true', '7']],
    ['an empty array', [], []],
  ])('turns a condition value written as %s into strings', (_label, value, expected) => {
    // Act
    const statement = statementOf({
      Effect: 'Allow',
      Principal: '*',
      Action: 'sts:AssumeRole',
      Condition: { StringEquals: { 'aws:SourceAccount': value } },
    });

    // Assess
    expect(statement.conditions[0]?.values).toEqual(expected);
  });
});

describe('parseTrustPolicy errors', () => {
  const allow = { Effect: 'Allow', Principal: '*', Action: 'sts:AssumeRole' };

  it.each([
    ['a string that is not JSON', 'not a policy', 'trust policy is not valid JSON'],
    ['a broken URL encoding', '%7B%22Version%', 'trust policy is neither JSON nor valid URL-encoded JSON'],
    ['an empty string', '  ', 'trust policy is an empty string'],
    ['a number', 42, 'trust policy must be a JSON object, got a number'],
    ['null', null, 'trust policy must be a JSON object, got null'],
    ['undefined', undefined, 'trust policy must be a JSON object, got nothing'],
    ['an array', [allow], 'trust policy must be a JSON object, got an array'],
    ['URL-encoded null', encodeURIComponent('null'), 'trust policy must be a JSON object, got null'],
    ['no Statement', { Version: '2012-10-17' }, 'Statement is missing'],
    ['a string Statement', { Statement: 'Allow' }, 'Statement must be an object or an array, got a string'],
    ['a number statement', { Statement: [42] }, 'Statement[0] must be an object, got a number'],
    [
      'a bad Effect',
      { Statement: [allow, { ...allow, Effect: 'Permit' }] },
      'Statement[1].Effect must be "Allow" or "Deny" (got "Permit")',
    ],
    [
      'a lower-case Effect',
      { Statement: { ...allow, Effect: 'allow' } },
      'Statement.Effect must be "Allow" or "Deny" (got "allow")',
    ],
    [
      'a missing Effect',
      { Statement: [{ Principal: '*', Action: 'sts:AssumeRole' }] },
      'Statement[0].Effect must be "Allow" or "Deny" (it is missing)',
    ],
    [
      'neither Action nor NotAction',
      { Statement: [{ Effect: 'Allow', Principal: '*' }] },
      'Statement[0] has neither Action nor NotAction',
    ],
    [
      'both Action and NotAction',
      { Statement: [{ ...allow, NotAction: 'sts:TagSession' }] },
      'Statement[0] has both Action and NotAction; IAM allows only one',
    ],
    [
      'both Principal and NotPrincipal',
      { Statement: [{ ...allow, NotPrincipal: { AWS: 'arn:aws:iam::111122223333:root' } }] },
      'Statement[0] has both Principal and NotPrincipal; IAM allows only one',
    ],
    [
      'a number Sid',
      { Statement: [{ ...allow, Sid: 3 }] },
      'Statement[0].Sid must be a string, got a number',
    ],
    ['a number Version', { Version: 2012, Statement: [allow] }, 'Version must be a string, got a number'],
    [
      'a number Action',
      { Statement: [{ ...allow, Action: 5 }] },
      'Statement[0].Action must be a string or an array of strings, got a number',
    ],
    [
      'a principal that is neither "*" nor an object',
      { Statement: [{ ...allow, Principal: 'everyone' }] },
      'Statement[0].Principal must be "*" or an object, got a string',
    ],
    [
      'a number among Federated principals',
      { Statement: [{ ...allow, Principal: { Federated: [PROVIDER, 7] } }] },
      'Statement[0].Principal.Federated[1] must be a string, got a number',
    ],
    [
      'a Condition that is an array',
      { Statement: [{ ...allow, Condition: [] }] },
      'Statement[0].Condition must be an object, got an array',
    ],
    [
      'an operator block that is a string',
      { Statement: [{ ...allow, Condition: { StringEquals: 'x' } }] },
      'Statement[0].Condition.StringEquals must be an object, got a string',
    ],
    [
      'a null condition value',
      { Statement: [{ ...allow, Condition: { StringEquals: { [`${ISSUER}:sub`]: null } } }] },
      `Statement[0].Condition.StringEquals["${ISSUER}:sub"] must be a string, boolean, number or an array of those, got null`,
    ],
    [
      'an object inside a condition value array',
      { Statement: [{ ...allow, Condition: { 'ForAnyValue:StringLike': { 'aws:TagKeys': ['a', {}] } } }] },
      'Statement[0].Condition["ForAnyValue:StringLike"]["aws:TagKeys"][1] must be a string, boolean or number, got an object',
    ],
  ])('returns an error for %s without throwing', (_label, raw, expected) => {
    // Act
    const parsed = parseTrustPolicy(raw);

    // Assess
    expect(parsed).not.toHaveProperty('policy');
    const error = 'error' in parsed ? parsed.error : '';
    expect(error.startsWith(expected)).toBe(true);
    expect(error).not.toContain('\n');
  });
});

describe('trustPolicySize', () => {
  const COMPACT = '{"Version":"2012-10-17","Statement":[]}';

  it.each([
    ['a compact string', COMPACT, 39],
    ['a pretty-printed string', '{\n  "Version" : "2012-10-17",\n\t"Statement": [ ]\n}\n', 39],
    [
      'a URL-encoded pretty-printed string',
      encodeURIComponent('{\n  "Version": "2012-10-17",\n  "Statement": []\n}'),
      39,
    ],
    ['an object', { Version: '2012-10-17', Statement: [] }, 39],
    ['whitespace inside a string, which counts', '{ "Sid": "a b" }', 13],
    ['an escaped quote inside a string', '{ "Sid": "a\\" b" }', 15],
    ['a string that is not JSON', 'not a policy', 0],
    ['a JSON string that is not an object', '[1, 2]', 0],
    ['a number', 42, 0],
    ['null', null, 0],
  ])('counts %s as %i characters', (_label, raw, expected) => {
    // Act
    const size = trustPolicySize(raw);

    // Assess
    expect(size).toBe(expected);
  });

  it('counts the same for every form of a realistic IRSA trust policy', () => {
    // Prepare
    const compact = JSON.stringify(IRSA_DOCUMENT);

    // Act
    const sizes = [
      trustPolicySize(IRSA_DOCUMENT),
      trustPolicySize(JSON.stringify(IRSA_DOCUMENT, null, 4)),
      trustPolicySize(encodeURIComponent(JSON.stringify(IRSA_DOCUMENT, null, 2))),
    ];

    // Assess
    expect(sizes).toEqual([compact.length, compact.length, compact.length]);
  });
});
