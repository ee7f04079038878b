import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AwsCredentialIdentity } from '@smithy/types';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createEksToken,
  decodeEksToken,
  EksTokenCache,
  EksTokenError,
} from '../../../lambda/sources/aws/eks-token';
import { requireTool, runAtFrozenTime } from '../../support/faketime';

// AWS's documented example key pair (SigV4 docs); nothing here can reach AWS.
const ACCESS_KEY_ID = 'AKIAIOSFODNN7EXAMPLE';
const SECRET_ACCESS_KEY = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCY/EXAMPLEKEY';
// Shaped like an STS session token, with the +, / and = that must be percent-encoded in the URL.
const SESSION_TOKEN = 'IQoJb3JpZ2luX2VjEXAMPLE//////////wEaCXVzLWVhc3QtMSJH+MEUCIQEXAMPLE/TOKEN+abc==';
const LONG_TERM: AwsCredentialIdentity = { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY };
const TEMPORARY: AwsCredentialIdentity = { ...LONG_TERM, sessionToken: SESSION_TOKEN };
const SIGNED_AT = new Date('2026-11-28T12:00:00Z');
const MINUTE = 60_000;
// SPEC §9 and awscli's TOKEN_EXPIRATION_MINS: tokens live 15 minutes, clients refresh after 14.
const FOURTEEN_MINUTES = 14 * MINUTE;

/** The ExecCredential `aws eks get-token` prints. */
interface ExecCredential {
  readonly status: { readonly token: string; readonly expirationTimestamp: string };
}

let awsHome: string;
beforeAll(async () => {
  awsHome = await mkdtemp(join(tmpdir(), 'eks-token-aws-home-'));
});
afterAll(async () => {
  await rm(awsHome, { recursive: true, force: true });
});

/** `aws eks get-token` at a frozen time, with only the given credentials and no config files. */
async function awsEksGetToken(
  clusterName: string,
  region: string,
  credentials: AwsCredentialIdentity,
  at: Date,
): Promise<ExecCredential> {
  requireTool('aws', ['--version'], 'pip install awscli');
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: awsHome,
    // Files that do not exist, so a developer's profile, region or credential_process cannot leak in.
    AWS_CONFIG_FILE: join(awsHome, 'config'),
    AWS_SHARED_CREDENTIALS_FILE: join(awsHome, 'credentials'),
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_STS_REGIONAL_ENDPOINTS: 'regional',
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
  };
  if (credentials.sessionToken !== undefined) env.AWS_SESSION_TOKEN = credentials.sessionToken;
  // pyenv shims locate their Python through these.
  for (const name of ['PYENV_ROOT', 'PYENV_VERSION']) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  const stdout = await runAtFrozenTime(
    at,
    'aws',
    ['eks', 'get-token', '--cluster-name', clusterName, '--region', region, '--output', 'json'],
    env,
  );
  return JSON.parse(stdout) as ExecCredential;
}

/** The token of an arbitrary URL, for feeding decodeEksToken what a careless or hostile client might send. */
function tokenOf(url: string): string {
  return `k8s-aws-v1.${Buffer.from(url, 'utf8').toString('base64url')}`;
}

async function validUrl(): Promise<URL> {
  return decodeEksToken(
    await createEksToken({
      clusterName: 'blog-incident',
      region: 'eu-west-1',
      credentials: TEMPORARY,
      now: SIGNED_AT,
    }),
  );
}

function withParameter(url: URL, name: string, value: string | undefined): string {
  const copy = new URL(url);
  if (value === undefined) copy.searchParams.delete(name);
  else copy.searchParams.set(name, value);
  return copy.toString();
}

/** A clock the test moves by hand. */
function manualClock(start: Date): { now: () => Date; advance: (ms: number) => void } {
  let current = start.getTime();
  return { now: () => new Date(current), advance: (ms) => (current += ms) };
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (error: unknown) => error,
  );
}

