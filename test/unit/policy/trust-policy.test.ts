import { describe, expect, it } from 'vitest';
import {
  actionMatches,
  evaluateTrust,
  evaluateWebIdentityTrust,
  globMatches,
  type TrustRequest,
  webIdentityRequest,
} from '../../../lambda/core/policy/trust-policy';
import type { TrustPolicy } from '../../../lambda/core/policy/trust-policy-document';
import { parseTrustPolicy } from '../../../lambda/core/policy/trust-policy-parse';

const ISSUER = 'oidc.eks.eu-west-1.amazonaws.com/id/5C0A2F34B8D1E9F3A7C6B5D4E3F2A1B0';
const OTHER_ISSUER = 'oidc.eks.eu-west-1.amazonaws.com/id/9F8E7D6C5B4A39281706F5E4D3C2B1A0';
const PROVIDER = `arn:aws:iam::111122223333:oidc-provider/${ISSUER}`;
const OTHER_PROVIDER = `arn:aws:iam::111122223333:oidc-provider/${OTHER_ISSUER}`;
const SUBJECT = 'system:serviceaccount:payments:orders-api';
const AUDIENCE = 'sts.amazonaws.com';
const SUB = `${ISSUER}:sub`;
const AUD = `${ISSUER}:aud`;
const OTHER_SUB = `${OTHER_ISSUER}:sub`;
const WEB_IDENTITY = { providerArn: PROVIDER, issuer: ISSUER, subject: SUBJECT, audience: AUDIENCE };

function policyOf(document: unknown): TrustPolicy {
  const parsed = parseTrustPolicy(document);
  if ('error' in parsed) {
    throw new Error(`test policy does not parse: ${parsed.error}`);
  }
  return parsed.policy;
}

function irsaPolicy(statement: Record<string, unknown>): TrustPolicy {
  return policyOf({
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: { Federated: PROVIDER },
        Action: 'sts:AssumeRoleWithWebIdentity',
        ...statement,
      },
    ],
  });
}

function withCondition(operator: string, key: string, values: unknown): TrustPolicy {
  return irsaPolicy({ Condition: { [operator]: { [key]: values } } });
}

function requestWith(context: Record<string, readonly string[]>): TrustRequest {
  return {
    principalType: 'Federated',
    principal: PROVIDER,
    action: 'sts:AssumeRoleWithWebIdentity',
    context: new Map(Object.entries(context)),
  };
}

describe('globMatches', () => {
  it.each([
    ['a*b*c', 'abxbc', false, true],
    ['*', '', false, true],
    ['?', '', false, false],
    ['a?c', 'abc', false, true],
    ['a?c', 'abbc', false, false],
    ['A*', 'abc', false, false],
    ['A*', 'abc', true, true],
    ['a**', 'a', false, true],
    ['*:sub', `${ISSUER}:sub`, false, true],
    ['*a*a*a*a*b', 'a'.repeat(40), false, false],
    ['[ab]', 'a', false, false],
    ['a.c', 'abc', false, false],
  ])('matches %j against %j (ignoreCase %s) as %s', (pattern, value, ignoreCase, expected) => {
    // Act
    const matched = globMatches(pattern, value, ignoreCase);

    // Assess
    expect(matched).toBe(expected);
  });
});

describe('actionMatches', () => {
  it.each([
    ['sts:AssumeRoleWithWebIdentity', true],
    ['sts:*', true],
    ['*', true],
    ['sts:AssumeRoleWith*', true],
    ['sts:AssumeRole*', true],
    ['STS:assumerolewithwebidentity', true],
    ['sts:AssumeRoleWith?ebIdentity', true],
    ['sts:AssumeRole', false],
    ['sts:AssumeRoleWithSAML', false],
    ['sts:TagSession', false],
    ['iam:*', false],
  ])('compares %j with sts:AssumeRoleWithWebIdentity as %s', (pattern, expected) => {
    // Act
    const matched = actionMatches(pattern, 'sts:AssumeRoleWithWebIdentity');

    // Assess
    expect(matched).toBe(expected);
  });
});

