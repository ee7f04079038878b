import type { AuditContext } from '../analysis/context';
import { ENV_POD_IDENTITY_URI, FINISHED_POD_PHASES, SYSTEM_NAMESPACE } from '../analysis/eks-conventions';
import { fallbackClause } from '../analysis/node-reach';
import { howToRecreatePod } from '../analysis/remediation';
import type { ClusterState, Container, DaemonSet, KubeNode, Pod } from '../model/cluster-state';
import type { Check, FindingDraft } from './check';

/** The EKS Pod Identity agent's link-local addresses (IPv4, and IPv6 clusters). */
const AGENT_ADDRESSES = ['169.254.170.23', 'fd00:ec2::23'] as const;
const PROXY_VARIABLES = ['HTTP_PROXY', 'HTTPS_PROXY', 'http_proxy', 'https_proxy'];
const NO_PROXY_VARIABLES = ['NO_PROXY', 'no_proxy'];
/** The label EKS puts on every Fargate pod; Fargate nodes are also named `fargate-...`. */
const FARGATE_PROFILE_LABEL = 'eks.amazonaws.com/fargate-profile';

/** The namespace and DaemonSets of the agent: the add-on's, and the one it adds for hybrid nodes (v1.3.3+). */
const AGENT_NAMESPACE = SYSTEM_NAMESPACE;
const AGENT_DAEMONSET = 'eks-pod-identity-agent';
const HYBRID_AGENT_DAEMONSET = 'eks-pod-identity-agent-hybrid';
/** The first add-on versions that run the agent on hybrid nodes (EKS user guide, "Configure add-ons for hybrid nodes"). */
const HYBRID_ADDON_VERSIONS = 'v1.3.3-eksbuild.1 or later (v1.3.7-eksbuild.2 or later on Bottlerocket)';

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

/** The agent's pods by node name, as far as the audit listed kube-system; undefined when it did not. */
type AgentPods = ReadonlyMap<string, readonly Pod[]> | undefined;

function agentPodsByNode(context: AuditContext): AgentPods {
  // A namespace-scoped audit without kube-system did not list the agent's pods.
  if (!context.inScope(AGENT_NAMESPACE)) return undefined;
  const byNode = new Map<string, Pod[]>();
  for (const pod of context.state.pods) {
    const agent =
      pod.namespace === AGENT_NAMESPACE &&
      pod.owner?.kind === 'DaemonSet' &&
      (pod.owner.name === AGENT_DAEMONSET || pod.owner.name === HYBRID_AGENT_DAEMONSET);
    if (!agent || pod.nodeName === undefined) continue;
    byNode.set(pod.nodeName, [...(byNode.get(pod.nodeName) ?? []), pod]);
  }
  return byNode;
}

const daemonSetNamed = (state: ClusterState, name: string): DaemonSet | undefined =>
  state.daemonSets?.find((daemonSet) => daemonSet.namespace === AGENT_NAMESPACE && daemonSet.name === name);

/**
 * Why the agent cannot serve a pod on its node, or undefined when it can or the audit cannot tell. The agent's
 * pods are judged only where the DaemonSets were read: a snapshot without them says nothing about the agent.
 */
function nodeDraft(
  context: AuditContext,
  pod: Pod,
  node: KubeNode | undefined,
  agents: AgentPods,
): FindingDraft | undefined {
  const { state } = context;
  const nodeName = pod.nodeName;
  if (nodeName === undefined) return undefined;
  // EKS Auto Mode nodes run the agent as part of the node, not as a DaemonSet pod.
  if (node?.computeType === 'auto' || state.cluster.autoMode === true) return undefined;
  if (node?.os === 'windows') return windowsDraft(context, pod, nodeName);
  // Without the add-on, IRSA-C05 says once for the whole cluster that nothing runs the agent.
  if (state.daemonSets === undefined || state.podIdentityAgentAddon?.installed === false) return undefined;
  const hybrid = node?.computeType === 'hybrid';
  const name = hybrid ? HYBRID_AGENT_DAEMONSET : AGENT_DAEMONSET;
  if (daemonSetNamed(state, name) === undefined) {
    return hybrid ? hybridDraft(context, pod, nodeName) : noAgentDraft(context, pod, nodeName);
  }
  if (agents === undefined) return undefined;
  const onNode = (agents.get(nodeName) ?? []).filter((agent) => agent.owner?.name === name);
  if (onNode.some((agent) => agent.ready === true)) return undefined;
  return noReadyAgentDraft(context, pod, nodeName, onNode, name);
}

function noAgentDraft(context: AuditContext, pod: Pod, nodeName: string): FindingDraft {
  const fallback = fallbackClause(context.nodes.reach(pod)).replace(/^so it /, 'so the pod ');
  return {
    resource: { kind: 'Pod', namespace: pod.namespace, name: pod.name },
    key: 'no-agent',
    message: `Pod ${pod.namespace}/${pod.name} uses EKS Pod Identity on node ${nodeName}, but ${AGENT_NAMESPACE} has no ${AGENT_DAEMONSET} DaemonSet, so no EKS Pod Identity agent runs on the cluster's nodes: its credential requests to ${AGENT_ADDRESSES[0]} fail, ${fallback}.`,
    evidence: { nodeName, daemonSet: `${AGENT_NAMESPACE}/${AGENT_DAEMONSET}` },
    remediation: `Install the agent: \`aws eks create-addon --cluster-name ${context.state.cluster.name} --addon-name eks-pod-identity-agent\`, then re-create the pod: ${howToRecreatePod(pod)}.`,
  };
}

