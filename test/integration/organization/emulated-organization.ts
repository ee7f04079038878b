// An organization in one moto_server (multi-account: each request acts in the account of its credentials) with
// member clusters served by the project's fake Kubernetes API server: the §1 incident (examples/blog-incident) in
// one account, the healthy example (moved to a second account, its pod identity webhook trusting the CA of the fake
// that serves it) beside it, and a cluster whose endpoint refuses connections in another region. The fakes verify
// each EKS token's signature against the member role's credentials, so a cluster is only audited if the token was
// signed as the member role.

import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CreateClusterCommand } from '@aws-sdk/client-eks';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import type { AwsCredentialIdentity } from '@smithy/types';
import {
  type FakeKubeApi,
  type KubeObject,
  startFakeKubeApi,
  type TestAwsCredentials,
} from '../../../lambda/emulators/fake-kube-api';
import { withCaBundle } from '../../../lambda/emulators/fake-kube-api/scripted-webhook';
import { accountClients, type MotoServer, startMoto } from '../../../lambda/emulators/moto';
import { exampleEksIdentities, seedMotoWithExample } from '../../../lambda/emulators/seed-moto';
import type { AuditTargetDependencies } from '../../../lambda/organization/audit-target';
import type { MemberSession } from '../../../lambda/organization/member-session';
import { copyExample, EXAMPLES, type SnapshotCopy } from '../../support/snapshot-dir';

export const HOME_REGION = 'eu-west-1';
export const OTHER_REGION = 'us-east-1';
/** Holds the §1 incident, as the example ships it. */
export const PAYMENTS = '111122223333';
/** Holds the healthy example (renamed search-prod) and, in us-east-1, a cluster that refuses connections. */
export const SEARCH = '222233334444';
/** A third account, whose member role a test can deny. */
export const ANALYTICS = '333344445555';
export const INCIDENT_CLUSTER = 'platform-prod';
export const HEALTHY_CLUSTER = 'search-prod';
export const REFUSING_CLUSTER = 'search-batch';
/** The incident example's other cluster (its clusters.json), seeded beside it; its endpoint refuses connections. */
export const STAGING_CLUSTER = 'platform-staging';
const REFUSED_ENDPOINT = 'https://127.0.0.1:1';
export const EXTERNAL_ID = 'irsa-auditor-test-external-id';

const BLOG_INCIDENT = join(EXAMPLES, 'blog-incident');

/** The running organization and what the member sessions were given. */
export interface EmulatedOrganization {
  readonly moto: MotoServer;
  readonly incident: FakeKubeApi;
  readonly healthy: FakeKubeApi;
  /** The credentials each account's member session obtained (by account), as audit-target used them. */
  readonly memberCredentials: Map<string, AwsCredentialIdentity>;
  /** audit-target's dependencies with sessions that record their credentials (for the fakes to verify tokens). */
  readonly recordingSessions: (deps: AuditTargetDependencies) => AuditTargetDependencies;
  /** The ARN STS says the credentials act as. */
  readonly callerArn: (credentials: AwsCredentialIdentity) => Promise<string>;
  stop(): Promise<void>;
}

