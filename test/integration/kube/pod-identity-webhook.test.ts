// The test pod identity webhook must patch pods exactly as amazon-eks-pod-identity-webhook does: its own fixture
// suite (pkg/handler/testdata/**/*.pod.yaml, expected patches copied verbatim) is replayed over HTTPS, and the
// documented EKS behaviours (Pod Identity, token lifetimes, the MutatingWebhookConfiguration EKS installs) follow.

import { randomUUID } from 'node:crypto';
import { request } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeKubeApi, type KubeObject, startFakeKubeApi } from '../../../lambda/emulators/fake-kube-api';
import {
  type PodIdentityWebhook,
  type PodIdentityWebhookOptions,
  startPodIdentityWebhook,
} from '../../../lambda/emulators/pod-identity-webhook';
import { exampleItems } from '../../support/snapshot-dir';

type Json = Record<string, unknown>;

let api: FakeKubeApi;

beforeAll(async () => {
  api = await startFakeKubeApi({ objects: { serviceaccounts: [] } });
});

afterAll(async () => {
  await api.stop();
});

function serviceAccount(namespace: string, name: string, annotations: Record<string, string>): KubeObject {
  return { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace, annotations } };
}

/** Posts a body to the webhook over HTTPS, trusting the cluster CA as the API server does. */
function post(
  url: string,
  body: string,
  contentType = 'application/json',
): Promise<{ status: number; text: string; json: Json }> {
  return new Promise((resolve, reject) => {
    const outgoing = request(
      url,
      {
        method: 'POST',
        ca: Buffer.from(api.caData, 'base64'),
        headers: { 'content-type': contentType, 'content-length': Buffer.byteLength(body) },
      },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          text += chunk;
        });
        response.on('end', () => {
          let json: Json = {};
          try {
            json = JSON.parse(text) as Json;
          } catch {
            // Not JSON: the test reads `text`.
          }
          resolve({ status: response.statusCode ?? 0, text, json });
        });
      },
    );
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

/** Sends an AdmissionReview for a pod create, as kube-apiserver does, and returns the response object. */
async function admit(
  webhook: PodIdentityWebhook,
  pod: Json,
  { namespace = 'default', version = 'v1beta1', uid = randomUUID() } = {},
): Promise<{ review: Json; response: Json; patch?: unknown }> {
  const answer = await post(
    webhook.url,
    JSON.stringify({
      apiVersion: `admission.k8s.io/${version}`,
      kind: 'AdmissionReview',
      request: {
        uid,
        kind: { group: '', version: 'v1', kind: 'Pod' },
        resource: { group: '', version: 'v1', resource: 'pods' },
        namespace,
        operation: 'CREATE',
        userInfo: { username: 'test' },
        object: { apiVersion: 'v1', kind: 'Pod', ...pod, metadata: { ...(pod.metadata as Json), namespace } },
        oldObject: null,
        dryRun: true,
      },
    }),
  );
  expect(answer.status).toBe(200);
  const response = answer.json.response as Json;
  const patch =
    typeof response.patch === 'string'
      ? JSON.parse(Buffer.from(response.patch, 'base64').toString('utf8'))
      : undefined;
  return { review: answer.json, response, ...(patch === undefined ? {} : { patch }) };
}

async function withWebhook<T>(
  options: Omit<PodIdentityWebhookOptions, 'cluster'>,
  work: (webhook: PodIdentityWebhook) => Promise<T>,
): Promise<T> {
  const webhook = await startPodIdentityWebhook({ cluster: api, ...options });
  try {
    return await work(webhook);
  } finally {
    await webhook.stop();
  }
}

// The containercredentials fixtures configure the webhook's Pod Identity flags with these values, associate
// default/default, and use a random source that always returns 0.
const CON_CREDS = {
  fullUri: 'con-creds-uri',
  audience: 'con-creds-aud',
  mountPath: '/con-creds-mount-path',
  volumeName: 'con-creds-volume-name',
  tokenPath: 'con-creds-token-path',
};
const CON_CREDS_WEBHOOK = {
  containerCredentials: CON_CREDS,
  podIdentityAssociations: [{ namespace: 'default', serviceAccount: 'default' }],
  randomInt63n: () => 0,
};

const AMAZONLINUX = { image: 'amazonlinux', name: 'balajilovesoreos' };
const S3_READER = 'arn:aws:iam::111122223333:role/s3-reader';
const S3_READER_CN = 'arn:aws-cn:iam::111122223333:role/s3-reader';
const PRESET_ENV = [
  { name: 'AWS_REGION', value: 'cn-northwest-1' },
  { name: 'AWS_STS_REGIONAL_ENDPOINTS', value: 'regional' },
];

interface UpstreamFixture {
  /** The fixture file under pkg/handler/testdata of aws/amazon-eks-pod-identity-webhook. */
  readonly fixture: string;
  /** Annotations of ServiceAccount default/default (the fixture's testing.eks.amazonaws.com/serviceAccount/*). */
  readonly serviceAccount: Record<string, string>;
  /** The webhook's flags (the fixture's testing.eks.amazonaws.com/handler/* and containercredentials/*). */
  readonly webhook: Omit<PodIdentityWebhookOptions, 'cluster'>;
  readonly pod: Json;
  /** testing.eks.amazonaws.com/expectedPatch, verbatim. */
  readonly expectedPatch: string;
}