function windowsDraft(context: AuditContext, pod: Pod, nodeName: string): FindingDraft {
  return {
    resource: { kind: 'Pod', namespace: pod.namespace, name: pod.name },
    key: 'windows',
    message: `Pod ${pod.namespace}/${pod.name} runs on Windows node ${nodeName}, where EKS Pod Identity is not available (the agent runs on Linux nodes only): its ServiceAccount ${pod.serviceAccountName}'s association gives it no credentials, ${fallbackClause(context.nodes.reach(pod)).replace(/^so it /, 'so the pod ')}.`,
    evidence: { nodeName, os: 'windows', serviceAccount: `${pod.namespace}/${pod.serviceAccountName}` },
    remediation: `Use IRSA for workloads on Windows nodes (annotate ServiceAccount ${pod.namespace}/${pod.serviceAccountName} with eks.amazonaws.com/role-arn and trust the cluster's OIDC provider), or schedule the pod on Linux nodes (nodeSelector kubernetes.io/os: linux), then re-create it: ${howToRecreatePod(pod)}.`,
  };
}

function hybridDraft(context: AuditContext, pod: Pod, nodeName: string): FindingDraft {
  const cluster = context.state.cluster.name;
  const addon = context.state.podIdentityAgentAddon;
  const version = addon?.version === undefined ? '' : ` (installed: ${addon.version})`;
  return {
    resource: { kind: 'Pod', namespace: pod.namespace, name: pod.name },
    key: 'hybrid',
    message: `Pod ${pod.namespace}/${pod.name} runs on hybrid node ${nodeName}, but ${AGENT_NAMESPACE} has no ${HYBRID_AGENT_DAEMONSET} DaemonSet, which runs the EKS Pod Identity agent on hybrid nodes: nothing serves the pod's credential requests, so its ServiceAccount ${pod.serviceAccountName}'s association gives it no credentials.`,
    evidence: {
      nodeName,
      computeType: 'hybrid',
      daemonSet: `${AGENT_NAMESPACE}/${HYBRID_AGENT_DAEMONSET}`,
      addonVersion: addon?.version ?? null,
    },
    remediation: `Update the eks-pod-identity-agent add-on${version} to ${HYBRID_ADDON_VERSIONS}, which adds the ${HYBRID_AGENT_DAEMONSET} DaemonSet: \`aws eks update-addon --cluster-name ${cluster} --addon-name eks-pod-identity-agent --addon-version <version>\` (\`aws eks describe-addon-versions --addon-name eks-pod-identity-agent\` lists them), then re-create the pod: ${howToRecreatePod(pod)}.`,
  };
}

function noReadyAgentDraft(
  context: AuditContext,
  pod: Pod,
  nodeName: string,
  onNode: readonly Pod[],
  daemonSet: string,
): FindingDraft {
  const state =
    onNode.length === 0
      ? `no ${daemonSet} pod runs there`
      : `its agent pod ${onNode.map((agent) => `${AGENT_NAMESPACE}/${agent.name}`).join(', ')} is not Ready`;
  const fallback = fallbackClause(context.nodes.reach(pod)).replace(/^so it /, 'so the pod ');
  return {
    resource: { kind: 'Pod', namespace: pod.namespace, name: pod.name },
    key: 'no-ready-agent',
    message: `Pod ${pod.namespace}/${pod.name} uses EKS Pod Identity on node ${nodeName}, where no EKS Pod Identity agent is Ready (${state}): its credential requests to ${AGENT_ADDRESSES[0]} fail, ${fallback}.`,
    evidence: {
      nodeName,
      daemonSet: `${AGENT_NAMESPACE}/${daemonSet}`,
      agentPods: onNode.map((agent) => ({
        name: agent.name,
        ready: agent.ready ?? null,
        phase: agent.phase ?? null,
      })),
    },
    remediation: `Find out why with \`kubectl -n ${AGENT_NAMESPACE} get pods -o wide --field-selector spec.nodeName=${nodeName}\` and \`kubectl -n ${AGENT_NAMESPACE} describe daemonset ${daemonSet}\` (a taint the DaemonSet does not tolerate, a node selector, IPv6 disabled on the node), fix the node or the DaemonSet until its pod on ${nodeName} is Ready, then re-create the pod: ${howToRecreatePod(pod)}.`,
  };
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
 * where no agent serves it (Fargate, Windows, a hybrid node without the hybrid DaemonSet, a node without a
 * Ready agent pod) or whose proxy intercepts the request gets none. EKS Auto Mode nodes have the agent built in.
 */
export const p08PodIdentityAgentReach: Check = {
  id: 'IRSA-P08',
  title: 'Every pod that uses EKS Pod Identity can reach the Pod Identity agent.',
  severity: 'high',
  remediation:
    'Run Pod Identity workloads where a Ready agent serves them (Linux EC2 nodes, hybrid nodes with the hybrid DaemonSet, EKS Auto Mode; not Fargate or Windows), and exempt 169.254.170.23 and fd00:ec2::23 from HTTP proxies.',
  needs: ['pods'],
  *run(context: AuditContext) {
    const nodes = new Map((context.state.nodes ?? []).map((node) => [node.name, node]));
    const agents = agentPodsByNode(context);
    for (const pod of context.state.pods) {
      if (!context.inScope(pod.namespace)) continue;
      // A finished pod (a completed Job's) holds no credentials and asks for none.
      if (pod.phase !== undefined && FINISHED_POD_PHASES.has(pod.phase)) continue;
      if (!usesAgent(context, pod)) continue;
      if (isFargate(pod)) {
        yield fargateDraft(pod);
        continue;
      }
      const onNode = nodeDraft(
        context,
        pod,
        pod.nodeName === undefined ? undefined : nodes.get(pod.nodeName),
        agents,
      );
      if (onNode !== undefined) {
        yield onNode;
        continue;
      }
      const proxied = proxiedContainers(pod);
      if (proxied.length > 0) yield proxyDraft(context, pod, proxied);
    }
  },
};
