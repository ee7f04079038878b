// Collects the AWS half of a cluster's state as raw API objects, shaped like the §3 snapshot files, so
// the live audit and `irsa-audit snapshot` share one path: collect raw, then parse with sources/parse.

import { paginateDescribeInstances } from '@aws-sdk/client-ec2';
import {
  DescribeAddonCommand,
  DescribeClusterCommand,
  DescribePodIdentityAssociationCommand,
  paginateListClusters,
  paginateListPodIdentityAssociations,
} from '@aws-sdk/client-eks';
import {
  GetAccountSummaryCommand,
  GetInstanceProfileCommand,
  GetOpenIDConnectProviderCommand,
  GetPolicyCommand,
  GetPolicyVersionCommand,
  GetRoleCommand,
  GetRolePolicyCommand,
  ListOpenIDConnectProvidersCommand,
  ListRolesCommand,
  type ListRolesCommandOutput,
  paginateListAttachedRolePolicies,
  paginateListRolePolicies,
} from '@aws-sdk/client-iam';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { errorText } from '../../core/error-text';
import type { CollectionError } from '../../core/model/cluster-state';
import { accountOfArn, parseRoleArn } from '../../core/policy/arn';
import type { AwsClients } from './aws-clients';
import {
  AWS_ERROR_TEXT,
  type AwsFailureReason,
  errorCode,
  failureReason,
  isUnimplementedOperation,
} from './aws-errors';
import { type ConcurrencyLimit, createConcurrencyLimit } from './concurrency-limit';

/** The AWS resource types a collection can partly fail on; the cluster itself fails the whole collection. */
export type AwsResource =
  | 'oidcProviders'
  | 'roles'
  | 'podIdentityAssociations'
  | 'accountClusters'
  | 'accountQuotas'
  | 'nodeInstances'
  | 'instanceProfiles'
  | 'rolePolicies'
  | 'podIdentityAgentAddon';

/** The AWS half of one cluster's state, as raw JSON-ready API objects plus what could not be read. */
export interface AwsCollection {
  /** DescribeCluster `.cluster`. */
  readonly cluster: unknown;
  /** From the cluster ARN, else STS GetCallerIdentity. */
  readonly accountId: string;
  /** `{Arn, Url, ClientIDList, ThumbprintList, CreateDate?, Tags?}` per provider, as `oidc-providers.json`. */
  readonly oidcProviders: readonly unknown[];
  /** The wanted roles of the cluster's account that exist, each with its (URL-encoded) AssumeRolePolicyDocument. */
  readonly roles: readonly unknown[];
  /** DescribePodIdentityAssociation `.association` each; undefined when they could not all be read. */
  readonly podIdentityAssociations?: readonly unknown[];
  /** DescribeCluster `.cluster` of every cluster in the region; undefined when they could not all be read. */
  readonly accountClusters?: readonly unknown[];
  /** GetAccountSummary's output `{SummaryMap}` for the cluster's account; undefined when it could not be read. */
  readonly accountSummary?: unknown;
  /** DescribeAddon `{addon}` of eks-pod-identity-agent (`{addon: null}`: not installed); undefined when unknown. */
  readonly podIdentityAgentAddon?: unknown;
  /** DescribeInstances' instances tagged for the cluster; undefined when they could not all be read. */
  readonly nodeInstances?: readonly unknown[];
  /** GetInstanceProfile `.InstanceProfile` of each node's profile; undefined when they could not all be read. */
  readonly instanceProfiles?: readonly unknown[];
  /**
   * `{RoleName, PolicyName, PolicyArn?, PolicyDocument}` of every permissions policy of the association roles
   * that chain to a target role, as `role-policies.json`; undefined when they could not all be read.
   */
  readonly rolePolicies?: readonly unknown[];
  readonly errors: readonly CollectionError[];
  /** Operations issued per API (`iam:GetRole` → 7); the SDK's retries of one operation are not counted. */
  readonly requestCounts: Readonly<Record<string, number>>;
}

