// Builds ClusterStates for check fixtures: a healthy cluster, and small builders to break one link of it.

import type {
  Certificate,
  CertificateBundle,
  ClusterState,
  Container,
  DaemonSet,
  IamRole,
  InstanceProfile,
  KubeNode,
  MutatingWebhook,
  MutatingWebhookConfiguration,
  NodeInstance,
  Pod,
  PodIdentityAssociation,
  RolePolicy,
  ServiceAccount,
} from '../../lambda/core/model/cluster-state';
import type { TrustPolicy, TrustStatement } from '../../lambda/core/policy/trust-policy-document';
import { parseTrustPolicy, trustPolicySize } from '../../lambda/core/policy/trust-policy-parse';

export const ACCOUNT = '111122223333';
export const OTHER_ACCOUNT = '444455556666';
export const REGION = 'eu-west-1';
export const ISSUER_ID = '5C0A2F34B8D1E9F3A7C6B5D4E3F2A1B0';
export const ISSUER = `oidc.eks.${REGION}.amazonaws.com/id/${ISSUER_ID}`;
export const PROVIDER_ARN = `arn:aws:iam::${ACCOUNT}:oidc-provider/${ISSUER}`;
export const OLD_ISSUER = `oidc.eks.${REGION}.amazonaws.com/id/0D1E2F3A4B5C6D7E8F9A0B1C2D3E4F5A`;
export const OLD_PROVIDER_ARN = `arn:aws:iam::${ACCOUNT}:oidc-provider/${OLD_ISSUER}`;
export const CLUSTER_NAME = 'platform-prod';
export const TOKEN_FILE = '/var/run/secrets/eks.amazonaws.com/serviceaccount/token';
/** The time fixtures are audited at. */
export const NOW = new Date('2026-11-28T12:00:00Z');

export const roleArn = (name: string, path = '/') => `arn:aws:iam::${ACCOUNT}:role${path}${name}`;

export function certificate(fingerprint: string, overrides: Partial<Certificate> = {}): Certificate {
  return {
    sha256Fingerprint: fingerprint,
    subject: 'CN=kubernetes',
    issuer: 'CN=kubernetes',
    notBefore: '2026-01-10T08:00:00.000Z',
    notAfter: '2036-01-08T08:00:00.000Z',
    ...overrides,
  };
}

export function bundle(...certificates: Certificate[]): CertificateBundle {
  return { certificates, rawLength: certificates.length * 1500 };
}

export const CLUSTER_CA = certificate('a'.repeat(64));

/** The trust document of an IRSA role, in the form the AWS CLI prints. */
export function trustDocument(...statements: object[]): object {
  return { Version: '2012-10-17', Statement: statements };
}

/** The statement EKS documents for one ServiceAccount. */
export function webIdentityStatement(
  subject: string | string[],
  {
    operator = 'StringEquals',
    issuer = ISSUER,
    providerArn = PROVIDER_ARN,
    audience = 'sts.amazonaws.com',
    action = 'sts:AssumeRoleWithWebIdentity',
  }: {
    operator?: string;
    issuer?: string;
    providerArn?: string;
    audience?: string | null;
    action?: string;
  } = {},
): object {
  const condition: Record<string, unknown> = { [`${issuer}:sub`]: subject };
  const conditions: Record<string, Record<string, unknown>> = { [operator]: condition };
  if (audience !== null) {
    conditions.StringEquals = { ...(conditions.StringEquals ?? {}), [`${issuer}:aud`]: audience };
  }
  return { Effect: 'Allow', Principal: { Federated: providerArn }, Action: action, Condition: conditions };
}

export function role(name: string, document: unknown, path = '/'): IamRole {
  const parsed = parseTrustPolicy(document);
  return {
    arn: roleArn(name, path),
    name,
    path,
    accountId: ACCOUNT,
    ...('policy' in parsed ? { trustPolicy: parsed.policy } : { trustPolicyError: parsed.error }),
    trustPolicySize: trustPolicySize(document),
  };
}

/** A role whose trust admits exactly one ServiceAccount of this cluster. */
export function irsaRole(name: string, namespace: string, serviceAccount: string, path = '/'): IamRole {
  return role(
    name,
    trustDocument(webIdentityStatement(`system:serviceaccount:${namespace}:${serviceAccount}`)),
    path,
  );
}

export function serviceAccount(
  namespace: string,
  name: string,
  annotations: Record<string, string> = {},
): ServiceAccount {
  return { namespace, name, annotations, creationTimestamp: '2026-06-01T10:00:00Z' };
}

