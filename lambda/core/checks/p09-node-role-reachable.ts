import type { AuditContext } from '../analysis/context';
import { FINISHED_POD_PHASES, SYSTEM_NAMESPACE } from '../analysis/eks-conventions';
import type { NodeInstance, Pod } from '../model/cluster-state';
import type { Check, FindingDraft } from './check';

const MAX_LISTED = 20;

/**
 * A kube-system DaemonSet pod on the host network is one of the node's own agents (aws-node, kube-proxy, the
 * EKS Pod Identity agent, CSI node plugins): it runs on every node by design and is not a workload's reach.
 */
const isNodeAgent = (pod: Pod) =>
  pod.namespace === SYSTEM_NAMESPACE && pod.owner?.kind === 'DaemonSet' && pod.hostNetwork === true;

/**
 * The blast radius of every broken identity: a pod that can reach its node's instance metadata gets the node's
 * role whenever its own credentials fail (IRSA-P01), and a compromised pod gets it always. One finding per node,
 * naming its role and the pods that reach it (all of them, or the hostNetwork ones where IMDS is closed to pods).
 * The node's own agents (kube-system DaemonSets on the host network) are not counted.
 */
export const p09NodeRoleReachable: Check = {
  id: 'IRSA-P09',
  title: "Pods cannot reach their node's IAM role through the instance metadata service.",
  severity: 'medium',
  remediation:
    "Require IMDSv2 with a hop limit of 1 in the nodes' launch template (EKS best practices), and avoid hostNetwork for workloads.",
  needs: ['pods', 'nodeInstances'],
  *run(context: AuditContext) {
    const podsByNode = new Map<string, Pod[]>();
    for (const pod of context.state.pods) {
      if (!context.inScope(pod.namespace) || pod.nodeName === undefined) continue;
      if (pod.phase !== undefined && FINISHED_POD_PHASES.has(pod.phase)) continue;
      if (isNodeAgent(pod)) continue;
      const pods = podsByNode.get(pod.nodeName);
      if (pods === undefined) podsByNode.set(pod.nodeName, [pod]);
      else pods.push(pod);
    }
    for (const instance of context.state.nodeInstances ?? []) {
      const pods = podsByNode.get(instance.nodeName) ?? [];
      const reaching = pods.flatMap((pod) => {
        const reach = context.nodes.reach(pod);
        return reach.status === 'reachable' ? [{ pod, why: reach.why }] : [];
      });
      if (reaching.length === 0) continue;
      yield draftFor(context, instance, pods, reaching);
    }
  },
};

function draftFor(
  context: AuditContext,
  instance: NodeInstance,
  pods: readonly Pod[],
  reaching: readonly { readonly pod: Pod; readonly why: string }[],
): FindingDraft {
  const roleArn = context.nodes.roleOf(instance);
  const role = roleArn === undefined ? "the node's IAM role" : `IAM role ${roleArn}`;
  const all = reaching.length === pods.length;
  const reason = reaching[0]?.why ?? '';
  const names = reaching.slice(0, MAX_LISTED).map(({ pod }) => `${pod.namespace}/${pod.name}`);
  const more = reaching.length > MAX_LISTED ? ` and ${reaching.length - MAX_LISTED} more` : '';
  return {
    resource: { kind: 'Node', name: instance.nodeName },
    key: instance.instanceId,
    message: all
      ? `Every pod on node ${instance.nodeName} (${instance.instanceId}, ${reaching.length} running) can reach ${role} through the instance metadata service (${reason}): a pod whose own credentials break falls back to it, and any compromised pod can use it. Pods: ${names.join(', ')}${more}.`
      : `${reaching.length} of the ${pods.length} pods on node ${instance.nodeName} (${instance.instanceId}) use the host network and so reach ${role} through the instance metadata service, which is closed to the others: ${names.join(', ')}${more}.`,
    evidence: {
      instanceId: instance.instanceId,
      nodeRoleArn: roleArn ?? null,
      httpTokens: instance.httpTokens ?? null,
      hopLimit: instance.hopLimit ?? null,
      httpEndpoint: instance.httpEndpoint ?? null,
      pods: names,
      reachingPods: reaching.length,
      podsOnNode: pods.length,
    },
    remediation: all
      ? `Set the node group's launch template (or Karpenter EC2NodeClass metadataOptions) to httpTokens: required and httpPutResponseHopLimit: 1, or for this instance \`aws ec2 modify-instance-metadata-options --instance-id ${instance.instanceId} --http-tokens required --http-put-response-hop-limit 1\` (new nodes take the template's); pods that need AWS get it through IRSA or EKS Pod Identity instead.`
      : `Run ${names.join(', ')} without hostNetwork if they do not need it, or give the node a role with nothing beyond what EKS requires of nodes.`,
  };
}
