// The normalised state of one EKS cluster and its account, as the checks see it.
// Sources (snapshot files, live APIs) parse untyped JSON into these readonly records once;
// nothing past the source edge handles raw Kubernetes or IAM JSON.

import type { TrustPolicy } from '../policy/trust-policy-document';

/** A parsed X.509 certificate: enough to compare by DER fingerprint and judge validity. */
export interface Certificate {
  readonly sha256Fingerprint: string;
  readonly subject: string;
  readonly issuer: string;
  readonly notBefore: string;
  readonly notAfter: string;
}

/** A base64 PEM bundle as found in a caBundle or the cluster CA field, parsed at the edge. */
export interface CertificateBundle {
  readonly certificates: readonly Certificate[];
  /** Why the bundle (or part of it) could not be read; absent when every block parsed. */
  readonly problem?: string;
  /** The number of base64 characters of the raw field, 0 when the field was empty or absent. */
  readonly rawLength: number;
}

/** The EKS cluster itself, from DescribeCluster. */
export interface ClusterInfo {
  readonly name: string;
  readonly arn?: string;
  readonly region?: string;
  readonly accountId?: string;
  readonly partition: string;
  /** The issuer URL exactly as EKS reports it, e.g. `https://oidc.eks.eu-west-1.amazonaws.com/id/ABC`. */
  readonly oidcIssuer?: string;
  readonly certificateAuthority: CertificateBundle;
  readonly version?: string;
  readonly status?: string;
  /** EKS Auto Mode (`computeConfig.enabled`): its nodes run the Pod Identity agent themselves. */
  readonly autoMode?: boolean;
}

/** Another cluster of the same account, known only to judge which OIDC providers are stale. */
export interface AccountCluster {
  readonly name: string;
  readonly region?: string;
  readonly oidcIssuer?: string;
}

/** An IAM OIDC identity provider. */
export interface OidcProvider {
  readonly arn: string;
  /** The provider URL as IAM stores it (without `https://`). */
  readonly url: string;
  readonly clientIds: readonly string[];
  readonly thumbprints: readonly string[];
}

/** An IAM role with its trust policy, parsed; a policy that could not be parsed keeps the reason. */
export interface IamRole {
  readonly arn: string;
  readonly name: string;
  readonly path: string;
  readonly accountId: string;
  readonly trustPolicy?: TrustPolicy;
  readonly trustPolicyError?: string;
  /** Characters of the trust policy JSON excluding whitespace, as IAM counts against its quota. */
  readonly trustPolicySize: number;
}

/**
 * A permissions policy of a role, inline (GetRolePolicy) or attached (the default version of a managed policy):
 * read only for the roles of Pod Identity associations with a target role, whose identity policy must allow
 * assuming it.
 */
export interface RolePolicy {
  readonly roleName: string;
  readonly policyName: string;
  /** The managed policy's ARN; absent for an inline policy. */
  readonly policyArn?: string;
  readonly document?: TrustPolicy;
  /** Why the document could not be parsed. */
  readonly documentError?: string;
}

export type Labels = Readonly<Record<string, string>>;

/** A Kubernetes ServiceAccount, reduced to what the audit needs. */
export interface ServiceAccount {
  readonly namespace: string;
  readonly name: string;
  readonly annotations: Labels;
  readonly creationTimestamp?: string;
}

/** An environment variable of a container: its literal value, or where it comes from. */
export interface EnvVar {
  readonly name: string;
  readonly value?: string;
  /** `secretKeyRef`, `configMapKeyRef`, `fieldRef`, `resourceFieldRef` when not a literal. */
  readonly valueFrom?: string;
}

/** An `envFrom` source of a container: every key of a Secret or ConfigMap becomes a variable. */
export interface EnvFromSource {
  readonly kind: 'Secret' | 'ConfigMap';
  readonly name: string;
  readonly prefix?: string;
}

export interface VolumeMount {
  readonly name: string;
  readonly mountPath: string;
  readonly readOnly: boolean;
}

export interface Container {
  readonly name: string;
  readonly kind: 'container' | 'initContainer';
  readonly env: readonly EnvVar[];
  readonly envFrom: readonly EnvFromSource[];
  readonly volumeMounts: readonly VolumeMount[];
}

/** A projected service-account-token source inside a pod volume. */
export interface ProjectedTokenVolume {
  readonly volumeName: string;
  readonly audience?: string;
  readonly expirationSeconds?: number;
  readonly path: string;
}

export interface OwnerReference {
  readonly kind: string;
  readonly name: string;
}

/** A Kubernetes Pod, reduced to what the audit needs: never the whole object. */
export interface Pod {
  readonly namespace: string;
  readonly name: string;
  readonly serviceAccountName: string;
  readonly labels: Labels;
  readonly annotations: Labels;
  readonly creationTimestamp?: string;
  readonly phase?: string;
  readonly owner?: OwnerReference;
  /** `spec.nodeName`: where the pod was scheduled (`fargate-...` on Fargate); absent while pending. */
  readonly nodeName?: string;
  /** `spec.hostNetwork`: the pod shares the node's network, and reaches its instance metadata directly. */
  readonly hostNetwork?: boolean;
  /** The `Ready` condition of `status.conditions` is `True`; absent when the pod reports no such condition. */
  readonly ready?: boolean;
  readonly containers: readonly Container[];
  readonly tokenVolumes: readonly ProjectedTokenVolume[];
}