const UPSTREAM_FIXTURES: readonly UpstreamFixture[] = [
  {
    fixture: 'rawPodNeedsRegion.pod.yaml',
    serviceAccount: {
      'eks.amazonaws.com/role-arn': S3_READER,
      'eks.amazonaws.com/audience': 'sts.amazonaws.com',
    },
    webhook: { region: 'seattle' },
    pod: {
      metadata: { name: 'balajilovesoreos' },
      spec: { containers: [AMAZONLINUX], serviceAccountName: 'default' },
    },
    expectedPatch:
      '[{"op":"add","path":"/spec/volumes","value":[{"name":"aws-iam-token","projected":{"sources":[{"serviceAccountToken":{"audience":"sts.amazonaws.com","expirationSeconds":86400,"path":"token"}}]}}]},{"op":"add","path":"/spec/containers","value":[{"name":"balajilovesoreos","image":"amazonlinux","env":[{"name":"AWS_DEFAULT_REGION","value":"seattle"},{"name":"AWS_REGION","value":"seattle"},{"name":"AWS_ROLE_ARN","value":"arn:aws:iam::111122223333:role/s3-reader"},{"name":"AWS_WEB_IDENTITY_TOKEN_FILE","value":"/var/run/secrets/eks.amazonaws.com/serviceaccount/token"}],"resources":{},"volumeMounts":[{"name":"aws-iam-token","readOnly":true,"mountPath":"/var/run/secrets/eks.amazonaws.com/serviceaccount"}]}]}]',
  },
  {
    fixture: 'rawPodNeedsSTS.pod.yaml',
    serviceAccount: {
      'eks.amazonaws.com/role-arn': S3_READER_CN,
      'eks.amazonaws.com/audience': 'sts.amazonaws.com',
      'eks.amazonaws.com/sts-regional-endpoints': 'true',
    },
    webhook: { region: 'cn-north-1' },
    pod: {
      metadata: { name: 'balajilovesoreos' },
      spec: { containers: [AMAZONLINUX], serviceAccountName: 'default' },
    },
    expectedPatch:
      '[{"op":"add","path":"/spec/volumes","value":[{"name":"aws-iam-token","projected":{"sources":[{"serviceAccountToken":{"audience":"sts.amazonaws.com","expirationSeconds":86400,"path":"token"}}]}}]},{"op":"add","path":"/spec/containers","value":[{"name":"balajilovesoreos","image":"amazonlinux","env":[{"name":"AWS_STS_REGIONAL_ENDPOINTS","value":"regional"},{"name":"AWS_DEFAULT_REGION","value":"cn-north-1"},{"name":"AWS_REGION","value":"cn-north-1"},{"name":"AWS_ROLE_ARN","value":"arn:aws-cn:iam::111122223333:role/s3-reader"},{"name":"AWS_WEB_IDENTITY_TOKEN_FILE","value":"/var/run/secrets/eks.amazonaws.com/serviceaccount/token"}],"resources":{},"volumeMounts":[{"name":"aws-iam-token","readOnly":true,"mountPath":"/var/run/secrets/eks.amazonaws.com/serviceaccount"}]}]}]',
  },
  {
    fixture: 'rawPodNoSTSAnnotationOverride.pod.yaml',
    serviceAccount: {
      'eks.amazonaws.com/role-arn': S3_READER,
      'eks.amazonaws.com/audience': 'sts.amazonaws.com',
      'eks.amazonaws.com/sts-regional-endpoints': 'false',
    },
    webhook: { region: 'us-east-1', stsRegionalEndpoints: true },
    pod: {
      metadata: { name: 'balajilovesoreos' },
      spec: { containers: [AMAZONLINUX], serviceAccountName: 'default' },
    },
    expectedPatch:
      '[{"op":"add","path":"/spec/volumes","value":[{"name":"aws-iam-token","projected":{"sources":[{"serviceAccountToken":{"audience":"sts.amazonaws.com","expirationSeconds":86400,"path":"token"}}]}}]},{"op":"add","path":"/spec/containers","value":[{"name":"balajilovesoreos","image":"amazonlinux","env":[{"name":"AWS_DEFAULT_REGION","value":"us-east-1"},{"name":"AWS_REGION","value":"us-east-1"},{"name":"AWS_ROLE_ARN","value":"arn:aws:iam::111122223333:role/s3-reader"},{"name":"AWS_WEB_IDENTITY_TOKEN_FILE","value":"/var/run/secrets/eks.amazonaws.com/serviceaccount/token"}],"resources":{},"volumeMounts":[{"name":"aws-iam-token","readOnly":true,"mountPath":"/var/run/secrets/eks.amazonaws.com/serviceaccount"}]}]}]',
  },
  {
    fixture: 'rawPodRegionPresent.pod.yaml',
    serviceAccount: {
      'eks.amazonaws.com/role-arn': S3_READER,
      'eks.amazonaws.com/audience': 'sts.amazonaws.com',
    },
    webhook: {},
    pod: {
      metadata: { name: 'balajilovesoreos' },
      spec: {
        containers: [{ env: [{ name: 'AWS_REGION', value: 'paris' }], ...AMAZONLINUX }],
        serviceAccountName: 'default',
      },
    },
    expectedPatch:
      '[{"op":"add","path":"/spec/volumes","value":[{"name":"aws-iam-token","projected":{"sources":[{"serviceAccountToken":{"audience":"sts.amazonaws.com","expirationSeconds":86400,"path":"token"}}]}}]},{"op":"add","path":"/spec/containers","value":[{"name":"balajilovesoreos","image":"amazonlinux","env":[{"name":"AWS_REGION","value":"paris"},{"name":"AWS_ROLE_ARN","value":"arn:aws:iam::111122223333:role/s3-reader"},{"name":"AWS_WEB_IDENTITY_TOKEN_FILE","value":"/var/run/secrets/eks.amazonaws.com/serviceaccount/token"}],"resources":{},"volumeMounts":[{"name":"aws-iam-token","readOnly":true,"mountPath":"/var/run/secrets/eks.amazonaws.com/serviceaccount"}]}]}]',
  },
  {
    fixture: 'rawPodSkip.pod.yaml',
    serviceAccount: {
      'eks.amazonaws.com/role-arn': S3_READER,
      'eks.amazonaws.com/audience': 'sts.amazonaws.com',
    },
    webhook: { region: 'us-west-2' },
    pod: {
      metadata: { name: 'balajilovesoreos', annotations: { 'eks.amazonaws.com/skip-containers': 'sidecar' } },
      spec: {
        containers: [
          { image: 'amazonlinux', name: 'sidecar' },
          { ...AMAZONLINUX, env: [{ name: 'AWS_ROLE_ARN', value: 'already-defined' }] },
        ],
        serviceAccountName: 'default',
      },
    },
    expectedPatch:
      '[{"op":"add","path":"/spec/volumes","value":[{"name":"aws-iam-token","projected":{"sources":[{"serviceAccountToken":{"audience":"sts.amazonaws.com","expirationSeconds":86400,"path":"token"}}]}}]},{"op":"add","path":"/spec/containers","value":[{"name":"sidecar","image":"amazonlinux","resources":{}},{"name":"balajilovesoreos","image":"amazonlinux","env":[{"name":"AWS_ROLE_ARN","value":"already-defined"},{"name":"AWS_DEFAULT_REGION","value":"us-west-2"},{"name":"AWS_REGION","value":"us-west-2"}],"resources":{},"volumeMounts":[{"name":"aws-iam-token","readOnly":true,"mountPath":"/var/run/secrets/eks.amazonaws.com/serviceaccount"}]}]}]',
  },
  {
    fixture: 'rawPodHasSTS.pod.yaml',
    serviceAccount: {
      'eks.amazonaws.com/role-arn': S3_READER_CN,
      'eks.amazonaws.com/audience': 'sts.amazonaws.com',
      'eks.amazonaws.com/sts-regional-endpoints': 'true',
    },
    webhook: { region: 'cn-north-1' },
    pod: {
      metadata: { name: 'balajilovesoreos' },
      spec: { containers: [{ env: PRESET_ENV, ...AMAZONLINUX }], serviceAccountName: 'default' },
    },
    expectedPatch:
      '[{"op":"add","path":"/spec/volumes","value":[{"name":"aws-iam-token","projected":{"sources":[{"serviceAccountToken":{"audience":"sts.amazonaws.com","expirationSeconds":86400,"path":"token"}}]}}]},{"op":"add","path":"/spec/containers","value":[{"name":"balajilovesoreos","image":"amazonlinux","env":[{"name":"AWS_REGION","value":"cn-northwest-1"},{"name":"AWS_STS_REGIONAL_ENDPOINTS","value":"regional"},{"name":"AWS_ROLE_ARN","value":"arn:aws-cn:iam::111122223333:role/s3-reader"},{"name":"AWS_WEB_IDENTITY_TOKEN_FILE","value":"/var/run/secrets/eks.amazonaws.com/serviceaccount/token"}],"resources":{},"volumeMounts":[{"name":"aws-iam-token","readOnly":true,"mountPath":"/var/run/secrets/eks.amazonaws.com/serviceaccount"}]}]}]',
  },
  {
    fixture: 'rawPodHasTokenExpiration.pod.yaml',
    serviceAccount: {
      'eks.amazonaws.com/role-arn': S3_READER_CN,
      'eks.amazonaws.com/audience': 'sts.amazonaws.com',
      'eks.amazonaws.com/sts-regional-endpoints': 'true',
    },
    webhook: { region: 'cn-north-1' },
    pod: {
      metadata: { name: 'balajilovesoreos', annotations: { 'eks.amazonaws.com/token-expiration': '3600' } },
      spec: { containers: [{ env: PRESET_ENV, ...AMAZONLINUX }], serviceAccountName: 'default' },
    },
    expectedPatch:
      '[{"op":"add","path":"/spec/volumes","value":[{"name":"aws-iam-token","projected":{"sources":[{"serviceAccountToken":{"audience":"sts.amazonaws.com","expirationSeconds":3600,"path":"token"}}]}}]},{"op":"add","path":"/spec/containers","value":[{"name":"balajilovesoreos","image":"amazonlinux","env":[{"name":"AWS_REGION","value":"cn-northwest-1"},{"name":"AWS_STS_REGIONAL_ENDPOINTS","value":"regional"},{"name":"AWS_ROLE_ARN","value":"arn:aws-cn:iam::111122223333:role/s3-reader"},{"name":"AWS_WEB_IDENTITY_TOKEN_FILE","value":"/var/run/secrets/eks.amazonaws.com/serviceaccount/token"}],"resources":{},"volumeMounts":[{"name":"aws-iam-token","readOnly":true,"mountPath":"/var/run/secrets/eks.amazonaws.com/serviceaccount"}]}]}]',
  },
  {
    fixture: 'rawPodMinTokenExpiration.pod.yaml',
    serviceAccount: {
      'eks.amazonaws.com/role-arn': S3_READER_CN,
      'eks.amazonaws.com/audience': 'sts.amazonaws.com',
      'eks.amazonaws.com/sts-regional-endpoints': 'true',
    },
    webhook: { region: 'cn-north-1' },
    pod: {
      metadata: { name: 'balajilovesoreos', annotations: { 'eks.amazonaws.com/token-expiration': '0' } },
      spec: { containers: [{ env: PRESET_ENV, ...AMAZONLINUX }], serviceAccountName: 'default' },
    },
    expectedPatch:
      '[{"op":"add","path":"/spec/volumes","value":[{"name":"aws-iam-token","projected":{"sources":[{"serviceAccountToken":{"audience":"sts.amazonaws.com","expirationSeconds":600,"path":"token"}}]}}]},{"op":"add","path":"/spec/containers","value":[{"name":"balajilovesoreos","image":"amazonlinux","env":[{"name":"AWS_REGION","value":"cn-northwest-1"},{"name":"AWS_STS_REGIONAL_ENDPOINTS","value":"regional"},{"name":"AWS_ROLE_ARN","value":"arn:aws-cn:iam::111122223333:role/s3-reader"},{"name":"AWS_WEB_IDENTITY_TOKEN_FILE","value":"/var/run/secrets/eks.amazonaws.com/serviceaccount/token"}],"resources":{},"volumeMounts":[{"name":"aws-iam-token","readOnly":true,"mountPath":"/var/run/secrets/eks.amazonaws.com/serviceaccount"}]}]}]',
  },
  {
    fixture: 'rawPodHasAll.pod.yaml',
    serviceAccount: {
      'eks.amazonaws.com/role-arn': S3_READER_CN,
      'eks.amazonaws.com/audience': 'sts.amazonaws.com',
      'eks.amazonaws.com/sts-regional-endpoints': 'true',
      'eks.amazonaws.com/token-expiration': '3600',
    },
    webhook: { region: 'cn-north-1' },
    pod: {
      metadata: { name: 'balajilovesoreos' },
      spec: {
        containers: [{ env: [...PRESET_ENV, { name: 'AWS_ROLE_ARN', value: S3_READER_CN }], ...AMAZONLINUX }],
        serviceAccountName: 'default',
      },
    },
    expectedPatch:
      '[{"op":"add","path":"/spec/volumes","value":[{"name":"aws-iam-token","projected":{"sources":[{"serviceAccountToken":{"audience":"sts.amazonaws.com","expirationSeconds":3600,"path":"token"}}]}}]},{"op":"add","path":"/spec/containers","value":[{"name":"balajilovesoreos","image":"amazonlinux","env":[{"name":"AWS_REGION","value":"cn-northwest-1"},{"name":"AWS_STS_REGIONAL_ENDPOINTS","value":"regional"},{"name":"AWS_ROLE_ARN","value":"arn:aws-cn:iam::111122223333:role/s3-reader"}],"resources":{}}]}]',
  },
  {
    fixture: 'initPodNeedsRegion.pod.yaml',
    serviceAccount: {
      'eks.amazonaws.com/role-arn': S3_READER,
      'eks.amazonaws.com/audience': 'sts.amazonaws.com',
    },
    webhook: { region: 'seattle' },
    pod: {
      metadata: { name: 'balajilovesoreos' },
      spec: { initContainers: [AMAZONLINUX], containers: [AMAZONLINUX], serviceAccountName: 'default' },
    },
    expectedPatch:
      '[{"op":"add","path":"/spec/volumes","value":[{"name":"aws-iam-token","projected":{"sources":[{"serviceAccountToken":{"audience":"sts.amazonaws.com","expirationSeconds":86400,"path":"token"}}]}}]},{"op":"add","path":"/spec/containers","value":[{"name":"balajilovesoreos","image":"amazonlinux","env":[{"name":"AWS_DEFAULT_REGION","value":"seattle"},{"name":"AWS_REGION","value":"seattle"},{"name":"AWS_ROLE_ARN","value":"arn:aws:iam::111122223333:role/s3-reader"},{"name":"AWS_WEB_IDENTITY_TOKEN_FILE","value":"/var/run/secrets/eks.amazonaws.com/serviceaccount/token"}],"resources":{},"volumeMounts":[{"name":"aws-iam-token","readOnly":true,"mountPath":"/var/run/secrets/eks.amazonaws.com/serviceaccount"}]}]},{"op":"add","path":"/spec/initContainers","value":[{"name":"balajilovesoreos","image":"amazonlinux","env":[{"name":"AWS_DEFAULT_REGION","value":"seattle"},{"name":"AWS_REGION","value":"seattle"},{"name":"AWS_ROLE_ARN","value":"arn:aws:iam::111122223333:role/s3-reader"},{"name":"AWS_WEB_IDENTITY_TOKEN_FILE","value":"/var/run/secrets/eks.amazonaws.com/serviceaccount/token"}],"resources":{},"volumeMounts":[{"name":"aws-iam-token","readOnly":true,"mountPath":"/var/run/secrets/eks.amazonaws.com/serviceaccount"}]}]}]',
  },
  {
    fixture: 'rawPodWithInitContainer.pod.yaml',
    serviceAccount: {
      'eks.amazonaws.com/role-arn': S3_READER,
      'eks.amazonaws.com/audience': 'sts.amazonaws.com',
    },
    webhook: { region: 'seattle' },
    pod: {
      metadata: { name: 'balajilovesoreos' },
      spec: {
        initContainers: [
          { image: 'amazonlinux', name: 'initcontainer' },
          { image: 'amazonlinux', name: 'sidecar', restartPolicy: 'Always' },
        ],
        containers: [AMAZONLINUX],
        serviceAccountName: 'default',
      },
    },
    expectedPatch:
      '[{"op":"add","path":"/spec/volumes","value":[{"name":"aws-iam-token","projected":{"sources":[{"serviceAccountToken":{"audience":"sts.amazonaws.com","expirationSeconds":86400,"path":"token"}}]}}]},{"op":"add","path":"/spec/containers","value":[{"name":"balajilovesoreos","image":"amazonlinux","env":[{"name":"AWS_DEFAULT_REGION","value":"seattle"},{"name":"AWS_REGION","value":"seattle"},{"name":"AWS_ROLE_ARN","value":"arn:aws:iam::111122223333:role/s3-reader"},{"name":"AWS_WEB_IDENTITY_TOKEN_FILE","value":"/var/run/secrets/eks.amazonaws.com/serviceaccount/token"}],"resources":{},"volumeMounts":[{"name":"aws-iam-token","readOnly":true,"mountPath":"/var/run/secrets/eks.amazonaws.com/serviceaccount"}]}]},{"op":"add","path":"/spec/initContainers","value":[{"name":"initcontainer","image":"amazonlinux","env":[{"name":"AWS_DEFAULT_REGION","value":"seattle"},{"name":"AWS_REGION","value":"seattle"},{"name":"AWS_ROLE_ARN","value":"arn:aws:iam::111122223333:role/s3-reader"},{"name":"AWS_WEB_IDENTITY_TOKEN_FILE","value":"/var/run/secrets/eks.amazonaws.com/serviceaccount/token"}],"resources":{},"volumeMounts":[{"name":"aws-iam-token","readOnly":true,"mountPath":"/var/run/secrets/eks.amazonaws.com/serviceaccount"}]},{"name":"sidecar","image":"amazonlinux","env":[{"name":"AWS_DEFAULT_REGION","value":"seattle"},{"name":"AWS_REGION","value":"seattle"},{"name":"AWS_ROLE_ARN","value":"arn:aws:iam::111122223333:role/s3-reader"},{"name":"AWS_WEB_IDENTITY_TOKEN_FILE","value":"/var/run/secrets/eks.amazonaws.com/serviceaccount/token"}],"resources":{},"restartPolicy":"Always","volumeMounts":[{"name":"aws-iam-token","readOnly":true,"mountPath":"/var/run/secrets/eks.amazonaws.com/serviceaccount"}]}]}]',
  },
  {
    fixture: 'betaWindowsPodWithoutVolumes.pod.yaml',
    serviceAccount: {
      'eks.amazonaws.com/role-arn': S3_READER,
      'eks.amazonaws.com/audience': 'sts.amazonaws.com',
    },
    webhook: {},
    pod: {
      metadata: { name: 'balajilovesoreos' },
      spec: {
        containers: [AMAZONLINUX],
        nodeSelector: { 'beta.kubernetes.io/arch': 'amd64', 'beta.kubernetes.io/os': 'windows' },
        serviceAccountName: 'default',
      },
    },
    expectedPatch:
      '[{"op":"add","path":"/spec/volumes","value":[{"name":"aws-iam-token","projected":{"sources":[{"serviceAccountToken":{"audience":"sts.amazonaws.com","expirationSeconds":86400,"path":"token"}}]}}]},{"op":"add","path":"/spec/containers","value":[{"name":"balajilovesoreos","image":"amazonlinux","env":[{"name":"AWS_ROLE_ARN","value":"arn:aws:iam::111122223333:role/s3-reader"},{"name":"AWS_WEB_IDENTITY_TOKEN_FILE","value":"C:\\\\var\\\\run\\\\secrets\\\\eks.amazonaws.com\\\\serviceaccount\\\\token"}],"resources":{},"volumeMounts":[{"name":"aws-iam-token","readOnly":true,"mountPath":"/var/run/secrets/eks.amazonaws.com/serviceaccount"}]}]}]',
  },
  {
    fixture: 'containercredentials/rawPodWithoutVolumes.pod.yaml',
    serviceAccount: {},
    webhook: CON_CREDS_WEBHOOK,
    pod: {
      metadata: { name: 'balajilovesoreos' },
      spec: { containers: [AMAZONLINUX], serviceAccountName: 'default' },
    },
    expectedPatch:
      '[{"op":"add","path":"/metadata/labels","value":{"eks.amazonaws.com/pod-identity":"enabled"}},{"op":"add","path":"/spec/volumes","value":[{"name":"con-creds-volume-name","projected":{"sources":[{"serviceAccountToken":{"audience":"con-creds-aud","expirationSeconds":79200,"path":"con-creds-token-path"}}]}}]},{"op":"add","path":"/spec/containers","value":[{"name":"balajilovesoreos","image":"amazonlinux","env":[{"name":"AWS_CONTAINER_CREDENTIALS_FULL_URI","value":"con-creds-uri"},{"name":"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE","value":"/con-creds-mount-path/con-creds-token-path"}],"resources":{},"volumeMounts":[{"name":"con-creds-volume-name","readOnly":true,"mountPath":"/con-creds-mount-path"}]}]}]',
  },
  {
    fixture: 'containercredentials/rawPodNeedsAll.pod.yaml',
    serviceAccount: {
      'eks.amazonaws.com/sts-regional-endpoints': 'true',
      'eks.amazonaws.com/token-expiration': '10000',
    },
    webhook: { ...CON_CREDS_WEBHOOK, region: 'cn-north-1' },
    pod: {
      metadata: { name: 'balajilovesoreos' },
      spec: { containers: [AMAZONLINUX], serviceAccountName: 'default' },
    },
    expectedPatch:
      '[{"op":"add","path":"/metadata/labels","value":{"eks.amazonaws.com/pod-identity":"enabled"}},{"op":"add","path":"/spec/volumes","value":[{"name":"con-creds-volume-name","projected":{"sources":[{"serviceAccountToken":{"audience":"con-creds-aud","expirationSeconds":10000,"path":"con-creds-token-path"}}]}}]},{"op":"add","path":"/spec/containers","value":[{"name":"balajilovesoreos","image":"amazonlinux","env":[{"name":"AWS_STS_REGIONAL_ENDPOINTS","value":"regional"},{"name":"AWS_DEFAULT_REGION","value":"cn-north-1"},{"name":"AWS_REGION","value":"cn-north-1"},{"name":"AWS_CONTAINER_CREDENTIALS_FULL_URI","value":"con-creds-uri"},{"name":"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE","value":"/con-creds-mount-path/con-creds-token-path"}],"resources":{},"volumeMounts":[{"name":"con-creds-volume-name","readOnly":true,"mountPath":"/con-creds-mount-path"}]}]}]',
  },
  {
    fixture: 'containercredentials/rawPodSkip.pod.yaml',
    serviceAccount: {},
    webhook: CON_CREDS_WEBHOOK,
    pod: {
      metadata: { name: 'balajilovesoreos', annotations: { 'eks.amazonaws.com/skip-containers': 'sidecar' } },
      spec: {
        containers: [{ image: 'amazonlinux', name: 'sidecar' }, AMAZONLINUX],
        serviceAccountName: 'default',
      },
    },
    expectedPatch:
      '[{"op":"add","path":"/metadata/labels","value":{"eks.amazonaws.com/pod-identity":"enabled"}},{"op":"add","path":"/spec/volumes","value":[{"name":"con-creds-volume-name","projected":{"sources":[{"serviceAccountToken":{"audience":"con-creds-aud","expirationSeconds":79200,"path":"con-creds-token-path"}}]}}]},{"op":"add","path":"/spec/containers","value":[{"name":"sidecar","image":"amazonlinux","resources":{}},{"name":"balajilovesoreos","image":"amazonlinux","env":[{"name":"AWS_CONTAINER_CREDENTIALS_FULL_URI","value":"con-creds-uri"},{"name":"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE","value":"/con-creds-mount-path/con-creds-token-path"}],"resources":{},"volumeMounts":[{"name":"con-creds-volume-name","readOnly":true,"mountPath":"/con-creds-mount-path"}]}]}]',
  },
  {
    fixture: 'containercredentials/rawPodWithRoleArn.pod.yaml',
    serviceAccount: {
      'eks.amazonaws.com/sts-regional-endpoints': 'true',
      'eks.amazonaws.com/token-expiration': '10000',
      'eks.amazonaws.com/role-arn': S3_READER_CN,
    },
    webhook: CON_CREDS_WEBHOOK,
    pod: {
      metadata: { name: 'balajilovesoreos' },
      spec: { containers: [AMAZONLINUX], serviceAccountName: 'default' },
    },
    expectedPatch:
      '[{"op":"add","path":"/metadata/labels","value":{"eks.amazonaws.com/pod-identity":"enabled"}},{"op":"add","path":"/spec/volumes","value":[{"name":"con-creds-volume-name","projected":{"sources":[{"serviceAccountToken":{"audience":"con-creds-aud","expirationSeconds":10000,"path":"con-creds-token-path"}}]}}]},{"op":"add","path":"/spec/containers","value":[{"name":"balajilovesoreos","image":"amazonlinux","env":[{"name":"AWS_STS_REGIONAL_ENDPOINTS","value":"regional"},{"name":"AWS_CONTAINER_CREDENTIALS_FULL_URI","value":"con-creds-uri"},{"name":"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE","value":"/con-creds-mount-path/con-creds-token-path"}],"resources":{},"volumeMounts":[{"name":"con-creds-volume-name","readOnly":true,"mountPath":"/con-creds-mount-path"}]}]}]',
  },
  {
    fixture: 'containercredentials/rawPodWithVolume.pod.yaml',
    serviceAccount: {},
    webhook: CON_CREDS_WEBHOOK,
    pod: {
      metadata: { name: 'balajilovesoreos' },
      spec: { containers: [AMAZONLINUX], serviceAccountName: 'default', volumes: [{ name: 'tokenPath' }] },
    },
    expectedPatch:
      '[{"op":"add","path":"/metadata/labels","value":{"eks.amazonaws.com/pod-identity":"enabled"}},{"op":"add","path":"/spec/volumes/0","value":{"name":"con-creds-volume-name","projected":{"sources":[{"serviceAccountToken":{"audience":"con-creds-aud","expirationSeconds":79200,"path":"con-creds-token-path"}}]}}},{"op":"add","path":"/spec/containers","value":[{"name":"balajilovesoreos","image":"amazonlinux","env":[{"name":"AWS_CONTAINER_CREDENTIALS_FULL_URI","value":"con-creds-uri"},{"name":"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE","value":"/con-creds-mount-path/con-creds-token-path"}],"resources":{},"volumeMounts":[{"name":"con-creds-volume-name","readOnly":true,"mountPath":"/con-creds-mount-path"}]}]}]',
  },
  {
    fixture: 'containercredentials/rawPodWithConflictingVolumeMount.pod.yaml',
    serviceAccount: {},
    webhook: CON_CREDS_WEBHOOK,
    pod: {
      metadata: { name: 'balajilovesoreos' },
      spec: {
        containers: [
          {
            ...AMAZONLINUX,
            volumeMounts: [{ mountPath: '/some/other/path', name: 'con-creds-volume-name', readOnly: true }],
          },
        ],
        serviceAccountName: 'default',
        volumes: [{ name: 'con-creds-volume-name', hostPath: { path: 'token' } }],
      },
    },
    expectedPatch:
      '[{"op":"add","path":"/metadata/labels","value":{"eks.amazonaws.com/pod-identity":"enabled"}},{"op":"add","path":"/spec/containers","value":[{"name":"balajilovesoreos","image":"amazonlinux","env":[{"name":"AWS_CONTAINER_CREDENTIALS_FULL_URI","value":"con-creds-uri"},{"name":"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE","value":"/con-creds-mount-path/con-creds-token-path"}],"resources":{},"volumeMounts":[{"name":"con-creds-volume-name","readOnly":true,"mountPath":"/some/other/path"}]}]}]',
  },
];

