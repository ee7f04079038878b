// What EKS Pod Identity presents to STS for an association, and how an association is changed: shared by the
// Pod Identity checks (IRSA-S13, IRSA-S15). EKS user guide: "pod-id-role", "pod-id-abac" (session tags) and
// "pod-id-assign-target-role" (role chaining to a target role).

import type { ClusterState, PodIdentityAssociation } from '../model/cluster-state';
import { accountOfArn } from '../policy/arn';
import { POD_IDENTITY_SERVICE } from './eks-conventions';

/** The session tags EKS Pod Identity sets on every session unless the association disables them. */
export const SESSION_TAG_KEYS = [
  'eks-cluster-arn',
  'eks-cluster-name',
  'kubernetes-namespace',
  'kubernetes-service-account',
  'kubernetes-pod-name',
  'kubernetes-pod-uid',
] as const;

/** The trust statement EKS documents for a Pod Identity role. */
export const POD_IDENTITY_TRUST = `{"Effect":"Allow","Principal":{"Service":"${POD_IDENTITY_SERVICE}"},"Action":["sts:AssumeRole","sts:TagSession"]}`;

/** Whether EKS tags the association's sessions (the default). */
export const tagsSessions = (association: PodIdentityAssociation) => association.disableSessionTags !== true;

/** The actions EKS calls on a role of the association: AssumeRole, and TagSession unless tags are disabled. */
export function requiredActions(association: PodIdentityAssociation): readonly string[] {
  return tagsSessions(association) ? ['sts:AssumeRole', 'sts:TagSession'] : ['sts:AssumeRole'];
}

/** The account of the cluster, from its ARN when the state does not say. */
export function clusterAccount(state: ClusterState): string | undefined {
  const { cluster } = state;
  const account = cluster.accountId ?? (cluster.arn === undefined ? undefined : accountOfArn(cluster.arn));
  return account === '' ? undefined : account;
}

/** Who EKS Pod Identity asks STS for: a cluster's association of one ServiceAccount. */
export interface PodIdentitySession {
  readonly clusterArn?: string;
  readonly clusterName: string;
  readonly accountId?: string;
  readonly namespace: string;
  readonly serviceAccount: string;
  /** Whether EKS tags the session (not when the association sets disableSessionTags). */
  readonly tagged: boolean;
}

function sessionOf(state: ClusterState, association: PodIdentityAssociation): PodIdentitySession {
  const accountId = clusterAccount(state);
  return {
    ...(state.cluster.arn === undefined ? {} : { clusterArn: state.cluster.arn }),
    clusterName: state.cluster.name,
    ...(accountId === undefined ? {} : { accountId }),
    namespace: association.namespace,
    serviceAccount: association.serviceAccount,
    tagged: tagsSessions(association),
  };
}

/** The session tags EKS sets, by tag: pod name and UID differ per pod and stay absent. */
function sessionTags(session: PodIdentitySession): [string, string[]][] {
  const tags: readonly (readonly [string, string | undefined])[] = [
    ['eks-cluster-arn', session.clusterArn],
    ['eks-cluster-name', session.clusterName],
    ['kubernetes-namespace', session.namespace],
    ['kubernetes-service-account', session.serviceAccount],
  ];
  return tags.flatMap(([tag, value]): [string, string[]][] => (value === undefined ? [] : [[tag, [value]]]));
}

/** `aws:TagKeys` and `aws:RequestTag/<tag>` of a tagged session; nothing for an untagged one. */
function requestTagEntries(session: PodIdentitySession): [string, readonly string[]][] {
  if (!session.tagged) return [];
  return [
    ['aws:TagKeys', [...SESSION_TAG_KEYS]],
    ...sessionTags(session).map(([tag, values]): [string, string[]] => [`aws:RequestTag/${tag}`, values]),
  ];
}