export interface LabelSelectorRequirement {
  readonly key: string;
  readonly operator: string;
  readonly values: readonly string[];
}

/** A Kubernetes label selector; an absent selector matches everything. */
export interface LabelSelector {
  readonly matchLabels: Labels;
  readonly matchExpressions: readonly LabelSelectorRequirement[];
}

export interface RuleWithOperations {
  readonly operations: readonly string[];
  readonly apiGroups: readonly string[];
  readonly apiVersions: readonly string[];
  readonly resources: readonly string[];
  readonly scope?: string;
}

/** One webhook entry of a MutatingWebhookConfiguration. */
export interface MutatingWebhook {
  readonly name: string;
  readonly caBundle: CertificateBundle;
  /** `service` namespace/name/path, or `url`, for display only. */
  readonly endpoint: string;
  readonly rules: readonly RuleWithOperations[];
  readonly namespaceSelector?: LabelSelector;
  readonly objectSelector?: LabelSelector;
  readonly failurePolicy: string;
  readonly reinvocationPolicy?: string;
}

export interface MutatingWebhookConfiguration {
  readonly name: string;
  readonly webhooks: readonly MutatingWebhook[];
  readonly creationTimestamp?: string;
}

export interface Namespace {
  readonly name: string;
  readonly labels: Labels;
}

/** A Kubernetes Node, reduced to where it runs and whether a Pod Identity agent can serve it. */
export interface KubeNode {
  readonly name: string;
  /** The `kubernetes.io/os` label (or `status.nodeInfo.operatingSystem`): `linux`, `windows`. */
  readonly os?: string;
  /** The `eks.amazonaws.com/compute-type` label: `hybrid`, `auto` (EKS Auto Mode), `fargate`; absent on EC2 nodes. */
  readonly computeType?: string;
}

/** A DaemonSet of kube-system: whether the Pod Identity agent's DaemonSets are installed, and how many pods are Ready. */
export interface DaemonSet {
  readonly namespace: string;
  readonly name: string;
  readonly desiredNumberScheduled?: number;
  readonly numberReady?: number;
}

/** An EKS Pod Identity association (DescribePodIdentityAssociation's `association`). */
export interface PodIdentityAssociation {
  readonly associationId: string;
  readonly associationArn?: string;
  readonly namespace: string;
  readonly serviceAccount: string;
  /** The role EKS assumes as pods.eks.amazonaws.com; in the cluster's account (IAM PassRole). */
  readonly roleArn: string;
  /**
   * A role EKS then assumes with the first role's credentials (role chaining, often cross-account): the
   * first role needs an identity policy allowing sts:AssumeRole (and sts:TagSession) on it, and its trust
   * must admit the first role.
   */
  readonly targetRoleArn?: string;
  /** The `sts:ExternalId` EKS passes when it assumes the target role. */
  readonly externalId?: string;
  /** When true, EKS tags no session: a trust condition on `aws:RequestTag/...` can never match. */
  readonly disableSessionTags?: boolean;
  /** The session policy EKS passes (it can only narrow the role's permissions). */
  readonly policy?: string;
  /** Set when an EKS add-on owns the association: it is changed with `aws eks update-addon`, not directly. */
  readonly ownerArn?: string;
  readonly createdAt?: string;
  readonly modifiedAt?: string;
}

/** The cluster's `eks-pod-identity-agent` add-on (DescribeAddon), which runs the agent on EC2 nodes. */
export interface AgentAddon {
  /** False when DescribeAddon answered ResourceNotFoundException: the add-on is not installed. */
  readonly installed: boolean;
  /** ACTIVE, CREATING, UPDATING, DEGRADED, CREATE_FAILED, ... */
  readonly status?: string;
  readonly version?: string;
  /** `health.issues`, each as `code: message`. */
  readonly issues: readonly string[];
}

/** An EC2 instance that is a node of the cluster (DescribeInstances), as far as pods can reach its role. */
export interface NodeInstance {
  readonly instanceId: string;
  /** `PrivateDnsName`: the name of the node on EKS, and a pod's `spec.nodeName`. */
  readonly nodeName: string;
  /** `MetadataOptions.HttpTokens`: `required` (IMDSv2 only) or `optional` (IMDSv1 allowed). */
  readonly httpTokens?: string;
  /** `MetadataOptions.HttpPutResponseHopLimit`: 1 keeps IMDSv2 tokens from reaching pods on their own network. */
  readonly hopLimit?: number;
  /** `MetadataOptions.HttpEndpoint`: `disabled` turns the instance metadata service off. */
  readonly httpEndpoint?: string;
  readonly instanceProfileArn?: string;
}

/** An IAM instance profile (GetInstanceProfile / ListInstanceProfiles): the role a node's credentials are. */
export interface InstanceProfile {
  readonly arn: string;
  readonly roleArns: readonly string[];
}

