// Seeds moto's server, through the real SDK, with the AWS half of a shipped example snapshot (cluster.json,
// clusters.json, oidc-providers.json, roles.json), adapted to what moto can represent.
//
// moto's CreateCluster does not let a caller choose the issuer or the CA: every cluster gets the issuer
// `https://oidc.eks.<region>.amazonaws.com/id/<10 letters and digits>`, one random ID drawn once per server
// process and shared by every cluster in every region (it survives /moto-api/reset), and
// `certificateAuthority.data` is 1400 random letters and digits (not a base64 PEM). Started with
// `startMoto({ eksClusters: await exampleEksIdentities(dir) })`, moto gives each cluster the example's own
// issuer and CA and nothing needs adapting. Otherwise the seed replaces the audited cluster's issuer ID with
// moto's everywhere (provider URL, trust policies), and leaves out the IAM providers of the example's other
// live clusters, whose issuers moto cannot give them.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CreateClusterCommand } from '@aws-sdk/client-eks';
import { CreateOpenIDConnectProviderCommand, CreateRoleCommand } from '@aws-sdk/client-iam';
import type { AwsClients } from '../sources/aws/aws-clients';
import type { EksIdentity } from './moto';

/** What the seed created and how it rewrote the example to fit moto. */
export interface SeededExample {
  readonly clusterName: string;
  /** The issuer moto gave the cluster, `https://oidc.eks.<region>.amazonaws.com/id/<moto id>`. */
  readonly issuer: string;
  readonly exampleIssuerId: string;
  readonly motoIssuerId: string;
  /** The example's other clusters (clusters.json), created too, with moto's shared issuer. */
  readonly otherClusters: readonly string[];
  /** Provider URLs of the example that were created, rewritten (without `https://`). */
  readonly providerUrls: readonly string[];
  /** Provider URLs of the example left out: they belong to another live cluster. */
  readonly skippedProviderUrls: readonly string[];
  /** Role ARNs created, as IAM reports them. */
  readonly roleArns: readonly string[];
  /** Replaces the example's issuer ID by moto's in any text. */
  readonly rewrite: (text: string) => string;
}

interface ExampleCluster {
  readonly name: string;
  readonly arn?: string;
  readonly version?: string;
  readonly roleArn?: string;
  readonly resourcesVpcConfig?: { readonly subnetIds?: string[]; readonly securityGroupIds?: string[] };
  readonly identity?: { readonly oidc?: { readonly issuer?: string } };
  readonly certificateAuthority?: { readonly data?: string };
  readonly tags?: Record<string, string>;
}

interface ExampleProvider {
  readonly Url: string;
  readonly ClientIDList?: string[];
  readonly ThumbprintList?: string[];
  readonly Tags?: { Key: string; Value: string }[];
}

interface ExampleRole {
  readonly RoleName: string;
  readonly Path?: string;
  readonly AssumeRolePolicyDocument: unknown;
  readonly Description?: string;
  readonly MaxSessionDuration?: number;
}

/** A seed that cannot be done faithfully: names the example file and what does not fit. */
export class SeedError extends Error {
  override readonly name = 'SeedError';
}

