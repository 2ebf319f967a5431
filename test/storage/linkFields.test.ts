import { TableClient } from '@azure/data-tables';
import { loadStorageConfig } from '../../shared/config';
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

const raw = () => TableClient.fromConnectionString(testStorageConnectionString(), LINKS_TABLE, { allowInsecureConnection: true });

beforeEach(resetStorage);

test('the address hash and the source version round-trip', async () => {
  const store = new TableCustomerLinkStore(loadStorageConfig());
  const full = link({ addressHash: 'a1b2', sourceModifiedAt: '2026-03-10T09:59:58.123Z' });
  await store.save(full);
  expect(await store.get(CUSTOMER)).toStrictEqual(full);
  expect(await raw().getEntity(CUSTOMER, 'link')).toMatchObject({ AddressHash: 'a1b2', SourceModifiedAt: '2026-03-10T09:59:58.123Z' });
});

test('a link saved without them reads without them, and saving without them removes old values', async () => {
  const store = new TableCustomerLinkStore(loadStorageConfig());
  await store.save(link({ addressHash: 'a1b2', sourceModifiedAt: '2026-03-10T09:59:58.123Z' }));
  await store.save(link());
  const read = await store.get(CUSTOMER);
  expect(read).toStrictEqual(link());
  expect(read).not.toHaveProperty('addressHash');
});

test('a malformed optional column is dropped, the link kept', async () => {
  const warn = jest.fn();
  const store = new TableCustomerLinkStore(loadStorageConfig(), { logger: { info: jest.fn(), warn, error: jest.fn() } });
  await store.save(link({ addressHash: 'a1b2', sourceModifiedAt: '2026-03-10T09:59:58.123Z' }));
  await raw().updateEntity({ partitionKey: CUSTOMER, rowKey: 'link', SourceModifiedAt: 'yesterday', AddressHash: 42 }, 'Merge');
  expect(await store.get(CUSTOMER)).toStrictEqual(link());
  expect(warn).not.toHaveBeenCalled();
});

test('an invalid source version is refused on save', async () => {
  const store = new TableCustomerLinkStore(loadStorageConfig());
  await expect(store.save(link({ sourceModifiedAt: 'not a time' }))).rejects.toMatchObject({ code: 'StorageRejected', transient: false });
});