/** The request context STS sees when EKS assumes a session's role as pods.eks.amazonaws.com. */
export function firstHopContext(session: PodIdentitySession): ReadonlyMap<string, readonly string[]> {
  const entries = requestTagEntries(session);
  if (session.accountId !== undefined) entries.push(['aws:SourceAccount', [session.accountId]]);
  if (session.clusterArn !== undefined) entries.push(['aws:SourceArn', [session.clusterArn]]);
  return new Map(entries);
}

/** The request context STS sees when EKS assumes the association's role as pods.eks.amazonaws.com. */
export function podIdentityRequestContext(
  state: ClusterState,
  association: PodIdentityAssociation,
): ReadonlyMap<string, readonly string[]> {
  return firstHopContext(sessionOf(state, association));
}

/**
 * The external ID EKS passes to the target role: the association's own (DescribePodIdentityAssociation
 * returns it), else the form EKS gives it, `<region>/<account>/<cluster>/<namespace>/<service account>`.
 */
export function externalIdOf(state: ClusterState, association: PodIdentityAssociation): string | undefined {
  if (association.externalId !== undefined) return association.externalId;
  const accountId = clusterAccount(state);
  const { region, name } = state.cluster;
  if (accountId === undefined || region === undefined || region === '') return undefined;
  return `${region}/${accountId}/${name}/${association.namespace}/${association.serviceAccount}`;
}

/**
 * The request context of the second hop: the association's role, as itself, assumes the target role with the
 * external ID, and (unless disabled) the session tags, which EKS passes on as transitive tags.
 */
export function targetRequestContext(
  state: ClusterState,
  association: PodIdentityAssociation,
): ReadonlyMap<string, readonly string[]> {
  const session = sessionOf(state, association);
  const entries: [string, readonly string[]][] = [
    ...requestTagEntries(session),
    // Transitive tags: the second hop's principal carries the first session's tags.
    ...(session.tagged
      ? sessionTags(session).map(([tag, values]): [string, string[]] => [`aws:PrincipalTag/${tag}`, values])
      : []),
    ['aws:PrincipalArn', [association.roleArn]],
  ];
  const principalAccount = accountOfArn(association.roleArn);
  if (principalAccount !== undefined) entries.push(['aws:PrincipalAccount', [principalAccount]]);
  const externalId = externalIdOf(state, association);
  if (externalId !== undefined) entries.push(['sts:ExternalId', [externalId]]);
  return new Map(entries);
}

/** The add-on that owns the association (`ownerArn` arn:aws:eks:<region>:<account>:addon/<cluster>/<name>/<id>). */
export function owningAddon(association: PodIdentityAssociation): string | undefined {
  if (association.ownerArn === undefined) return undefined;
  const [, kind, , addon] =
    /^arn:[^:]+:eks:[^:]*:[^:]*:(addon)\/([^/]+)\/([^/]+)/.exec(association.ownerArn) ?? [];
  return kind === 'addon' ? addon : undefined;
}

/**
 * The command that points the association at other roles: `update-pod-identity-association`, or for an
 * association an EKS add-on owns (which EKS refuses to change directly), `update-addon`.
 */
export function updateAssociationCommand(
  state: ClusterState,
  association: PodIdentityAssociation,
  roleArn: string,
  targetRoleArn?: string,
): string {
  const cluster = state.cluster.name;
  const addon = owningAddon(association);
  if (addon !== undefined)
    return `aws eks update-addon --cluster-name ${cluster} --addon-name ${addon} --pod-identity-associations serviceAccount=${association.serviceAccount},roleArn=${roleArn}`;
  return `aws eks update-pod-identity-association --cluster-name ${cluster} --association-id ${association.associationId} --role-arn ${roleArn}${targetRoleArn === undefined ? '' : ` --target-role-arn ${targetRoleArn}`}`;
}

/** The association as a finding resource. */
export function associationResource(association: PodIdentityAssociation) {
  return {
    kind: 'PodIdentityAssociation',
    namespace: association.namespace,
    name: association.associationId,
  } as const;
}
