// Concrete remediations: the exact statement, annotation or command, with this cluster's values filled in.

import type { Pod } from '../model/cluster-state';
import { ROLE_ARN_ANNOTATION, WEB_IDENTITY_ACTION } from './eks-conventions';

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

/** The kubectl command that sets the role annotation of a ServiceAccount. */
export function annotateCommand(namespace: string, name: string, roleArn: string): string {
  return `kubectl annotate serviceaccount -n ${namespace} ${name} ${ROLE_ARN_ANNOTATION}=${roleArn} --overwrite`;
}

/** How to get a pod re-created (so the webhook sees a fresh CREATE), naming its controller where known. */
export function recreatePodCommand(pod: Pod): string {
  const owner = pod.owner;
  if (owner?.kind === 'ReplicaSet') {
    const deployment = owner.name.replace(/-[a-z0-9]{6,10}$/, '');
    return `kubectl rollout restart deployment -n ${pod.namespace} ${deployment}`;
  }
  if (owner?.kind === 'StatefulSet' || owner?.kind === 'DaemonSet') {
    return `kubectl rollout restart ${owner.kind.toLowerCase()} -n ${pod.namespace} ${owner.name}`;
  }
  return `kubectl delete pod -n ${pod.namespace} ${pod.name}`;
}
