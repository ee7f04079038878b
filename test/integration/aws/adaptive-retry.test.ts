// The clients' adaptive retry, exercised over real HTTP: a loopback proxy in front of moto_server answers
// chosen IAM calls with IAM's own throttling error, so the SDK's deserializer and retry strategy see exactly
// what AWS sends (HTTP 400, awsQuery XML error `Throttling`).

import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MOTO_ACCOUNT_ID, motoClients, recordRequests } from '../../../lambda/emulators/moto';
import { seedMotoWithExample } from '../../../lambda/emulators/seed-moto';
import { collectAws } from '../../../lambda/sources/aws/collect-aws';
import { parseRole } from '../../../lambda/sources/parse/aws-objects';
import { EXAMPLES } from '../../support/snapshot-dir';
import { useMoto } from '../../support/use-moto';

const THROTTLING_RESPONSE = [
  '<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">',
  '<Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error>',
  '<RequestId>4f0e6ad5-7c28-4c1b-9a53-0d1f3c1e2b7a</RequestId>',
  '</ErrorResponse>',
].join('');

interface ThrottlingProxy {
  readonly endpoint: string;
  readonly close: () => Promise<void>;
}

/** Forwards everything to moto, except that the first `times` calls of `action` get IAM's throttling error. */
async function throttlingProxy(target: string, action: string, times: number): Promise<ThrottlingProxy> {
  let remaining = times;
  const upstream = new URL(target);
  const server: Server = createServer((incoming, outgoing) => {
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.on('end', () => {
      const body = Buffer.concat(chunks);
      const target = incoming.headers['x-amz-target'];
      const isAction =
        new URLSearchParams(body.toString('utf8')).get('Action') === action ||
        (typeof target === 'string' && target.endsWith(`.${action}`));
      if (isAction && remaining > 0) {
        remaining -= 1;
        outgoing.writeHead(400, { 'content-type': 'text/xml' }).end(THROTTLING_RESPONSE);
        return;
      }
      const forwarded = request(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: incoming.method,
          path: incoming.url,
          headers: incoming.headers,
        },
        (response) => {
          outgoing.writeHead(response.statusCode ?? 502, response.headers);
          response.pipe(outgoing);
        },
      );
      forwarded.on('error', (error) => outgoing.writeHead(502).end(error.message));
      forwarded.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve, reject) => server.close((error) => (error ? reject(error) : resolve()))),
  };
}

const proxies: ThrottlingProxy[] = [];
afterEach(async () => {
  for (const proxy of proxies.splice(0)) await proxy.close();
});

describe('adaptive retry of the AWS clients against moto_server behind a throttling proxy', () => {
  const moto = useMoto();
  const orders = `arn:aws:iam::${MOTO_ACCOUNT_ID}:role/orders-api`;

  it('uses the SDK’s adaptive retry mode', async () => {
    const clients = motoClients(moto.endpoint);

    const strategy = await clients.iam.config.retryStrategy();

    expect(strategy).toMatchObject({ mode: 'adaptive' });
  });

  it('retries a throttled GetRole and collects the role without an error', async () => {
    await seedMotoWithExample(motoClients(moto.endpoint), join(EXAMPLES, 'blog-incident'));
    const proxy = await throttlingProxy(moto.endpoint, 'GetRole', 1);
    proxies.push(proxy);
    const clients = motoClients(proxy.endpoint);
    const requests = recordRequests(clients);

    const collection = await collectAws(clients, { clusterName: 'platform-prod', roleArns: [orders] });

    expect(collection.errors).toEqual([]);
    expect(collection.roles.map((raw) => parseRole(raw, '$').arn)).toEqual([orders]);
    expect(requests.counts().GetRole).toBe(2);
    expect(collection.requestCounts['iam:GetRole']).toBe(1);
  });

  it('records the roles as throttled once the attempts are spent', async () => {
    await seedMotoWithExample(motoClients(moto.endpoint), join(EXAMPLES, 'blog-incident'));
    const proxy = await throttlingProxy(moto.endpoint, 'GetRole', Number.POSITIVE_INFINITY);
    proxies.push(proxy);
    const clients = motoClients(proxy.endpoint, 'eu-west-1', 2);
    const requests = recordRequests(clients);

    const collection = await collectAws(clients, { clusterName: 'platform-prod', roleArns: [orders] });

    expect(requests.counts().GetRole).toBe(2);
    expect(collection.roles).toEqual([]);
    expect(collection.errors).toEqual([
      { resource: 'roles', reason: 'throttled', message: 'Throttling: Rate exceeded (HTTP 400)' },
    ]);
    expect(collection.oidcProviders.length).toBeGreaterThan(0);
  });
});