/** Starts the fakes and moto, and seeds the member accounts. */
export async function startEmulatedOrganization(): Promise<EmulatedOrganization> {
  const memberCredentials = new Map<string, AwsCredentialIdentity>();
  // Read when a request arrives: the member role's credentials exist only once audit-target assumed it.
  const verifiedAs = (account: string): TestAwsCredentials => ({
    get accessKeyId() {
      return memberCredentials.get(account)?.accessKeyId ?? 'not-assumed-yet';
    },
    get secretAccessKey() {
      return memberCredentials.get(account)?.secretAccessKey ?? 'not-assumed-yet';
    },
    get sessionToken() {
      return memberCredentials.get(account)?.sessionToken;
    },
  });
  let healthyCopy: SnapshotCopy | undefined;
  let incident: FakeKubeApi | undefined;
  let healthy: FakeKubeApi | undefined;
  try {
    healthyCopy = await healthyExampleIn(SEARCH, HEALTHY_CLUSTER);
    incident = await startFakeKubeApi({
      snapshotDirectory: BLOG_INCIDENT,
      eks: { clusterName: INCIDENT_CLUSTER, credentials: verifiedAs(PAYMENTS) },
    });
    healthy = await startFakeKubeApi({
      snapshotDirectory: healthyCopy.directory,
      eks: { clusterName: HEALTHY_CLUSTER, credentials: verifiedAs(SEARCH) },
    });
    trustClusterCa(healthy);
    const incidentIdentities = await exampleEksIdentities(BLOG_INCIDENT);
    const healthyIdentities = await exampleEksIdentities(healthyCopy.directory);
    const moto = await startMoto({
      multiAccount: true,
      eksClusters: {
        ...healthyIdentities,
        ...incidentIdentities,
        [INCIDENT_CLUSTER]: {
          ...incidentIdentities[INCIDENT_CLUSTER],
          endpoint: incident.url,
          caData: incident.caData,
        },
        [HEALTHY_CLUSTER]: {
          ...healthyIdentities[HEALTHY_CLUSTER],
          endpoint: healthy.url,
          caData: healthy.caData,
        },
        // Port 1 on loopback: the connection is refused at once (no DNS, no waiting).
        [REFUSING_CLUSTER]: { endpoint: REFUSED_ENDPOINT, caData: healthy.caData },
        // The incident example's second cluster (clusters.json) is seeded too; it has no API server here.
        [STAGING_CLUSTER]: {
          ...incidentIdentities[STAGING_CLUSTER],
          endpoint: REFUSED_ENDPOINT,
          caData: incident.caData,
        },
      },
    });
    await seedMotoWithExample(await accountClients(moto.endpoint, PAYMENTS, HOME_REGION), BLOG_INCIDENT);
    await seedMotoWithExample(
      await accountClients(moto.endpoint, SEARCH, HOME_REGION),
      healthyCopy.directory,
    );
    const searchEast = await accountClients(moto.endpoint, SEARCH, OTHER_REGION);
    await searchEast.eks.send(
      new CreateClusterCommand({
        name: REFUSING_CLUSTER,
        roleArn: `arn:aws:iam::${SEARCH}:role/${REFUSING_CLUSTER}-cluster-role`,
        resourcesVpcConfig: { subnetIds: ['subnet-0179024df634511da'] },
      }),
    );
    const fakes = { incident, healthy, copy: healthyCopy };
    return {
      moto,
      incident,
      healthy,
      memberCredentials,
      recordingSessions: (deps) => ({
        ...deps,
        sessionFor: (account) => recording(deps.sessionFor(account), memberCredentials),
      }),
      callerArn: async (credentials) => {
        const sts = new STSClient({ region: HOME_REGION, endpoint: moto.endpoint, credentials });
        return (await sts.send(new GetCallerIdentityCommand({}))).Arn ?? '';
      },
      async stop() {
        await moto.stop();
        await fakes.healthy.stop();
        await fakes.incident.stop();
        await fakes.copy.dispose();
      },
    };
  } catch (error) {
    await healthy?.stop();
    await incident?.stop();
    await healthyCopy?.dispose();
    throw error;
  }
}

/** The session, recording the credentials it assumed once `assume()` succeeds. */
function recording(session: MemberSession, into: Map<string, AwsCredentialIdentity>): MemberSession {
  return {
    ...session,
    async assume() {
      await session.assume();
      into.set(session.account, await session.credentials());
    },
  };
}

/**
 * The pod identity webhook trusts the CA of the fake that serves the cluster, as a healthy cluster's webhook trusts
 * its cluster CA (the example's caBundle is the CA of the captured cluster, which the fake does not serve with).
 */
function trustClusterCa(cluster: FakeKubeApi): void {
  const isPodIdentityWebhook = (configuration: KubeObject) =>
    (configuration.metadata as { name?: string } | undefined)?.name === 'pod-identity-webhook';
  cluster.setObjects({
    mutatingwebhookconfigurations: cluster
      .objects('mutatingwebhookconfigurations')
      .map((configuration) =>
        isPodIdentityWebhook(configuration) ? withCaBundle(configuration, cluster.caData) : configuration,
      ),
  });
}

/** examples/healthy moved to another account and renamed: every ARN and the cluster name rewritten. */
async function healthyExampleIn(account: string, clusterName: string): Promise<SnapshotCopy> {
  const copy = await copyExample('healthy');
  for (const file of await readdir(copy.directory)) {
    if (!file.endsWith('.json')) continue;
    const path = join(copy.directory, file);
    const text = await readFile(path, 'utf8');
    await writeFile(path, text.replaceAll('111122223333', account).replaceAll('platform-prod', clusterName));
  }
  return copy;
}
