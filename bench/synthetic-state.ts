// A large synthetic ClusterState for the engine benchmark: realistic shapes, a few faults of each kind.

import type { ClusterState, IamRole, Pod, ServiceAccount } from '../lambda/core/model/cluster-state';
import { parseTrustPolicy, trustPolicySize } from '../lambda/core/policy/trust-policy-parse';

export interface SyntheticSize {
  readonly pods: number;
  readonly serviceAccounts: number;
  readonly roles: number;
  /** One pod in this many was created while the webhook was broken (a P01 finding); 1 = every pod. */
  readonly unmutatedEvery?: number;
}

const ACCOUNT = '111122223333';
const ISSUER = 'oidc.eks.eu-west-1.amazonaws.com/id/5C0A2F34B8D1E9F3A7C6B5D4E3F2A1B0';
const PROVIDER = `arn:aws:iam::${ACCOUNT}:oidc-provider/${ISSUER}`;
const TOKEN_DIR = '/var/run/secrets/eks.amazonaws.com/serviceaccount';
const CA = {
  sha256Fingerprint: 'a'.repeat(64),
  subject: 'CN=kubernetes',
  issuer: 'CN=kubernetes',
  notBefore: '2026-01-01T00:00:00.000Z',
  notAfter: '2036-01-01T00:00:00.000Z',
};

/** Builds a cluster where each role serves serviceAccounts/roles ServiceAccounts and each SA has pods/serviceAccounts pods. */
export function syntheticState(size: SyntheticSize): ClusterState {
  const namespaces = Math.max(1, Math.ceil(size.serviceAccounts / 50));
  const serviceAccounts: ServiceAccount[] = [];
  const subjectsByRole = new Map<number, string[]>();
  for (let index = 0; index < size.serviceAccounts; index += 1) {
    const namespace = `team-${index % namespaces}`;
    const name = `app-${index}`;
    const roleIndex = index % size.roles;
    serviceAccounts.push({
      namespace,
      name,
      annotations: { 'eks.amazonaws.com/role-arn': `arn:aws:iam::${ACCOUNT}:role/app-role-${roleIndex}` },
    });
    // Every 97th SA is left out of its role's trust: an S07 finding.
    if (index % 97 !== 0) {
      const subjects = subjectsByRole.get(roleIndex) ?? [];
      subjects.push(`system:serviceaccount:${namespace}:${name}`);
      subjectsByRole.set(roleIndex, subjects);
    }
  }
  const roles: IamRole[] = [];
  for (let index = 0; index < size.roles; index += 1) {
    const document = {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { Federated: PROVIDER },
          Action: 'sts:AssumeRoleWithWebIdentity',
          Condition: {
            StringEquals: {
              [`${ISSUER}:sub`]: subjectsByRole.get(index) ?? [],
              [`${ISSUER}:aud`]: 'sts.amazonaws.com',
            },
          },
        },
      ],
    };
    const parsed = parseTrustPolicy(document);
    roles.push({
      arn: `arn:aws:iam::${ACCOUNT}:role/app-role-${index}`,
      name: `app-role-${index}`,
      path: '/',
      accountId: ACCOUNT,
      ...('policy' in parsed ? { trustPolicy: parsed.policy } : { trustPolicyError: parsed.error }),
      trustPolicySize: trustPolicySize(document),
    });
  }
  const pods: Pod[] = [];
  for (let index = 0; index < size.pods; index += 1) {
    const serviceAccount = serviceAccounts[index % serviceAccounts.length]!;
    const roleArn = serviceAccount.annotations['eks.amazonaws.com/role-arn']!;
    // Every 1000th pod (by default) was created while the webhook was broken: a P01 finding.
    const mutated = index % (size.unmutatedEvery ?? 1000) !== 0;
    pods.push({
      namespace: serviceAccount.namespace,
      name: `${serviceAccount.name}-5d7c6b9f84-${index.toString(36).padStart(5, '0')}`,
      serviceAccountName: serviceAccount.name,
      labels: { app: serviceAccount.name, 'pod-template-hash': '5d7c6b9f84' },
      annotations: {},
      creationTimestamp: '2026-11-20T09:00:00Z',
      phase: 'Running',
      owner: { kind: 'ReplicaSet', name: `${serviceAccount.name}-5d7c6b9f84` },
      containers: ['app', 'log-shipper'].map((name) => ({
        name,
        kind: 'container' as const,
        env: mutated
          ? [
              { name: 'AWS_ROLE_ARN', value: roleArn },
              { name: 'AWS_WEB_IDENTITY_TOKEN_FILE', value: `${TOKEN_DIR}/token` },
            ]
          : [{ name: 'LOG_LEVEL', value: 'info' }],
        envFrom: [],
        volumeMounts: mutated ? [{ name: 'aws-iam-token', mountPath: TOKEN_DIR, readOnly: true }] : [],
      })),
      tokenVolumes: mutated
        ? [
            {
              volumeName: 'aws-iam-token',
              audience: 'sts.amazonaws.com',
              expirationSeconds: 86400,
              path: 'token',
            },
          ]
        : [],
    });
  }
  return {
    cluster: {
      name: 'bench',
      arn: `arn:aws:eks:eu-west-1:${ACCOUNT}:cluster/bench`,
      region: 'eu-west-1',
      accountId: ACCOUNT,
      partition: 'aws',
      oidcIssuer: `https://${ISSUER}`,
      certificateAuthority: { certificates: [CA], rawLength: 1500 },
    },
    collected: 'full',
    oidcProviders: [{ arn: PROVIDER, url: ISSUER, clientIds: ['sts.amazonaws.com'], thumbprints: [] }],
    roles,
    serviceAccounts,
    pods,
    mutatingWebhookConfigurations: [
      {
        name: 'pod-identity-webhook',
        webhooks: [
          {
            name: 'iam-for-pods.amazonaws.com',
            caBundle: { certificates: [CA], rawLength: 1500 },
            endpoint: 'https://127.0.0.1:23443/mutate',
            rules: [
              {
                operations: ['CREATE'],
                apiGroups: [''],
                apiVersions: ['v1'],
                resources: ['pods'],
                scope: '*',
              },
            ],
            failurePolicy: 'Ignore',
          },
        ],
      },
    ],
    namespaces: Array.from({ length: namespaces }, (_, index) => ({ name: `team-${index}`, labels: {} })),
    podIdentityAssociations: [],
    readableAccounts: [ACCOUNT],
    collectionErrors: [],
    malformedObjects: [],
  };
}