describe('webIdentityRequest', () => {
  it('puts only the issuer sub and aud keys, lower-cased, into the request context', () => {
    // Act
    const request = webIdentityRequest(WEB_IDENTITY);

    // Assess
    expect(request.principalType).toBe('Federated');
    expect(request.principal).toBe(PROVIDER);
    expect(request.action).toBe('sts:AssumeRoleWithWebIdentity');
    expect([...request.context.entries()]).toEqual([
      [SUB.toLowerCase(), [SUBJECT]],
      [AUD.toLowerCase(), [AUDIENCE]],
    ]);
  });

  it('accepts the issuer written as the cluster URL', () => {
    // Prepare
    const policy = withCondition('StringEquals', SUB, SUBJECT);

    // Act
    const decision = evaluateWebIdentityTrust(policy, { ...WEB_IDENTITY, issuer: `https://${ISSUER}/` });

    // Assess
    expect(decision.decision).toBe('allowed');
  });
});

describe('evaluateTrust conditions on a present key', () => {
  it.each([
    ['StringEquals', SUB, [SUBJECT], 'satisfied'],
    ['StringEquals', SUB, ['system:serviceaccount:payments:orders-worker'], 'unsatisfied'],
    ['StringEquals', SUB, ['system:serviceaccount:payments:orders-worker', SUBJECT], 'satisfied'],
    ['StringEquals', SUB, ['System:ServiceAccount:Payments:Orders-Api'], 'unsatisfied'],
    ['StringEquals', SUB, ['system:serviceaccount:payments:*'], 'unsatisfied'],
    ['StringNotEquals', SUB, [SUBJECT], 'unsatisfied'],
    ['StringNotEquals', SUB, ['system:serviceaccount:payments:orders-worker'], 'satisfied'],
    ['StringNotEquals', SUB, ['system:serviceaccount:payments:orders-worker', SUBJECT], 'unsatisfied'],
    ['StringEqualsIgnoreCase', SUB, ['System:ServiceAccount:Payments:Orders-Api'], 'satisfied'],
    ['StringEqualsIgnoreCase', SUB, ['system:serviceaccount:billing:orders-api'], 'unsatisfied'],
    ['StringNotEqualsIgnoreCase', SUB, ['System:ServiceAccount:Payments:Orders-Api'], 'unsatisfied'],
    ['StringNotEqualsIgnoreCase', SUB, ['system:serviceaccount:billing:orders-api'], 'satisfied'],
    ['StringLike', SUB, ['system:serviceaccount:payments:*'], 'satisfied'],
    ['StringLike', SUB, ['system:serviceaccount:payments:orders-ap?'], 'satisfied'],
    ['StringLike', SUB, ['system:serviceaccount:payments:orders-a?'], 'unsatisfied'],
    ['StringLike', SUB, ['system:serviceaccount:PAYMENTS:*'], 'unsatisfied'],
    ['StringLike', SUB, ['system:serviceaccount:billing:*'], 'unsatisfied'],
    ['StringNotLike', SUB, ['system:serviceaccount:kube-system:*'], 'satisfied'],
    ['StringNotLike', SUB, ['system:serviceaccount:payments:*'], 'unsatisfied'],
    ['StringNotLike', SUB, ['system:serviceaccount:kube-system:*', 'system:*'], 'unsatisfied'],
    ['StringEqualsIfExists', SUB, [SUBJECT], 'satisfied'],
    ['StringEqualsIfExists', SUB, ['system:serviceaccount:payments:orders-worker'], 'unsatisfied'],
    ['StringLikeIfExists', SUB, ['system:serviceaccount:payments:*'], 'satisfied'],
    ['StringNotEqualsIfExists', SUB, [SUBJECT], 'unsatisfied'],
    ['ForAnyValue:StringEquals', AUD, [AUDIENCE], 'satisfied'],
    ['ForAnyValue:StringEquals', AUD, ['vault'], 'unsatisfied'],
    ['ForAllValues:StringLike', SUB, ['system:serviceaccount:payments:*'], 'satisfied'],
    ['ForAllValues:StringEquals', SUB, ['system:serviceaccount:payments:orders-worker'], 'unsatisfied'],
    ['ForAnyValue:StringNotEquals', AUD, ['vault'], 'satisfied'],
    ['ForAllValues:StringNotEquals', AUD, [AUDIENCE], 'unsatisfied'],
    ['Null', SUB, ['false'], 'satisfied'],
    ['Null', SUB, ['true'], 'unsatisfied'],
    ['StringEquals', SUB.toUpperCase(), [SUBJECT], 'satisfied'],
  ])('decides %s on %s with %j as %s', (operator, key, values, expected) => {
    // Prepare
    const policy = withCondition(operator, key, values);

    // Act
    const decision = evaluateWebIdentityTrust(policy, WEB_IDENTITY);

    // Assess
    const condition = decision.statements[0]?.conditions[0];
    expect(condition?.outcome).toBe(expected);
    expect(condition?.contextValues).toHaveLength(1);
    expect(decision.allowed).toBe(expected === 'satisfied');
  });

  it('finds a key the caller wrote in mixed case in the request context', () => {
    // Prepare
    const policy = withCondition('StringEquals', SUB, SUBJECT);
    const request = requestWith({ [SUB]: [SUBJECT] });

    // Act
    const decision = evaluateTrust(policy, request);

    // Assess
    expect(decision.decision).toBe('allowed');
  });
});

