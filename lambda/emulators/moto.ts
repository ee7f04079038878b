// moto's server (SPEC §9) on a free loopback port for the real AWS SDK clients: started once per test file,
// reset before each test, stopped after. A missing `moto_server` fails the tests, never skips them.

import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { S3Client } from '@aws-sdk/client-s3';
import { SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import type { AwsCredentialIdentity, Pluggable } from '@smithy/types';
import { type AwsClients, createAwsClients } from '../sources/aws/aws-clients';

/** moto accepts any key pair; these are AWS's documented example keys, so nothing real is ever signed. */
export const MOTO_CREDENTIALS: AwsCredentialIdentity = {
  accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCY/EXAMPLEKEY',
};

/** The account of the shipped examples, so seeded ARNs read like theirs. */
export const MOTO_ACCOUNT_ID = '111122223333';

/** The account of credentials moto knows nothing about (such as MOTO_CREDENTIALS) when started with multiAccount. */
export const MOTO_DEFAULT_ACCOUNT_ID = '123456789012';

/** A running moto server. */
export interface MotoServer {
  readonly endpoint: string;
  /** Forgets every resource (POST /moto-api/reset). */
  reset(): Promise<void>;
  stop(): Promise<void>;
}

export interface MotoOptions {
  /** The account every request belongs to (moto's MOTO_ACCOUNT_ID); default 111122223333. */
  readonly accountId?: string;
  /**
   * Several accounts: no MOTO_ACCOUNT_ID (which would put every request in one account), so each request acts in
   * the account of its credentials: MOTO_CREDENTIALS in MOTO_DEFAULT_ACCOUNT_ID, AssumeRole's in the role's account.
   */
  readonly multiAccount?: boolean;
  /** The directories searched for `moto_server`; default the PATH of this process. */
  readonly searchPath?: string;
  /** useMoto only: reset before each test (default), or keep what a beforeAll seeded for the whole file. */
  readonly resetBeforeEach?: boolean;
  /**
   * The OIDC issuer and CA data moto gives the EKS clusters of these names (moto otherwise gives one
   * issuer to all and random non-PEM CA data); runs moto through lambda/emulators/moto_eks_identities.py.
   */
  readonly eksClusters?: Readonly<Record<string, EksIdentity>>;
}

/** What a test chooses for an EKS cluster moto creates. */
export interface EksIdentity {
  readonly issuer?: string;
  readonly caData?: string;
  /** The API server URL DescribeCluster reports (a test's fake API server). */
  readonly endpoint?: string;
}

const EKS_IDENTITIES_LAUNCHER = join(import.meta.dirname, 'moto_eks_identities.py');

/** moto_server could not be started; the message says how to install it or what it printed. */
export class MotoStartError extends Error {
  override readonly name = 'MotoStartError';
}

const INSTALL_HINT = 'moto_server is not installed: pip install "moto[server]"';
const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 5_000;

/** Starts moto_server on 127.0.0.1 with a port the OS picks, and waits until it answers. */
export async function startMoto(options: MotoOptions = {}): Promise<MotoServer> {
  const searchPath = options.searchPath ?? process.env.PATH ?? '';
  const executable = findOnPath('moto_server', searchPath);
  if (executable === undefined) throw new MotoStartError(INSTALL_HINT);
  // With chosen EKS identities, the same moto runs through a launcher that sets them (moto_server's own python).
  const python = findOnPath('python3', searchPath);
  const command =
    options.eksClusters === undefined
      ? { file: executable, prefix: [] as string[] }
      : { file: python ?? 'python3', prefix: [EKS_IDENTITIES_LAUNCHER] };
  // Port 0: the OS picks a free port and werkzeug prints it, so there is no probe-then-bind race.
  const { MOTO_ACCOUNT_ID: _inherited, ...inherited } = process.env;
  const child = spawn(command.file, [...command.prefix, '-H', '127.0.0.1', '-p', '0'], {
    env: {
      ...inherited,
      PYTHONUNBUFFERED: '1',
      // moto reads MOTO_ACCOUNT_ID before the credentials (moto/core/responses.py, get_current_account).
      ...(options.multiAccount === true ? {} : { MOTO_ACCOUNT_ID: options.accountId ?? MOTO_ACCOUNT_ID }),
      ...(options.eksClusters === undefined
        ? {}
        : { IRSA_MOTO_EKS_CLUSTERS: JSON.stringify(options.eksClusters) }),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stopOnExit = () => child.kill('SIGKILL');
  process.once('exit', stopOnExit);
  let endpoint: string;
  try {
    endpoint = await announcedEndpoint(child);
    await waitUntilAnswering(endpoint);
  } catch (error) {
    await stopChild(child);
    process.off('exit', stopOnExit);
    throw error;
  }
  return {
    endpoint,
    async reset() {
      // On two busy cores a reset can meet a dropped connection ("fetch failed"); it is idempotent, so retry.
      for (let attempt = 1; ; attempt += 1) {
        try {
          const response = await fetch(`${endpoint}/moto-api/reset`, { method: 'POST' });
          if (response.ok) return;
          throw new MotoStartError(`moto reset failed with HTTP ${response.status}`);
        } catch (error) {
          if (attempt >= 3) throw error;
          await new Promise((resolve) => setTimeout(resolve, 250 * attempt));
        }
      }
    },
    async stop() {
      await stopChild(child);
      process.off('exit', stopOnExit);
    },
  };
}

/** Real SDK clients signed with the fake credentials and pointed at moto. */
export function motoClients(endpoint: string, region = 'eu-west-1', maxAttempts?: number): AwsClients {
  return createAwsClients({
    region,
    endpoint,
    credentials: MOTO_CREDENTIALS,
    ...(maxAttempts === undefined ? {} : { maxAttempts }),
  });
}

function findOnPath(command: string, searchPath: string): string | undefined {
  for (const directory of searchPath.split(delimiter)) {
    if (directory === '') continue;
    const candidate = join(directory, command);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/** Resolves with `http://127.0.0.1:<port>` once werkzeug prints `Running on …`; keeps draining the pipes after. */
function announcedEndpoint(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(
      () => fail(`moto_server did not announce its port within ${START_TIMEOUT_MS / 1000} s`),
      START_TIMEOUT_MS,
    );
    const fail = (problem: string) => {
      clearTimeout(timer);
      reject(new MotoStartError(`${problem}; it printed: ${output.trim().slice(-2000) || '(nothing)'}`));
    };
    const onData = (chunk: Buffer) => {
      // Only the start-up output is kept; request logs are read and dropped so the pipe never fills up.
      if (output.length < 20_000) output += chunk.toString('utf8');
      const match = /Running on (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (match?.[1] !== undefined) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('error', (error) =>
      fail(
        (error as NodeJS.ErrnoException).code === 'ENOENT'
          ? INSTALL_HINT
          : `moto_server failed to start: ${error.message}`,
      ),
    );
    child.once('exit', (code, signal) => fail(`moto_server exited (code ${code}, signal ${signal})`));
  });
}

async function waitUntilAnswering(endpoint: string): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    try {
      const response = await fetch(`${endpoint}/moto-api/`);
      if (response.ok) return;
    } catch {
      // not accepting connections yet
    }
    if (Date.now() > deadline) throw new MotoStartError(`moto_server at ${endpoint} does not answer`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}

/** HTTP requests the clients sent, per operation (`GetRole`), counted per attempt, and the most ever in flight. */
export interface RequestLog {
  readonly counts: () => Readonly<Record<string, number>>;
  readonly maxInFlight: () => number;
}

/** Counts every HTTP attempt of the given clients below the SDK's retry layer, so retries count too. */
export function recordRequests(clients: AwsClients): RequestLog {
  const counts: Record<string, number> = {};
  let inFlight = 0;
  let maxInFlight = 0;
  const track = async <T>(commandName: string | undefined, send: () => Promise<T>): Promise<T> => {
    const operation = commandName?.replace(/Command$/, '') ?? 'unknown';
    counts[operation] = (counts[operation] ?? 0) + 1;
    inFlight += 1;
    maxInFlight = Math.max(maxInFlight, inFlight);
    try {
      return await send();
    } finally {
      inFlight -= 1;
    }
  };
  // The deserialize step runs inside the retry middleware (finalizeRequest): once per HTTP attempt.
  const where = { step: 'deserialize', name: 'recordRequests' } as const;
  clients.eks.middlewareStack.add(
    (next, context) => (args) => track(context.commandName, () => next(args)),
    where,
  );
  clients.iam.middlewareStack.add(
    (next, context) => (args) => track(context.commandName, () => next(args)),
    where,
  );
  clients.sts.middlewareStack.add(
    (next, context) => (args) => track(context.commandName, () => next(args)),
    where,
  );
  return { counts: () => ({ ...counts }), maxInFlight: () => maxInFlight };
}

/** The clients the Lambda's sinks publish with (and SQS, to read alerts back), pointed at moto. */
export interface MotoSinkClients {
  readonly cloudwatch: CloudWatchClient;
  readonly s3: S3Client;
  readonly sns: SNSClient;
  readonly sqs: SQSClient;
}

/** CloudWatch, S3, SNS and SQS clients signed with the fake credentials; S3 path-style (no bucket DNS on 127.0.0.1). */
export function motoSinkClients(
  endpoint: string,
  region = 'eu-west-1',
  maxAttempts?: number,
): MotoSinkClients {
  const config = {
    region,
    endpoint,
    credentials: MOTO_CREDENTIALS,
    ...(maxAttempts === undefined ? {} : { maxAttempts }),
  };
  return {
    // moto_server 5.2 gunzips a compressed body twice and answers 500 (its server middleware and its response
    // parser both decompress; cf. getmoto/moto#7377); the SDK gzips PutMetricData bodies from 10 KB.
    cloudwatch: new CloudWatchClient({ ...config, disableRequestCompression: true }),
    s3: new S3Client({ ...config, forcePathStyle: true }),
    sns: new SNSClient(config),
    sqs: new SQSClient(config),
  };
}

/** One SNS notification as an SQS subscriber without raw message delivery receives it (the SNS JSON envelope). */
export interface SnsNotification {
  readonly type: string;
  readonly topicArn: string;
  readonly subject?: string;
  /** The body SNS chose for the sqs protocol: with `MessageStructure: json`, the "sqs" key or else "default". */
  readonly message: string;
}

/** An SQS queue subscribed to a topic: what subscribers receive, read back and removed from the queue. */
export interface AlertInbox {
  readonly queueUrl: string;
  /** Every notification waiting in the queue (none is an empty list: moto delivers during Publish). */
  readonly drain: () => Promise<SnsNotification[]>;
}

/** Creates a queue and subscribes it to the topic with RawMessageDelivery off, as a real SQS subscriber would be. */
export async function subscribeInbox(
  clients: MotoSinkClients,
  topicArn: string,
  queueName = 'alert-inbox',
): Promise<AlertInbox> {
  const { QueueUrl: queueUrl } = await clients.sqs.send(new CreateQueueCommand({ QueueName: queueName }));
  if (queueUrl === undefined) throw new Error(`moto created queue ${queueName} without a URL`);
  const attributes = await clients.sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }),
  );
  const queueArn = attributes.Attributes?.QueueArn;
  if (queueArn === undefined) throw new Error(`moto returned no QueueArn for ${queueUrl}`);
  await clients.sns.send(new SubscribeCommand({ TopicArn: topicArn, Protocol: 'sqs', Endpoint: queueArn }));
  return {
    queueUrl,
    async drain() {
      return (await drainQueue(clients.sqs, queueUrl)).map(snsEnvelope);
    },
  };
}

/** Every message body waiting in a queue, oldest first; each is deleted once read. */
export async function drainQueue(sqs: SQSClient, queueUrl: string): Promise<string[]> {
  const bodies: string[] = [];
  for (;;) {
    const { Messages: messages = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
    );
    if (messages.length === 0) return bodies;
    for (const message of messages) bodies.push(message.Body ?? '');
    await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: messages.map((message, index) => ({
          Id: String(index),
          ReceiptHandle: message.ReceiptHandle ?? '',
        })),
      }),
    );
  }
}