/** What to collect for one cluster. */
export interface CollectAwsOptions {
  readonly clusterName: string;
  /** DescribeCluster `.cluster` when the caller already read it (to reach the API server); not described again. */
  readonly cluster?: unknown;
  /** Distinct role ARNs named by annotations or pods; Pod Identity association roles are added here. */
  readonly roleArns: readonly string[];
  /** SDK calls in flight at once, across all parts of the collection (default 8). */
  readonly concurrency?: number;
  /** Shared by the collections of one run so that clusters of one account read IAM once. */
  readonly cache?: AwsRunCache;
  /**
   * Also collect every role of the account whose trust policy names the cluster's issuer: when the API server
   * cannot be read, the roles the ServiceAccounts would name are unknown, and these are the ones meant for them.
   */
  readonly rolesTrustingIssuer?: boolean;
}

/** The cluster itself cannot be described (not found, access denied): nothing of it can be audited. */
export class AwsCollectionError extends Error {
  constructor(
    readonly clusterName: string,
    readonly region: string,
    readonly reason: AwsFailureReason | 'not-found',
    readonly detail: string,
  ) {
    super(`cannot describe EKS cluster ${clusterName} in ${region}: ${detail}`);
    this.name = 'AwsCollectionError';
  }
}

/**
 * Account-wide reads kept for the rest of one run, so that N clusters cost one ListClusters, one DescribeCluster
 * each, and one read of the providers and roles of their account: OIDC providers, the region's clusters, and
 * the roles. The promises are kept, so that clusters collected at once share a read in flight; a read that fails
 * is dropped, so the next cluster asks again. One cache serves the clients of one account and region.
 */
export class AwsRunCache {
  private readonly providers = new Map<string, Promise<SharedRead<readonly unknown[]>>>();
  private readonly names = new Map<string, Promise<string[]>>();
  private readonly described = new Map<string, Promise<unknown>>();
  private readonly roles = new Map<string, AccountRoles>();
  private readonly summaries = new Map<string, Promise<unknown>>();

  /** GetAccountSummary `{SummaryMap}` of the clients' account, read once per run. */
  accountSummary(accountId: string, call: Call, iam: AwsClients['iam']): Promise<unknown> {
    return kept(this.summaries, accountId, async () => {
      const output = await call('iam:GetAccountSummary', () => iam.send(new GetAccountSummaryCommand({})));
      return plainJson({ SummaryMap: output.SummaryMap ?? {} });
    });
  }

  /** The names of every cluster of the region (ListClusters, all pages), read once. */
  clusterNames(clients: AwsClients, call: Call = direct): Promise<string[]> {
    return kept(this.names, clients.region, () => listClusterNamesWith(clients, call));
  }

  /** DescribeCluster `.cluster` as JSON (undefined when EKS returns none), read once per cluster. */
  describeCluster(clients: AwsClients, name: string, call: Call = direct): Promise<unknown> {
    return kept(this.described, `${clients.region}/${name}`, async () => {
      const output = await call('eks:DescribeCluster', () =>
        clients.eks.send(new DescribeClusterCommand({ name })),
      );
      return output.cluster === undefined ? undefined : plainJson(output.cluster);
    });
  }

  oidcProviders(accountId: string, read: () => Promise<SharedRead<readonly unknown[]>>) {
    return kept(this.providers, accountId, async () => {
      const result = await read();
      // Kept only when complete: a provider that failed to be read must be asked for again.
      if (result.errors.length > 0) this.providers.delete(accountId);
      return result;
    });
  }

  /** The roles read so far in one account. */
  rolesOf(accountId: string): AccountRoles {
    let entry = this.roles.get(accountId);
    if (entry === undefined) {
      entry = new AccountRoles();
      this.roles.set(accountId, entry);
    }
    return entry;
  }
}

/** A read shared by the collections of a run, with the failure each of them records (and the value so far). */
interface SharedRead<T> {
  readonly value: T;
  /** Every call that failed, so that each collection's error counts them. */
  readonly errors: readonly unknown[];
}

type Call = <T>(api: string, send: () => Promise<T>) => Promise<T>;
const direct: Call = (_api, send) => send();

/** The promise kept under `key`, made by `make` when absent; a rejected one is forgotten. */
function kept<T>(map: Map<string, Promise<T>>, key: string, make: () => Promise<T>): Promise<T> {
  const known = map.get(key);
  if (known !== undefined) return known;
  const made = make();
  map.set(key, made);
  made.catch(() => {
    if (map.get(key) === made) map.delete(key);
  });
  return made;
}

