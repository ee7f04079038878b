// Collects one live cluster: DescribeCluster, then the Kubernetes lists (reduced page by page), then
// the IAM side for exactly the roles the ServiceAccounts name. Every failure becomes a CollectionError
// (IRSA-X01 for the connection, IRSA-X02 for one resource type); this function never throws for them.

import type { KubeConfig } from '@kubernetes/client-node';
import { SYSTEM_NAMESPACE } from '../../core/analysis/eks-conventions';
import { errorText } from '../../core/error-text';
import {
  type ClusterState,
  type CollectionError,
  KUBERNETES_RESOURCES,
} from '../../core/model/cluster-state';
import { parseRoleArn } from '../../core/policy/arn';
import { ClusterStateAssembler, type ListPart } from '../assemble-state';
import type { AwsClients } from '../aws/aws-clients';
import { failureReason } from '../aws/aws-errors';
import { type AwsCollection, AwsRunCache, collectAws } from '../aws/collect-aws';
import {
  KubeApiError,
  type KubeResource,
  type KubeTarget,
  kubeConfigFor,
  listPages,
} from '../kube/list-resources';
import { type ProbeCandidate, probeWebhook } from '../kube/probe-webhook';
import type { SnapshotWriter } from '../snapshot/write-snapshot';

const ROLE_ARN_ANNOTATION = 'eks.amazonaws.com/role-arn';
const NAMESPACED: ReadonlySet<KubeResource> = new Set(['serviceAccounts', 'pods']);
/** Where the EKS Pod Identity agent's DaemonSets run: the only DaemonSets the audit reads (a Role, not a ClusterRole). */
const AGENT_NAMESPACE = SYSTEM_NAMESPACE;
// These reasons mean the API server as a whole is out of reach: the other lists would fail the same way.
const CONNECTION_FAILURES: ReadonlySet<KubeApiError['reason']> = new Set([
  'unreachable',
  'tls',
  'unauthorized',
  'timeout',
]);

/** What DescribeCluster says about reaching the API server. */
export interface ClusterEndpoint {
  readonly endpoint?: string;
  readonly caData?: string;
}

export interface CollectClusterOptions {
  readonly clusterName: string;
  readonly clients: AwsClients;
  /** How to reach the API server: the EKS endpoint with a token, or a kubeconfig. */
  readonly kubeTarget: (endpoint: ClusterEndpoint) => KubeTarget;
  /** Only these namespaces are listed (server-side); all when empty. */
  readonly namespaces?: readonly string[];
  /** When given, every collected object is also written as a §3 snapshot. */
  readonly snapshot?: SnapshotWriter;
  /** Dry-run create a probe pod in up to this many namespaces with IRSA ServiceAccounts (IRSA-W07); off when absent. */
  readonly probeNamespaces?: number;
  readonly onProgress?: (message: string) => void;
  /** Shared by the clusters of one run: each account's IAM and the region's clusters are read once. */
  readonly cache?: AwsRunCache;
}

