// The credentials each container's SDK really gets, as the webhook leaves them (handler.go addEnvToContainer):
// both variables and a reachable token, or a half-set pair the webhook refused to complete.

import { describe, expect, it } from 'vitest';
import { AuditContext } from '../../../lambda/core/analysis/context';
import { type ContainerCredentials, podInjection } from '../../../lambda/core/analysis/pod-injection';
import type { FindingDraft } from '../../../lambda/core/checks/check';
import { CHECKS } from '../../../lambda/core/checks/registry';
import type { Container, EnvVar } from '../../../lambda/core/model/cluster-state';
import p01RoleArnOnly from '../../fixtures/checks/irsa-p01/fail.container-sets-role-arn-only';
import p05Istio from '../../fixtures/checks/irsa-p05/fail.istio-proxy-added-after-webhook';
import p05IfNeeded from '../../fixtures/checks/irsa-p05/fail.sidecar-without-credentials-reinvocation-if-needed';
import { type CheckFixture, optionsOf } from '../../support/check-fixture';
import { container, pod, podIdentityContainer, roleArn, TOKEN_FILE } from '../../support/state-builder';

const ARN = roleArn('orders-api');
const tokenMount = {
  name: 'aws-iam-token',
  mountPath: '/var/run/secrets/eks.amazonaws.com/serviceaccount',
  readOnly: true,
};
const withEnv = (env: EnvVar[], volumeMounts = [tokenMount]): Container =>
  container('app', undefined, { env, volumeMounts });

describe('podInjection', () => {
  it.each<[string, Container, ContainerCredentials, string | undefined, string | undefined]>([
    ['as the webhook injects it', container('app', ARN), 'web-identity', undefined, undefined],
    [
      'with both variables set by hand',
      withEnv([
        { name: 'AWS_ROLE_ARN', value: ARN },
        { name: 'AWS_WEB_IDENTITY_TOKEN_FILE', value: TOKEN_FILE },
      ]),
      'web-identity',
      undefined,
      undefined,
    ],
    [
      'with a token path from a ConfigMap',
      withEnv([
        { name: 'AWS_ROLE_ARN', value: ARN },
        { name: 'AWS_WEB_IDENTITY_TOKEN_FILE', valueFrom: 'configMapKeyRef' },
      ]),
      'web-identity',
      undefined,
      undefined,
    ],
    [
      'with the Windows path the webhook writes on Windows nodes',
      withEnv([
        { name: 'AWS_ROLE_ARN', value: ARN },
        {
          name: 'AWS_WEB_IDENTITY_TOKEN_FILE',
          value: 'C:\\var\\run\\secrets\\eks.amazonaws.com\\serviceaccount\\token',
        },
      ]),
      'web-identity',
      undefined,
      undefined,
    ],
    [
      'with a token path beside the projected file',
      withEnv([
        { name: 'AWS_ROLE_ARN', value: ARN },
        { name: 'AWS_WEB_IDENTITY_TOKEN_FILE', value: `${TOKEN_FILE}-old` },
      ]),
      'incomplete',
      'a mount of the aws-iam-token volume holding AWS_WEB_IDENTITY_TOKEN_FILE',
      undefined,
    ],
    ['with Pod Identity', podIdentityContainer('app'), 'pod-identity', undefined, undefined],
    [
      'with only a hand-set AWS_ROLE_ARN',
      withEnv([{ name: 'AWS_ROLE_ARN', value: ARN }]),
      'incomplete',
      'AWS_WEB_IDENTITY_TOKEN_FILE',
      'AWS_ROLE_ARN',
    ],
    [
      'with only a hand-set AWS_WEB_IDENTITY_TOKEN_FILE',
      withEnv([{ name: 'AWS_WEB_IDENTITY_TOKEN_FILE', value: TOKEN_FILE }]),
      'incomplete',
      'AWS_ROLE_ARN',
      'AWS_WEB_IDENTITY_TOKEN_FILE',
    ],
    [
      'with both variables but no token mount',
      withEnv(
        [
          { name: 'AWS_ROLE_ARN', value: ARN },
          { name: 'AWS_WEB_IDENTITY_TOKEN_FILE', value: TOKEN_FILE },
        ],
        [],
      ),
      'incomplete',
      'a mount of the aws-iam-token volume holding AWS_WEB_IDENTITY_TOKEN_FILE',
      undefined,
    ],
    [
      'with half of Pod Identity',
      podIdentityContainer('app', {
        env: [{ name: 'AWS_CONTAINER_CREDENTIALS_FULL_URI', value: 'http://169.254.170.23/v1/credentials' }],
      }),
      'incomplete',
      'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE',
      'AWS_CONTAINER_CREDENTIALS_FULL_URI',
    ],
    ['untouched', container('app'), 'none', undefined, undefined],
  ])('reads a container %s', (_case, subject, credentials, missing, handSet) => {
    const injection = podInjection(
      pod('payments', 'orders-api-1', 'orders-api', ARN, { containers: [subject] }),
    );

    const [entry] = injection.containers;
    expect(entry?.credentials).toBe(credentials);
    expect(entry?.gaps[0]?.missing).toBe(missing);
    expect(entry?.gaps[0]?.handSet).toBe(handSet);
  });

  it('explains that a container presetting a region and regional STS too was left alone entirely', () => {
    const subject = withEnv(
      [
        { name: 'AWS_ROLE_ARN', value: ARN },
        { name: 'AWS_REGION', value: 'eu-west-1' },
        { name: 'AWS_STS_REGIONAL_ENDPOINTS', value: 'regional' },
      ],
      [],
    );

    const injection = podInjection(
      pod('payments', 'orders-api-1', 'orders-api', ARN, { containers: [subject] }),
    );

    expect(injection.containers[0]?.gaps[0]?.reason).toContain('left it alone entirely, mount included');
  });

  it('counts working and broken containers outside skip-containers', () => {
    const subject = pod('payments', 'orders-api-1', 'orders-api', ARN, {
      annotations: { 'eks.amazonaws.com/skip-containers': 'debug' },
      containers: [
        container('app', ARN),
        withEnv([{ name: 'AWS_ROLE_ARN', value: ARN }]),
        container('debug'),
      ],
    });

    const injection = podInjection(subject);

    expect([injection.working, injection.broken, injection.mode]).toEqual([1, 1, 'irsa']);
  });
});

const run = (checkId: string, value: CheckFixture): FindingDraft[] => {
  const check = CHECKS.find((candidate) => candidate.id === checkId)!;
  return [...check.run(new AuditContext(value.state, optionsOf(value)))];
};

describe('pod check remediations', () => {
  it('tells to remove a hand-set AWS_ROLE_ARN so the webhook injects both, or to set both', () => {
    const [finding] = run('IRSA-P01', p01RoleArnOnly);

    expect(finding?.remediation).toContain('Remove AWS_ROLE_ARN from container app');
    expect(finding?.remediation).toContain(
      `AWS_ROLE_ARN=${ARN} and AWS_WEB_IDENTITY_TOKEN_FILE=${TOKEN_FILE}`,
    );
  });

  it('suggests reinvocationPolicy IfNeeded only when the webhook has Never', () => {
    const [never] = run('IRSA-P05', p05Istio);
    const [ifNeeded] = run('IRSA-P05', p05IfNeeded);

    expect(never?.remediation).toContain('set reinvocationPolicy: IfNeeded');
    expect(ifNeeded?.remediation).not.toContain('set reinvocationPolicy');
    expect(ifNeeded?.remediation).toContain('eks.amazonaws.com/skip-containers annotation named it');
  });
});