describe('evaluateTrust conditions on an absent key', () => {
  it.each([
    ['StringEquals', 'unsatisfied'],
    ['StringEqualsIgnoreCase', 'unsatisfied'],
    ['StringLike', 'unsatisfied'],
    ['ArnLike', 'unsatisfied'],
    ['Bool', 'unsatisfied'],
    ['StringNotEquals', 'satisfied'],
    ['StringNotEqualsIgnoreCase', 'satisfied'],
    ['StringNotLike', 'satisfied'],
    ['ArnNotLike', 'satisfied'],
    ['StringEqualsIfExists', 'satisfied'],
    ['StringLikeIfExists', 'satisfied'],
    ['StringNotEqualsIfExists', 'satisfied'],
    ['ForAnyValue:StringEquals', 'unsatisfied'],
    ['ForAnyValue:StringNotEquals', 'unsatisfied'],
    ['ForAnyValue:StringLikeIfExists', 'satisfied'],
    ['ForAllValues:StringEquals', 'satisfied'],
    ['ForAllValues:StringNotLike', 'satisfied'],
  ])('decides %s on a key the request lacks as %s', (operator, expected) => {
    // Prepare
    const policy = withCondition(operator, OTHER_SUB, SUBJECT);

    // Act
    const decision = evaluateWebIdentityTrust(policy, WEB_IDENTITY);

    // Assess
    const condition = decision.statements[0]?.conditions[0];
    expect(condition?.outcome).toBe(expected);
    expect(condition?.contextValues).toBeUndefined();
    expect(condition?.reason).toContain('absent');
  });

  it.each([
    ['true', 'satisfied'],
    ['false', 'unsatisfied'],
  ])('decides Null %s on a key the request lacks as %s', (value, expected) => {
    // Prepare
    const policy = withCondition('Null', OTHER_SUB, value);

    // Act
    const decision = evaluateWebIdentityTrust(policy, WEB_IDENTITY);

    // Assess
    expect(decision.statements[0]?.conditions[0]?.outcome).toBe(expected);
  });

  it('denies a subject condition keyed on another cluster issuer and says so', () => {
    // Prepare
    const policy = withCondition('StringEquals', OTHER_SUB, SUBJECT);

    // Act
    const decision = evaluateWebIdentityTrust(policy, WEB_IDENTITY);

    // Assess
    expect(decision.decision).toBe('implicit-deny');
    const reason = decision.statements[0]?.conditions[0]?.reason ?? '';
    expect(reason).toContain('another issuer');
    expect(reason).toContain(OTHER_ISSUER);
    expect(reason).toContain(`the token comes from "${ISSUER}"`);
    expect(decision.explanation).toContain('Statement[0]');
    expect(decision.explanation).toContain(OTHER_SUB);
  });

  it('admits any subject when the only subject condition is StringNotEquals keyed on another issuer', () => {
    // Prepare
    const policy = withCondition('StringNotEquals', OTHER_SUB, 'system:serviceaccount:kube-system:default');

    // Act
    const decision = evaluateWebIdentityTrust(policy, WEB_IDENTITY);

    // Assess
    expect(decision.decision).toBe('allowed');
    expect(decision.statements[0]?.conditions[0]?.outcome).toBe('satisfied');
  });
});