/** Creates the example's clusters, OIDC providers and roles in moto through the given (moto) clients. */
export async function seedMotoWithExample(clients: AwsClients, directory: string): Promise<SeededExample> {
  const read = async <T>(file: string): Promise<T | undefined> => {
    try {
      return JSON.parse(await readFile(join(directory, file), 'utf8')) as T;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  };
  const audited = (await read<{ cluster: ExampleCluster }>('cluster.json'))?.cluster;
  if (audited === undefined) throw new SeedError(`${directory}/cluster.json is missing`);
  const region = audited.arn?.split(':')[3];
  if (region !== undefined && region !== clients.region) {
    throw new SeedError(`cluster.json is in ${region}, the clients in ${clients.region}`);
  }
  const exampleIssuerId = issuerIdOf(audited);
  if (exampleIssuerId === undefined) throw new SeedError('cluster.json has no identity.oidc.issuer');

  const created = await createCluster(clients, audited);
  const issuer = created.identity?.oidc?.issuer;
  const motoIssuerId = issuer === undefined ? undefined : issuerIdOf(created);
  if (issuer === undefined || motoIssuerId === undefined) throw new SeedError('moto returned no issuer');
  const rewrite = (text: string) => text.replaceAll(exampleIssuerId, motoIssuerId);

  const others = ((await read<{ clusters: ExampleCluster[] }>('clusters.json'))?.clusters ?? []).filter(
    (cluster) => cluster.name !== audited.name,
  );
  // A cluster moto gave its own issuer (startMoto's eksClusters) keeps its provider; one that shares
  // moto's single issuer would make its provider look stale, so that provider is left out.
  const otherIssuerIds = new Set<string>();
  for (const cluster of others) {
    const other = await createCluster(clients, cluster);
    const id = issuerIdOf(cluster);
    if (id !== undefined && issuerIdOf(other) !== id) otherIssuerIds.add(id);
  }

  const providers =
    (await read<{ OpenIDConnectProviders: ExampleProvider[] }>('oidc-providers.json'))
      ?.OpenIDConnectProviders ?? [];
  const providerUrls: string[] = [];
  const skippedProviderUrls: string[] = [];
  for (const provider of providers) {
    const id = provider.Url.split('/').at(-1) ?? '';
    if (otherIssuerIds.has(id)) {
      skippedProviderUrls.push(provider.Url);
      continue;
    }
    const url = rewrite(provider.Url);
    await clients.iam.send(
      new CreateOpenIDConnectProviderCommand({
        Url: `https://${url}`,
        ClientIDList: provider.ClientIDList ?? [],
        ThumbprintList: provider.ThumbprintList ?? [],
        ...(provider.Tags === undefined || provider.Tags.length === 0 ? {} : { Tags: provider.Tags }),
      }),
    );
    providerUrls.push(url);
  }

  const roles = (await read<{ Roles: ExampleRole[] }>('roles.json'))?.Roles ?? [];
  const roleArns: string[] = [];
  for (const role of roles) {
    const document = role.AssumeRolePolicyDocument;
    const output = await clients.iam.send(
      new CreateRoleCommand({
        RoleName: role.RoleName,
        Path: role.Path ?? '/',
        AssumeRolePolicyDocument: rewrite(
          typeof document === 'string' ? decodeURIComponent(document) : JSON.stringify(document),
        ),
        ...(role.Description === undefined ? {} : { Description: role.Description }),
        ...(role.MaxSessionDuration === undefined ? {} : { MaxSessionDuration: role.MaxSessionDuration }),
      }),
    );
    if (output.Role?.Arn !== undefined) roleArns.push(output.Role.Arn);
  }

  return {
    clusterName: audited.name,
    issuer,
    exampleIssuerId,
    motoIssuerId,
    otherClusters: others.map((cluster) => cluster.name),
    providerUrls,
    skippedProviderUrls,
    roleArns,
    rewrite,
  };
}

async function createCluster(clients: AwsClients, cluster: ExampleCluster): Promise<ExampleCluster> {
  const vpc = cluster.resourcesVpcConfig ?? {};
  const output = await clients.eks.send(
    new CreateClusterCommand({
      name: cluster.name,
      // moto checks neither that the role exists nor the subnets; AWS would.
      roleArn: cluster.roleArn ?? `arn:aws:iam::111122223333:role/${cluster.name}-cluster-role`,
      resourcesVpcConfig: {
        subnetIds: vpc.subnetIds ?? ['subnet-0179024df634511da'],
        ...(vpc.securityGroupIds === undefined ? {} : { securityGroupIds: vpc.securityGroupIds }),
      },
      ...(cluster.version === undefined ? {} : { version: cluster.version }),
      ...(cluster.tags === undefined ? {} : { tags: cluster.tags }),
    }),
  );
  if (output.cluster?.name === undefined) throw new SeedError(`moto did not create cluster ${cluster.name}`);
  return output.cluster as ExampleCluster;
}

function issuerIdOf(cluster: ExampleCluster): string | undefined {
  return cluster.identity?.oidc?.issuer?.replace(/\/+$/, '').split('/').at(-1);
}

/** The issuer and CA data of the example's clusters (cluster.json and clusters.json), for startMoto's eksClusters. */
export async function exampleEksIdentities(directory: string): Promise<Record<string, EksIdentity>> {
  const read = async (file: string): Promise<unknown> => {
    try {
      return JSON.parse(await readFile(join(directory, file), 'utf8'));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  };
  const audited = (await read('cluster.json')) as { cluster?: ExampleCluster } | undefined;
  const others = (await read('clusters.json')) as { clusters?: ExampleCluster[] } | undefined;
  const identities: Record<string, EksIdentity> = {};
  for (const cluster of [
    ...(others?.clusters ?? []),
    ...(audited?.cluster === undefined ? [] : [audited.cluster]),
  ]) {
    const issuer = cluster.identity?.oidc?.issuer;
    const caData = cluster.certificateAuthority?.data;
    identities[cluster.name] = {
      ...(issuer === undefined ? {} : { issuer }),
      ...(caData === undefined ? {} : { caData }),
    };
  }
  return identities;
}