function snsEnvelope(body: string): SnsNotification {
  const envelope = JSON.parse(body) as Record<string, unknown>;
  const { Type: type, TopicArn: topicArn, Subject: subject, Message: message } = envelope;
  if (typeof type !== 'string' || typeof topicArn !== 'string' || typeof message !== 'string') {
    throw new Error(`not an SNS envelope: ${body.slice(0, 200)}`);
  }
  return { type, topicArn, message, ...(typeof subject === 'string' ? { subject } : {}) };
}

/**
 * Clients that act in another account of the same moto: moto's AssumeRole does not check that the role exists,
 * and the credentials it returns for `arn:aws:iam::<account>:role/...` act in <account> (what they create lives
 * there). For seeding member accounts; the code under test assumes its own member role.
 */
export async function accountClients(
  endpoint: string,
  account: string,
  region = 'eu-west-1',
): Promise<AwsClients> {
  const sts = new STSClient({ region, endpoint, credentials: MOTO_CREDENTIALS });
  const { Credentials: credentials } = await sts.send(
    new AssumeRoleCommand({
      RoleArn: `arn:aws:iam::${account}:role/moto-seed`,
      RoleSessionName: 'moto-seed',
    }),
  );
  if (credentials?.AccessKeyId === undefined || credentials.SecretAccessKey === undefined)
    throw new Error(`moto's AssumeRole into ${account} returned no credentials`);
  return createAwsClients({
    region,
    endpoint,
    credentials: {
      accessKeyId: credentials.AccessKeyId,
      secretAccessKey: credentials.SecretAccessKey,
      ...(credentials.SessionToken === undefined ? {} : { sessionToken: credentials.SessionToken }),
    },
  });
}

