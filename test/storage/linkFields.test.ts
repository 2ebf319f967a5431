import { TableClient } from '@azure/data-tables';
import { loadStorageConfig } from '../../shared/config';
import { LINKS_TABLE, TableCustomerLinkStore } from '../../shared/storage';
import { BC_CUSTOMER_REPLY, customerLink } from '../support/fixtures';
import { resetStorage, testStorageConnectionString, withoutEtag } from '../support/storage';

const CUSTOMER = BC_CUSTOMER_REPLY.id;
const link = customerLink;

const raw = () => TableClient.fromConnectionString(testStorageConnectionString(), LINKS_TABLE, { allowInsecureConnection: true });

beforeEach(resetStorage);

test('the address hash and the source version round-trip', async () => {
  const store = new TableCustomerLinkStore(loadStorageConfig());
  const full = link({ addressHash: 'a1b2', sourceModifiedAt: '2026-03-10T09:59:58.123Z' });
  await store.save(full);
  expect(withoutEtag(await store.get(CUSTOMER))).toStrictEqual(full);
  expect(await raw().getEntity(CUSTOMER, 'link')).toMatchObject({ AddressHash: 'a1b2', SourceModifiedAt: '2026-03-10T09:59:58.123Z' });
});

test('a link saved without them reads without them, and saving without them removes old values', async () => {
  const store = new TableCustomerLinkStore(loadStorageConfig());
  await store.save(link({ addressHash: 'a1b2', sourceModifiedAt: '2026-03-10T09:59:58.123Z' }));
  await store.save(link());
  const read = withoutEtag(await store.get(CUSTOMER));
  expect(read).toStrictEqual(link());
  expect(read).not.toHaveProperty('addressHash');
});

test('a malformed optional column is dropped, the link kept', async () => {
  const warn = jest.fn();
  const store = new TableCustomerLinkStore(loadStorageConfig(), { logger: { info: jest.fn(), warn, error: jest.fn() } });
  await store.save(link({ addressHash: 'a1b2', sourceModifiedAt: '2026-03-10T09:59:58.123Z' }));
  await raw().updateEntity({ partitionKey: CUSTOMER, rowKey: 'link', SourceModifiedAt: 'yesterday', AddressHash: 42 }, 'Merge');
  expect(withoutEtag(await store.get(CUSTOMER))).toStrictEqual(link());
  expect(warn).not.toHaveBeenCalled();
});

test('an invalid source version is refused on save', async () => {
  const store = new TableCustomerLinkStore(loadStorageConfig());
  await expect(store.save(link({ sourceModifiedAt: 'not a time' }))).rejects.toMatchObject({ code: 'StorageRejected', transient: false });
});