const DEFAULT_CONCURRENCY = 8;
// The page-size maxima of each API: IAM defaults to 100 items when MaxItems is not given.
const LIST_ROLES_PAGE_SIZE = 1000;
const LIST_CLUSTERS_PAGE_SIZE = 100;
const LIST_ASSOCIATIONS_PAGE_SIZE = 100;
const DESCRIBE_INSTANCES_PAGE_SIZE = 1000;

/** Counts and bounds every SDK call of one collection, and records the first failure of each resource. */
class Collector {
  readonly counts: Record<string, number> = {};
  private readonly failures = new Map<AwsResource, { readonly error: unknown; count: number }>();
  private readonly limit: ConcurrencyLimit;

  constructor(
    readonly clients: AwsClients,
    concurrency: number,
  ) {
    this.limit = createConcurrencyLimit(concurrency);
  }

  readonly call: Call = (api, send) =>
    this.limit.run(() => {
      this.counts[api] = (this.counts[api] ?? 0) + 1;
      return send();
    });

  fail(resource: AwsResource, error: unknown): void {
    const failure = this.failures.get(resource);
    if (failure === undefined) this.failures.set(resource, { error, count: 1 });
    else failure.count += 1;
  }

  failed(resource: AwsResource): boolean {
    return this.failures.has(resource);
  }

  errors(): CollectionError[] {
    return [...this.failures].map(([resource, { error, count }]) => ({
      resource,
      reason: failureReason(error),
      message: `${errorText(error, AWS_ERROR_TEXT)}${count > 1 ? ` (and ${count - 1} more failed calls)` : ''}`,
    }));
  }
}

/** Collects the AWS state of one cluster; throws AwsCollectionError only when the cluster itself cannot be described. */
export async function collectAws(clients: AwsClients, options: CollectAwsOptions): Promise<AwsCollection> {
  const collector = new Collector(clients, options.concurrency ?? DEFAULT_CONCURRENCY);
  const cache = options.cache ?? new AwsRunCache();
  const cluster =
    options.cluster === undefined
      ? await describeTargetCluster(collector, cache, options.clusterName)
      : plainJson(options.cluster);
  const accountId =
    accountOfArn(stringMember(cluster, 'arn') ?? '') ?? (await callerAccount(collector, options.clusterName));
  const roles = cache.rolesOf(accountId);

  const associations = collectPodIdentityAssociations(collector, options.clusterName);
  // The described cluster's own name, else the one asked for.
  const clusterName = stringMember(cluster, 'name') ?? options.clusterName;
  const nodes = collectNodeInstances(collector, clusterName);
  const [
    oidcProviders,
    accountClusters,
    podIdentityAssociations,
    wanted,
    trusting,
    accountSummary,
    nodeInstances,
    instanceProfiles,
    podIdentityAgentAddon,
    rolePolicies,
  ] = await Promise.all([
    collectOidcProviders(collector, cache, accountId),
    collectAccountClusters(collector, cache, clusterName, cluster),
    associations,
    // Pod Identity roles are only known once the associations are read, and must be audited too (S13).
    associations.then((found) =>
      roles.lookUp(
        collector,
        roleNamesIn(accountId, [...options.roleArns, ...(found ?? []).flatMap(roleArnOfAssociation)]),
      ),
    ),
    options.rolesTrustingIssuer === true ? rolesTrusting(collector, roles, cluster) : [],
    cache.accountSummary(accountId, collector.call, collector.clients.iam).catch((error: unknown) => {
      collector.fail('accountQuotas', error);
      return undefined;
    }),
    nodes,
    nodes.then((found) => (found === undefined ? undefined : collectInstanceProfiles(collector, found))),
    collectAgentAddon(collector, clusterName),
    associations.then((found) =>
      found === undefined ? undefined : collectRolePolicies(collector, accountId, found),
    ),
  ]);
  const byName = new Map<string, unknown>();
  for (const role of [...wanted, ...trusting]) byName.set(stringMember(role, 'RoleName') ?? '', role);
  return {
    cluster,
    accountId,
    oidcProviders,
    roles: [...byName.values()],
    ...(podIdentityAssociations === undefined ? {} : { podIdentityAssociations }),
    ...(accountClusters === undefined ? {} : { accountClusters }),
    ...(accountSummary === undefined ? {} : { accountSummary }),
    ...(nodeInstances === undefined ? {} : { nodeInstances }),
    ...(instanceProfiles === undefined ? {} : { instanceProfiles }),
    ...(podIdentityAgentAddon === undefined ? {} : { podIdentityAgentAddon }),
    ...(rolePolicies === undefined ? {} : { rolePolicies }),
    errors: collector.errors(),
    requestCounts: { ...collector.counts },
  };
}

