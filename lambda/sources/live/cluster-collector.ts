// The one way every driver collects live clusters: single mode's scheduled run, organization mode's per-cluster
// step and the CLI. A collector belongs to one run: the clusters it collects share one AwsRunCache, so a run
// lists the region's clusters once, describes each once and reads each account's IAM once.

import type { ClusterSource } from '../../pipeline/run-audit';
import type { AwsClients } from '../aws/aws-clients';
import { AwsRunCache } from '../aws/collect-aws';
import type { KubeTarget } from '../kube/list-resources';
import { DEFAULT_PROBE_NAMESPACES } from '../kube/probe-webhook';
import type { SnapshotWriter } from '../snapshot/write-snapshot';
import { collectCluster } from './collect-cluster';

export interface ClusterCollectorOptions {
  readonly clients: AwsClients;
  /** A `k8s-aws-v1.` token for the cluster, signed as the caller its access entry maps. */
  readonly token: (clusterName: string) => Promise<string>;
  /** Reach the API server through this kubeconfig (and context) instead of the EKS endpoint (the CLI). */
  readonly kubeconfig?: { readonly path?: string; readonly context?: string };
  /** Probe the webhook with dry-run pods (IRSA-W07): true for the default number of namespaces, or a number. */
  readonly probe?: boolean | number;
  /** Only these namespaces are listed (server-side); all when absent. */
  readonly namespaces?: readonly string[];
  readonly snapshot?: SnapshotWriter;
  readonly onProgress?: (message: string) => void;
}

/** The clusters of one run: their names (ListClusters) and a source for each. */
export interface ClusterCollector {
  /** Every cluster of the clients' region, listed once per run. */
  readonly listClusters: () => Promise<readonly string[]>;
  readonly sourceFor: (clusterName: string) => ClusterSource;
}

/** A collector for one run; make a new one for the next run, so that nothing read is older than the run. */
export function clusterCollector(options: ClusterCollectorOptions): ClusterCollector {
  const { clients } = options;
  const cache = new AwsRunCache();
  const probeNamespaces =
    options.probe === undefined || options.probe === false
      ? undefined
      : options.probe === true
        ? DEFAULT_PROBE_NAMESPACES
        : options.probe;
  return {
    listClusters: () => cache.clusterNames(clients),
    sourceFor: (clusterName) => ({
      label: clusterName,
      collect: () =>
        collectCluster({
          clusterName,
          clients,
          cache,
          kubeTarget: ({ endpoint, caData }): KubeTarget =>
            options.kubeconfig !== undefined
              ? { kind: 'kubeconfig', ...options.kubeconfig }
              : {
                  kind: 'eks',
                  clusterName,
                  endpoint: endpoint ?? '',
                  caData: caData ?? '',
                  token: () => options.token(clusterName),
                },
          ...(options.namespaces === undefined ? {} : { namespaces: options.namespaces }),
          ...(options.snapshot === undefined ? {} : { snapshot: options.snapshot }),
          ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
          ...(probeNamespaces === undefined ? {} : { probeNamespaces }),
        }),
    }),
  };
}
