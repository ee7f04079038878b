import type { AuditContext } from '../analysis/context';
import { ENV_POD_IDENTITY_URI, FINISHED_POD_PHASES } from '../analysis/eks-conventions';
import { fallbackClause } from '../analysis/node-reach';
import { howToRecreatePod } from '../analysis/remediation';
import type { Container, Pod } from '../model/cluster-state';
import type { Check, FindingDraft } from './check';

/** The EKS Pod Identity agent's link-local addresses (IPv4, and IPv6 clusters). */
const AGENT_ADDRESSES = ['169.254.170.23', 'fd00:ec2::23'] as const;
const PROXY_VARIABLES = ['HTTP_PROXY', 'HTTPS_PROXY', 'http_proxy', 'https_proxy'];
const NO_PROXY_VARIABLES = ['NO_PROXY', 'no_proxy'];
/** The label EKS puts on every Fargate pod; Fargate nodes are also named `fargate-...`. */
const FARGATE_PROFILE_LABEL = 'eks.amazonaws.com/fargate-profile';

const isFargate = (pod: Pod) =>
  pod.labels[FARGATE_PROFILE_LABEL] !== undefined || (pod.nodeName?.startsWith('fargate-') ?? false);

const literal = (container: Container, names: readonly string[]) =>
  container.env.filter((variable) => names.includes(variable.name) && variable.value !== undefined);

/** Whether the pod asks the agent for credentials: its SA has an association, or its env points at the agent. */
function usesAgent(context: AuditContext, pod: Pod): boolean {
  return (
    context.podIdentityAssociations(pod.namespace, pod.serviceAccountName).length > 0 ||
    pod.containers.some((container) =>
      container.env.some(
        (variable) =>
          variable.name === ENV_POD_IDENTITY_URI &&
          AGENT_ADDRESSES.some((address) => (variable.value ?? '').includes(address)),
      ),
    )
  );
}

/** The containers whose HTTP proxy would receive the SDK's requests to the agent. */
function proxiedContainers(pod: Pod): { container: Container; proxy: string; noProxy: string }[] {
  return pod.containers.flatMap((container) => {
    const proxies = literal(container, PROXY_VARIABLES);
    if (proxies.length === 0) return [];
    const noProxy = literal(container, NO_PROXY_VARIABLES)
      .map((variable) => variable.value ?? '')
      .join(',');
    const exempt = noProxy.split(',').map((entry) => entry.trim().replace(/^\[|\]$/g, ''));
    // `*` exempts every host; otherwise the IPv4 agent address must be listed (IPv6 clusters use the other).
    if (exempt.includes('*') || exempt.includes(AGENT_ADDRESSES[0])) return [];
    return [{ container, proxy: proxies.map((variable) => variable.name).join(', '), noProxy }];
  });
}

function fargateDraft(pod: Pod): FindingDraft {
  return {
    resource: { kind: 'Pod', namespace: pod.namespace, name: pod.name },
    key: 'fargate',
    message: `Pod ${pod.namespace}/${pod.name} runs on Fargate${pod.nodeName === undefined ? '' : ` (node ${pod.nodeName})`}, where EKS Pod Identity is not available: no Pod Identity agent serves it, so its ServiceAccount ${pod.serviceAccountName}'s association gives it no credentials.`,
    evidence: {
      nodeName: pod.nodeName ?? null,
      fargateProfile: pod.labels[FARGATE_PROFILE_LABEL] ?? null,
      serviceAccount: `${pod.namespace}/${pod.serviceAccountName}`,
    },
    remediation: `Use IRSA for workloads on Fargate (annotate ServiceAccount ${pod.namespace}/${pod.serviceAccountName} with eks.amazonaws.com/role-arn and trust the cluster's OIDC provider), or run the pod on EC2 nodes with the eks-pod-identity-agent add-on, then re-create it: ${howToRecreatePod(pod)}.`,
  };
}

function proxyDraft(
  context: AuditContext,
  pod: Pod,
  proxied: ReturnType<typeof proxiedContainers>,
): FindingDraft {
  const names = proxied.map(({ container }) => container.name);
  // The SDKs' default chain goes on to the instance metadata service when the container provider fails.
  const fallback = fallbackClause(context.nodes.reach(pod)).replace(/^so it /, 'so the pod ');
  return {
    resource: { kind: 'Pod', namespace: pod.namespace, name: pod.name },
    key: 'proxy',
    message: `Container ${names.join(', ')} of pod ${pod.namespace}/${pod.name} sets ${proxied[0]?.proxy} without ${AGENT_ADDRESSES[0]} in NO_PROXY${proxied[0]?.noProxy === '' ? '' : ` ("${proxied[0]?.noProxy}")`}, so the AWS SDK sends its credential requests for the EKS Pod Identity agent to the proxy, which cannot reach the node's link-local agent: the pod gets no Pod Identity credentials, ${fallback}.`,
    evidence: {
      containers: names,
      proxyVariables: [...new Set(proxied.map(({ proxy }) => proxy))],
      noProxy: proxied.map(({ noProxy }) => noProxy),
    },
    remediation: `Add ${AGENT_ADDRESSES[0]} (and [${AGENT_ADDRESSES[1]}] on an IPv6 cluster) to NO_PROXY and no_proxy of container ${names.join(', ')} in the pod's controller spec, then re-create the pod: ${howToRecreatePod(pod)}.`,
  };
}

/**
 * EKS Pod Identity credentials come from the agent on the pod's node, over the link-local address: a pod
 * where no agent serves it (Fargate) or whose proxy intercepts the request gets none.
 */
export const p08PodIdentityAgentReach: Check = {
  id: 'IRSA-P08',
  title: 'Every pod that uses EKS Pod Identity can reach the Pod Identity agent.',
  severity: 'high',
  remediation:
    'Run Pod Identity workloads where the agent runs (not Fargate), and exempt 169.254.170.23 and fd00:ec2::23 from HTTP proxies.',
  needs: ['pods'],
  *run(context: AuditContext) {
    for (const pod of context.state.pods) {
      if (!context.inScope(pod.namespace)) continue;
      // A finished pod (a completed Job's) holds no credentials and asks for none.
      if (pod.phase !== undefined && FINISHED_POD_PHASES.has(pod.phase)) continue;
      if (!usesAgent(context, pod)) continue;
      if (isFargate(pod)) {
        yield fargateDraft(pod);
        continue;
      }
      const proxied = proxiedContainers(pod);
      if (proxied.length > 0) yield proxyDraft(context, pod, proxied);
    }
  },
};
