// The names EKS and the pod identity webhook use, in one place (SPEC §1).

export const ROLE_ARN_ANNOTATION = 'eks.amazonaws.com/role-arn';
export const AUDIENCE_ANNOTATION = 'eks.amazonaws.com/audience';
export const TOKEN_EXPIRATION_ANNOTATION = 'eks.amazonaws.com/token-expiration';
export const STS_REGIONAL_ENDPOINTS_ANNOTATION = 'eks.amazonaws.com/sts-regional-endpoints';
export const SKIP_WEBHOOK_LABEL = 'eks.amazonaws.com/skip-pod-identity-webhook';
export const SKIP_CONTAINERS_ANNOTATION = 'eks.amazonaws.com/skip-containers';

export const DEFAULT_AUDIENCE = 'sts.amazonaws.com';
/** Where EKS runs the node's own agents (aws-node, kube-proxy, the EKS Pod Identity agent's DaemonSets). */
export const SYSTEM_NAMESPACE = 'kube-system';
export const DEFAULT_WEBHOOK_NAME = 'iam-for-pods.amazonaws.com';
export const WEB_IDENTITY_ACTION = 'sts:AssumeRoleWithWebIdentity';

export const TOKEN_DIRECTORY = '/var/run/secrets/eks.amazonaws.com/serviceaccount';
export const TOKEN_FILE = `${TOKEN_DIRECTORY}/token`;
export const TOKEN_VOLUME = 'aws-iam-token';
export const POD_IDENTITY_VOLUME = 'eks-pod-identity-token';
export const POD_IDENTITY_TOKEN_DIRECTORY = '/var/run/secrets/pods.eks.amazonaws.com/serviceaccount';
export const POD_IDENTITY_TOKEN_FILE = `${POD_IDENTITY_TOKEN_DIRECTORY}/eks-pod-identity-token`;
/** The EKS Pod Identity Agent's endpoint, on the node's link-local address. */
export const POD_IDENTITY_CREDENTIALS_URI = 'http://169.254.170.23/v1/credentials';
export const POD_IDENTITY_SERVICE = 'pods.eks.amazonaws.com';

export const ENV_ROLE_ARN = 'AWS_ROLE_ARN';
export const ENV_TOKEN_FILE = 'AWS_WEB_IDENTITY_TOKEN_FILE';
export const ENV_POD_IDENTITY_URI = 'AWS_CONTAINER_CREDENTIALS_FULL_URI';
export const ENV_POD_IDENTITY_TOKEN_FILE = 'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE';
export const STATIC_KEY_ENV = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'] as const;
export const ENV_REGION = 'AWS_REGION';
export const ENV_DEFAULT_REGION = 'AWS_DEFAULT_REGION';
export const ENV_STS_REGIONAL_ENDPOINTS = 'AWS_STS_REGIONAL_ENDPOINTS';

/** The label a Deployment puts on its ReplicaSets' pods; the ReplicaSet is named `<deployment>-<hash>`. */
export const POD_TEMPLATE_HASH_LABEL = 'pod-template-hash';
/** Pod phases of pods that have stopped for good: completed Job pods, evicted pods. */
export const FINISHED_POD_PHASES: ReadonlySet<string> = new Set(['Succeeded', 'Failed']);

/** The subject claim EKS puts in a ServiceAccount's projected token. */
export function serviceAccountSubject(namespace: string, name: string): string {
  return `system:serviceaccount:${namespace}:${name}`;
}
