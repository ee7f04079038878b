// Wires a live cluster source from what the user gave: a cluster name (EKS endpoint, CA and a token
// from the default AWS credential chain) or a kubeconfig (its context's cluster, AWS via the same chain).

import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import { KubeConfig } from '@kubernetes/client-node';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import type { ClusterSource } from '../../pipeline/run-audit';
import { createAwsClients } from '../aws/aws-clients';
import { EksTokenCache } from '../aws/eks-token';
import type { SnapshotWriter } from '../snapshot/write-snapshot';
import { clusterCollector } from './cluster-collector';

export interface LiveSourceOptions {
  readonly clusterName: string;
  readonly region: string;
  /** Every AWS client goes here instead of the AWS endpoints (emulators). */
  readonly endpoint?: string;
  /** Reach the API server through this kubeconfig (and context) instead of the EKS endpoint. */
  readonly kubeconfig?: { readonly path?: string; readonly context?: string };
  readonly namespaces?: readonly string[];
  readonly credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  readonly snapshot?: SnapshotWriter;
  readonly onProgress?: (message: string) => void;
  /** Probe the webhook with dry-run pods (IRSA-W07): true for the default number of namespaces, or a number. */
  readonly probe?: boolean | number;
}

/** A ClusterSource that collects one cluster live. */
export function liveClusterSource(options: LiveSourceOptions): ClusterSource {
  const credentials = options.credentials ?? fromNodeProviderChain();
  const clients = createAwsClients({
    region: options.region,
    credentials,
    ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
  });
  const tokens = new EksTokenCache({ credentials });
  return clusterCollector({
    clients,
    token: (clusterName) => tokens.token(clusterName, options.region),
    ...(options.kubeconfig === undefined ? {} : { kubeconfig: options.kubeconfig }),
    ...(options.namespaces === undefined ? {} : { namespaces: options.namespaces }),
    ...(options.snapshot === undefined ? {} : { snapshot: options.snapshot }),
    ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
    ...(options.probe === undefined ? {} : { probe: options.probe }),
  }).sourceFor(options.clusterName);
}

const EKS_CLUSTER_ARN = /^arn:aws[\w-]*:eks:([a-z0-9-]+):\d{12}:cluster\/(.+)$/;

/** The EKS cluster name and region behind a kubeconfig cluster entry named by its ARN (as `aws eks update-kubeconfig` writes it). */
export function eksClusterFromArn(
  value: string,
): { readonly name: string; readonly region: string } | undefined {
  const match = EKS_CLUSTER_ARN.exec(value);
  return match?.[1] === undefined || match[2] === undefined
    ? undefined
    : { region: match[1], name: match[2] };
}

/** The EKS cluster a kubeconfig context points at, when its cluster entry is named by the cluster ARN. */
export function eksClusterOfKubeconfig(
  path: string | undefined,
  context: string | undefined,
): { readonly name: string; readonly region: string } | undefined {
  const config = new KubeConfig();
  if (path === undefined) config.loadFromDefault();
  else config.loadFromFile(path);
  if (context !== undefined) config.setCurrentContext(context);
  const current = config.getContextObject(config.getCurrentContext());
  if (current === null) return undefined;
  const cluster = config.getCluster(current.cluster);
  return (
    eksClusterFromArn(current.cluster) ?? (cluster === null ? undefined : eksClusterFromArn(cluster.name))
  );
}