describe('createEksToken compared with aws eks get-token', () => {
  it.each([
    { clusterName: 'blog-incident', region: 'us-east-1', credentials: LONG_TERM, kind: 'long-term keys' },
    { clusterName: 'platform-prod', region: 'eu-west-1', credentials: TEMPORARY, kind: 'a session token' },
    {
      clusterName: 'checkout_Cluster-01',
      region: 'cn-north-1',
      credentials: TEMPORARY,
      kind: 'a session token',
    },
    { clusterName: 'gov-cluster', region: 'us-gov-west-1', credentials: LONG_TERM, kind: 'long-term keys' },
  ])(
    'matches byte for byte for $clusterName in $region signed with $kind',
    async ({ clusterName, region, credentials }) => {
      // Prepare
      const expected = await awsEksGetToken(clusterName, region, credentials, SIGNED_AT);

      // Act
      const token = await createEksToken({ clusterName, region, credentials, now: SIGNED_AT });

      // Assess
      // The URLs first: on a mismatch their diff is readable, the tokens' is not.
      expect(decodeEksToken(token).toString()).toBe(decodeEksToken(expected.status.token).toString());
      expect(token).toBe(expected.status.token);
    },
  );

  it('signs the same token when the credentials come from a provider', async () => {
    // Prepare
    const expected = await awsEksGetToken('platform-prod', 'eu-west-1', TEMPORARY, SIGNED_AT);

    // Act
    const token = await createEksToken({
      clusterName: 'platform-prod',
      region: 'eu-west-1',
      credentials: async () => TEMPORARY,
      now: SIGNED_AT,
    });

    // Assess
    expect(token).toBe(expected.status.token);
  });

  it('hands out a token for exactly as long as aws eks get-token says it stays fresh', async () => {
    // Prepare
    const expected = await awsEksGetToken('platform-prod', 'eu-west-1', LONG_TERM, SIGNED_AT);
    const freshForMs = Date.parse(expected.status.expirationTimestamp) - SIGNED_AT.getTime();
    const clock = manualClock(SIGNED_AT);
    const cache = new EksTokenCache({ credentials: LONG_TERM, now: clock.now });

    // Act
    const first = await cache.token('platform-prod', 'eu-west-1');
    clock.advance(freshForMs - 1);
    const lastCached = await cache.token('platform-prod', 'eu-west-1');
    clock.advance(1);
    const renewed = await cache.token('platform-prod', 'eu-west-1');

    // Assess
    expect(freshForMs).toBe(FOURTEEN_MINUTES);
    expect(first).toBe(expected.status.token);
    expect(lastCached).toBe(first);
    expect(renewed).not.toBe(first);
    expect(decodeEksToken(renewed).searchParams.get('X-Amz-Date')).toBe('20261128T121400Z');
  });
});

