// A real kube-apiserver (Debian's 1.20.2, built once by build-kube-apiserver.sh) in front of Debian's etcd, both on
// free loopback ports with a throwaway CA, for the tests that prove the product on the real server rather than on
// the project's fake one. A missing binary or etcd fails the test with one line saying how to get it.

import { type ChildProcess, spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Agent, request } from 'node:https';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  issueCertificateAuthority,
  issueLeafCertificate,
  type LeafCertificateOptions,
  type ServingCertificate,
} from '../../../lambda/emulators/fake-kube-api/certificates';

export const KUBE_APISERVER_VERSION = '1.20.2';
/** build-kube-apiserver.sh's REVISION: bumped when the build changes, so an older cached binary is rebuilt. */
export const KUBE_APISERVER_BUILD_REVISION = 2;

/** Where build-kube-apiserver.sh caches the binary. */
export function kubeApiserverBinary(): string {
  const cache = process.env.IRSA_KUBE_CACHE ?? join(homedir(), '.cache', 'irsa-auditor');
  return join(cache, `kube-apiserver-v${KUBE_APISERVER_VERSION}-${KUBE_APISERVER_BUILD_REVISION}`);
}

/** The real server could not be started: says what to install or build. */
export class RealKubeUnavailable extends Error {
  override readonly name = 'RealKubeUnavailable';
}

export interface RealKubeApi {
  /** `https://127.0.0.1:<port>` */
  readonly url: string;
  /** The cluster CA, base64 of its PEM, as DescribeCluster's certificateAuthority.data carries it. */
  readonly caData: string;
  readonly caPem: string;
  /** A static token of a member of system:masters, for setting the cluster up (never the auditor's). */
  readonly adminToken: string;
  /** `GET /version` `.gitVersion`, e.g. v1.20.2. */
  readonly version: string;
  /** A serving certificate signed by the cluster CA (for a webhook the cluster's caData vouches for). */
  issueCertificate(options?: LeafCertificateOptions): Promise<ServingCertificate>;
  /** Writes a kubeconfig for the real kubectl, authenticating with `token` (default: the admin's). */
  writeKubeconfig(path: string, token?: string): Promise<void>;
  /** Runs `etcdctl compact` at the current revision: every continue token issued before it expires (410). */
  compact(): Promise<void>;
  /** The last 20,000 characters kube-apiserver wrote to stderr (for a failing test's message). */
  log(): string;
  stop(): Promise<void>;
}

export interface RealKubeOptions {
  /** Passed to --authentication-token-webhook-config-file (the EKS-like token authenticator). */
  readonly tokenWebhookConfig?: string;
  /** More kube-apiserver flags, e.g. `--feature-gates=...`. */
  readonly extraArgs?: readonly string[];
}