/** The names of every EKS cluster in the clients' region (ListClusters, all pages). */
export async function listClusterNames(clients: AwsClients): Promise<string[]> {
  return listClusterNamesWith(clients);
}

/**
 * The client with its `send` going through `call`, so that the pages an SDK paginator sends are counted and
 * bounded like every other call of a collection. Everything else (middleware, configuration) is the client's.
 */
function sendingThrough<C extends { send(command: never): Promise<unknown> }>(
  client: C,
  api: string,
  call: Call,
): C {
  return Object.create(client, {
    send: { value: (command: never) => call(api, () => client.send(command)) },
  }) as C;
}

async function listClusterNamesWith(clients: AwsClients, call: Call = direct): Promise<string[]> {
  const client = sendingThrough(clients.eks, 'eks:ListClusters', call);
  const names: string[] = [];
  for await (const page of paginateListClusters({ client, pageSize: LIST_CLUSTERS_PAGE_SIZE }, {})) {
    names.push(...(page.clusters ?? []));
  }
  return names;
}

async function describeTargetCluster(
  collector: Collector,
  cache: AwsRunCache,
  clusterName: string,
): Promise<unknown> {
  const { region } = collector.clients;
  try {
    const cluster = await cache.describeCluster(collector.clients, clusterName, collector.call);
    if (cluster === undefined) {
      throw new AwsCollectionError(clusterName, region, 'error', 'DescribeCluster returned no cluster');
    }
    return cluster;
  } catch (error) {
    if (error instanceof AwsCollectionError) throw error;
    const reason = errorCode(error) === 'ResourceNotFoundException' ? 'not-found' : failureReason(error);
    throw new AwsCollectionError(clusterName, region, reason, errorText(error, AWS_ERROR_TEXT));
  }
}

async function callerAccount(collector: Collector, clusterName: string): Promise<string> {
  try {
    const identity = await collector.call('sts:GetCallerIdentity', () =>
      collector.clients.sts.send(new GetCallerIdentityCommand({})),
    );
    if (identity.Account !== undefined) return identity.Account;
    throw new Error('GetCallerIdentity returned no account');
  } catch (error) {
    throw new AwsCollectionError(
      clusterName,
      collector.clients.region,
      failureReason(error),
      `the cluster has no ARN and the account is unknown: ${errorText(error, AWS_ERROR_TEXT)}`,
    );
  }
}

async function collectOidcProviders(
  collector: Collector,
  cache: AwsRunCache,
  accountId: string,
): Promise<readonly unknown[]> {
  const read = await cache.oidcProviders(accountId, () => readOidcProviders(collector));
  // Every collection that shared a failed read reports it: each of their audits lacks the providers.
  for (const error of read.errors) collector.fail('oidcProviders', error);
  return read.value;
}

async function readOidcProviders(collector: Collector): Promise<SharedRead<readonly unknown[]>> {
  const { iam } = collector.clients;
  let arns: string[];
  try {
    // Not paginated: IAM returns every provider of the account (at most 100 by quota) in one response.
    const list = await collector.call('iam:ListOpenIDConnectProviders', () =>
      iam.send(new ListOpenIDConnectProvidersCommand({})),
    );
    arns = (list.OpenIDConnectProviderList ?? []).flatMap((entry) =>
      entry.Arn === undefined ? [] : [entry.Arn],
    );
  } catch (error) {
    return { value: [], errors: [error] };
  }
  const errors: unknown[] = [];
  const providers = await Promise.all(
    arns.map(async (arn) => {
      try {
        const provider = await collector.call('iam:GetOpenIDConnectProvider', () =>
          iam.send(new GetOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: arn })),
        );
        // The shape the §3 hand-capture produces: the ARN merged into GetOpenIDConnectProvider's output.
        return plainJson({
          Arn: arn,
          Url: provider.Url,
          ClientIDList: provider.ClientIDList ?? [],
          ThumbprintList: provider.ThumbprintList ?? [],
          ...(provider.CreateDate === undefined ? {} : { CreateDate: provider.CreateDate }),
          ...(provider.Tags === undefined ? {} : { Tags: provider.Tags }),
        });
      } catch (error) {
        // Deleted between the list and the get: it no longer exists, which is what the audit needs to know.
        if (errorCode(error) !== 'NoSuchEntityException') errors.push(error);
        return undefined;
      }
    }),
  );
  return { value: providers.filter((provider) => provider !== undefined), errors };
}