/** IAM's quotas of the cluster's account, from GetAccountSummary's SummaryMap. */
export interface AccountQuotas {
  /** The largest trust policy IAM accepts, in characters without whitespace (2,048 by default, up to 8,192). */
  readonly assumeRolePolicySizeQuota?: number;
}

/** The result of a dry-run pod create with an IRSA ServiceAccount: the live webhook probe (IRSA-W07). */
export interface WebhookProbe {
  readonly namespace: string;
  readonly serviceAccount: string;
  readonly roleArn: string;
  /** `mutated`: the API server returned the pod with credentials injected; `rejected`: the create failed. */
  readonly outcome: 'mutated' | 'not-mutated' | 'rejected';
  /** What the returned pod lacks, e.g. `env AWS_ROLE_ARN in container probe`, `volume aws-iam-token`. */
  readonly missing: readonly string[];
  /** The API server's message when the create was rejected. */
  readonly detail?: string;
}

/** The kinds of input a check can depend on; a collection error names one of them. */
export type ResourceType =
  | 'cluster'
  | 'oidcProviders'
  | 'roles'
  | 'serviceAccounts'
  | 'pods'
  | 'mutatingWebhookConfigurations'
  | 'namespaces'
  | 'podIdentityAssociations'
  | 'accountClusters'
  | 'accountQuotas'
  | 'nodeInstances'
  | 'instanceProfiles'
  | 'podIdentityAgentAddon'
  | 'nodes'
  | 'daemonSets'
  | 'rolePolicies'
  | 'webhookProbes';

/** What the audit lists from the API server: none of it can be read when the cluster cannot be reached. */
export const KUBERNETES_RESOURCES = [
  'serviceAccounts',
  'pods',
  'mutatingWebhookConfigurations',
  'namespaces',
  'nodes',
  'daemonSets',
] as const satisfies readonly ResourceType[];

/** A resource type that could not be read (403, throttling, unreachable cluster). */
export interface CollectionError {
  readonly resource: ResourceType | 'cluster-connection';
  readonly reason: string;
  readonly message: string;
  /** AWS throttled the call beyond the SDK's retries: it says nothing about the cluster, a later try may pass. */
  readonly throttled?: boolean;
  /**
   * What fixes it, when the collector knows better than the generic advice of the reason (a member role that
   * could not be assumed is fixed in the member account, not on the API server); IRSA-X01 uses it as is.
   */
  readonly remediation?: string;
}

/** A single object that was skipped because it did not have the expected shape. */
export interface MalformedObject {
  readonly source: string;
  readonly kind: string;
  readonly namespace?: string;
  readonly name: string;
  readonly path: string;
  readonly problem: string;
}

/**
 * Everything known about one cluster and its account. Optional collections are `undefined` when
 * they were not collected ("unknown"), which is different from an empty list ("none exist").
 */
/**
 * What a source could collect of a cluster: nothing (the collection timed out or failed, DescribeCluster failed, the
 * role that reads the account could not be used), the AWS side only (the cluster was described, its API server
 * could not be used), or everything it was asked for (single resource types may still be missing: IRSA-X02).
 */
export type Collection = 'none' | 'aws-only' | 'full';

export interface ClusterState {
  readonly cluster: ClusterInfo;
  readonly collected: Collection;
  readonly oidcProviders: readonly OidcProvider[];
  readonly roles: readonly IamRole[];
  /** The permissions policies of the association roles that chain to a target role; undefined when not read. */
  readonly rolePolicies?: readonly RolePolicy[];
  readonly serviceAccounts: readonly ServiceAccount[];
  readonly pods: readonly Pod[];
  readonly mutatingWebhookConfigurations: readonly MutatingWebhookConfiguration[];
  readonly namespaces?: readonly Namespace[];
  readonly podIdentityAssociations?: readonly PodIdentityAssociation[];
  readonly accountClusters?: readonly AccountCluster[];
  /** The cluster's Kubernetes nodes; undefined when they were not read. */
  readonly nodes?: readonly KubeNode[];
  /** The DaemonSets of kube-system (where the Pod Identity agent runs); undefined when they were not read. */
  readonly daemonSets?: readonly DaemonSet[];
  /** The eks-pod-identity-agent add-on; undefined when it was not read. */
  readonly podIdentityAgentAddon?: AgentAddon;
  /** The cluster's EC2 nodes; undefined when they were not read (then reachability of node roles is unknown). */
  readonly nodeInstances?: readonly NodeInstance[];
  /** The instance profiles of those nodes, for their roles. */
  readonly instanceProfiles?: readonly InstanceProfile[];
  /** The account's IAM quotas; undefined when they were not read (then IAM's defaults apply). */
  readonly accountQuotas?: AccountQuotas;
  /** Dry-run probes of the webhook; undefined when the probe did not run (offline, or without --probe). */
  readonly webhookProbes?: readonly WebhookProbe[];
  /** Accounts whose roles were collected; a role ARN in any other account cannot be verified. */
  readonly readableAccounts: readonly string[];
  readonly collectionErrors: readonly CollectionError[];
  readonly malformedObjects: readonly MalformedObject[];
}