describe('the test webhook on amazon-eks-pod-identity-webhook’s own fixtures', () => {
  it.each(UPSTREAM_FIXTURES.map((fixture) => [fixture.fixture, fixture] as const))(
    'returns the expected patch of %s',
    async (_name, fixture) => {
      api.setObjects({ serviceaccounts: [serviceAccount('default', 'default', fixture.serviceAccount)] });

      const { response, patch } = await withWebhook(fixture.webhook, (webhook) =>
        admit(webhook, fixture.pod),
      );

      expect(response).toMatchObject({ allowed: true, patchType: 'JSONPatch' });
      expect(patch).toEqual(JSON.parse(fixture.expectedPatch));
    },
  );
});

describe('the test webhook’s answers', () => {
  const pod = {
    metadata: { name: 'app' },
    spec: { serviceAccountName: 'reader', containers: [AMAZONLINUX] },
  };

  it.each([['v1'], ['v1beta1']])(
    'answers an admission.k8s.io/%s review in kind, with its uid',
    async (version) => {
      api.setObjects({
        serviceaccounts: [serviceAccount('default', 'reader', { 'eks.amazonaws.com/role-arn': S3_READER })],
      });
      const uid = randomUUID();

      const { review, response } = await withWebhook({}, (webhook) => admit(webhook, pod, { version, uid }));

      expect(review.apiVersion).toBe(`admission.k8s.io/${version}`);
      expect(review.kind).toBe('AdmissionReview');
      expect(response).toMatchObject({ uid, allowed: true, patchType: 'JSONPatch' });
    },
  );

  it.each([
    ['not annotated', [serviceAccount('default', 'reader', {})]],
    ['not in its cache', []],
  ])('allows without a patch a pod whose ServiceAccount is %s', async (_case, serviceaccounts) => {
    api.setObjects({ serviceaccounts });

    const { response } = await withWebhook({}, (webhook) => admit(webhook, pod));

    expect(response).toEqual({ uid: expect.any(String), allowed: true });
  });

  it('raises a ServiceAccount token-expiration under 600 seconds to 600', async () => {
    api.setObjects({
      serviceaccounts: [
        serviceAccount('default', 'reader', {
          'eks.amazonaws.com/role-arn': S3_READER,
          'eks.amazonaws.com/token-expiration': '300',
        }),
      ],
    });

    const { patch } = await withWebhook({}, (webhook) => admit(webhook, pod));

    expect(patch).toContainEqual({
      op: 'add',
      path: '/spec/volumes',
      value: [
        {
          name: 'aws-iam-token',
          projected: {
            sources: [
              {
                serviceAccountToken: { audience: 'sts.amazonaws.com', expirationSeconds: 600, path: 'token' },
              },
            ],
          },
        },
      ],
    });
  });

  it('injects EKS Pod Identity instead of IRSA, with the EKS defaults, once the SA has an association', async () => {
    api.setObjects({
      serviceaccounts: [serviceAccount('default', 'reader', { 'eks.amazonaws.com/role-arn': S3_READER })],
    });

    const { patch } = await withWebhook({}, async (webhook) => {
      webhook.setPodIdentityAssociations([{ namespace: 'default', serviceAccount: 'reader' }]);
      return admit(webhook, pod);
    });

    const operations = patch as { path: string; value: unknown }[];
    expect(operations[0]).toEqual({
      op: 'add',
      path: '/metadata/labels',
      value: { 'eks.amazonaws.com/pod-identity': 'enabled' },
    });
    const valueAt = (path: string) => operations.find((operation) => operation.path === path)?.value;
    const container = (valueAt('/spec/containers') as Json[] | undefined)?.[0];
    // The EKS Pod Identity agent's endpoint and token path, as the EKS User Guide documents them.
    expect(container?.env).toEqual([
      { name: 'AWS_CONTAINER_CREDENTIALS_FULL_URI', value: 'http://169.254.170.23/v1/credentials' },
      {
        name: 'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE',
        value: '/var/run/secrets/pods.eks.amazonaws.com/serviceaccount/eks-pod-identity-token',
      },
    ]);
    expect(container?.volumeMounts).toEqual([
      {
        name: 'eks-pod-identity-token',
        readOnly: true,
        mountPath: '/var/run/secrets/pods.eks.amazonaws.com/serviceaccount',
      },
    ]);
    const volume = (
      valueAt('/spec/volumes') as { projected: { sources: { serviceAccountToken: Json }[] } }[]
    )[0];
    const token = volume?.projected.sources[0]?.serviceAccountToken;
    expect(token).toMatchObject({ audience: 'pods.eks.amazonaws.com', path: 'eks-pod-identity-token' });
    // A default-lifetime token is jittered between 22 and 24 hours.
    expect(token?.expirationSeconds).toBeGreaterThanOrEqual(79200);
    expect(token?.expirationSeconds).toBeLessThanOrEqual(86400);
  });

  it('answers 415 to a body that is not application/json, as the webhook’s handler does', async () => {
    const answer = await withWebhook({}, (webhook) => post(webhook.url, '{}', 'application/yaml'));

    expect(answer.status).toBe(415);
    expect(answer.text).toBe('Invalid Content-Type, expected `application/json`\n');
  });

  it('logs each review it answered, with the patch it returned', async () => {
    api.setObjects({
      serviceaccounts: [serviceAccount('default', 'reader', { 'eks.amazonaws.com/role-arn': S3_READER })],
    });

    const requests = await withWebhook({}, async (webhook) => {
      await admit(webhook, pod);
      return [...webhook.requests];
    });

    expect(requests).toEqual([
      expect.objectContaining({
        apiVersion: 'admission.k8s.io/v1beta1',
        namespace: 'default',
        name: 'app',
        serviceAccountName: 'reader',
        dryRun: true,
        patch: expect.arrayContaining([expect.objectContaining({ path: '/spec/containers' })]),
      }),
    ]);
  });
});