async function collectAccountClusters(
  collector: Collector,
  cache: AwsRunCache,
  targetName: string,
  target: unknown,
): Promise<readonly unknown[] | undefined> {
  const { clients } = collector;
  let names: string[];
  try {
    names = await cache.clusterNames(clients, collector.call);
  } catch (error) {
    collector.fail('accountClusters', error);
    return undefined;
  }
  // ListClusters is eventually consistent: a cluster created a moment ago may be missing from it.
  const all = names.includes(targetName) ? names : [...names, targetName];
  const clusters = await Promise.all(
    all.map(async (name) => {
      // The audited cluster was described a moment ago; describing it again would only cost a call.
      if (name === targetName) return target;
      try {
        return await cache.describeCluster(clients, name, collector.call);
      } catch (error) {
        if (errorCode(error) !== 'ResourceNotFoundException') collector.fail('accountClusters', error);
        return undefined;
      }
    }),
  );
  // A partial list would make the providers of the clusters left out look stale (A01): all or nothing.
  if (collector.failed('accountClusters')) return undefined;
  return clusters.filter((cluster) => cluster !== undefined);
}

async function collectPodIdentityAssociations(
  collector: Collector,
  clusterName: string,
): Promise<readonly unknown[] | undefined> {
  const { eks } = collector.clients;
  const ids: string[] = [];
  try {
    const client = sendingThrough(eks, 'eks:ListPodIdentityAssociations', collector.call);
    for await (const page of paginateListPodIdentityAssociations(
      { client, pageSize: LIST_ASSOCIATIONS_PAGE_SIZE },
      { clusterName },
    )) {
      for (const summary of page.associations ?? []) {
        if (summary.associationId !== undefined) ids.push(summary.associationId);
      }
    }
  } catch (error) {
    // An emulator without EKS Pod Identity (moto's server) leaves the associations unknown, exactly like a
    // snapshot without pod-identity-associations.json; against AWS itself every failure is reported.
    if (!(collector.clients.eks.config.isCustomEndpoint && isUnimplementedOperation(error))) {
      collector.fail('podIdentityAssociations', error);
    }
    return undefined;
  }
  // The list omits the role ARN, which is the point of reading associations: describe each one.
  const associations = await Promise.all(
    ids.map(async (associationId) => {
      try {
        const output = await collector.call('eks:DescribePodIdentityAssociation', () =>
          eks.send(new DescribePodIdentityAssociationCommand({ clusterName, associationId })),
        );
        return output.association === undefined ? undefined : plainJson(output.association);
      } catch (error) {
        if (errorCode(error) !== 'ResourceNotFoundException')
          collector.fail('podIdentityAssociations', error);
        return undefined;
      }
    }),
  );
  if (collector.failed('podIdentityAssociations')) return undefined;
  return associations.filter((association) => association !== undefined);
}

/**
 * The cluster's EC2 nodes: instances tagged `kubernetes.io/cluster/<name>` (EKS managed node groups, Karpenter
 * and eksctl tag them so), running or starting, with what IRSA-P01 and IRSA-P09 read of them.
 */