describe('createEksToken', () => {
  it('presigns GetCallerIdentity on the regional STS endpoint with the cluster header signed', async () => {
    // Act
    const url = await validUrl();

    // Assess
    expect(url.origin).toBe('https://sts.eu-west-1.amazonaws.com');
    expect(url.pathname).toBe('/');
    expect(Object.fromEntries(url.searchParams)).toEqual({
      Action: 'GetCallerIdentity',
      Version: '2011-06-15',
      'X-Amz-Algorithm': 'AWS4-HMAC-SHA256',
      'X-Amz-Credential': `${ACCESS_KEY_ID}/20261128/eu-west-1/sts/aws4_request`,
      'X-Amz-Date': '20261128T120000Z',
      'X-Amz-Expires': '60',
      'X-Amz-SignedHeaders': 'host;x-k8s-aws-id',
      'X-Amz-Security-Token': SESSION_TOKEN,
      'X-Amz-Signature': expect.stringMatching(/^[0-9a-f]{64}$/),
    });
  });

  it.each([
    ['cn-northwest-1', 'sts.cn-northwest-1.amazonaws.com.cn'],
    ['us-gov-east-1', 'sts.us-gov-east-1.amazonaws.com'],
    ['ap-southeast-7', 'sts.ap-southeast-7.amazonaws.com'],
    ['us-iso-east-1', 'sts.us-iso-east-1.c2s.ic.gov'],
    ['us-isob-east-1', 'sts.us-isob-east-1.sc2s.sgov.gov'],
    ['eu-isoe-west-1', 'sts.eu-isoe-west-1.cloud.adc-e.uk'],
    ['us-isof-south-1', 'sts.us-isof-south-1.csp.hci.ic.gov'],
    ['eusc-de-east-1', 'sts.eusc-de-east-1.amazonaws.eu'],
  ])('signs for the STS endpoint of %s in its partition', async (region, host) => {
    // Act
    const token = await createEksToken({ clusterName: 'c', region, credentials: LONG_TERM, now: SIGNED_AT });

    // Assess
    const url = decodeEksToken(token);
    expect(url.hostname).toBe(host);
    expect(url.searchParams.get('X-Amz-Credential')).toBe(
      `${ACCESS_KEY_ID}/20261128/${region}/sts/aws4_request`,
    );
  });

  it('encodes every token as unpadded base64url that decodes to its URL', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.stringMatching(/^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$/),
        fc.constantFrom('us-east-1', 'eu-central-2', 'cn-north-1', 'ap-southeast-4'),
        fc.option(fc.string({ minLength: 1, maxLength: 400 }), { nil: undefined }),
        async (clusterName, region, sessionToken) => {
          const credentials = sessionToken === undefined ? LONG_TERM : { ...LONG_TERM, sessionToken };

          const token = await createEksToken({ clusterName, region, credentials, now: SIGNED_AT });

          expect(token).toMatch(/^k8s-aws-v1\.[A-Za-z0-9_-]+$/);
          const url = decodeEksToken(token);
          expect(url.searchParams.get('X-Amz-Security-Token') ?? undefined).toBe(sessionToken);
          expect(url.searchParams.get('X-Amz-SignedHeaders')?.split(';')).toContain('x-k8s-aws-id');
        },
      ),
      { numRuns: 60 },
    );
  });

  it('signs each cluster name differently although the URL never names the cluster', async () => {
    // Act
    const [first, second] = await Promise.all(
      ['cluster-a', 'cluster-b'].map((clusterName) =>
        createEksToken({ clusterName, region: 'eu-west-1', credentials: LONG_TERM, now: SIGNED_AT }),
      ),
    );

    // Assess
    const [urlA, urlB] = [decodeEksToken(first!), decodeEksToken(second!)];
    expect(urlA.toString()).not.toContain('cluster-a');
    expect(urlA.searchParams.get('X-Amz-Signature')).not.toBe(urlB.searchParams.get('X-Amz-Signature'));
    expect(withParameter(urlA, 'X-Amz-Signature', undefined)).toBe(
      withParameter(urlB, 'X-Amz-Signature', undefined),
    );
  });

  it.each([
    { name: 'a region that is not a region name', clusterName: 'c', region: 'evil.example.com/x' },
    { name: 'an empty region', clusterName: 'c', region: '' },
    { name: 'an empty cluster name', clusterName: '', region: 'eu-west-1' },
    {
      name: 'a cluster name that would split the header',
      clusterName: 'c\r\nx-evil: 1',
      region: 'eu-west-1',
    },
  ])('rejects $name with an EksTokenError', async ({ clusterName, region }) => {
    // Act
    const error = await rejection(
      createEksToken({ clusterName, region, credentials: LONG_TERM, now: SIGNED_AT }),
    );

    // Assess
    expect(error).toBeInstanceOf(EksTokenError);
  });

  it('reports credentials that cannot be resolved as an EksTokenError naming the cluster', async () => {
    // Prepare
    const credentials = async (): Promise<AwsCredentialIdentity> => {
      throw new Error('Could not load credentials from any providers');
    };

    // Act
    const error = await rejection(
      createEksToken({ clusterName: 'platform-prod', region: 'eu-west-1', credentials, now: SIGNED_AT }),
    );

    // Assess
    expect(error).toBeInstanceOf(EksTokenError);
    expect((error as EksTokenError).clusterName).toBe('platform-prod');
    expect((error as EksTokenError).message).toContain('Could not load credentials from any providers');
  });
});