describe('evaluateTrust on multivalued and non-web-identity keys', () => {
  // The four rows of the IAM User Guide's ForAllValues:StringNotLike example on aws:TagKeys.
  it.each([
    [['key1:legal'], 'unsatisfied'],
    [['key1:hr', 'key1:personnel'], 'unsatisfied'],
    [['key2:audit'], 'satisfied'],
    [undefined, 'satisfied'],
  ])('decides ForAllValues:StringNotLike "key1*" on tag keys %j as %s', (tagKeys, expected) => {
    // Prepare
    const policy = withCondition('ForAllValues:StringNotLike', 'aws:TagKeys', 'key1*');
    const request = requestWith(tagKeys === undefined ? {} : { 'aws:tagkeys': tagKeys });

    // Act
    const decision = evaluateTrust(policy, request);

    // Assess
    expect(decision.statements[0]?.conditions[0]?.outcome).toBe(expected);
  });

  it.each([
    ['ForAnyValue:StringEquals', ['team', 'cost-center'], ['cost-center'], 'satisfied'],
    ['ForAnyValue:StringEquals', ['team', 'cost-center'], ['owner'], 'unsatisfied'],
    ['ForAllValues:StringEquals', ['team', 'cost-center'], ['team'], 'unsatisfied'],
    ['ForAllValues:StringEquals', ['team', 'cost-center'], ['team', 'cost-center', 'owner'], 'satisfied'],
    ['ForAnyValue:StringNotEquals', ['team', 'cost-center'], ['team'], 'satisfied'],
    ['ForAllValues:StringNotEquals', ['team', 'cost-center'], ['team'], 'unsatisfied'],
  ])(
    'decides %s on request values %j against %j as %s',
    (operator, requestValues, policyValues, expected) => {
      // Prepare
      const policy = withCondition(operator, 'aws:TagKeys', policyValues);
      const request = requestWith({ 'aws:tagkeys': requestValues });

      // Act
      const decision = evaluateTrust(policy, request);

      // Assess
      expect(decision.statements[0]?.conditions[0]?.outcome).toBe(expected);
    },
  );

  it.each([
    [['team', 'cost-center'], ['team']],
    [['team', 'cost-center'], ['owner']],
    [['team'], ['team', 'owner']],
  ])(
    'decides unqualified StringNotEquals on request values %j as the complement of StringEquals',
    (requestValues, policyValues) => {
      // Prepare
      const request = requestWith({ 'aws:tagkeys': requestValues });
      const equals = withCondition('StringEquals', 'aws:TagKeys', policyValues);
      const notEquals = withCondition('StringNotEquals', 'aws:TagKeys', policyValues);

      // Act
      const positive = evaluateTrust(equals, request).allowed;
      const negated = evaluateTrust(notEquals, request).allowed;

      // Assess
      expect(negated).toBe(!positive);
    },
  );

  it.each([
    ['Bool', 'true', 'true', 'satisfied'],
    ['Bool', true, 'true', 'satisfied'],
    ['Bool', 'false', 'true', 'unsatisfied'],
    ['BoolIfExists', 'false', 'true', 'unsatisfied'],
  ])('decides %s %j on aws:SecureTransport %j as %s', (operator, policyValue, requestValue, expected) => {
    // Prepare
    const policy = withCondition(operator, 'aws:SecureTransport', policyValue);
    const request = requestWith({ 'aws:securetransport': [requestValue] });

    // Act
    const decision = evaluateTrust(policy, request);

    // Assess
    expect(decision.statements[0]?.conditions[0]?.outcome).toBe(expected);
  });

  const CLUSTER_ARN = 'arn:aws:eks:eu-west-1:111122223333:cluster/payments-prod';
  it.each([
    ['ArnEquals', CLUSTER_ARN, 'satisfied'],
    ['ArnEquals', 'arn:aws:eks:eu-west-1:111122223333:cluster/*', 'satisfied'],
    ['ArnLike', 'arn:aws:eks:eu-west-1:111122223333:cluster/*', 'satisfied'],
    ['ArnLike', 'arn:aws:eks:*:111122223333:cluster/payments-prod', 'satisfied'],
    ['ArnLike', 'arn:aws:eks:eu-west-1:444455556666:cluster/*', 'unsatisfied'],
    ['ArnLike', 'arn:aws:eks:eu-west-1:111122223333:cluster/Payments-Prod', 'unsatisfied'],
    ['ArnNotLike', 'arn:aws:eks:eu-west-1:111122223333:cluster/*', 'unsatisfied'],
    ['ArnNotEquals', 'arn:aws:eks:eu-west-1:111122223333:cluster/billing', 'satisfied'],
  ])('decides %s %s on aws:SourceArn as %s', (operator, policyValue, expected) => {
    // Prepare
    const policy = withCondition(operator, 'aws:SourceArn', policyValue);
    const request = requestWith({ 'aws:sourcearn': [CLUSTER_ARN] });

    // Act
    const decision = evaluateTrust(policy, request);

    // Assess
    expect(decision.statements[0]?.conditions[0]?.outcome).toBe(expected);
  });
});

