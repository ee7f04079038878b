// A real kube-apiserver dressed as an EKS cluster: `k8s-aws-v1.` tokens through the EKS-like authenticator,
// moto as the cluster's AWS side (DescribeCluster answers the real server's URL and CA), deploy/rbac.yaml
// applied with the real kubectl, and a shipped example's namespaces, ServiceAccounts and pods created through
// the real server's API (so its admission, defaulting and validation shaped every stored object).

import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateClusterCommand } from '@aws-sdk/client-eks';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import type { AwsCredentialIdentity } from '@smithy/types';
import { kubectl } from '../../../lambda/emulators/fake-kube-api/kubectl';
import { MOTO_CREDENTIALS, type MotoServer, motoClients, startMoto } from '../../../lambda/emulators/moto';
import { exampleEksIdentities, seedMotoWithExample } from '../../../lambda/emulators/seed-moto';
import { type ApiAnswer, kubeCall } from '../kube-call';
import {
  type AccessEntry,
  type EksTokenAuthenticator,
  startEksTokenAuthenticator,
} from './eks-token-authenticator';
import { type RealKubeApi, startRealKubeApi } from './real-kube-api';

export const AUDITOR_ROLE_ARN = 'arn:aws:iam::111122223333:role/irsa-auditor';
/** The Kubernetes group the stack's access entry maps the auditor's role to (deploy/rbac.yaml binds it). */
export const AUDITOR_GROUP = 'irsa-auditor';

export interface RealEksCluster {
  readonly clusterName: string;
  readonly region: string;
  readonly kube: RealKubeApi;
  readonly moto: MotoServer;
  readonly authenticator: EksTokenAuthenticator;
  /** A scratch directory (kubeconfigs, manifests), removed by stop(). */
  readonly scratch: string;
  /** The admin's kubeconfig, for the real kubectl. */
  readonly adminKubeconfig: string;
  /** Credentials of the auditor's role, issued by moto's AssumeRole and known to the authenticator. */
  readonly auditorCredentials: AwsCredentialIdentity;
  /** Credentials of another assumed role, issued by moto and known to the authenticator. */
  assumeRole(roleArn: string, sessionName?: string): Promise<AwsCredentialIdentity>;
  /** The real kubectl as the cluster's admin. */
  kubectl(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }>;
  /** One JSON call as the admin; resolves with the status and the parsed body. */
  call(method: string, path: string, body?: unknown, contentType?: string): Promise<ApiAnswer>;
  stop(): Promise<void>;
}

export interface RealEksClusterOptions {
  /** The example whose AWS side moto is seeded with and whose cluster this is (its cluster.json). */
  readonly example: string;
  readonly clusterName: string;
  readonly region: string;
  /** Access entries beside the auditor's (role → irsa-auditor). */
  readonly accessEntries?: readonly AccessEntry[];
  /** Other cluster names moto should know, pointing at the same API server (a token for the wrong cluster). */
  readonly alsoKnownAs?: readonly string[];
}

/** kube-apiserver 1.20 mounts the bound token volume (`kube-api-access-*`) as EKS does only with this gate. */
const BOUND_TOKEN_VOLUME = '--feature-gates=BoundServiceAccountTokenVolume=true';

