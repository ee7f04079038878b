// A throwaway CA and certificates signed by it, made with the openssl CLI: Node can verify X.509
// certificates but cannot issue them. Kubernetes clients verify a server against the CA and its
// subjectAltName, so each certificate names the loopback address the fake (or a webhook) listens on.

import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A certificate and its private key, PEM text, as a TLS server presents them. */
export interface ServingCertificate {
  readonly certificatePem: string;
  readonly keyPem: string;
}

/** A CA certificate and its key, PEM text: what signs the serving certificates of a fake cluster. */
export interface CertificateAuthority {
  readonly certificatePem: string;
  readonly keyPem: string;
}

/** PEM text of a CA certificate (and its key) and of a serving key pair signed by that CA. */
export interface ServingCertificates {
  readonly caPem: string;
  readonly caKeyPem: string;
  readonly certificatePem: string;
  readonly keyPem: string;
}

/** What a leaf certificate names: its subject and the addresses a client may reach it at. */
export interface LeafCertificateOptions {
  /** Subject CN (default `fake-webhook`). */
  readonly commonName?: string;
  /** IP subjectAltNames (default `127.0.0.1`). */
  readonly ipAddresses?: readonly string[];
  /** DNS subjectAltNames (default `localhost`), e.g. `pod-identity-webhook.kube-system.svc` for a service reference. */
  readonly dnsNames?: readonly string[];
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

// P-256 keys: generated in milliseconds, and accepted by Go (kubectl) and Node clients alike.
const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

async function openssl(step: string, args: readonly string[]): Promise<void> {
  try {
    await run('openssl', args);
  } catch (error) {
    throw new OpensslError(step, error);
  }
}

async function inTemporaryDirectory<T>(work: (file: (name: string) => string) => Promise<T>): Promise<T> {
  const directory = await mkdtemp(join(tmpdir(), 'fake-kube-api-pki-'));
  try {
    return await work((name) => join(directory, name));
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}

let serial = 0;

async function signLeaf(
  authority: CertificateAuthority,
  options: LeafCertificateOptions,
  file: (name: string) => string,
): Promise<ServingCertificate> {
  const ipAddresses = options.ipAddresses ?? ['127.0.0.1'];
  const dnsNames = options.dnsNames ?? ['localhost'];
  const altNames = [...ipAddresses.map((ip) => `IP:${ip}`), ...dnsNames.map((name) => `DNS:${name}`)];
  const extensions = [
    'basicConstraints = critical, CA:FALSE',
    'keyUsage = critical, digitalSignature, keyEncipherment',
    'extendedKeyUsage = serverAuth',
    ...(altNames.length === 0 ? [] : [`subjectAltName = ${altNames.join(', ')}`]),
    'subjectKeyIdentifier = hash',
    'authorityKeyIdentifier = keyid',
  ];
  await Promise.all([
    writeFile(file('ca.crt'), authority.certificatePem),
    writeFile(file('ca.key'), authority.keyPem, { mode: 0o600 }),
    writeFile(file('leaf.ext'), `${extensions.join('\n')}\n`),
  ]);
  await openssl('request the serving certificate', [
    'req',
    '-new',
    ...EC_KEY,
    '-keyout',
    file('leaf.key'),
    '-out',
    file('leaf.csr'),
    '-subj',
    `/CN=${options.commonName ?? 'fake-webhook'}`,
  ]);
  serial += 1;
  await openssl('sign the serving certificate', [
    'x509',
    '-req',
    '-in',
    file('leaf.csr'),
    '-CA',
    file('ca.crt'),
    '-CAkey',
    file('ca.key'),
    '-set_serial',
    `0x${Date.now().toString(16)}${serial.toString(16).padStart(4, '0')}`,
    '-days',
    '1',
    '-extfile',
    file('leaf.ext'),
    '-out',
    file('leaf.crt'),
  ]);
  const [certificatePem, keyPem] = await Promise.all(
    ['leaf.crt', 'leaf.key'].map((name) => readFile(file(name), 'utf8')),
  );
  return { certificatePem: certificatePem!, keyPem: keyPem! };
}

/** Issues a new CA (named `commonName`), valid one day. */
export function issueCertificateAuthority(commonName = 'fake-kube-api-ca'): Promise<CertificateAuthority> {
  return inTemporaryDirectory(async (file) => {
    await openssl('issue the CA', [
      'req',
      '-x509',
      ...EC_KEY,
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
    const [certificatePem, keyPem] = await Promise.all(
      ['ca.crt', 'ca.key'].map((name) => readFile(file(name), 'utf8')),
    );
    return { certificatePem: certificatePem!, keyPem: keyPem! };
  });
}

/** Issues a serving certificate signed by `authority`, valid one day (for 127.0.0.1 and localhost unless told). */
export function issueLeafCertificate(
  authority: CertificateAuthority,
  options: LeafCertificateOptions = {},
): Promise<ServingCertificate> {
  return inTemporaryDirectory((file) => signLeaf(authority, options, file));
}

/** Issues a new CA (named `commonName`) and a serving certificate for 127.0.0.1 and localhost, valid one day. */
export async function issueServingCertificates(
  commonName = 'fake-kube-api-ca',
): Promise<ServingCertificates> {
  const authority = await issueCertificateAuthority(commonName);
  const server = await issueLeafCertificate(authority, { commonName: 'kube-apiserver' });
  return {
    caPem: authority.certificatePem,
    caKeyPem: authority.keyPem,
    certificatePem: server.certificatePem,
    keyPem: server.keyPem,
  };
}