describe('evaluateTrust reasons', () => {
  it('names the operator, key and compared values when StringEquals fails', () => {
    // Prepare
    const policy = withCondition('StringEquals', SUB, 'system:serviceaccount:payments:orders-worker');

    // Act
    const decision = evaluateWebIdentityTrust(policy, WEB_IDENTITY);

    // Assess
    expect(decision.statements[0]?.conditions[0]?.reason).toBe(
      `StringEquals ${SUB}: "${SUBJECT}" is not one of "system:serviceaccount:payments:orders-worker"`,
    );
  });

  it('says a wildcard under StringEquals is literal and StringLike is needed', () => {
    // Prepare
    const policy = withCondition('StringEquals', SUB, 'system:serviceaccount:payments:*');

    // Act
    const decision = evaluateWebIdentityTrust(policy, WEB_IDENTITY);

    // Assess
    expect(decision.decision).toBe('implicit-deny');
    const reason = decision.statements[0]?.conditions[0]?.reason ?? '';
    expect(reason).toContain('literal');
    expect(reason).toContain('StringLike');
    expect(decision.explanation).toContain('StringLike');
  });

  it('leaves the wildcard note out when the value has no wildcard', () => {
    // Prepare
    const policy = withCondition('StringEquals', SUB, 'system:serviceaccount:payments:orders-worker');

    // Act
    const decision = evaluateWebIdentityTrust(policy, WEB_IDENTITY);

    // Assess
    expect(decision.statements[0]?.conditions[0]?.reason).not.toContain('StringLike');
  });
});

describe('evaluateTrust unknown operators', () => {
  it.each([
    'StringEqualz',
    'NumericLessThan',
    'NullIfExists',
    'ForAnyValue:Null',
    'stringequals',
    'ForSomeValues:StringEquals',
  ])('reports %s and does not apply the Allow statement', (operator) => {
    // Prepare
    const policy = withCondition(operator, SUB, SUBJECT);

    // Act
    const decision = evaluateWebIdentityTrust(policy, WEB_IDENTITY);

    // Assess
    expect(decision.statements[0]?.conditions[0]?.outcome).toBe('unknown-operator');
    expect(decision.statements[0]?.applies).toBe(false);
    expect(decision.decision).toBe('implicit-deny');
    expect(decision.unknownOperators).toEqual([operator]);
    expect(decision.explanation).toContain(operator);
  });

  it('does not apply a Deny statement with an unknown operator, and says so', () => {
    // Prepare
    const policy = policyOf({
      Statement: [
        {
          Effect: 'Allow',
          Principal: { Federated: PROVIDER },
          Action: 'sts:AssumeRoleWithWebIdentity',
          Condition: { StringEquals: { [SUB]: SUBJECT } },
        },
        {
          Sid: 'DenyOutsideHours',
          Effect: 'Deny',
          Principal: '*',
          Action: 'sts:*',
          Condition: { DateGreaterThan: { 'aws:CurrentTime': '2026-01-01T00:00:00Z' } },
        },
      ],
    });

    // Act
    const decision = evaluateWebIdentityTrust(policy, WEB_IDENTITY);

    // Assess
    expect(decision.decision).toBe('allowed');
    expect(decision.unknownOperators).toEqual(['DateGreaterThan']);
    expect(decision.statements[1]?.applies).toBe(false);
    expect(decision.explanation).toContain('Statement[1] (Sid "DenyOutsideHours")');
  });
});