async function collectNodeInstances(
  collector: Collector,
  clusterName: string,
): Promise<unknown[] | undefined> {
  const instances: unknown[] = [];
  try {
    const client = sendingThrough(collector.clients.ec2, 'ec2:DescribeInstances', collector.call);
    for await (const page of paginateDescribeInstances(
      { client, pageSize: DESCRIBE_INSTANCES_PAGE_SIZE },
      {
        Filters: [
          { Name: 'tag-key', Values: [`kubernetes.io/cluster/${clusterName}`] },
          { Name: 'instance-state-name', Values: ['pending', 'running'] },
        ],
      },
    )) {
      for (const reservation of page.Reservations ?? []) {
        for (const instance of reservation.Instances ?? []) {
          instances.push(
            plainJson({
              InstanceId: instance.InstanceId,
              PrivateDnsName: instance.PrivateDnsName,
              ...(instance.MetadataOptions === undefined
                ? {}
                : { MetadataOptions: instance.MetadataOptions }),
              ...(instance.IamInstanceProfile === undefined
                ? {}
                : { IamInstanceProfile: instance.IamInstanceProfile }),
            }),
          );
        }
      }
    }
  } catch (error) {
    collector.fail('nodeInstances', error);
    return undefined;
  }
  return instances;
}

/** The add-on that runs the EKS Pod Identity agent on EC2 nodes. */
const AGENT_ADDON = 'eks-pod-identity-agent';

/** DescribeAddon of eks-pod-identity-agent: `{addon}`, or `{addon: null}` when it is not installed. */
async function collectAgentAddon(collector: Collector, clusterName: string): Promise<unknown> {
  try {
    const output = await collector.call('eks:DescribeAddon', () =>
      collector.clients.eks.send(new DescribeAddonCommand({ clusterName, addonName: AGENT_ADDON })),
    );
    return plainJson({ addon: output.addon ?? null });
  } catch (error) {
    if (errorCode(error) === 'ResourceNotFoundException') return { addon: null };
    // An emulator without add-ons (moto's server) leaves the add-on unknown, as a snapshot without the file.
    if (!(collector.clients.eks.config.isCustomEndpoint && isUnimplementedOperation(error)))
      collector.fail('podIdentityAgentAddon', error);
    return undefined;
  }
}

/** GetInstanceProfile of every profile the nodes use, for their roles. */
async function collectInstanceProfiles(
  collector: Collector,
  instances: readonly unknown[],
): Promise<unknown[] | undefined> {
  const names = new Set<string>();
  for (const instance of instances) {
    const arn = stringMember((instance as { IamInstanceProfile?: unknown }).IamInstanceProfile, 'Arn');
    if (arn !== undefined) names.add(arn.slice(arn.lastIndexOf('/') + 1));
  }
  const profiles = await Promise.all(
    [...names].map(async (name) => {
      try {
        const output = await collector.call('iam:GetInstanceProfile', () =>
          collector.clients.iam.send(new GetInstanceProfileCommand({ InstanceProfileName: name })),
        );
        return output.InstanceProfile === undefined ? undefined : plainJson(output.InstanceProfile);
      } catch (error) {
        // Deleted since the instance started: its role is unknown, which the checks say.
        if (errorCode(error) !== 'NoSuchEntityException') collector.fail('instanceProfiles', error);
        return undefined;
      }
    }),
  );
  if (collector.failed('instanceProfiles')) return undefined;
  return profiles.filter((profile) => profile !== undefined);
}

/**
 * The permissions policies of every association role (of the cluster's account) that chains to a target role:
 * IRSA-S13 judges whether they allow it to assume the target. Inline policies as GetRolePolicy returns them;
 * attached ones as the default version of the managed policy, with its ARN.
 */
