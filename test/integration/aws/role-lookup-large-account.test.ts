// The role lookup strategy of collectAws in an account with more roles than one ListRoles page (1000):
// ListRoles pages while many wanted roles are missing, GetRole for the few left over (see collectRoles).

import { CreateClusterCommand } from '@aws-sdk/client-eks';
import { CreateRoleCommand, ListRolesCommand } from '@aws-sdk/client-iam';
import { describe, expect, it } from 'vitest';
import { MOTO_ACCOUNT_ID, motoClients, recordRequests } from '../../../lambda/emulators/moto';
import type { AwsClients } from '../../../lambda/sources/aws/aws-clients';
import { collectAws } from '../../../lambda/sources/aws/collect-aws';
import { parseRole } from '../../../lambda/sources/parse/aws-objects';
import { useMoto } from '../../support/use-moto';

const ROLES_IN_ACCOUNT = 1100;
const role = (name: string) => `arn:aws:iam::${MOTO_ACCOUNT_ID}:role/${name}`;
const EC2_TRUST = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }],
});

describe('role lookup in an account of 1,100 roles against moto_server', () => {
  let clients: AwsClients;
  let firstPage: string[] = [];
  let secondPage: string[] = [];
  const moto = useMoto({
    resetBeforeEach: false,
    seed: async (endpoint) => {
      clients = motoClients(endpoint);
      await clients.eks.send(
        new CreateClusterCommand({
          name: 'platform-prod',
          roleArn: role('platform-prod-cluster-role'),
          resourcesVpcConfig: { subnetIds: ['subnet-0179024df634511da'] },
        }),
      );
      const names = Array.from(
        { length: ROLES_IN_ACCOUNT },
        (_, index) => `app-${String(index).padStart(4, '0')}`,
      );
      for (let start = 0; start < names.length; start += 25) {
        await Promise.all(
          names
            .slice(start, start + 25)
            .map((name) =>
              clients.iam.send(
                new CreateRoleCommand({ RoleName: name, AssumeRolePolicyDocument: EC2_TRUST }),
              ),
            ),
        );
      }
      // Which roles IAM puts on which page is IAM's business (moto orders by role ID): ask it.
      const first = await clients.iam.send(new ListRolesCommand({ MaxItems: 1000 }));
      const second = await clients.iam.send(new ListRolesCommand({ MaxItems: 1000, Marker: first.Marker }));
      firstPage = (first.Roles ?? []).flatMap((entry) => entry.RoleName ?? []);
      secondPage = (second.Roles ?? []).flatMap((entry) => entry.RoleName ?? []);
    },
  });

  it('pages ListRoles to the end when many wanted roles are past the first page', async () => {
    const wanted = secondPage.slice(0, 5);
    const observed = motoClients(moto.endpoint);
    const log = recordRequests(observed);

    const collection = await collectAws(observed, {
      clusterName: 'platform-prod',
      roleArns: wanted.map(role),
    });

    expect(collection.roles.map((raw) => parseRole(raw, '$').name)).toEqual(wanted);
    // Two pages read all 1,100 roles: fewer calls than five GetRole.
    expect(log.counts()).toMatchObject({ ListRoles: 2 });
    expect(log.counts().GetRole).toBeUndefined();
  });

  it.each([
    { left: 'a role that does not exist', other: () => 'no-such-role', found: 1 },
    { left: 'a role of the second page', other: () => secondPage[0] ?? '', found: 2 },
  ])(
    'fetches $left with GetRole when it is the only one left after the first page',
    async ({ other, found }) => {
      const wanted = [firstPage[0] ?? '', other()];
      const observed = motoClients(moto.endpoint);
      const log = recordRequests(observed);

      const collection = await collectAws(observed, {
        clusterName: 'platform-prod',
        roleArns: wanted.map(role),
      });

      expect(collection.errors).toEqual([]);
      expect(collection.roles).toHaveLength(found);
      // One page plus one GetRole, instead of the second page: a straggler never costs every remaining page.
      expect(log.counts()).toMatchObject({ ListRoles: 1, GetRole: 1 });
    },
  );
});
