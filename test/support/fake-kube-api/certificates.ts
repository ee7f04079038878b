// A throwaway CA and an API server certificate signed by it, made with the openssl CLI: Node can verify
// X.509 certificates but cannot issue them. Kubernetes clients verify the server against the CA and its
// subjectAltName, so the certificate names the loopback address the fake listens on.

import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** PEM text of a CA certificate and of a serving key pair signed by that CA. */
export interface ServingCertificates {
  readonly caPem: string;
  readonly certificatePem: string;
  readonly keyPem: string;
}

/** openssl is missing or failed: says how to install it, as a test that needs a tool must. */
export class OpensslError extends Error {
  constructor(
    readonly step: string,
    cause: unknown,
  ) {
    const missing = (cause as NodeJS.ErrnoException).code === 'ENOENT';
    super(
      missing
        ? 'The fake Kubernetes API server needs the openssl CLI to issue its certificates: install it (apt-get install openssl, brew install openssl).'
        : `openssl failed to ${step}: ${cause instanceof Error ? cause.message : String(cause)}`,
      { cause },
    );
    this.name = 'OpensslError';
  }
}

const SERVER_EXTENSIONS = [
  'basicConstraints = critical, CA:FALSE',
  'keyUsage = critical, digitalSignature, keyEncipherment',
  'extendedKeyUsage = serverAuth',
  'subjectAltName = IP:127.0.0.1, DNS:localhost',
  'subjectKeyIdentifier = hash',
  'authorityKeyIdentifier = keyid',
].join('\n');

/** Issues a new CA (named `commonName`) and a serving certificate for 127.0.0.1 and localhost, valid one day. */
export async function issueServingCertificates(
  commonName = 'fake-kube-api-ca',
): Promise<ServingCertificates> {
  const directory = await mkdtemp(join(tmpdir(), 'fake-kube-api-pki-'));
  const file = (name: string) => join(directory, name);
  const openssl = async (step: string, args: readonly string[]) => {
    try {
      await run('openssl', args);
    } catch (error) {
      throw new OpensslError(step, error);
    }
  };
  try {
    // P-256 keys: generated in milliseconds, and accepted by Go (kubectl) and Node clients alike.
    const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
    await openssl('issue the CA', [
      'req',
      '-x509',
      ...ecKey,
      '-keyout',
      file('ca.key'),
      '-out',
      file('ca.crt'),
      '-days',
      '1',
      '-subj',
      `/CN=${commonName}`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ]);
    await openssl('request the server certificate', [
      'req',
      '-new',
      ...ecKey,
      '-keyout',
      file('server.key'),
      '-out',
      file('server.csr'),
      '-subj',
      '/CN=kube-apiserver',
    ]);
    await writeFile(file('server.ext'), `${SERVER_EXTENSIONS}\n`);
    await openssl('sign the server certificate', [
      'x509',
      '-req',
      '-in',
      file('server.csr'),
      '-CA',
      file('ca.crt'),
      '-CAkey',
      file('ca.key'),
      '-set_serial',
      `0x${Date.now().toString(16)}`,
      '-days',
      '1',
      '-extfile',
      file('server.ext'),
      '-out',
      file('server.crt'),
    ]);
    const [caPem, certificatePem, keyPem] = await Promise.all(
      ['ca.crt', 'server.crt', 'server.key'].map((name) => readFile(file(name), 'utf8')),
    );
    return { caPem: caPem!, certificatePem: certificatePem!, keyPem: keyPem! };
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}
