// Trust-policy parsing and evaluation over arbitrary JSON, arbitrary text and near-valid IAM
// documents: nothing throws, every form of a document reads the same, and decisions stay coherent.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  evaluateTrust,
  evaluateWebIdentityTrust,
  type TrustDecision,
} from '../../../lambda/core/policy/trust-policy';
import type { TrustPolicy } from '../../../lambda/core/policy/trust-policy-document';
import { parseTrustPolicy, trustPolicySize } from '../../../lambda/core/policy/trust-policy-parse';
import {
  ISSUER,
  OLD_ISSUER,
  PROVIDER_ARN,
  runs,
  trustDocument,
  wellTypedTrustDocument,
} from '../../support/arbitraries';

const anyDocument = fc.oneof(trustDocument, wellTypedTrustDocument);

const kubernetesName = fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,14}[a-z0-9])?$/);

const webIdentityInput = fc.record({
  providerArn: fc.constantFrom(
    PROVIDER_ARN,
    PROVIDER_ARN.toUpperCase(),
    `arn:aws:iam::444455556666:oidc-provider/${ISSUER}`,
  ),
  issuer: fc.constantFrom(
    ISSUER,
    `https://${ISSUER}`,
    `${ISSUER}/`,
    `https://${ISSUER.toUpperCase()}/`,
    OLD_ISSUER,
    '',
  ),
  subject: fc.oneof(
    fc.constantFrom('system:serviceaccount:payments:orders-api', 'system:serviceaccount:data:etl-runner'),
    fc.string({ maxLength: 40 }),
  ),
  audience: fc.oneof(fc.constantFrom('sts.amazonaws.com', 'STS.amazonaws.com'), fc.string({ maxLength: 10 })),
});

function parsedPolicy(document: unknown): TrustPolicy | undefined {
  const parsed = parseTrustPolicy(document);
  return 'policy' in parsed ? parsed.policy : undefined;
}

/** What every decision promises, whatever the policy: it is coherent and explains itself. */
function expectCoherent(decision: TrustDecision, policy: TrustPolicy): void {
  expect(decision.allowed).toBe(decision.decision === 'allowed');
  expect(decision.decidingStatement === undefined).toBe(decision.decision === 'implicit-deny');
  if (decision.decision === 'explicit-deny')
    expect(decision.decidingStatement?.statement.effect).toBe('Deny');
  if (decision.decision === 'allowed') expect(decision.decidingStatement?.statement.effect).toBe('Allow');
  expect(decision.statements).toHaveLength(policy.statements.length);
  expect(decision.explanation).toMatch(/\S.*\.$/s);
  const operators = new Set(policy.statements.flatMap((s) => s.conditions.map((c) => c.operator)));
  for (const operator of decision.unknownOperators) expect(operators.has(operator)).toBe(true);
}