export function irsaServiceAccount(namespace: string, name: string, arn = roleArn(name)): ServiceAccount {
  return serviceAccount(namespace, name, { 'eks.amazonaws.com/role-arn': arn });
}

/** A container as the webhook leaves it: env and mount injected (or not). */
export function container(name: string, injectedRoleArn?: string, extra: Partial<Container> = {}): Container {
  const injected = injectedRoleArn !== undefined;
  return {
    name,
    kind: 'container',
    env: injected
      ? [
          { name: 'AWS_STS_REGIONAL_ENDPOINTS', value: 'regional' },
          { name: 'AWS_ROLE_ARN', value: injectedRoleArn },
          { name: 'AWS_WEB_IDENTITY_TOKEN_FILE', value: TOKEN_FILE },
        ]
      : [],
    envFrom: [],
    volumeMounts: injected
      ? [
          {
            name: 'aws-iam-token',
            mountPath: '/var/run/secrets/eks.amazonaws.com/serviceaccount',
            readOnly: true,
          },
        ]
      : [],
    ...extra,
  };
}

/** A pod of a ServiceAccount; mutated with `injectedRoleArn` when given, untouched otherwise. */
export function pod(
  namespace: string,
  name: string,
  serviceAccountName: string,
  injectedRoleArn?: string,
  overrides: Partial<Pod> = {},
): Pod {
  return {
    namespace,
    name,
    serviceAccountName,
    labels: { app: serviceAccountName },
    annotations: {},
    creationTimestamp: '2026-11-20T09:00:00Z',
    phase: 'Running',
    owner: { kind: 'ReplicaSet', name: `${serviceAccountName}-7d9f8b6c5` },
    containers: [container('app', injectedRoleArn)],
    tokenVolumes:
      injectedRoleArn === undefined
        ? []
        : [
            {
              volumeName: 'aws-iam-token',
              audience: 'sts.amazonaws.com',
              expirationSeconds: 86400,
              path: 'token',
            },
          ],
    ...overrides,
  };
}

export function podIdentityWebhook(overrides: Partial<MutatingWebhook> = {}): MutatingWebhook {
  return {
    name: 'iam-for-pods.amazonaws.com',
    caBundle: bundle(CLUSTER_CA),
    endpoint: 'https://127.0.0.1:23443/mutate',
    rules: [
      { operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], scope: '*' },
    ],
    namespaceSelector: { matchLabels: {}, matchExpressions: [] },
    objectSelector: {
      matchLabels: {},
      matchExpressions: [
        { key: 'eks.amazonaws.com/skip-pod-identity-webhook', operator: 'DoesNotExist', values: [] },
      ],
    },
    failurePolicy: 'Ignore',
    reinvocationPolicy: 'IfNeeded',
    ...overrides,
  };
}

export function webhookConfiguration(...webhooks: MutatingWebhook[]): MutatingWebhookConfiguration {
  return { name: 'pod-identity-webhook', webhooks, creationTimestamp: '2026-01-10T08:10:00Z' };
}

/**
 * A healthy cluster: one IRSA ServiceAccount payments/orders-api with a correct role and one mutated
 * pod, one plain ServiceAccount with a plain pod, the provider, and a working webhook.
 */
export function healthyState(overrides: Partial<ClusterState> = {}): ClusterState {
  const state: Omit<ClusterState, 'collected'> & { collected?: ClusterState['collected'] } = {
    cluster: {
      name: CLUSTER_NAME,
      arn: `arn:aws:eks:${REGION}:${ACCOUNT}:cluster/${CLUSTER_NAME}`,
      region: REGION,
      accountId: ACCOUNT,
      partition: 'aws',
      oidcIssuer: `https://${ISSUER}`,
      certificateAuthority: bundle(CLUSTER_CA),
      version: '1.31',
      status: 'ACTIVE',
    },
    oidcProviders: [
      {
        arn: PROVIDER_ARN,
        url: ISSUER,
        clientIds: ['sts.amazonaws.com'],
        thumbprints: ['9e99a48a9960b14926bb7f3b02e22da2b0ab7280'],
      },
    ],
    roles: [irsaRole('orders-api', 'payments', 'orders-api')],
    serviceAccounts: [irsaServiceAccount('payments', 'orders-api'), serviceAccount('payments', 'default')],
    pods: [
      pod('payments', 'orders-api-7d9f8b6c5-x2x9q', 'orders-api', roleArn('orders-api')),
      pod('payments', 'ledger-5f6d7c8b9-abcde', 'default'),
    ],
    mutatingWebhookConfigurations: [webhookConfiguration(podIdentityWebhook())],
    namespaces: [{ name: 'payments', labels: { 'kubernetes.io/metadata.name': 'payments' } }],
    podIdentityAssociations: [],
    accountClusters: [{ name: CLUSTER_NAME, region: REGION, oidcIssuer: `https://${ISSUER}` }],
    readableAccounts: [ACCOUNT],
    collectionErrors: [],
    malformedObjects: [],
    ...overrides,
  };
  // As the assembler decides it: a connection failure of a described cluster leaves the AWS side.
  const connectionFailed = state.collectionErrors.some((error) => error.resource === 'cluster-connection');
  return { ...state, collected: state.collected ?? (connectionFailed ? 'aws-only' : 'full') };
}