describe('evaluateTrust principals and actions', () => {
  it.each([
    ['Principal "*"', { Principal: '*' }, true],
    ['Principal {"AWS": "*"}', { Principal: { AWS: '*' } }, true],
    ['Federated as a string', { Principal: { Federated: PROVIDER } }, true],
    ['Federated as an array', { Principal: { Federated: [OTHER_PROVIDER, PROVIDER] } }, true],
    ['Federated in another case', { Principal: { Federated: PROVIDER.toUpperCase() } }, true],
    ['Federated "*"', { Principal: { Federated: '*' } }, true],
    ['another cluster provider', { Principal: { Federated: OTHER_PROVIDER } }, false],
    ['a Service principal', { Principal: { Service: 'pods.eks.amazonaws.com' } }, false],
    ['an AWS account', { Principal: { AWS: 'arn:aws:iam::111122223333:root' } }, false],
    ['NotPrincipal naming another provider', { NotPrincipal: { Federated: OTHER_PROVIDER } }, true],
    ['NotPrincipal naming this provider', { NotPrincipal: { Federated: PROVIDER } }, false],
  ])('matches the provider against %s as %s', (_label, principal, expected) => {
    // Prepare
    const policy = policyOf({
      Statement: { Effect: 'Allow', Action: 'sts:AssumeRoleWithWebIdentity', ...principal },
    });

    // Act
    const decision = evaluateWebIdentityTrust(policy, WEB_IDENTITY);

    // Assess
    expect(decision.statements[0]?.principalMatches).toBe(expected);
    expect(decision.allowed).toBe(expected);
  });

  it.each([
    [{ Action: 'sts:*' }, true],
    [{ Action: '*' }, true],
    [{ Action: 'sts:AssumeRoleWith*' }, true],
    [{ Action: 'STS:AssumeRoleWithWebIdentity' }, true],
    [{ Action: ['sts:AssumeRole', 'sts:TagSession'] }, false],
    [{ NotAction: 'sts:AssumeRole' }, true],
    [{ NotAction: 'sts:AssumeRoleWith*' }, false],
  ])('matches sts:AssumeRoleWithWebIdentity against %j as %s', (action, expected) => {
    // Prepare
    const policy = policyOf({
      Statement: { Effect: 'Allow', Principal: { Federated: PROVIDER }, ...action },
    });

    // Act
    const decision = evaluateWebIdentityTrust(policy, WEB_IDENTITY);

    // Assess
    expect(decision.statements[0]?.actionMatches).toBe(expected);
    expect(decision.allowed).toBe(expected);
  });

  it('explains that the trusted provider is only allowed another action', () => {
    // Prepare
    const policy = irsaPolicy({ Action: 'sts:AssumeRole' });

    // Act
    const decision = evaluateWebIdentityTrust(policy, WEB_IDENTITY);

    // Assess
    expect(decision.decision).toBe('implicit-deny');
    expect(decision.explanation).toContain('allows only "sts:AssumeRole"');
  });

  it('explains that no Allow statement trusts the provider, naming the one it does trust', () => {
    // Prepare
    const policy = irsaPolicy({ Principal: { Federated: OTHER_PROVIDER } });

    // Act
    const decision = evaluateWebIdentityTrust(policy, WEB_IDENTITY);

    // Assess
    expect(decision.decision).toBe('implicit-deny');
    expect(decision.decidingStatement).toBeUndefined();
    expect(decision.explanation).toContain('no Allow statement trusts');
    expect(decision.explanation).toContain(OTHER_PROVIDER);
  });

  it('allows an EKS Pod Identity request to tag its session', () => {
    // Prepare
    const policy = policyOf({
      Statement: {
        Effect: 'Allow',
        Principal: { Service: 'pods.eks.amazonaws.com' },
        Action: ['sts:AssumeRole', 'sts:TagSession'],
      },
    });
    const request: TrustRequest = {
      principalType: 'Service',
      principal: 'pods.eks.amazonaws.com',
      action: 'sts:TagSession',
      context: new Map(),
    };

    // Act
    const decision = evaluateTrust(policy, request);

    // Assess
    expect(decision.decision).toBe('allowed');
  });

  it('treats a bare account ID in an AWS principal as that account root', () => {
    // Prepare
    const policy = policyOf({
      Statement: { Effect: 'Allow', Principal: { AWS: '111122223333' }, Action: 'sts:AssumeRole' },
    });
    const request: TrustRequest = {
      principalType: 'AWS',
      principal: 'arn:aws:iam::111122223333:root',
      action: 'sts:AssumeRole',
      context: new Map(),
    };

    // Act
    const decision = evaluateTrust(policy, request);

    // Assess
    expect(decision.allowed).toBe(true);
  });
});