/** Collects one cluster's state from AWS and its API server. */
export async function collectCluster(options: CollectClusterOptions): Promise<ClusterState> {
  const { clusterName, clients, snapshot } = options;
  const progress = options.onProgress ?? (() => undefined);
  const source = (part: ListPart | 'cluster') => `${part} (live, ${clusterName})`;
  const assembler = new ClusterStateAssembler(source);

  progress(`${clusterName}: describing the cluster`);
  const cache = options.cache ?? new AwsRunCache();
  let cluster: Record<string, unknown>;
  try {
    cluster = ((await cache.describeCluster(clients, clusterName)) ?? {}) as Record<string, unknown>;
  } catch (error) {
    assembler.setCluster({ name: clusterName });
    assembler.failed({
      resource: 'cluster-connection',
      reason: 'describe-cluster',
      message: `DescribeCluster failed: ${errorText(error, { named: true })}`,
      ...(failureReason(error) === 'throttled' ? { throttled: true } : {}),
    });
    return assembler.build();
  }
  assembler.setCluster(cluster);
  await snapshot?.writeCluster(cluster);

  const candidates: ProbeCandidate[] = [];
  const endpoint = {
    ...(typeof cluster.endpoint === 'string' ? { endpoint: cluster.endpoint } : {}),
    ...(caDataOf(cluster) === undefined ? {} : { caData: caDataOf(cluster) }),
  };
  // IAM and EKS are read while the pods are still being listed: they need only the ServiceAccounts' roles.
  let awsCollection: Promise<AwsCollection> | undefined;
  const startAws = (kubernetesUnreadable: boolean) => {
    if (awsCollection !== undefined) return;
    progress(`${clusterName}: reading IAM and EKS`);
    const roleArns = [...new Set(candidates.map((candidate) => candidate.roleArn))];
    awsCollection = collectAws(clients, {
      clusterName,
      cluster,
      roleArns,
      cache,
      // Without the ServiceAccounts, the roles that trust the cluster's issuer are the ones to audit.
      ...(kubernetesUnreadable ? { rolesTrustingIssuer: true } : {}),
    });
    // Awaited below; without a handler now, a rejection while pods are still listed would be "unhandled".
    awsCollection.catch(() => undefined);
  };
  const config = await collectKubernetes(options, endpoint, assembler, candidates, progress, startAws);
  startAws(config === undefined);
  if (config !== undefined && options.probeNamespaces !== undefined && options.probeNamespaces > 0) {
    progress(`${clusterName}: probing the webhook with dry-run pods`);
    const result = await probeWebhook(config, candidates, { maxNamespaces: options.probeNamespaces });
    assembler.probed(result.probes);
    if (result.error !== undefined) assembler.failed(result.error);
  }
  const aws = await (awsCollection as Promise<AwsCollection>);
  const lists: [ListPart, readonly unknown[] | undefined][] = [
    ['oidcProviders', aws.oidcProviders],
    ['roles', aws.roles],
    ['rolePolicies', aws.rolePolicies],
    ['podIdentityAssociations', aws.podIdentityAssociations],
    ['accountClusters', aws.accountClusters],
    ['nodeInstances', aws.nodeInstances],
    ['instanceProfiles', aws.instanceProfiles],
  ];
  for (const [part, items] of lists) {
    if (items === undefined) continue;
    assembler.add(part, items);
    await snapshot?.writeList(part, items);
  }
  if (aws.podIdentityAgentAddon !== undefined) {
    assembler.setAgentAddon(aws.podIdentityAgentAddon, '$.podIdentityAgentAddon');
    await snapshot?.writeAgentAddon(aws.podIdentityAgentAddon);
  }
  if (aws.accountSummary !== undefined) {
    assembler.setAccountSummary(aws.accountSummary, '$.accountSummary');
    await snapshot?.writeAccountSummary(aws.accountSummary);
  }
  for (const error of aws.errors) assembler.failed(error);
  return assembler.build([aws.accountId]);
}