/** The statements of a parsed trust policy, for fixtures that need to build one by hand. */
export function statementsOf(policy: TrustPolicy | undefined): readonly TrustStatement[] {
  return policy?.statements ?? [];
}

/** This cluster's issuer as the OIDC provider of the other account (hub-and-spoke IRSA). */
export const OTHER_PROVIDER_ARN = `arn:aws:iam::${OTHER_ACCOUNT}:oidc-provider/${ISSUER}`;

/** A role of the other account that admits one ServiceAccount of this cluster through that account's provider. */
export function otherAccountIrsaRole(name: string, namespace: string, serviceAccountName: string): IamRole {
  const document = trustDocument(
    webIdentityStatement(`system:serviceaccount:${namespace}:${serviceAccountName}`, {
      providerArn: OTHER_PROVIDER_ARN,
    }),
  );
  return {
    ...role(name, document),
    arn: `arn:aws:iam::${OTHER_ACCOUNT}:role/${name}`,
    accountId: OTHER_ACCOUNT,
  };
}

/** A statement with one more condition block (e.g. `DateLessThan` on `aws:CurrentTime`) beside its own. */
export function withCondition(
  statement: object,
  operator: string,
  key: string,
  value: string | string[],
): object {
  const { Condition: conditions = {} } = statement as { Condition?: Record<string, Record<string, unknown>> };
  return {
    ...statement,
    Condition: { ...conditions, [operator]: { ...(conditions[operator] ?? {}), [key]: value } },
  };
}

/** A container as the webhook leaves it for a ServiceAccount with an EKS Pod Identity association. */
export function podIdentityContainer(name: string, extra: Partial<Container> = {}): Container {
  return {
    name,
    kind: 'container',
    env: [
      { name: 'AWS_STS_REGIONAL_ENDPOINTS', value: 'regional' },
      { name: 'AWS_CONTAINER_CREDENTIALS_FULL_URI', value: 'http://169.254.170.23/v1/credentials' },
      {
        name: 'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE',
        value: '/var/run/secrets/pods.eks.amazonaws.com/serviceaccount/eks-pod-identity-token',
      },
    ],
    envFrom: [],
    volumeMounts: [
      {
        name: 'eks-pod-identity-token',
        mountPath: '/var/run/secrets/pods.eks.amazonaws.com/serviceaccount',
        readOnly: true,
      },
    ],
    ...extra,
  };
}

/** A pod mutated for EKS Pod Identity: the container env and mount, the label and the eks-pod-identity-token volume. */
export function podIdentityPod(
  namespace: string,
  name: string,
  serviceAccountName: string,
  overrides: Partial<Pod> = {},
): Pod {
  return pod(namespace, name, serviceAccountName, undefined, {
    labels: { app: serviceAccountName, 'eks.amazonaws.com/pod-identity': 'enabled' },
    containers: [podIdentityContainer('app')],
    tokenVolumes: [
      {
        volumeName: 'eks-pod-identity-token',
        audience: 'pods.eks.amazonaws.com',
        expirationSeconds: 86400,
        path: 'eks-pod-identity-token',
      },
    ],
    ...overrides,
  });
}

/** The EKS Pod Identity association of one ServiceAccount of this cluster. */
export function podIdentityAssociation(
  namespace: string,
  serviceAccountName: string,
  roleName = `${serviceAccountName}-pod-identity`,
): NonNullable<ClusterState['podIdentityAssociations']>[number] {
  return {
    associationId: 'a-3kq9xw2vbn7yplm4t',
    namespace,
    serviceAccount: serviceAccountName,
    roleArn: roleArn(roleName),
  };
}

