// Concrete remediations: the exact statement, annotation or command, with this cluster's values filled in.

import type { OwnerReference, Pod } from '../model/cluster-state';
import { POD_TEMPLATE_HASH_LABEL, ROLE_ARN_ANNOTATION, WEB_IDENTITY_ACTION } from './eks-conventions';

/** The trust-policy statement that lets one ServiceAccount assume a role through this cluster's provider. */
export function webIdentityStatement(
  providerArn: string,
  issuer: string,
  subject: string,
  audience: string,
): string {
  const statement = {
    Effect: 'Allow',
    Principal: { Federated: providerArn },
    Action: WEB_IDENTITY_ACTION,
    Condition: { StringEquals: { [`${issuer}:sub`]: subject, [`${issuer}:aud`]: audience } },
  };
  return JSON.stringify(statement);
}

/** Adds the statement to the role, as a person would do it from a shell. */
export function addStatementRemediation(
  roleName: string,
  providerArn: string,
  issuer: string,
  subject: string,
  audience: string,
  /** A first, more targeted fix (one sentence); the statement is then offered as the alternative. */
  targetedFix?: string,
): string {
  return (
    `${targetedFix === undefined ? 'Add' : `${targetedFix} Or add`} this statement to the trust policy of role ${roleName} ` +
    `(\`aws iam update-assume-role-policy --role-name ${roleName} --policy-document file://trust.json\`): ` +
    `${webIdentityStatement(providerArn, issuer, subject, audience)}.`
  );
}

/** The patch that puts the cluster CA into a webhook's caBundle; `add` also works when caBundle is absent. */
export function caBundlePatchCommand(
  configurationName: string,
  webhookIndex: number,
  clusterName: string,
): string {
  return `kubectl patch mutatingwebhookconfiguration ${configurationName} --type json -p "[{\\"op\\":\\"add\\",\\"path\\":\\"/webhooks/${webhookIndex}/clientConfig/caBundle\\",\\"value\\":\\"$(aws eks describe-cluster --name ${clusterName} --query cluster.certificateAuthority.data --output text)\\"}]"`;
}

/** The kubectl command that sets the role annotation of a ServiceAccount. */
export function annotateCommand(namespace: string, name: string, roleArn: string): string {
  return `kubectl annotate serviceaccount -n ${namespace} ${name} ${ROLE_ARN_ANNOTATION}=${roleArn} --overwrite`;
}

// The CronJob controller names each Job `<cronjob>-<scheduled time in minutes since the epoch>`
// (cronjob_controllerv2.go getJobName; 8 digits since 1989), seconds in controllers before 1.21.
const CRONJOB_JOB_NAME = /^(.+)-(\d{8,})$/;

/**
 * The controller whose pod template a pod comes from, as far as the pod itself tells: a Deployment
 * (through its ReplicaSet), a CronJob (through a Job named like one of its runs), or the pod's own
 * owner; undefined for a pod that nothing owns.
 */
export function podController(pod: Pod): OwnerReference | undefined {
  const owner = pod.owner;
  if (owner?.kind === 'ReplicaSet') {
    // A Deployment names its ReplicaSet `<deployment>-<hash>` and labels the pods with the hash; a
    // ReplicaSet without that label belongs to something else (Argo Rollouts labels
    // rollouts-pod-template-hash) or to nothing.
    const hash = pod.labels[POD_TEMPLATE_HASH_LABEL];
    if (hash !== undefined && hash !== '' && owner.name.endsWith(`-${hash}`)) {
      return { kind: 'Deployment', name: owner.name.slice(0, -(hash.length + 1)) };
    }
    return owner;
  }
  if (owner?.kind === 'Job') {
    const cronJob = CRONJOB_JOB_NAME.exec(owner.name)?.[1];
    if (cronJob !== undefined) return { kind: 'CronJob', name: cronJob };
  }
  return owner;
}

/**
 * How to get a pod re-created so that the webhook sees a fresh CREATE, for its controller: the
 * command in backticks, and what to expect where deleting the pod is not the obvious answer.
 */
export function howToRecreatePod(pod: Pod): string {
  const { namespace } = pod;
  const deletePod = `\`kubectl delete pod -n ${namespace} ${pod.name}\``;
  const controller = podController(pod);
  if (controller === undefined) {
    return `delete it and create it again from its manifest in one step, \`kubectl replace --force -f <manifest of pod ${pod.name}>\` (nothing re-creates a pod without an owner, so \`kubectl delete pod\` alone would remove it for good)`;
  }
  switch (controller.kind) {
    case 'Deployment':
    case 'StatefulSet':
    case 'DaemonSet':
      return `\`kubectl rollout restart ${controller.kind.toLowerCase()} -n ${namespace} ${controller.name}\``;
    case 'CronJob':
      return `the next scheduled run of CronJob ${controller.name} (Job ${pod.owner?.name} is named like one of its runs) is mutated when it starts, or start one now with \`kubectl create job -n ${namespace} --from=cronjob/${controller.name} ${controller.name}-manual\``;
    case 'Job':
      return `${deletePod}, and Job ${controller.name} starts a new pod if it has not completed`;
    default:
      return `${deletePod}, and its ${controller.kind} ${controller.name} re-creates it`;
  }
}