const ASSUME_ROLE_FAULTS = 'assumeRoleFaults';

/** An STS error as the SDK deserialises it: `name` is the AWS error code. */
export function stsError(code: string, message: string, httpStatusCode: number): Error {
  return Object.assign(new Error(message), {
    name: code,
    $fault: 'client',
    $metadata: { httpStatusCode },
    ...(code === 'Throttling' ? { $retryable: { throttling: true } } : {}),
  });
}

/**
 * Middleware for the STS client that assumes member roles (fault injection, SPEC §9): `fault` sees each
 * AssumeRole's RoleArn and returns the error to fail it with (thrown before the SDK's retries, as if they were
 * spent), or undefined to let moto answer. `assumed` records every RoleArn and ExternalId asked for.
 */
export function assumeRoleFaults(
  fault: (roleArn: string) => Error | undefined,
  assumed: { roleArn: string; externalId?: string; sessionName?: string }[] = [],
  // biome-ignore lint/suspicious/noExplicitAny: fromTemporaryCredentials types its clientPlugins this way.
): Pluggable<any, any> {
  return {
    applyToStack(stack) {
      // fromTemporaryCredentials applies its plugins again on every AssumeRole: keep one copy.
      stack.remove(ASSUME_ROLE_FAULTS);
      stack.add(
        (next, context) => async (args) => {
          const input = args.input as { RoleArn?: string; ExternalId?: string; RoleSessionName?: string };
          if (context.commandName === 'AssumeRoleCommand' && input.RoleArn !== undefined) {
            assumed.push({
              roleArn: input.RoleArn,
              ...(input.ExternalId === undefined ? {} : { externalId: input.ExternalId }),
              ...(input.RoleSessionName === undefined ? {} : { sessionName: input.RoleSessionName }),
            });
            const error = fault(input.RoleArn);
            if (error !== undefined) throw error;
          }
          return next(args);
        },
        { step: 'initialize', name: ASSUME_ROLE_FAULTS },
      );
    },
  };
}