export async function startRealEksCluster(options: RealEksClusterOptions): Promise<RealEksCluster> {
  const scratch = await mkdtemp(join(tmpdir(), 'irsa-real-eks-'));
  const cleanups: (() => Promise<void>)[] = [() => rm(scratch, { recursive: true, force: true })];
  const stop = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  };
  try {
    const authenticator = await startEksTokenAuthenticator(scratch, {
      clusterName: options.clusterName,
      accessEntries: [
        { principalArn: AUDITOR_ROLE_ARN, kubernetesGroups: [AUDITOR_GROUP] },
        ...(options.accessEntries ?? []),
      ],
    });
    cleanups.push(() => authenticator.stop());
    const kube = await startRealKubeApi({
      tokenWebhookConfig: authenticator.configPath,
      extraArgs: [BOUND_TOKEN_VOLUME],
    });
    cleanups.push(() => kube.stop());
    const identities = await exampleEksIdentities(options.example);
    const atRealServer = { endpoint: kube.url, caData: kube.caData };
    const moto = await startMoto({
      eksClusters: {
        ...identities,
        [options.clusterName]: { ...identities[options.clusterName], ...atRealServer },
        ...Object.fromEntries((options.alsoKnownAs ?? []).map((name) => [name, atRealServer])),
      },
    });
    cleanups.push(() => moto.stop());
    authenticator.useSts(moto.endpoint);
    const clients = motoClients(moto.endpoint, options.region);
    await seedMotoWithExample(clients, options.example);
    for (const name of options.alsoKnownAs ?? [])
      await clients.eks.send(
        new CreateClusterCommand({
          name,
          roleArn: `arn:aws:iam::111122223333:role/${name}-cluster-role`,
          resourcesVpcConfig: { subnetIds: ['subnet-0a1b2c3d'] },
        }),
      );

    const assumeRole = async (roleArn: string, sessionName = 'irsa-auditor') => {
      const sts = new STSClient({
        region: options.region,
        endpoint: moto.endpoint,
        credentials: MOTO_CREDENTIALS,
      });
      const { Credentials: issued } = await sts.send(
        new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: sessionName }),
      );
      if (issued?.AccessKeyId === undefined || issued.SecretAccessKey === undefined)
        throw new Error(`moto's AssumeRole of ${roleArn} returned no credentials`);
      const credentials: AwsCredentialIdentity = {
        accessKeyId: issued.AccessKeyId,
        secretAccessKey: issued.SecretAccessKey,
        ...(issued.SessionToken === undefined ? {} : { sessionToken: issued.SessionToken }),
      };
      authenticator.knowCredentials(credentials);
      return credentials;
    };
    const adminKubeconfig = join(scratch, 'admin.kubeconfig');
    await kube.writeKubeconfig(adminKubeconfig);
    const cluster: RealEksCluster = {
      clusterName: options.clusterName,
      region: options.region,
      kube,
      moto,
      authenticator,
      scratch,
      adminKubeconfig,
      auditorCredentials: await assumeRole(AUDITOR_ROLE_ARN),
      assumeRole,
      kubectl: (args) => kubectl(args, { kubeconfig: adminKubeconfig, cacheDirectory: scratch }),
      call: (method, path, body, contentType) =>
        kubeCall(
          { url: kube.url, caPem: kube.caPem, token: kube.adminToken },
          method,
          path,
          body,
          contentType,
        ),
      stop,
    };
    return cluster;
  } catch (error) {
    await stop();
    throw error;
  }
}

type Json = Record<string, unknown>;

/** What a create must not carry: the fields the server sets itself. */
function forCreate(object: Json): Json {
  const { status: _status, ...rest } = object;
  const metadata = { ...(object.metadata as Json) };
  for (const field of ['uid', 'resourceVersion', 'creationTimestamp', 'managedFields', 'selfLink'])
    delete metadata[field];
  const copy: Json = { ...rest, metadata };
  // ServiceAccounts: the token Secrets of the example's cluster do not exist here (and are never read).
  delete copy.secrets;
  return copy;
}

/**
 * Creates the example's namespaces, ServiceAccounts and pods through the real API server (namespaces it made
 * itself answer 409 and stay). Pods go through admission: create the webhook configuration after them to keep
 * the example's pods as captured.
 */
export async function createExampleObjects(cluster: RealEksCluster, directory: string): Promise<void> {
  const items = async (file: string) =>
    ((JSON.parse(await readFile(join(directory, file), 'utf8')) as { items: Json[] }).items ?? []).map(
      forCreate,
    );
  for (const namespace of await items('namespaces.json')) {
    const answer = await cluster.call('POST', '/api/v1/namespaces', namespace);
    if (answer.status !== 201 && answer.status !== 409)
      throw new Error(`namespace create: ${JSON.stringify(answer)}`);
  }
  for (const file of ['serviceaccounts.json', 'pods.json'] as const) {
    const resource = file === 'pods.json' ? 'pods' : 'serviceaccounts';
    for (const object of await items(file)) {
      const namespace = (object.metadata as Json).namespace as string;
      const answer = await cluster.call('POST', `/api/v1/namespaces/${namespace}/${resource}`, object);
      if (answer.status !== 201)
        throw new Error(
          `${resource} create in ${namespace}: ${answer.status} ${String(answer.body.message)}`,
        );
    }
  }
}