describe('trust policy robustness', () => {
  it('parses arbitrary JSON into a policy or a one-line error, never an exception', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const parsed = parseTrustPolicy(value);

        if ('error' in parsed) {
          expect(parsed.error.trim()).not.toBe('');
          expect(parsed.error).not.toMatch(/[\n\r]/);
        } else {
          expect(Array.isArray(parsed.policy.statements)).toBe(true);
        }
        expect(trustPolicySize(value)).toBeGreaterThanOrEqual(0);
      }),
      { numRuns: runs(500) },
    );
  });

  it('reads arbitrary and badly URL-encoded text without throwing', () => {
    const text = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 60 }),
      fc.jsonValue().map((value) => JSON.stringify(value)),
      fc.jsonValue().map((value) => encodeURIComponent(JSON.stringify(value))),
      fc.constantFrom('%', '%7B', '%E0%A4%A', '%7B%22Statement%22%3A', '{', '{"Statement": ', '   ', '%20'),
    );
    fc.assert(
      fc.property(text, (raw) => {
        const parsed = parseTrustPolicy(raw);

        expect('policy' in parsed !== 'error' in parsed).toBe(true);
        expect(trustPolicySize(raw)).toBeGreaterThanOrEqual(0);
      }),
      { numRuns: runs(500) },
    );
  });

  it('reads the object, JSON, pretty-printed and URL-encoded forms of a document alike', () => {
    fc.assert(
      fc.property(anyDocument, (document) => {
        const json = JSON.stringify(document);
        const expected = parseTrustPolicy(document);

        for (const form of [
          json,
          JSON.stringify(document, null, 4),
          encodeURIComponent(json),
          ` ${encodeURIComponent(JSON.stringify(document, null, 2))}\n`,
        ]) {
          expect(parseTrustPolicy(form)).toEqual(expected);
          expect(trustPolicySize(form)).toBe(trustPolicySize(document));
        }
      }),
      { numRuns: runs(300) },
    );
  });

  it('evaluates every parsed policy for any web-identity request without throwing', () => {
    fc.assert(
      fc.property(anyDocument, webIdentityInput, (document, input) => {
        const policy = parsedPolicy(document);
        if (policy === undefined) return;

        const decision = evaluateWebIdentityTrust(policy, input);

        expectCoherent(decision, policy);
      }),
      { numRuns: runs(500) },
    );
  });

  it('evaluates every parsed policy for other principals and actions without throwing', () => {
    const request = fc.record({
      principalType: fc.constantFrom('Service', 'AWS', 'Federated', 'service', ''),
      principal: fc.constantFrom(
        'pods.eks.amazonaws.com',
        'arn:aws:iam::111122223333:root',
        PROVIDER_ARN,
        '',
      ),
      action: fc.constantFrom('sts:AssumeRole', 'sts:TagSession', 'sts:AssumeRoleWithWebIdentity', ''),
      context: fc
        .array(fc.tuple(fc.constantFrom(`${ISSUER}:sub`, 'aws:SourceAccount', ''), fc.array(fc.string())), {
          maxLength: 2,
        })
        .map((entries) => new Map(entries)),
    });
    fc.assert(
      fc.property(anyDocument, request, (document, trustRequest) => {
        const policy = parsedPolicy(document);
        if (policy === undefined) return;

        expectCoherent(evaluateTrust(policy, trustRequest), policy);
      }),
      { numRuns: runs(300) },
    );
  });

  it('admits exactly the ServiceAccount of the documented statement, and a matching Deny wins', () => {
    fc.assert(
      fc.property(kubernetesName, kubernetesName, kubernetesName, (namespace, name, other) => {
        fc.pre(other !== name);
        const subject = `system:serviceaccount:${namespace}:${name}`;
        const allow = {
          Effect: 'Allow',
          Principal: { Federated: PROVIDER_ARN },
          Action: 'sts:AssumeRoleWithWebIdentity',
          Condition: { StringEquals: { [`${ISSUER}:sub`]: subject, [`${ISSUER}:aud`]: 'sts.amazonaws.com' } },
        };
        const deny = {
          Effect: 'Deny',
          Principal: '*',
          Action: 'sts:*',
          Condition: {
            StringLike: { [`${ISSUER.toUpperCase()}:SUB`]: `system:serviceaccount:${namespace}:*` },
          },
        };
        const request = (sa: string) => ({
          providerArn: PROVIDER_ARN,
          issuer: `https://${ISSUER}`,
          subject: `system:serviceaccount:${namespace}:${sa}`,
          audience: 'sts.amazonaws.com',
        });
        const allowOnly = parsedPolicy({ Version: '2012-10-17', Statement: allow });
        const withDeny = parsedPolicy({ Version: '2012-10-17', Statement: [allow, deny] });
        if (allowOnly === undefined || withDeny === undefined)
          throw new Error('the documented statement must parse');

        expect(evaluateWebIdentityTrust(allowOnly, request(name)).decision).toBe('allowed');
        expect(evaluateWebIdentityTrust(allowOnly, request(other)).decision).toBe('implicit-deny');
        expect(evaluateWebIdentityTrust(withDeny, request(name)).decision).toBe('explicit-deny');
      }),
      { numRuns: runs(200) },
    );
  });

  it('decides the same whatever the case of condition keys', () => {
    fc.assert(
      fc.property(wellTypedTrustDocument, webIdentityInput, fc.boolean(), (document, input, upper) => {
        const policy = parsedPolicy(document);
        if (policy === undefined) return;
        const recased: TrustPolicy = {
          statements: policy.statements.map((statement) => ({
            ...statement,
            conditions: statement.conditions.map((condition) => ({
              ...condition,
              key: upper ? condition.key.toUpperCase() : condition.key.toLowerCase(),
            })),
          })),
        };

        expect(evaluateWebIdentityTrust(recased, input).decision).toBe(
          evaluateWebIdentityTrust(policy, input).decision,
        );
      }),
      { numRuns: runs(300) },
    );
  });
});
