import { TableClient } from '@azure/data-tables';
import { loadStorageConfig } from '../../shared/config';
import { SyncError } from '../../shared/errors';
import { LINKS_TABLE, TableCustomerLinkStore, type CustomerLink } from '../../shared/storage';
import { resetStorage, testStorageConnectionString } from '../support/storage';

const CUSTOMER = 'f2a5738a-44e3-ea11-bb43-000d3a2feca1';

const link = (overrides: Partial<CustomerLink> = {}): CustomerLink => ({
  customerId: CUSTOMER,
  ipaasCustomerId: '4711',
  customerNumber: '10000',
  payloadHash: 'sha256:1f2e3d',
  lastSyncedAt: '2026-03-10T10:00:00.000Z',
  ...overrides,
});

beforeEach(resetStorage);

test('get answers null for a customer never linked', async () => {
  const store = new TableCustomerLinkStore(loadStorageConfig());
  expect(await store.get(CUSTOMER)).toBeNull();
});

test('save then get round-trips the link, found whatever the GUID case', async () => {
  const store = new TableCustomerLinkStore(loadStorageConfig());
  await store.save(link());
  expect(await store.get(CUSTOMER)).toStrictEqual(link());
  expect(await store.get(CUSTOMER.toUpperCase())).toStrictEqual(link());
  expect(await store.get('130bbd17-dbb9-4790-9b12-2b0e9c9d22c3')).toBeNull();
});

test('save overwrites the previous link of the customer', async () => {
  const store = new TableCustomerLinkStore(loadStorageConfig());
  await store.save(link());
  const updated = link({ ipaasCustomerId: '4712', customerNumber: '10001', payloadHash: 'sha256:999', lastSyncedAt: '2026-03-11T08:00:00.000Z' });
  await store.save(updated);
  expect(await store.get(CUSTOMER)).toStrictEqual(updated);
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
