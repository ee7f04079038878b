// How the auditor reaches a Kubernetes API server: an EKS cluster's endpoint, CA and token, or a
// kubeconfig context. client-node owns config loading, credential plugins (exec, OIDC) and TLS options.

import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { KubeConfig, type User } from '@kubernetes/client-node';
import { errorText } from '../../core/error-text';

/** Where the API server is and how to authenticate to it. */
export type KubeTarget =
  | {
      readonly kind: 'eks';
      readonly clusterName: string;
      /** `cluster.endpoint` from DescribeCluster. */
      readonly endpoint: string;
      /** `cluster.certificateAuthority.data`: base64 of the CA's PEM. */
      readonly caData: string;
      /** A current `k8s-aws-v1.` token; called before every request, so it may refresh (and should cache). */
      readonly token: () => Promise<string>;
    }
  | { readonly kind: 'kubeconfig'; readonly path?: string; readonly context?: string };

/** A kubeconfig that cannot be used: missing file, bad YAML, or a context it does not define. */
export class KubeConfigError extends Error {
  constructor(
    readonly source: string,
    readonly problem: string,
  ) {
    super(`kubeconfig ${source}: ${problem}`);
    this.name = 'KubeConfigError';
  }
}

/** A KubeConfig for the target: built from the cluster's endpoint, CA data and token, or loaded from a kubeconfig file/context. */
export async function kubeConfigFor(target: KubeTarget): Promise<KubeConfig> {
  return target.kind === 'eks' ? eksConfig(target) : loadKubeconfig(target.path, target.context);
}

function eksConfig(target: Extract<KubeTarget, { kind: 'eks' }>): KubeConfig {
  const config = new KubeConfig();
  const userName = `irsa-auditor@${target.clusterName}`;
  config.loadFromOptions({
    clusters: [
      { name: target.clusterName, server: target.endpoint, caData: target.caData, skipTLSVerify: false },
    ],
    users: [{ name: userName }],
    contexts: [{ name: target.clusterName, cluster: target.clusterName, user: userName }],
    currentContext: target.clusterName,
  });
  // An authenticator rather than a fixed `user.token`: EKS tokens expire after 15 minutes, and one audit of a
  // large cluster (or a Lambda container reused between runs) can outlive the token it started with.
  config.addAuthenticator({
    isAuthProvider: (user: User) => user.name === userName,
    applyAuthentication: async (_user, options) => {
      const token = await target.token();
      options.headers = { ...options.headers, Authorization: `Bearer ${token}` };
    },
  });
  return config;
}

function loadKubeconfig(path: string | undefined, context: string | undefined): KubeConfig {
  const config = new KubeConfig();
  const fromEnvironment = (process.env.KUBECONFIG ?? '').split(delimiter).filter((file) => file !== '');
  const defaults = fromEnvironment.length > 0 ? fromEnvironment : [join(homedir(), '.kube', 'config')];
  const files = path === undefined ? defaults : [path];
  const source = files.join(delimiter);
  // client-node's loadFromDefault silently falls back to http://localhost:8080 when no file exists; an
  // audit must say that it found no kubeconfig instead of auditing whatever answers there.
  if (!files.some((file) => existsSync(file))) throw new KubeConfigError(source, 'no such file');
  try {
    if (path !== undefined) config.loadFromFile(path);
    else config.loadFromDefault();
  } catch (error) {
    throw new KubeConfigError(source, `cannot be read: ${errorText(error)}`);
  }
  if (context !== undefined) {
    if (config.getContextObject(context) === null) {
      const known = config.getContexts().map((candidate) => candidate.name);
      throw new KubeConfigError(
        source,
        `has no context "${context}" (contexts: ${known.length === 0 ? 'none' : known.join(', ')})`,
      );
    }
    config.setCurrentContext(context);
  }
  if (config.getCurrentCluster() === null)
    throw new KubeConfigError(source, `context "${config.getCurrentContext()}" names no known cluster`);
  return config;
}
