// Collects the AWS half of a cluster's state as raw API objects, shaped like the §3 snapshot files, so
// the live audit and `irsa-audit snapshot` share one path: collect raw, then parse with sources/parse.

import {
  DescribeClusterCommand,
  DescribePodIdentityAssociationCommand,
  ListClustersCommand,
  ListPodIdentityAssociationsCommand,
} from '@aws-sdk/client-eks';
import {
  GetOpenIDConnectProviderCommand,
  GetRoleCommand,
  ListOpenIDConnectProvidersCommand,
  ListRolesCommand,
  type ListRolesCommandOutput,
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
export type AwsResource = 'oidcProviders' | 'roles' | 'podIdentityAssociations' | 'accountClusters';

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

interface RoleCache {
  /** Role name → raw role, or null when IAM said it does not exist. */
  readonly byName: Map<string, unknown>;
  /** A full ListRoles enumeration succeeded: a name it did not return does not exist. */
  complete: boolean;
}

/** Account-wide reads (OIDC providers, roles, the region's clusters) kept for the rest of one run; failures are not kept. */
export class AwsRunCache {
  readonly oidcProviders = new Map<string, readonly unknown[]>();
  readonly accountClusters = new Map<string, readonly unknown[]>();
  readonly roles = new Map<string, RoleCache>();

  /** The roles known so far in one account, created empty on first use. */
  rolesOf(accountId: string): RoleCache {
    let entry = this.roles.get(accountId);
    if (entry === undefined) {
      entry = { byName: new Map(), complete: false };
      this.roles.set(accountId, entry);
    }
    return entry;
  }
}

const DEFAULT_CONCURRENCY = 8;
// The page-size maxima of each API: IAM defaults to 100 items when MaxItems is not given.
const LIST_ROLES_PAGE_SIZE = 1000;
const LIST_CLUSTERS_PAGE_SIZE = 100;
const LIST_ASSOCIATIONS_PAGE_SIZE = 100;

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

  call<T>(api: string, send: () => Promise<T>): Promise<T> {
    return this.limit.run(() => {
      this.counts[api] = (this.counts[api] ?? 0) + 1;
      return send();
    });
  }

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
      ? await describeTargetCluster(collector, options.clusterName)
      : plainJson(options.cluster);
  const accountId =
    accountOfArn(stringMember(cluster, 'arn') ?? '') ?? (await callerAccount(collector, options.clusterName));

  const associations = collectPodIdentityAssociations(collector, options.clusterName);
  const [oidcProviders, accountClusters, podIdentityAssociations, roles] = await Promise.all([
    collectOidcProviders(collector, cache, accountId),
    collectAccountClusters(
      collector,
      cache,
      accountId,
      stringMember(cluster, 'name') ?? options.clusterName,
      cluster,
    ),
    associations,
    // Pod Identity roles are only known once the associations are read, and must be audited too (S13).
    associations.then((found) =>
      collectRoles(collector, cache.rolesOf(accountId), accountId, [
        ...options.roleArns,
        ...(found ?? []).flatMap(roleArnOfAssociation),
      ]),
    ),
  ]);
  return {
    cluster,
    accountId,
    oidcProviders,
    roles,
    ...(podIdentityAssociations === undefined ? {} : { podIdentityAssociations }),
    ...(accountClusters === undefined ? {} : { accountClusters }),
    errors: collector.errors(),
    requestCounts: { ...collector.counts },
  };
}

/** The names of every EKS cluster in the clients' region (ListClusters, all pages). */
export async function listClusterNames(clients: AwsClients): Promise<string[]> {
  return listClusterNamesWith(clients, (_api, send) => send());
}

async function listClusterNamesWith(
  clients: AwsClients,
  call: <T>(api: string, send: () => Promise<T>) => Promise<T>,
): Promise<string[]> {
  const names: string[] = [];
  let nextToken: string | undefined;
  do {
    const token = nextToken;
    const page = await call('eks:ListClusters', () =>
      clients.eks.send(
        new ListClustersCommand({
          maxResults: LIST_CLUSTERS_PAGE_SIZE,
          ...(token === undefined ? {} : { nextToken: token }),
        }),
      ),
    );
    names.push(...(page.clusters ?? []));
    nextToken = page.nextToken;
  } while (nextToken !== undefined && nextToken !== '');
  return names;
}

async function describeTargetCluster(collector: Collector, clusterName: string): Promise<unknown> {
  const { region } = collector.clients;
  try {
    const output = await collector.call('eks:DescribeCluster', () =>
      collector.clients.eks.send(new DescribeClusterCommand({ name: clusterName })),
    );
    if (output.cluster === undefined) {
      throw new AwsCollectionError(clusterName, region, 'error', 'DescribeCluster returned no cluster');
    }
    return plainJson(output.cluster);
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
  const cached = cache.oidcProviders.get(accountId);
  if (cached !== undefined) return cached;
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
    collector.fail('oidcProviders', error);
    return [];
  }
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
        if (errorCode(error) !== 'NoSuchEntityException') collector.fail('oidcProviders', error);
        return undefined;
      }
    }),
  );
  const collected = providers.filter((provider) => provider !== undefined);
  if (!collector.failed('oidcProviders')) cache.oidcProviders.set(accountId, collected);
  return collected;
}

