// Pod findings tell how to get the pod re-created for its controller, since only a fresh CREATE is mutated.

import { describe, expect, it } from 'vitest';
import { howToRecreatePod, podController } from '../../../lambda/core/analysis/remediation';
import type { Pod } from '../../../lambda/core/model/cluster-state';
import { pod } from '../../support/state-builder';

const deploymentPod = pod('payments', 'orders-api-6c8f7d9b4d-49rw9', 'orders-api', undefined, {
  labels: { app: 'orders-api', 'pod-template-hash': '6c8f7d9b4d' },
  owner: { kind: 'ReplicaSet', name: 'orders-api-6c8f7d9b4d' },
});
// A Deployment whose own name ends like a hash: the regex guess used to cut it short.
const hashLikeDeploymentPod = pod('web', 'frontend-v2abc12-5d7c6b9f84-srj99', 'frontend', undefined, {
  labels: { 'pod-template-hash': '5d7c6b9f84' },
  owner: { kind: 'ReplicaSet', name: 'frontend-v2abc12-5d7c6b9f84' },
});
const rolloutPod = pod('web', 'checkout-7f9b5c6d48-lhcnf', 'checkout', undefined, {
  labels: { 'rollouts-pod-template-hash': '7f9b5c6d48' },
  owner: { kind: 'ReplicaSet', name: 'checkout-7f9b5c6d48' },
});
const cronJobPod = pod('data', 'etl-runner-29931300-wblf9', 'etl-runner', undefined, {
  owner: { kind: 'Job', name: 'etl-runner-29931300' },
});
const jobPod = pod('data', 'db-migrate-2-x7k2p', 'migrator', undefined, {
  owner: { kind: 'Job', name: 'db-migrate-2' },
});
const statefulSetPod = pod('data', 'kafka-0', 'kafka', undefined, {
  owner: { kind: 'StatefulSet', name: 'kafka' },
});
const daemonSetPod = pod('monitoring', 'cloudwatch-agent-b42tk', 'cloudwatch-agent', undefined, {
  owner: { kind: 'DaemonSet', name: 'cloudwatch-agent' },
});
const { owner: _none, ...barePod } = pod('debug', 'toolbox', 'default');

describe('podController', () => {
  it.each<[string, Pod, string | undefined]>([
    ['a Deployment by the pod-template-hash label', deploymentPod, 'Deployment orders-api'],
    ['a Deployment whose name looks like a hash', hashLikeDeploymentPod, 'Deployment frontend-v2abc12'],
    ['the ReplicaSet of an Argo Rollout', rolloutPod, 'ReplicaSet checkout-7f9b5c6d48'],
    ['the CronJob of a Job named <cronjob>-<minutes>', cronJobPod, 'CronJob etl-runner'],
    ['a Job of its own', jobPod, 'Job db-migrate-2'],
    ['nothing for a bare pod', barePod, undefined],
  ])('finds %s', (_case, subject, expected) => {
    const controller = podController(subject);

    expect(controller === undefined ? undefined : `${controller.kind} ${controller.name}`).toBe(expected);
  });
});

describe('howToRecreatePod', () => {
  it.each<[string, Pod, string]>([
    ['restarts the Deployment', deploymentPod, '`kubectl rollout restart deployment -n payments orders-api`'],
    ['restarts the StatefulSet', statefulSetPod, '`kubectl rollout restart statefulset -n data kafka`'],
    [
      'restarts the DaemonSet',
      daemonSetPod,
      '`kubectl rollout restart daemonset -n monitoring cloudwatch-agent`',
    ],
    [
      'deletes the pod of a ReplicaSet that another controller owns',
      rolloutPod,
      '`kubectl delete pod -n web checkout-7f9b5c6d48-lhcnf`, and its ReplicaSet checkout-7f9b5c6d48 re-creates it',
    ],
    [
      'deletes the pod of a plain Job',
      jobPod,
      '`kubectl delete pod -n data db-migrate-2-x7k2p`, and Job db-migrate-2 starts a new pod if it has not completed',
    ],
  ])('%s', (_case, subject, expected) => {
    expect(howToRecreatePod(subject)).toBe(expected);
  });

  it('points a CronJob run at the next schedule or a manual run from the CronJob', () => {
    const text = howToRecreatePod(cronJobPod);

    expect(text).toContain('next scheduled run of CronJob etl-runner');
    expect(text).toContain('`kubectl create job -n data --from=cronjob/etl-runner etl-runner-manual`');
    expect(text).not.toContain('kubectl delete pod');
  });

  it('tells to re-apply the manifest of a pod nothing owns, as deleting would remove it for good', () => {
    const text = howToRecreatePod(barePod);

    expect(text).toContain('`kubectl replace --force -f <manifest of pod toolbox>`');
    expect(text).toContain('remove it for good');
  });
});