/** The trust statement EKS documents for a Pod Identity role (EKS user guide, "pod-id-role"). */
export const POD_IDENTITY_STATEMENT = {
  Sid: 'AllowEksAuthToAssumeRoleForPodIdentity',
  Effect: 'Allow',
  Principal: { Service: 'pods.eks.amazonaws.com' },
  Action: ['sts:AssumeRole', 'sts:TagSession'],
};

/** A role of another account (readable or not, as the state's readableAccounts say). */
export function otherAccountRole(name: string, document: unknown): IamRole {
  return {
    ...role(name, document),
    arn: `arn:aws:iam::${OTHER_ACCOUNT}:role/${name}`,
    accountId: OTHER_ACCOUNT,
  };
}

/** An association of payments/orders-api, as DescribePodIdentityAssociation returns it, with fields replaced. */
export function ordersApiAssociation(
  overrides: Partial<PodIdentityAssociation> = {},
): PodIdentityAssociation {
  return {
    associationId: 'a-3kq9xw2vbn7yplm4t',
    associationArn: `arn:aws:eks:${REGION}:${ACCOUNT}:podidentityassociation/${CLUSTER_NAME}/a-3kq9xw2vbn7yplm4t`,
    namespace: 'payments',
    serviceAccount: 'orders-api',
    roleArn: roleArn('orders-api-pod-identity'),
    ...overrides,
  };
}

/** The node a fixture puts its pods on (`{ nodeName: NODE_NAME }`). */
export const NODE_NAME = 'ip-10-42-11-87.eu-west-1.compute.internal';
export const NODE_ROLE_ARN = roleArn('platform-prod-node-role');
const NODE_PROFILE_ARN = `arn:aws:iam::${ACCOUNT}:instance-profile/platform-prod-node`;

/** A node of the cluster as DescribeInstances shows it, with the given metadata options. */
export function nodeInstance(options: Partial<NodeInstance> = {}): NodeInstance {
  return {
    instanceId: 'i-0a1b2c3d4e5f60718',
    nodeName: NODE_NAME,
    httpTokens: 'required',
    hopLimit: 2,
    httpEndpoint: 'enabled',
    instanceProfileArn: NODE_PROFILE_ARN,
    ...options,
  };
}

/** The instance profile of `nodeInstance()`, whose role is NODE_ROLE_ARN. */
export const NODE_PROFILE: InstanceProfile = { arn: NODE_PROFILE_ARN, roleArns: [NODE_ROLE_ARN] };

/** A Linux EC2 node of the cluster as `kubectl get nodes` shows it (NODE_NAME unless named). */
export function kubeNode(overrides: Partial<KubeNode> = {}): KubeNode {
  return { name: NODE_NAME, os: 'linux', ...overrides };
}

/** A kube-system DaemonSet of the Pod Identity agent (the add-on's unless named), all its pods Ready. */
export function agentDaemonSet(name = 'eks-pod-identity-agent'): DaemonSet {
  return { namespace: 'kube-system', name, desiredNumberScheduled: 1, numberReady: 1 };
}

/** The agent DaemonSet's pod on a node (NODE_NAME unless given), Ready unless told otherwise. */
export function agentPod(options: { nodeName?: string; ready?: boolean; daemonSet?: string } = {}): Pod {
  const daemonSet = options.daemonSet ?? 'eks-pod-identity-agent';
  return {
    namespace: 'kube-system',
    name: `${daemonSet}-x7k2p`,
    serviceAccountName: 'eks-pod-identity-agent',
    labels: { 'app.kubernetes.io/name': daemonSet },
    annotations: {},
    creationTimestamp: '2026-11-20T08:00:00Z',
    phase: 'Running',
    owner: { kind: 'DaemonSet', name: daemonSet },
    nodeName: options.nodeName ?? NODE_NAME,
    hostNetwork: true,
    ready: options.ready ?? true,
    containers: [],
    tokenVolumes: [],
  };
}

/** A permissions policy of a role (inline unless a managed policy ARN is given), parsed as the sources parse it. */
export function rolePolicy(
  roleName: string,
  policyName: string,
  document: unknown,
  policyArn?: string,
): RolePolicy {
  const parsed = parseTrustPolicy(document);
  if (!('policy' in parsed)) throw new Error(`fixture policy ${policyName} does not parse: ${parsed.error}`);
  return { roleName, policyName, ...(policyArn === undefined ? {} : { policyArn }), document: parsed.policy };
}

/** The identity policy EKS documents for an association role that chains to `targetArn`. */
export const assumeTargetPolicy = (targetArn: string) => ({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: ['sts:AssumeRole', 'sts:TagSession'], Resource: targetArn }],
});
