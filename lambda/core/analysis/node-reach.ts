// Whether a pod can reach its node's IAM role through the instance metadata service (IMDS), from the node's
// metadata options (EC2 user guide, "Configure the instance metadata options"): what a pod without working
// IRSA or Pod Identity credentials falls back to, and how far a compromised pod reaches.

import type { InstanceProfile, NodeInstance, Pod } from '../model/cluster-state';

export type NodeReach =
  /** The nodes were not read, the pod is not scheduled, or its node is not among them. */
  | { readonly status: 'unknown' }
  | {
      readonly status: 'reachable' | 'blocked';
      readonly instance: NodeInstance;
      /** The role of the node's instance profile, when the profile was read. */
      readonly roleArn?: string;
      /** Why, in words: `IMDSv1 is allowed`, `IMDSv2 with a hop limit of 2`, ... */
      readonly why: string;
    };

/** The node's metadata options as far as pods on their own network see them (hostNetwork pods see more). */
function reachOf(
  instance: NodeInstance,
  hostNetwork: boolean,
): { reachable: boolean; why: string } | undefined {
  if (instance.httpEndpoint === 'disabled')
    return { reachable: false, why: 'the instance metadata service is disabled' };
  if (hostNetwork) return { reachable: true, why: 'the pod uses the host network' };
  // IMDSv1 GETs need no token, so the PUT response hop limit does not stop them.
  if (instance.httpTokens === 'optional')
    return { reachable: true, why: 'IMDSv1 is allowed (HttpTokens optional)' };
  if (instance.hopLimit === undefined || instance.httpTokens === undefined) return undefined;
  return instance.hopLimit >= 2
    ? { reachable: true, why: `IMDSv2 with a hop limit of ${instance.hopLimit} reaches the pod network` }
    : {
        reachable: false,
        why: 'IMDSv2 is required and the hop limit is 1, so the token never reaches the pod network',
      };
}

/** Indexes the nodes and their profiles once per audit. */
export class NodeIndex {
  private readonly byName: ReadonlyMap<string, NodeInstance>;
  private readonly profiles: ReadonlyMap<string, InstanceProfile>;

  constructor(
    instances: readonly NodeInstance[] | undefined,
    profiles: readonly InstanceProfile[] | undefined,
  ) {
    this.byName = new Map((instances ?? []).map((instance) => [instance.nodeName, instance]));
    this.profiles = new Map((profiles ?? []).map((profile) => [profile.arn, profile]));
  }

  /** The role of a node's instance profile, when it is known. */
  roleOf(instance: NodeInstance): string | undefined {
    const profile =
      instance.instanceProfileArn === undefined ? undefined : this.profiles.get(instance.instanceProfileArn);
    return profile?.roleArns[0];
  }

  reach(pod: Pod): NodeReach {
    const instance = pod.nodeName === undefined ? undefined : this.byName.get(pod.nodeName);
    if (instance === undefined) return { status: 'unknown' };
    const reach = reachOf(instance, pod.hostNetwork === true);
    if (reach === undefined) return { status: 'unknown' };
    const roleArn = this.roleOf(instance);
    return {
      status: reach.reachable ? 'reachable' : 'blocked',
      instance,
      ...(roleArn === undefined ? {} : { roleArn }),
      why: reach.why,
    };
  }
}

/** The end of a P01-style sentence: what the pod has instead of the credentials it was meant to get. */
export function fallbackClause(reach: NodeReach): string {
  if (reach.status === 'unknown') return "so it runs with the node's IAM role";
  const node = `node ${reach.instance.nodeName} (${reach.instance.instanceId})`;
  const role = reach.roleArn === undefined ? "the node's IAM role" : `the node's IAM role ${reach.roleArn}`;
  return reach.status === 'reachable'
    ? `so it runs with ${role}, which it can reach on ${node}: ${reach.why}`
    : `so it has no AWS credentials at all and its AWS calls fail loudly: ${role} is out of its reach on ${node}, as ${reach.why}`;
}