describe('evaluateTrust decisions and explanations', () => {
  const allowOrdersApi = {
    Sid: 'TrustOrdersApi',
    Effect: 'Allow',
    Principal: { Federated: PROVIDER },
    Action: 'sts:AssumeRoleWithWebIdentity',
    Condition: { StringEquals: { [SUB]: SUBJECT, [AUD]: AUDIENCE } },
  };

  it('allows and names the statement and its conditions', () => {
    // Prepare
    const policy = policyOf({ Version: '2012-10-17', Statement: [allowOrdersApi] });

    // Act
    const decision = evaluateWebIdentityTrust(policy, WEB_IDENTITY);

    // Assess
    expect(decision).toMatchObject({ allowed: true, decision: 'allowed', unknownOperators: [] });
    expect(decision.decidingStatement?.statement.sid).toBe('TrustOrdersApi');
    expect(decision.explanation).toContain('Statement[0] (Sid "TrustOrdersApi") allows');
    expect(decision.explanation).toContain(`StringEquals ${SUB}: "${SUBJECT}" equals "${SUBJECT}"`);
    expect(decision.explanation).toContain(`StringEquals ${AUD}`);
  });

  it('names a statement without a Sid by its index alone', () => {
    // Prepare
    const policy = irsaPolicy({});

    // Act
    const decision = evaluateWebIdentityTrust(policy, WEB_IDENTITY);

    // Assess
    expect(decision.allowed).toBe(true);
    expect(decision.explanation).toMatch(/^Statement\[0\] allows .* with no conditions\.$/);
  });

  it('requires every condition key: a wrong audience denies although the subject matches', () => {
    // Prepare
    const policy = policyOf({ Statement: [allowOrdersApi] });

    // Act
    const decision = evaluateWebIdentityTrust(policy, { ...WEB_IDENTITY, audience: 'vault' });

    // Assess
    expect(decision.decision).toBe('implicit-deny');
    expect(decision.statements[0]?.conditions.map((condition) => condition.outcome)).toEqual([
      'satisfied',
      'unsatisfied',
    ]);
    expect(decision.explanation).toContain('Statement[0] (Sid "TrustOrdersApi")');
    expect(decision.explanation).toContain(`StringEquals ${AUD}: "vault" is not one of "sts.amazonaws.com"`);
  });

  it('lets a matching explicit Deny win over a matching Allow', () => {
    // Prepare
    const policy = policyOf({
      Statement: [
        allowOrdersApi,
        {
          Sid: 'DenyPayments',
          Effect: 'Deny',
          Principal: { Federated: PROVIDER },
          Action: 'sts:*',
          Condition: { StringLike: { [SUB]: 'system:serviceaccount:payments:*' } },
        },
      ],
    });

    // Act
    const decision = evaluateWebIdentityTrust(policy, WEB_IDENTITY);

    // Assess
    expect(decision.allowed).toBe(false);
    expect(decision.decision).toBe('explicit-deny');
    expect(decision.decidingStatement?.statement.index).toBe(1);
    expect(decision.statements[0]?.applies).toBe(true);
    expect(decision.explanation).toContain('Statement[1] (Sid "DenyPayments") explicitly denies');
    expect(decision.explanation).toContain('system:serviceaccount:payments:*');
  });

  it('ignores a Deny whose condition does not match', () => {
    // Prepare
    const policy = policyOf({
      Statement: [
        {
          Effect: 'Deny',
          Principal: '*',
          Action: 'sts:AssumeRoleWithWebIdentity',
          Condition: { StringNotLike: { [SUB]: 'system:serviceaccount:payments:*' } },
        },
        allowOrdersApi,
      ],
    });

    // Act
    const decision = evaluateWebIdentityTrust(policy, WEB_IDENTITY);

    // Assess
    expect(decision.decision).toBe('allowed');
    expect(decision.decidingStatement?.statement.index).toBe(1);
  });

  it('denies implicitly when the policy has no statement', () => {
    // Prepare
    const policy = policyOf({ Version: '2012-10-17', Statement: [] });

    // Act
    const decision = evaluateWebIdentityTrust(policy, WEB_IDENTITY);

    // Assess
    expect(decision).toMatchObject({ allowed: false, decision: 'implicit-deny', statements: [] });
    expect(decision.explanation).toContain('no Allow statement');
  });
});