describe('decodeEksToken', () => {
  it('returns the presigned URL a token carries', async () => {
    // Prepare
    const url = await validUrl();

    // Act
    const decoded = decodeEksToken(tokenOf(url.toString()));

    // Assess
    expect(decoded.toString()).toBe(url.toString());
  });

  it('accepts the legacy global STS endpoint, which aws-iam-authenticator still accepts', async () => {
    // Prepare
    const url = await validUrl();
    url.hostname = 'sts.amazonaws.com';

    // Act
    const decoded = decodeEksToken(tokenOf(url.toString()));

    // Assess
    expect(decoded.hostname).toBe('sts.amazonaws.com');
  });

  // The rules are aws-iam-authenticator's Verify (pkg/token/token.go) and SigV4's required parameters.
  it.each<{ name: string; token: (url: URL) => string }>([
    { name: 'an empty token', token: () => '' },
    { name: 'a token without the k8s-aws-v1. prefix', token: (url) => tokenOf(url.toString()).slice(11) },
    { name: 'a token with a v2 prefix', token: (url) => `k8s-aws-v2.${tokenOf(url.toString()).slice(11)}` },
    { name: 'padded base64', token: () => `${tokenOf('https://sts.amazonaws.com/?a')}=` },
    {
      name: 'standard base64 characters',
      token: (url) => `k8s-aws-v1.${Buffer.from(url.toString()).toString('base64')}`,
    },
    { name: 'an impossible base64 length', token: () => 'k8s-aws-v1.AAAAA' },
    { name: 'a URL followed by a NUL byte', token: (url) => tokenOf(`${url.toString()}\u0000`) },
    {
      name: 'an upper-case host',
      token: (url) => tokenOf(url.toString().replace('sts.eu-west-1', 'STS.eu-west-1')),
    },
    {
      name: 'bytes that are not ASCII',
      token: () => `k8s-aws-v1.${Buffer.from([0xff, 0xfe, 0xfd]).toString('base64url')}`,
    },
    { name: 'text that is not a URL', token: () => tokenOf('not a url') },
    {
      name: 'a token over 4 KiB',
      token: (url) => tokenOf(withParameter(url, 'X-Amz-Security-Token', 'x'.repeat(4096))),
    },
    { name: 'plain http', token: (url) => tokenOf(url.toString().replace('https:', 'http:')) },
    {
      name: 'a host that is not STS',
      token: (url) =>
        tokenOf(url.toString().replace('sts.eu-west-1.amazonaws.com', 'sts.eu-west-1.evil.example')),
    },
    {
      name: 'a China region under the commercial suffix',
      token: (url) =>
        tokenOf(url.toString().replace('sts.eu-west-1.amazonaws.com', 'sts.cn-north-1.amazonaws.com')),
    },
    {
      name: 'a port',
      token: (url) => tokenOf(url.toString().replace('amazonaws.com/', 'amazonaws.com:8443/')),
    },
    { name: 'user info', token: (url) => tokenOf(url.toString().replace('https://', 'https://user@')) },
    { name: 'a path other than /', token: (url) => tokenOf(url.toString().replace('.com/?', '.com/x?')) },
    { name: 'another action', token: (url) => tokenOf(withParameter(url, 'Action', 'AssumeRole')) },
    { name: 'another API version', token: (url) => tokenOf(withParameter(url, 'Version', '2011-06-16')) },
    {
      name: 'a parameter STS would act on',
      token: (url) => tokenOf(withParameter(url, 'RoleArn', 'arn:aws:iam::1:role/x')),
    },
    { name: 'a repeated parameter', token: (url) => tokenOf(`${url.toString()}&action=GetCallerIdentity`) },
    {
      name: 'the cluster header left unsigned',
      token: (url) => tokenOf(withParameter(url, 'X-Amz-SignedHeaders', 'host')),
    },
    { name: 'X-Amz-Expires over 900', token: (url) => tokenOf(withParameter(url, 'X-Amz-Expires', '901')) },
    { name: 'a negative X-Amz-Expires', token: (url) => tokenOf(withParameter(url, 'X-Amz-Expires', '-1')) },
    { name: 'no X-Amz-Date', token: (url) => tokenOf(withParameter(url, 'X-Amz-Date', undefined)) },
    {
      name: 'an impossible X-Amz-Date',
      token: (url) => tokenOf(withParameter(url, 'X-Amz-Date', '20261131T120000Z')),
    },
    {
      name: 'a credential scope of another day',
      token: (url) => tokenOf(withParameter(url, 'X-Amz-Date', '20261129T120000Z')),
    },
    {
      name: 'a credential scope of another service',
      token: (url) =>
        tokenOf(
          withParameter(url, 'X-Amz-Credential', `${ACCESS_KEY_ID}/20261128/eu-west-1/iam/aws4_request`),
        ),
    },
    {
      name: 'another signing algorithm',
      token: (url) => tokenOf(withParameter(url, 'X-Amz-Algorithm', 'AWS4-ECDSA-P256-SHA256')),
    },
    { name: 'no signature', token: (url) => tokenOf(withParameter(url, 'X-Amz-Signature', undefined)) },
  ])('rejects $name with an EksTokenError that does not echo the token', async ({ token }) => {
    // Prepare
    const malformed = token(await validUrl());

    // Act
    const error = (() => {
      try {
        decodeEksToken(malformed);
        return undefined;
      } catch (caught) {
        return caught;
      }
    })();

    // Assess
    expect(error).toBeInstanceOf(EksTokenError);
    expect((error as EksTokenError).message).toMatch(/^malformed EKS token: /);
    if (malformed.length > 20)
      expect((error as EksTokenError).message).not.toContain(malformed.slice(11, 40));
  });
});