async function collectRolePolicies(
  collector: Collector,
  accountId: string,
  associations: readonly unknown[],
): Promise<unknown[] | undefined> {
  const chaining = associations.flatMap((association) => {
    const target = stringMember(association, 'targetRoleArn');
    return target === undefined || target === '' ? [] : [stringMember(association, 'roleArn') ?? ''];
  });
  const { iam } = collector.clients;
  const policiesOf = async (roleName: string): Promise<unknown[]> => {
    const inlineNames: string[] = [];
    const client = sendingThrough(iam, 'iam:ListRolePolicies', collector.call);
    for await (const page of paginateListRolePolicies({ client }, { RoleName: roleName }))
      inlineNames.push(...(page.PolicyNames ?? []));
    const attached: { PolicyName?: string; PolicyArn?: string }[] = [];
    const attachedClient = sendingThrough(iam, 'iam:ListAttachedRolePolicies', collector.call);
    for await (const page of paginateListAttachedRolePolicies(
      { client: attachedClient },
      { RoleName: roleName },
    ))
      attached.push(...(page.AttachedPolicies ?? []));
    const inline = inlineNames.map(async (PolicyName) => {
      const output = await collector.call('iam:GetRolePolicy', () =>
        iam.send(new GetRolePolicyCommand({ RoleName: roleName, PolicyName })),
      );
      return { RoleName: roleName, PolicyName, PolicyDocument: output.PolicyDocument };
    });
    const managed = attached.map(async ({ PolicyName, PolicyArn }) => {
      const policy = await collector.call('iam:GetPolicy', () =>
        iam.send(new GetPolicyCommand({ PolicyArn })),
      );
      const version = await collector.call('iam:GetPolicyVersion', () =>
        iam.send(new GetPolicyVersionCommand({ PolicyArn, VersionId: policy.Policy?.DefaultVersionId })),
      );
      return { RoleName: roleName, PolicyName, PolicyArn, PolicyDocument: version.PolicyVersion?.Document };
    });
    return Promise.all([...inline, ...managed]);
  };
  const read = await Promise.all(
    roleNamesIn(accountId, chaining).map(async (roleName) => {
      try {
        return await policiesOf(roleName);
      } catch (error) {
        // A role deleted since the association was made is IRSA-S13's "does not exist", not a read failure.
        if (errorCode(error) !== 'NoSuchEntityException') collector.fail('rolePolicies', error);
        return [];
      }
    }),
  );
  if (collector.failed('rolePolicies')) return undefined;
  return read.flat().map(plainJson);
}

/** The association's role and its target role (role chaining): both are audited (S13). */
function roleArnOfAssociation(association: unknown): string[] {
  return ['roleArn', 'targetRoleArn'].flatMap((key) => {
    const arn = stringMember(association, key);
    return arn === undefined || arn === '' ? [] : [arn];
  });
}

function stringMember(value: unknown, key: string): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const member = (value as Readonly<Record<string, unknown>>)[key];
  return typeof member === 'string' ? member : undefined;
}

/** The names of the roles of `accountId` among `roleArns`; roles of other accounts are not looked up (S04). */
function roleNamesIn(accountId: string, roleArns: readonly string[]): string[] {
  return [
    ...new Set(
      roleArns.flatMap((arn) => {
        const parsed = parseRoleArn(arn);
        return parsed.ok && parsed.value.accountId === accountId ? [parsed.value.name] : [];
      }),
    ),
  ];
}

/**
 * Every role of the account whose trust policy names the cluster's issuer: when the API server cannot be read,
 * these stand in for the roles the ServiceAccounts would name. The engine decides exactly which statements
 * federate the issuer; this only keeps the roles whose document mentions it at all.
 */
async function rolesTrusting(
  collector: Collector,
  roles: AccountRoles,
  cluster: unknown,
): Promise<readonly unknown[]> {
  const issuer = issuerOf(cluster);
  if (issuer === undefined) return [];
  const all = await roles.all(collector);
  return all.filter((role) => trustDocumentOf(role).toLowerCase().includes(issuer));
}

