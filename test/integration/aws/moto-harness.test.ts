import { CreateRoleCommand, GetRoleCommand } from '@aws-sdk/client-iam';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { describe, expect, it } from 'vitest';
import { MOTO_ACCOUNT_ID, motoClients, startMoto } from '../../../lambda/emulators/moto';

const EC2_TRUST = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }],
});

describe('the moto_server test harness', () => {
  it('fails with the install command when moto_server is not on the PATH', async () => {
    const started = startMoto({ searchPath: '/nonexistent-directory' });

    await expect(started).rejects.toThrow('moto_server is not installed: pip install "moto[server]"');
  });

  it('starts on a loopback port, answers as the configured account, forgets everything on reset and stops', async () => {
    const moto = await startMoto();
    try {
      const clients = motoClients(moto.endpoint);
      await clients.iam.send(
        new CreateRoleCommand({ RoleName: 'node-role', AssumeRolePolicyDocument: EC2_TRUST }),
      );

      const identity = await clients.sts.send(new GetCallerIdentityCommand({}));
      await moto.reset();
      const afterReset = await clients.iam
        .send(new GetRoleCommand({ RoleName: 'node-role' }))
        .catch((error: unknown) => error);

      expect(moto.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(identity.Account).toBe(MOTO_ACCOUNT_ID);
      expect(afterReset).toMatchObject({ name: 'NoSuchEntityException' });
    } finally {
      await moto.stop();
    }

    await expect(fetch(`${moto.endpoint}/moto-api/`)).rejects.toThrow();
  });
});