/** Starts etcd and kube-apiserver; resolves once /readyz answers ok. */
export async function startRealKubeApi(options: RealKubeOptions = {}): Promise<RealKubeApi> {
  const binary = kubeApiserverBinary();
  if (!existsSync(binary))
    throw new RealKubeUnavailable(
      `No kube-apiserver at ${binary}: build it once with \`bash test/support/real-kube/build-kube-apiserver.sh\` (about 4 minutes; .ci/run does it).`,
    );
  if (!(await onPath('etcd')))
    throw new RealKubeUnavailable(
      'The real API server needs etcd: install it with `apt-get install etcd-server` (build-kube-apiserver.sh does).',
    );
  const dir = await mkdtemp(join(tmpdir(), 'irsa-real-kube-'));
  const children: ChildProcess[] = [];
  const stop = async () => {
    for (const child of children.reverse()) await terminate(child);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const [etcdClient, etcdPeer, securePort] = await Promise.all([freePort(), freePort(), freePort()]);
    const etcdUrl = `http://127.0.0.1:${etcdClient}`;
    const etcd = spawn(
      'etcd',
      [
        '--data-dir',
        join(dir, 'etcd'),
        '--listen-client-urls',
        etcdUrl,
        '--advertise-client-urls',
        etcdUrl,
        '--listen-peer-urls',
        `http://127.0.0.1:${etcdPeer}`,
        '--initial-advertise-peer-urls',
        `http://127.0.0.1:${etcdPeer}`,
        '--initial-cluster',
        `default=http://127.0.0.1:${etcdPeer}`,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    children.push(etcd);
    const etcdLog = collect(etcd);

    const authority = await issueCertificateAuthority('irsa-real-kube-ca');
    const serving = await issueLeafCertificate(authority, { commonName: 'kube-apiserver' });
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const adminToken = `admin-${Math.random().toString(36).slice(2)}`;
    const file = (name: string) => join(dir, name);
    await Promise.all([
      writeFile(file('ca.crt'), authority.certificatePem),
      writeFile(file('serving.crt'), serving.certificatePem),
      writeFile(file('serving.key'), serving.keyPem),
      writeFile(file('sa.pub'), publicKey.export({ type: 'spki', format: 'pem' })),
      writeFile(file('sa.key'), privateKey.export({ type: 'pkcs8', format: 'pem' })),
      writeFile(file('tokens.csv'), `${adminToken},irsa-test-admin,irsa-test-admin,"system:masters"\n`),
    ]);
    const server = spawn(
      binary,
      [
        `--etcd-servers=${etcdUrl}`,
        '--bind-address=127.0.0.1',
        `--secure-port=${securePort}`,
        '--insecure-port=0',
        `--tls-cert-file=${file('serving.crt')}`,
        `--tls-private-key-file=${file('serving.key')}`,
        `--client-ca-file=${file('ca.crt')}`,
        `--service-account-key-file=${file('sa.pub')}`,
        `--service-account-signing-key-file=${file('sa.key')}`,
        '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
        '--api-audiences=https://kubernetes.default.svc.cluster.local',
        `--token-auth-file=${file('tokens.csv')}`,
        '--authorization-mode=RBAC',
        '--enable-admission-plugins=MutatingAdmissionWebhook',
        '--service-cluster-ip-range=10.96.0.0/16',
        `--cert-dir=${file('certs')}`,
        ...(options.tokenWebhookConfig === undefined
          ? []
          : [
              `--authentication-token-webhook-config-file=${options.tokenWebhookConfig}`,
              '--authentication-token-webhook-version=v1',
              // Every request is authenticated afresh: a test that changes a mapping sees it at once.
              '--authentication-token-webhook-cache-ttl=0s',
            ]),
        ...(options.extraArgs ?? []),
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    children.push(server);
    const serverLog = collect(server);
    const url = `https://127.0.0.1:${securePort}`;
    const agent = new Agent({ ca: authority.certificatePem });
    await waitUntil(async () => {
      if (etcd.exitCode !== null) throw new Error(`etcd exited: ${etcdLog().slice(-2000)}`);
      if (server.exitCode !== null) throw new Error(`kube-apiserver exited: ${serverLog().slice(-2000)}`);
      return (await get(url, '/readyz', adminToken, agent)).status === 200;
    }, 90_000);
    const version = JSON.parse((await get(url, '/version', adminToken, agent)).body) as {
      gitVersion: string;
    };
    return {
      url,
      caData: Buffer.from(authority.certificatePem).toString('base64'),
      caPem: authority.certificatePem,
      adminToken,
      version: version.gitVersion,
      issueCertificate: (certificateOptions) => issueLeafCertificate(authority, certificateOptions),
      writeKubeconfig: (path, token = adminToken) =>
        writeFile(path, kubeconfigYaml(url, authority.certificatePem, token), { mode: 0o600 }),
      compact: () => compactEtcd(etcdUrl),
      log: serverLog,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

function kubeconfigYaml(url: string, caPem: string, token: string): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: 'real',
        cluster: { server: url, 'certificate-authority-data': Buffer.from(caPem).toString('base64') },
      },
    ],
    users: [{ name: 'real', user: { token } }],
    contexts: [{ name: 'real', context: { cluster: 'real', user: 'real' } }],
    'current-context': 'real',
  });
}

async function compactEtcd(endpoint: string): Promise<void> {
  const status = await run('etcdctl', ['--endpoints', endpoint, 'endpoint', 'status', '--write-out=json']);
  const revision = (JSON.parse(status) as { Status: { header: { revision: number } } }[])[0]?.Status.header
    .revision;
  if (revision === undefined) throw new Error(`etcdctl endpoint status said no revision: ${status}`);
  await run('etcdctl', ['--endpoints', endpoint, 'compact', String(revision)]);
}

function run(command: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: { ...process.env, ETCDCTL_API: '3' } });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      err += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`${command} ${args.join(' ')} exited ${code}: ${err}`)),
    );
  });
}

function get(
  url: string,
  path: string,
  token: string,
  agent: Agent,
): Promise<{ readonly status: number; readonly body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, { agent, headers: { authorization: `Bearer ${token}` } }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function waitUntil(ready: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      if (await ready()) return;
    } catch (error) {
      if (error instanceof Error && /exited/.test(error.message)) throw error;
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`the real API server was not ready after ${timeoutMs} ms: ${String(last)}`);
}

function collect(child: ChildProcess): () => string {
  let log = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    log = (log + chunk.toString()).slice(-20_000);
  });
  return () => log;
}

async function terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function onPath(command: string): Promise<boolean> {
  try {
    await run('sh', ['-c', `command -v ${command}`]);
    return true;
  } catch {
    return false;
  }
}