async function collectKubernetes(
  options: CollectClusterOptions,
  endpoint: ClusterEndpoint,
  assembler: ClusterStateAssembler,
  candidates: ProbeCandidate[],
  progress: (message: string) => void,
  afterServiceAccounts: (kubernetesUnreadable: boolean) => void,
): Promise<KubeConfig | undefined> {
  const { clusterName, snapshot } = options;
  const namespaces = options.namespaces ?? [];
  let config: KubeConfig;
  try {
    config = await kubeConfigFor(options.kubeTarget(endpoint));
  } catch (error) {
    assembler.failed({
      resource: 'cluster-connection',
      reason: 'kubeconfig',
      message: errorText(error, { named: true }),
    });
    return undefined;
  }
  let connectionFailed = false;
  // The lists are independent: they run at once (pods, the long one, sets the pace).
  const list = async (resource: KubeResource): Promise<void> => {
    const file = snapshot?.openList(resource);
    const scopes =
      resource === 'daemonSets'
        ? [AGENT_NAMESPACE]
        : NAMESPACED.has(resource) && namespaces.length > 0
          ? namespaces
          : [undefined];
    // A 410 Gone makes listPages start its own namespace over, but the assembler and the snapshot file can only
    // forget a whole resource: the namespaces listed before it would be lost. So the restart of any namespace
    // after the first starts every namespace over.
    const startOver = async () => {
      assembler.restart(resource);
      if (resource === 'serviceAccounts') candidates.length = 0;
      await file?.restart();
    };
    const listScopes = async () => {
      for (const [index, namespace] of scopes.entries()) {
        const pages = listPages(config, resource, {
          ...(namespace === undefined ? {} : { namespace }),
          onPage: (_resource, page, items) =>
            progress(`${clusterName}: ${resource} page ${page} (${items} items)`),
          onRestart: async () => {
            if (index > 0) throw new ScopesExpired(resource, namespace);
            await startOver();
          },
        });
        for await (const page of pages) {
          assembler.add(resource, page);
          if (resource === 'serviceAccounts') candidates.push(...annotatedIn(page));
          await file?.add(page);
        }
      }
    };
    try {
      for (let restarts = 0; ; restarts += 1) {
        try {
          await listScopes();
          break;
        } catch (error) {
          if (!(error instanceof ScopesExpired)) throw error;
          if (restarts >= MAX_SCOPE_RESTARTS)
            throw new KubeApiError(
              'error',
              resource,
              410,
              `the list of ${resource} in namespace ${error.namespace} expired while paging, ${restarts + 1} times; the namespaces change faster than they can be listed`,
            );
          await startOver();
        }
      }
      await file?.close();
    } catch (error) {
      await file?.close();
      const failure = kubeFailure(resource, error);
      assembler.failed(failure);
      if (failure.resource === 'cluster-connection') connectionFailed = true;
    }
  };
  await Promise.all(
    KUBERNETES_RESOURCES.map((resource) =>
      resource === 'serviceAccounts'
        ? list(resource).then(() => afterServiceAccounts(connectionFailed))
        : list(resource),
    ),
  );
  if (connectionFailed) return undefined;
  return config;
}

// As listPages' own restarts of one list: a cluster that expires every attempt is reported, not chased forever.
const MAX_SCOPE_RESTARTS = 3;

/** A namespace after the first had its list expire (410 Gone): every namespace is listed again. */
class ScopesExpired extends Error {
  override readonly name = 'ScopesExpired';
  constructor(
    readonly resource: KubeResource,
    readonly namespace: string | undefined,
  ) {
    super(`the list of ${resource} in namespace ${namespace} expired`);
  }
}

function kubeFailure(resource: KubeResource, error: unknown): CollectionError {
  if (error instanceof KubeApiError) {
    return CONNECTION_FAILURES.has(error.reason)
      ? { resource: 'cluster-connection', reason: error.reason, message: error.message }
      : { resource, reason: error.reason, message: error.message };
  }
  return { resource, reason: 'error', message: errorText(error, { named: true }) };
}

/** ServiceAccounts of a raw page that name a valid role: the only roles worth fetching, and the ones to probe. */
function annotatedIn(items: readonly unknown[]): ProbeCandidate[] {
  const annotated: ProbeCandidate[] = [];
  for (const item of items) {
    const metadata = (
      item as { metadata?: { name?: unknown; namespace?: unknown; annotations?: Record<string, unknown> } }
    ).metadata;
    const value = metadata?.annotations?.[ROLE_ARN_ANNOTATION];
    if (
      typeof value !== 'string' ||
      typeof metadata?.name !== 'string' ||
      typeof metadata.namespace !== 'string'
    )
      continue;
    const parsed = parseRoleArn(value);
    if (parsed.ok)
      annotated.push({ namespace: metadata.namespace, name: metadata.name, roleArn: parsed.value.arn });
  }
  return annotated;
}

function caDataOf(cluster: Record<string, unknown>): string | undefined {
  const authority = cluster.certificateAuthority as { data?: unknown } | undefined;
  return typeof authority?.data === 'string' ? authority.data : undefined;
}
