// The organization's accounts as discover reads them from ListAccounts (no network: the answer is injected into the
// real Organizations client before it sends, a shape injection SPEC §9 allows), and the order of the map's items.

import { type Account, OrganizationsClient } from '@aws-sdk/client-organizations';
import { describe, expect, it } from 'vitest';
import { activeAccounts, DiscoverError, interleavedItems } from '../../../lambda/organization/discover';
import type { DiscoveredTarget } from '../../../lambda/organization/run-objects';

/** A real Organizations client whose ListAccounts answers `pages`, one per call, without leaving the process. */
function organizationsAnswering(pages: readonly (readonly Account[])[]): OrganizationsClient {
  const client = new OrganizationsClient({
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'example' },
  });
  let call = 0;
  client.middlewareStack.add(
    () => async () => {
      const index = call;
      call += 1;
      return {
        output: {
          $metadata: {},
          Accounts: [...(pages[index] ?? [])],
          ...(index + 1 < pages.length ? { NextToken: `page-${index + 1}` } : {}),
        },
        response: {},
      };
    },
    { step: 'initialize', name: 'listAccountsAnswer' },
  );
  return client;
}

describe('activeAccounts', () => {
  it('keeps the accounts whose State is ACTIVE when the answer has no Status (its retirement)', async () => {
    const organizations = organizationsAnswering([
      [
        { Id: '222233334444', State: 'ACTIVE' },
        { Id: '111122223333', State: 'ACTIVE' },
      ],
      [
        { Id: '333344445555', State: 'SUSPENDED' },
        { Id: '444455556666', State: 'PENDING_CLOSURE' },
        { Id: '555566667777', State: 'CLOSED' },
      ],
    ]);

    expect(await activeAccounts({ organizations })).toEqual(['111122223333', '222233334444']);
  });

  it('reads Status when an older answer has no State, and prefers State when both are there', async () => {
    const organizations = organizationsAnswering([
      [
        { Id: '111122223333', Status: 'ACTIVE' },
        { Id: '222233334444', Status: 'ACTIVE', State: 'CLOSED' },
        { Id: '333344445555', Status: 'SUSPENDED' },
      ],
    ]);

    expect(await activeAccounts({ organizations })).toEqual(['111122223333']);
  });

  it('fails with a DiscoverError when the organization lists accounts but none is ACTIVE', async () => {
    const organizations = organizationsAnswering([
      [
        { Id: '111122223333', State: 'SUSPENDED' },
        { Id: '222233334444', State: 'CLOSED' },
      ],
    ]);

    const listing = activeAccounts({ organizations });

    await expect(listing).rejects.toBeInstanceOf(DiscoverError);
    await expect(listing).rejects.toThrow(
      /lists 2 account\(s\) but none whose State \(or Status\) is ACTIVE/,
    );
  });
});

describe('interleavedItems', () => {
  const target = (account: string, region: string, clusters: string[]): DiscoveredTarget => ({
    account,
    region,
    clusters,
  });

  it('deals the clusters round-robin across accounts, then across each account’s regions', () => {
    const items = interleavedItems([
      target('111111111111', 'eu-west-1', ['a1', 'a2', 'a3']),
      target('111111111111', 'us-east-1', ['a4']),
      target('222222222222', 'eu-west-1', ['b1']),
      target('222222222222', 'us-east-1', ['b2']),
      { account: '333333333333', region: 'eu-west-1', error: { reason: 'access-denied', message: 'denied' } },
      target('444444444444', 'eu-west-1', ['d1', 'd2']),
    ]);

    expect(items.map((item) => `${item.account.slice(0, 1)} ${item.region} ${item.cluster}`)).toEqual([
      '1 eu-west-1 a1',
      '2 eu-west-1 b1',
      '4 eu-west-1 d1',
      '1 us-east-1 a4',
      '2 us-east-1 b2',
      '4 eu-west-1 d2',
      '1 eu-west-1 a2',
      '1 eu-west-1 a3',
    ]);
  });

  it('never puts two clusters of one account next to each other while another account has clusters left', () => {
    const items = interleavedItems([
      target(
        '111111111111',
        'eu-west-1',
        Array.from({ length: 20 }, (_, index) => `big-${index}`),
      ),
      target(
        '222222222222',
        'eu-west-1',
        Array.from({ length: 20 }, (_, index) => `other-${index}`),
      ),
    ]);

    expect(items).toHaveLength(40);
    items.slice(1).forEach((item, index) => {
      expect(item.account).not.toBe(items[index]?.account);
    });
  });
});