async function collectAccountClusters(
  collector: Collector,
  cache: AwsRunCache,
  accountId: string,
  targetName: string,
  target: unknown,
): Promise<readonly unknown[] | undefined> {
  const key = `${accountId}/${collector.clients.region}`;
  const cached = cache.accountClusters.get(key);
  if (cached !== undefined) return cached;
  let names: string[];
  try {
    names = await listClusterNamesWith(collector.clients, (api, send) => collector.call(api, send));
  } catch (error) {
    collector.fail('accountClusters', error);
    return undefined;
  }
  // ListClusters is eventually consistent: a cluster created a moment ago may be missing from it.
  if (!names.includes(targetName)) names.push(targetName);
  const clusters = await Promise.all(
    names.map(async (name) => {
      // The audited cluster was described a moment ago; describing it again would only cost a call.
      if (name === targetName) return target;
      try {
        const output = await collector.call('eks:DescribeCluster', () =>
          collector.clients.eks.send(new DescribeClusterCommand({ name })),
        );
        return output.cluster === undefined ? undefined : plainJson(output.cluster);
      } catch (error) {
        if (errorCode(error) !== 'ResourceNotFoundException') collector.fail('accountClusters', error);
        return undefined;
      }
    }),
  );
  // A partial list would make the providers of the clusters left out look stale (A01): all or nothing.
  if (collector.failed('accountClusters')) return undefined;
  const collected = clusters.filter((cluster) => cluster !== undefined);
  cache.accountClusters.set(key, collected);
  return collected;
}

async function collectPodIdentityAssociations(
  collector: Collector,
  clusterName: string,
): Promise<readonly unknown[] | undefined> {
  const { eks } = collector.clients;
  const ids: string[] = [];
  try {
    let nextToken: string | undefined;
    do {
      const token = nextToken;
      const page = await collector.call('eks:ListPodIdentityAssociations', () =>
        eks.send(
          new ListPodIdentityAssociationsCommand({
            clusterName,
            maxResults: LIST_ASSOCIATIONS_PAGE_SIZE,
            ...(token === undefined ? {} : { nextToken: token }),
          }),
        ),
      );
      for (const summary of page.associations ?? []) {
        if (summary.associationId !== undefined) ids.push(summary.associationId);
      }
      nextToken = page.nextToken;
    } while (nextToken !== undefined && nextToken !== '');
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

function roleArnOfAssociation(association: unknown): string[] {
  const roleArn = stringMember(association, 'roleArn');
  return roleArn === undefined ? [] : [roleArn];
}

function stringMember(value: unknown, key: string): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const member = (value as Readonly<Record<string, unknown>>)[key];
  return typeof member === 'string' ? member : undefined;
}

/**
 * The wanted roles of the account with the fewest IAM calls, for an unknown number of roles in the account:
 * - one wanted role: GetRole (one call, never more than ListRoles);
 * - several: ListRoles pages of 1000, stopping as soon as every wanted role was seen; after each page, when
 *   the roles still missing are no more than the pages already read, GetRole each of them instead of paging
 *   on (a role that does not exist would otherwise cost every remaining page). This never costs more than
 *   twice the better of "one GetRole per role" and "every ListRoles page", and exactly that in the common
 *   cases: all wanted roles within the first 1000 (one call), or many wanted roles in a big account.
 * Roles of other accounts are not looked up (the engine reports S04); a role IAM does not know is simply
 * absent (S02). Role names are unique per account whatever the path, so a wrong path still finds the role (S03).
 */
async function collectRoles(
  collector: Collector,
  cache: RoleCache,
  accountId: string,
  roleArns: readonly string[],
): Promise<readonly unknown[]> {
  const names = [
    ...new Set(
      roleArns.flatMap((arn) => {
        const parsed = parseRoleArn(arn);
        return parsed.ok && parsed.value.accountId === accountId ? [parsed.value.name] : [];
      }),
    ),
  ];
  const pending = cache.complete ? [] : names.filter((name) => !cache.byName.has(name));
  const unresolved = pending.length > 1 ? await listRolesUntilFound(collector, cache, pending) : pending;
  await Promise.all(unresolved.map((name) => getRole(collector, cache, name)));
  return names.flatMap((name) => {
    const role = cache.byName.get(name);
    return role === undefined || role === null ? [] : [role];
  });
}

/** Pages ListRoles into the cache; returns the names still to fetch one by one. */
async function listRolesUntilFound(
  collector: Collector,
  cache: RoleCache,
  wanted: readonly string[],
): Promise<readonly string[]> {
  let pending = wanted;
  let marker: string | undefined;
  for (let pages = 1; ; pages += 1) {
    const from = marker;
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
      // A policy that grants iam:GetRole but not iam:ListRoles still lets the audit read every role.
      if (failureReason(error) === 'forbidden') return pending;
      collector.fail('roles', error);
      return [];
    }
    for (const role of page.Roles ?? []) {
      if (role.RoleName !== undefined) cache.byName.set(role.RoleName, plainJson(role));
    }
    pending = pending.filter((name) => !cache.byName.has(name));
    if (page.IsTruncated !== true || page.Marker === undefined) {
      // Every role of the account was listed: the ones not seen do not exist.
      cache.complete = true;
      for (const name of pending) cache.byName.set(name, null);
      return [];
    }
    if (pending.length <= pages) return pending;
    marker = page.Marker;
  }
}

async function getRole(collector: Collector, cache: RoleCache, name: string): Promise<void> {
  try {
    const output = await collector.call('iam:GetRole', () =>
      collector.clients.iam.send(new GetRoleCommand({ RoleName: name })),
    );
    cache.byName.set(name, output.Role === undefined ? null : plainJson(output.Role));
  } catch (error) {
    if (errorCode(error) === 'NoSuchEntityException') cache.byName.set(name, null);
    else collector.fail('roles', error);
  }
}

/** The value as JSON would carry it: Dates become ISO strings, undefined members disappear, no SDK `$metadata`. */
function plainJson(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value));
}
