// What EKS puts in front of its API server for `k8s-aws-v1.` tokens, for the real kube-apiserver of the tests:
// a webhook token authenticator (`--authentication-token-webhook-config-file`) that does what
// aws-iam-authenticator does with a TokenReview, with moto as STS, then maps the caller's IAM role to a
// Kubernetes user and groups as EKS access entries do.
//
// STS's part is split in two because moto does not verify signatures: the SigV4 signature is recomputed here
// with the secret of the key (the secrets moto issued, handed over by the test with `knowCredentials`), which
// proves the token was signed for this cluster's name and is current; the identity is then asked of moto by
// sending it the token's own GetCallerIdentity request, its query signature moved into the Authorization
// header (moto reads the access key only from there), so moto answers with the assumed role it issued.

import { writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { AwsCredentialIdentity } from '@smithy/types';
import {
  issueCertificateAuthority,
  issueLeafCertificate,
} from '../../../lambda/emulators/fake-kube-api/certificates';
import {
  EksTokenRejectedError,
  isEksToken,
  presignedUrlOf,
  verifyEksToken,
} from '../../../lambda/emulators/fake-kube-api/eks-token';

/** An EKS access entry: the IAM role it admits and the Kubernetes identity that role gets. */
export interface AccessEntry {
  /** `arn:aws:iam::<account>:role/<name>` */
  readonly principalArn: string;
  readonly kubernetesGroups: readonly string[];
  /** Default as EKS: `arn:aws:sts::<account>:assumed-role/<name>/{{SessionName}}`. */
  readonly username?: string;
}

/** One TokenReview answered, for assertions (why a token was refused never reaches the client, as on EKS). */
export interface TokenReviewRecord {
  readonly authenticated: boolean;
  /** Why it was refused. */
  readonly problem?: string;
  /** The caller's ARN as STS (moto) named it. */
  readonly arn?: string;
  readonly username?: string;
  readonly groups?: readonly string[];
}

export interface EksTokenAuthenticatorOptions {
  readonly clusterName: string;
  readonly accessEntries?: readonly AccessEntry[];
  /** The clock the token's age is judged by (default the real one). */
  readonly now?: () => Date;
}

export interface EksTokenAuthenticator {
  /** The file for kube-apiserver's `--authentication-token-webhook-config-file`. */
  readonly configPath: string;
  /** Every TokenReview answered, oldest first (a live view). */
  readonly reviews: readonly TokenReviewRecord[];
  /** Where STS is: moto's endpoint (set once moto runs; until then every token is refused). */
  useSts(endpoint: string): void;
  /** Credentials STS issued, so their signatures can be checked (moto's AssumeRole answers). */
  knowCredentials(credentials: AwsCredentialIdentity): void;
  setAccessEntries(entries: readonly AccessEntry[]): void;
  clearReviews(): void;
  stop(): Promise<void>;
}

/** Starts the authenticator on 127.0.0.1 over HTTPS and writes its webhook kubeconfig into `directory`. */
export async function startEksTokenAuthenticator(
  directory: string,
  options: EksTokenAuthenticatorOptions,
): Promise<EksTokenAuthenticator> {
  const authority = await issueCertificateAuthority('eks-token-authenticator-ca');
  const certificate = await issueLeafCertificate(authority, { commonName: 'eks-token-authenticator' });
  const now = options.now ?? (() => new Date());
  const secrets = new Map<string, AwsCredentialIdentity>();
  const reviews: TokenReviewRecord[] = [];
  let entries = [...(options.accessEntries ?? [])];
  let sts: string | undefined;

  const review = async (token: string): Promise<TokenReviewRecord> => {
    try {
      if (!isEksToken(token)) throw new EksTokenRejectedError('token lacks the k8s-aws-v1. prefix');
      const query = presignedUrlOf(token).searchParams;
      const accessKeyId = (query.get('X-Amz-Credential') ?? '').split('/')[0] ?? '';
      const credentials = secrets.get(accessKeyId);
      if (credentials === undefined)
        throw new EksTokenRejectedError(
          'InvalidClientTokenId: the security token included in the request is invalid',
        );
      await verifyEksToken(token, options.clusterName, now(), credentials);
      if (sts === undefined) throw new EksTokenRejectedError('no STS endpoint yet');
      const arn = await callerArn(sts, query, options.clusterName);
      const role = roleOfAssumedRole(arn);
      const entry = entries.find((candidate) => candidate.principalArn === role?.arn);
      if (role === undefined || entry === undefined)
        return { authenticated: false, problem: `no access entry for ${arn}`, arn };
      const username =
        entry.username?.replace('{{SessionName}}', role.session) ??
        `arn:aws:sts::${role.account}:assumed-role/${role.name}/${role.session}`;
      return { authenticated: true, arn, username, groups: entry.kubernetesGroups };
    } catch (error) {
      return { authenticated: false, problem: error instanceof Error ? error.message : String(error) };
    }
  };

  const server: Server = createServer(
    { key: certificate.keyPem, cert: certificate.certificatePem },
    (request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', async () => {
        let body: { apiVersion?: string; spec?: { token?: string } } = {};
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as typeof body;
        } catch {
          // An unreadable review is refused like a bad token.
        }
        const record = await review(body.spec?.token ?? '');
        reviews.push(record);
        const status = record.authenticated
          ? {
              authenticated: true,
              user: {
                username: record.username,
                uid: `aws-iam-authenticator:${record.arn}`,
                groups: record.groups,
                extra: { arn: [record.arn] },
              },
            }
          : { authenticated: false };
        const text = JSON.stringify({
          apiVersion: body.apiVersion ?? 'authentication.k8s.io/v1',
          kind: 'TokenReview',
          status,
        });
        response.writeHead(200, {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(text),
        });
        response.end(text);
      });
    },
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const configPath = join(directory, 'token-webhook.kubeconfig');
  await writeFile(
    configPath,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        {
          name: 'eks-token-authenticator',
          cluster: {
            server: `https://127.0.0.1:${port}/authenticate`,
            'certificate-authority-data': Buffer.from(authority.certificatePem).toString('base64'),
          },
        },
      ],
      users: [{ name: 'kube-apiserver', user: {} }],
      contexts: [
        { name: 'webhook', context: { cluster: 'eks-token-authenticator', user: 'kube-apiserver' } },
      ],
      'current-context': 'webhook',
    }),
  );
  return {
    configPath,
    reviews,
    useSts: (endpoint) => {
      sts = endpoint;
    },
    knowCredentials: (credentials) => {
      secrets.set(credentials.accessKeyId, credentials);
    },
    setAccessEntries: (next) => {
      entries = [...next];
    },
    clearReviews: () => {
      reviews.length = 0;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Sends the token's GetCallerIdentity to STS (moto) and returns the caller's ARN. */
async function callerArn(sts: string, query: URLSearchParams, clusterName: string): Promise<string> {
  const credential = query.get('X-Amz-Credential') ?? '';
  const headers: Record<string, string> = {
    authorization: `AWS4-HMAC-SHA256 Credential=${credential}, SignedHeaders=${query.get('X-Amz-SignedHeaders') ?? ''}, Signature=${query.get('X-Amz-Signature') ?? ''}`,
    'x-amz-date': query.get('X-Amz-Date') ?? '',
    'x-k8s-aws-id': clusterName,
  };
  const sessionToken = query.get('X-Amz-Security-Token');
  if (sessionToken !== null) headers['x-amz-security-token'] = sessionToken;
  const response = await fetch(`${sts}/?Action=GetCallerIdentity&Version=2011-06-15`, { headers });
  const text = await response.text();
  const arn = /<Arn>([^<]+)<\/Arn>/.exec(text)?.[1];
  if (!response.ok || arn === undefined)
    throw new EksTokenRejectedError(`STS answered ${response.status}: ${text.slice(0, 200)}`);
  return arn;
}

/** `arn:aws:sts::<account>:assumed-role/<name>/<session>` → the role's ARN, as aws-iam-authenticator canonicalizes it. */
function roleOfAssumedRole(
  arn: string,
): { arn: string; account: string; name: string; session: string } | undefined {
  const match = /^arn:(aws[\w-]*):sts::(\d{12}):assumed-role\/([^/]+)\/(.+)$/.exec(arn);
  if (match === null) return undefined;
  const [, partition, account, name, session] = match as unknown as [string, string, string, string, string];
  return { arn: `arn:${partition}:iam::${account}:role/${name}`, account, name, session };
}
