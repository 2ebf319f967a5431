import { TableClient } from '@azure/data-tables';
import { loadStorageConfig } from '../../shared/config';
import { SyncError } from '../../shared/errors';
import { LINKS_TABLE, TableCustomerLinkStore } from '../../shared/storage';
import { BC_CUSTOMER_REPLY, customerLink } from '../support/fixtures';
import { resetStorage, testStorageConnectionString, withoutEtag } from '../support/storage';

const CUSTOMER = BC_CUSTOMER_REPLY.id;
const link = customerLink;

beforeEach(resetStorage);

test('get answers null for a customer never linked', async () => {
  const store = new TableCustomerLinkStore(loadStorageConfig());
  expect(await store.get(CUSTOMER)).toBeNull();
});

test('save then get round-trips the link, found whatever the GUID case', async () => {
  const store = new TableCustomerLinkStore(loadStorageConfig());
  await store.save(link());
  expect(withoutEtag(await store.get(CUSTOMER))).toStrictEqual(link());
  expect(withoutEtag(await store.get(CUSTOMER.toUpperCase()))).toStrictEqual(link());
  expect(await store.get('130bbd17-dbb9-4790-9b12-2b0e9c9d22c3')).toBeNull();
});

test('save overwrites the previous link of the customer', async () => {
  const store = new TableCustomerLinkStore(loadStorageConfig());
  await store.save(link());
  const updated = link({ ipaasCustomerId: '4712', customerNumber: '10001', payloadHash: 'sha256:999', lastSyncedAt: '2026-03-11T08:00:00.000Z' });
  await store.save(updated);
  expect(withoutEtag(await store.get(CUSTOMER))).toStrictEqual(updated);
});

test('an empty customer number survives the round trip', async () => {
  const store = new TableCustomerLinkStore(loadStorageConfig());
  await store.save(link({ customerNumber: '' }));
  expect((await store.get(CUSTOMER))?.customerNumber).toBe('');
});

test('refuses an invalid link with a final error', async () => {
  const store = new TableCustomerLinkStore(loadStorageConfig());
  await expect(store.save(link({ ipaasCustomerId: '' }))).rejects.toMatchObject({ code: 'StorageRejected', transient: false });
  await expect(store.save(link({ lastSyncedAt: 'yesterday' }))).rejects.toBeInstanceOf(SyncError);
  expect(await store.get(CUSTOMER)).toBeNull();
});

test('a corrupt row reads as no link, with a warning', async () => {
  const warn = jest.fn();
  const store = new TableCustomerLinkStore(loadStorageConfig(), { logger: { info: jest.fn(), warn, error: jest.fn() } });
  await store.save(link());
  const raw = TableClient.fromConnectionString(testStorageConnectionString(), LINKS_TABLE, { allowInsecureConnection: true });
  await raw.updateEntity({ partitionKey: CUSTOMER, rowKey: 'link', IpaasCustomerId: 42 }, 'Merge');
  expect(await store.get(CUSTOMER)).toBeNull();
  expect(warn).toHaveBeenCalledTimes(1);
  expect(warn.mock.calls[0]![0]).toContain('IpaasCustomerId');
});

describe('reverse links (which Business Central customer an iPaaS.com customer belongs to)', () => {
  const A = '3f2504e0-4f89-11d3-9a0c-0305e82c3301';
  const B = '5c1d2e3f-0a1b-4c2d-8e3f-4a5b6c7d8e9f';
  const owner = (customerId: string, customerNumber: string) => ({ customerId, customerNumber });

  test('a claim is atomic: the first owner keeps it, a second gets the first one back, the owner itself gets it again', async () => {
    const store = new TableCustomerLinkStore(loadStorageConfig());
    expect(await store.ownerOf('7001')).toBeNull();
    const claims = await Promise.all([store.claim('7001', owner(A, '10000')), store.claim('7001', owner(B, '10001'))]);
    const winner = claims[0]!.customerId === A ? A : B;
    expect(claims.map((claim) => claim.customerId)).toEqual([winner, winner]);
    expect(await store.claim('7001', owner(winner, 'x'))).toMatchObject({ customerId: winner });
    expect(await store.ownerOf('7001')).toMatchObject({ customerId: winner });
  });

  test('a claim released by its owner is free again; another owner cannot release it', async () => {
    const store = new TableCustomerLinkStore(loadStorageConfig());
    await store.claim('7002', owner(A, '10000'));
    await store.releaseClaim('7002', owner(B, '10001'));
    expect(await store.ownerOf('7002')).toMatchObject({ customerId: A });
    await store.releaseClaim('7002', owner(A, '10000'));
    expect(await store.ownerOf('7002')).toBeNull();
  });

  test('links saved before reverse links existed are found by a query until their claim, page by page, is done', async () => {
    const store = new TableCustomerLinkStore(loadStorageConfig(), { backfill: { pageSize: 1, pagesPerLookup: 1 } });
    const customers = ['0a1b2c3d-0000-4000-8000-000000000001', '0a1b2c3d-0000-4000-8000-000000000002', '0a1b2c3d-0000-4000-8000-000000000003'];
    for (const [index, customerId] of customers.entries()) {
      await store.save(link({ customerId, ipaasCustomerId: `800${index}`, customerNumber: `2000${index}` }));
    }
    // One page per look-up is not enough for three links: the query answers meanwhile.
    expect(await store.ownerOf('8002')).toEqual(owner(customers[2]!, '20002'));
    expect(await store.ownerOf('8001')).toEqual(owner(customers[1]!, '20001'));
    expect(await store.ownerOf('9999')).toBeNull();
    // Done (the place reached is kept in storage, so a new process goes on from there).
    const fresh = new TableCustomerLinkStore(loadStorageConfig(), { backfill: { pageSize: 1, pagesPerLookup: 5 } });
    expect(await fresh.backfillClaims()).toBe(true);
    for (const [index, customerId] of customers.entries()) expect(await fresh.ownerOf(`800${index}`)).toEqual(owner(customerId, `2000${index}`));
  });
});