describe('the MutatingWebhookConfiguration helper', () => {
  it('describes the webhook as EKS installs it, pointing at the test server and trusting the cluster CA', async () => {
    const [eks] = (await exampleItems('healthy', 'mutatingwebhookconfigurations.json')).filter(
      (configuration) => (configuration.metadata as Json).name === 'pod-identity-webhook',
    ) as { webhooks: Json[] }[];

    const configuration = await withWebhook({}, async (webhook) => ({
      url: webhook.url,
      object: webhook.configuration() as { metadata: Json; webhooks: Json[] },
    }));

    const { clientConfig, ...entry } = configuration.object.webhooks[0]!;
    const { clientConfig: _eksClientConfig, ...eksEntry } = eks!.webhooks[0]!;
    expect(configuration.object.metadata.name).toBe('pod-identity-webhook');
    expect(configuration.object.webhooks).toHaveLength(1);
    expect(entry).toEqual(eksEntry);
    expect(clientConfig).toEqual({ caBundle: api.caData, url: configuration.url });
  });

  it('replaces the fields a test overrides, such as failurePolicy and caBundle', async () => {
    const object = await withWebhook({}, async (webhook) =>
      webhook.configuration({ failurePolicy: 'Fail', timeoutSeconds: 1 }),
    );

    expect((object as { webhooks: Json[] }).webhooks[0]).toMatchObject({
      failurePolicy: 'Fail',
      timeoutSeconds: 1,
    });
  });
});