function issuerOf(cluster: unknown): string | undefined {
  const identity = (cluster as { identity?: { oidc?: { issuer?: unknown } } } | undefined)?.identity;
  const issuer = identity?.oidc?.issuer;
  return typeof issuer === 'string' && issuer !== ''
    ? issuer
        .replace(/^https:\/\//i, '')
        .replace(/\/+$/, '')
        .toLowerCase()
    : undefined;
}

// IAM returns the document URL-encoded.
function trustDocumentOf(role: unknown): string {
  const document = stringMember(role, 'AssumeRolePolicyDocument') ?? '';
  try {
    return decodeURIComponent(document);
  } catch {
    return document;
  }
}

/**
 * The roles of one account read so far in a run, and how to read the rest with the fewest IAM calls for an
 * unknown number of roles in the account:
 * - one wanted role: GetRole (one call, never more than ListRoles);
 * - several: ListRoles pages of 1000, stopping as soon as every wanted role was seen; after each page, when
 *   the roles still missing are no more than the pages already read, GetRole each of them instead of paging
 *   on (a role that does not exist would otherwise cost every remaining page). This never costs more than
 *   twice the better of "one GetRole per role" and "every ListRoles page", and exactly that in the common
 *   cases: all wanted roles within the first 1000 (one call), or many wanted roles in a big account.
 * The pages are read one at a time and shared: clusters collected at once wait for the same page instead of
 * each reading it, and a later cluster goes on from the last page read. A role IAM does not know is simply
 * absent (S02). Role names are unique per account whatever the path, so a wrong path still finds the role (S03).
 */
class AccountRoles {
  /** Role name → raw role, or null when IAM said it does not exist. */
  private readonly known = new Map<string, unknown>();
  private readonly gets = new Map<string, Promise<void>>();
  private walk: Promise<void> = Promise.resolve();
  private marker: string | undefined;
  private pagesRead = 0;
  /** Every ListRoles page was read: a name not seen does not exist. */
  private complete = false;
  /** ListRoles was denied: a policy that grants iam:GetRole but not iam:ListRoles still lets the audit read every role. */
  private listDenied: unknown;

  /** The wanted roles that exist; a failure to read them is recorded on the collector. */
  async lookUp(collector: Collector, names: readonly string[]): Promise<readonly unknown[]> {
    try {
      let pending = this.unknown(names);
      if (pending.length > 1) {
        while (!this.complete && this.listDenied === undefined) {
          await this.nextPage(collector, this.pagesRead);
          pending = this.unknown(names);
          if (pending.length <= this.pagesRead) break;
        }
      }
      await Promise.all(this.unknown(names).map((name) => this.get(collector, name)));
    } catch (error) {
      collector.fail('roles', error);
    }
    return names.flatMap((name) => {
      const role = this.known.get(name);
      return role === undefined || role === null ? [] : [role];
    });
  }

  /** Every role of the account (all ListRoles pages); none, with the failure recorded, when they cannot be listed. */
  async all(collector: Collector): Promise<readonly unknown[]> {
    try {
      while (!this.complete) {
        if (this.listDenied !== undefined) throw this.listDenied;
        await this.nextPage(collector, this.pagesRead);
      }
    } catch (error) {
      collector.fail('roles', error);
      return [];
    }
    return [...this.known.values()].filter((role) => role !== null);
  }

  private unknown(names: readonly string[]): string[] {
    return this.complete ? [] : names.filter((name) => !this.known.has(name));
  }

  /**
   * Reads the page after the `seen`-th, unless another collection read it meanwhile. One page at a time by hand,
   * not with the SDK's paginator: the walk stops as soon as the wanted roles were seen, and a later cluster of
   * the run goes on from the marker of the last page read.
   */
  private nextPage(collector: Collector, seen: number): Promise<void> {
    const turn = this.walk.then(async () => {
      if (this.complete || this.listDenied !== undefined || this.pagesRead > seen) return;
      const from = this.marker;
      let page: ListRolesCommandOutput;
      try {
        page = await collector.call('iam:ListRoles', () =>
          collector.clients.iam.send(
            new ListRolesCommand({
              MaxItems: LIST_ROLES_PAGE_SIZE,
              ...(from === undefined ? {} : { Marker: from }),
            }),
          ),
        );
      } catch (error) {
        if (failureReason(error) !== 'forbidden') throw error;
        this.listDenied = error;
        return;
      }
      for (const role of page.Roles ?? []) {
        if (role.RoleName !== undefined) this.known.set(role.RoleName, plainJson(role));
      }
      this.pagesRead += 1;
      if (page.IsTruncated !== true || page.Marker === undefined) this.complete = true;
      else this.marker = page.Marker;
    });
    // The next page waits for this one, whether it was read or failed (the failure is its caller's to report).
    this.walk = turn.catch(() => undefined);
    return turn;
  }

  private get(collector: Collector, name: string): Promise<void> {
    let pending = this.gets.get(name);
    if (pending === undefined) {
      pending = collector
        .call('iam:GetRole', () => collector.clients.iam.send(new GetRoleCommand({ RoleName: name })))
        .then(
          (output) => {
            this.known.set(name, output.Role === undefined ? null : plainJson(output.Role));
          },
          (error: unknown) => {
            if (errorCode(error) === 'NoSuchEntityException') this.known.set(name, null);
            else {
              this.gets.delete(name);
              throw error;
            }
          },
        );
      this.gets.set(name, pending);
    }
    return pending;
  }
}

/** The value as JSON would carry it: Dates become ISO strings, undefined members disappear, no SDK `$metadata`. */
function plainJson(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value));
}