describe('EksTokenCache', () => {
  it('returns the same token for 14 minutes and a new one after', async () => {
    // Prepare
    const clock = manualClock(SIGNED_AT);
    const cache = new EksTokenCache({ credentials: LONG_TERM, now: clock.now });

    // Act
    const first = await cache.token('blog-incident', 'eu-west-1');
    clock.advance(FOURTEEN_MINUTES - 1);
    const stillCached = await cache.token('blog-incident', 'eu-west-1');
    clock.advance(1);
    const renewed = await cache.token('blog-incident', 'eu-west-1');

    // Assess
    expect(first).toBe(
      await createEksToken({
        clusterName: 'blog-incident',
        region: 'eu-west-1',
        credentials: LONG_TERM,
        now: SIGNED_AT,
      }),
    );
    expect(stillCached).toBe(first);
    expect(renewed).not.toBe(first);
    expect(decodeEksToken(renewed).searchParams.get('X-Amz-Date')).toBe('20261128T121400Z');
  });

  it('keeps one token per cluster and region', async () => {
    // Prepare
    const cache = new EksTokenCache({ credentials: LONG_TERM, now: () => SIGNED_AT });

    // Act
    const tokens = [
      await cache.token('blog-incident', 'eu-west-1'),
      await cache.token('blog-incident', 'us-east-1'),
      await cache.token('healthy', 'eu-west-1'),
      await cache.token('blog-incident', 'eu-west-1'),
    ];

    // Assess
    expect(new Set(tokens).size).toBe(3);
    expect(tokens[3]).toBe(tokens[0]);
    expect(decodeEksToken(tokens[1]!).hostname).toBe('sts.us-east-1.amazonaws.com');
  });

  it.each([
    { maxAgeMs: 60 * MINUTE, renewsAfterMs: FOURTEEN_MINUTES, why: 'caps a longer age at 14 minutes' },
    {
      maxAgeMs: Number.POSITIVE_INFINITY,
      renewsAfterMs: FOURTEEN_MINUTES,
      why: 'caps an unbounded age at 14 minutes',
    },
    { maxAgeMs: 5 * MINUTE, renewsAfterMs: 5 * MINUTE, why: 'honours a shorter age' },
  ])('$why', async ({ maxAgeMs, renewsAfterMs }) => {
    // Prepare
    const clock = manualClock(SIGNED_AT);
    const cache = new EksTokenCache({ credentials: LONG_TERM, now: clock.now, maxAgeMs });

    // Act
    const first = await cache.token('blog-incident', 'eu-west-1');
    clock.advance(renewsAfterMs - 1);
    const stillCached = await cache.token('blog-incident', 'eu-west-1');
    clock.advance(1);
    const renewed = await cache.token('blog-incident', 'eu-west-1');

    // Assess
    expect(stillCached).toBe(first);
    expect(renewed).not.toBe(first);
  });

  it('signs afresh on every call when the age is 0', async () => {
    // Prepare
    const clock = manualClock(SIGNED_AT);
    const cache = new EksTokenCache({ credentials: LONG_TERM, now: clock.now, maxAgeMs: 0 });

    // Act
    const first = await cache.token('blog-incident', 'eu-west-1');
    clock.advance(1000);
    const second = await cache.token('blog-incident', 'eu-west-1');

    // Assess
    expect(second).not.toBe(first);
  });

  it('renews a token when the temporary credentials that signed it expire first', async () => {
    // Prepare
    const clock = manualClock(SIGNED_AT);
    let resolved = 0;
    const credentials = async (): Promise<AwsCredentialIdentity> => {
      resolved += 1;
      return {
        ...TEMPORARY,
        sessionToken: `session-${resolved}`,
        expiration: new Date(clock.now().getTime() + 5 * MINUTE),
      };
    };
    const cache = new EksTokenCache({ credentials, now: clock.now });

    // Act
    const first = await cache.token('blog-incident', 'eu-west-1');
    clock.advance(5 * MINUTE - 1);
    const stillCached = await cache.token('blog-incident', 'eu-west-1');
    clock.advance(1);
    const renewed = await cache.token('blog-incident', 'eu-west-1');

    // Assess
    expect(stillCached).toBe(first);
    expect(decodeEksToken(renewed).searchParams.get('X-Amz-Security-Token')).toBe('session-2');
  });

  it('renews a token when the clock goes back before it was signed', async () => {
    // Prepare
    const clock = manualClock(SIGNED_AT);
    const cache = new EksTokenCache({ credentials: LONG_TERM, now: clock.now });

    // Act
    const first = await cache.token('blog-incident', 'eu-west-1');
    clock.advance(-MINUTE);
    const afterJump = await cache.token('blog-incident', 'eu-west-1');

    // Assess
    expect(afterJump).not.toBe(first);
    expect(decodeEksToken(afterJump).searchParams.get('X-Amz-Date')).toBe('20261128T115900Z');
  });

  it('does not cache a failure', async () => {
    // Prepare
    let calls = 0;
    const credentials = async (): Promise<AwsCredentialIdentity> => {
      calls += 1;
      if (calls === 1) throw new Error('metadata service timed out');
      return LONG_TERM;
    };
    const cache = new EksTokenCache({ credentials, now: () => SIGNED_AT });

    // Act
    const failure = await rejection(cache.token('blog-incident', 'eu-west-1'));
    const token = await cache.token('blog-incident', 'eu-west-1');

    // Assess
    expect(failure).toBeInstanceOf(EksTokenError);
    expect(decodeEksToken(token).hostname).toBe('sts.eu-west-1.amazonaws.com');
  });

  it.each([-1, Number.NaN])('rejects an age of %s', (maxAgeMs) => {
    // Act
    const construct = () => new EksTokenCache({ credentials: LONG_TERM, maxAgeMs });

    // Assess
    expect(construct).toThrow(EksTokenError);
  });
});
