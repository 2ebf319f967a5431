/**
 * One mapping everywhere: the reconciliation compares with the configured mapping file (CUSTOMER_MAPPING_FILE), as
 * the sync writes with it. A custom filter that admits companies makes them Missing (not Filtered) and `fix`
 * transfers them; drift in fields only the custom mapping writes (a Company formula, a Comment formula that reads
 * the address) is reported; Business Central is asked for every property the mapping reads.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../../shared/config';
import { compileMapping, defaultCustomerMapping, type MappingFile } from '../../shared/mapping';
import { SYNC_QUEUE } from '../../shared/queueNames';
import { reconcileSelect } from '../../shared/reconcile';
import { createStorage } from '../../shared/storage';
import { handleSyncMessage } from '../../shared/sync/queueWorkers';
import { syncCustomer } from '../../shared/sync/syncCustomer';
import { startMockServer } from '../support/msw';
import { syncDependencies } from '../support/sync';
import { takeMessages } from '../triggers/harness';
import { createReconcileFakes, person, resetReconcileWorld, runToEnd, reconcileDependencies } from './support';

const DEFAULT_DOCUMENT = JSON.parse(readFileSync(path.resolve(__dirname, '..', '..', 'mappings', 'customer-to-ipaas.json'), 'utf8')) as MappingFile;

/** Companies admitted; the company's name to Company; a Comment that reads the customer's address. */
const custom = compileMapping(
  {
    ...DEFAULT_DOCUMENT,
    filter: 'RecordType = "Customer" and Type in ["Person", "Company"]',
    fields: [
      { type: 'Field', source: 'No', destination: 'CustomerNumber', required: true },
      { type: 'Field', source: 'Name', destination: 'FirstName', required: true },
      { type: 'Formula', expression: 'Type = "Company" ? Name : ""', destination: 'Company' },
      { type: 'Field', source: 'EMail', destination: 'EmailAddress', required: true },
      { type: 'Formula', expression: '"Customer in " & Addresses[0].City', destination: 'Comment' },
    ],
  },
  'custom mapping (test)',
);

const config = loadConfig(process.env);
const { bc, ipaas, handlers } = createReconcileFakes(config);
startMockServer(...handlers);
const storage = createStorage(config.storage);
const deps = reconcileDependencies(config, storage, { mapping: custom });
const syncDeps = syncDependencies(config, storage, { mapping: custom });

beforeEach(() => resetReconcileWorld({ bc, ipaas }));


test('$select holds every property the mapping reads: the address ones only when an expression reads Addresses', () => {
  expect(reconcileSelect(defaultCustomerMapping())).toEqual(['id', 'number', 'displayName', 'type', 'email', 'blocked', 'lastModifiedDateTime']);
  expect(reconcileSelect(custom)).toEqual(expect.arrayContaining(['id', 'number', 'displayName', 'type', 'email', 'city', 'addressLine1', 'country']));
  // A formula over the whole record ($) may read anything.
  const whole = compileMapping(
    { ...DEFAULT_DOCUMENT, fields: [...DEFAULT_DOCUMENT.fields, { type: 'Formula', expression: '$string($count($keys($)))', destination: 'Comment' }] },
    'whole record',
  );
  expect(reconcileSelect(whole)).toEqual(expect.arrayContaining(['city', 'postalCode', 'phoneNumber']));
});

test('companies the custom filter admits are Missing, and fix transfers them; a second run is in sync', async () => {
  const company = person(bc, '30010', 'Adatum Corporation', { type: 'Company', city: 'Oslo', country: 'NO' });
  const personCustomer = person(bc, '30000', 'Robert Townes', { city: 'Atlanta', country: 'US' });
  await syncCustomer(syncDeps, { customerId: personCustomer.id, source: 'manual', correlationId: 'test', attempt: 1 });

  const first = await runToEnd(deps, true);
  expect(first.counts).toMatchObject({ InSync: 1, Missing: 1, Filtered: 0 });
  expect(first.items).toEqual([
    expect.objectContaining({
      category: 'Missing',
      customerId: company.id,
      changes: expect.arrayContaining([
        { field: 'Company', from: null, to: 'Adatum Corporation' },
        { field: 'Comment', from: null, to: 'Customer in Oslo' },
      ]),
    }),
  ]);
  // Business Central was asked for the address too (the Comment reads it).
  const selects = bc.requestLog.filter((request) => request.kind === 'list').map((request) => new URL(request.url).searchParams.get('$select') ?? '');
  expect(selects.length).toBeGreaterThan(0);
  for (const select of selects) expect(select.split(',')).toEqual(expect.arrayContaining(['city', 'type']));

  const messages = await takeMessages(SYNC_QUEUE);
  expect(messages).toEqual([expect.objectContaining({ customerId: company.id, source: 'reconcile' })]);
  for (const message of messages) await handleSyncMessage(syncDeps, message, { dequeueCount: 1 });
  expect(ipaas.customers().find((customer) => customer.customerNumber === '30010')).toMatchObject({ company: 'Adatum Corporation', comment: 'Customer in Oslo' });

  const second = await runToEnd(deps);
  expect(second.counts).toMatchObject({ InSync: 2, Missing: 0, Drifted: 0, Filtered: 0 });
});

test('drift in a field only the custom mapping writes is reported: an edited Comment, a changed address it reads', async () => {
  const edited = person(bc, '30020', 'Alex Wilber', { city: 'Atlanta', country: 'US' });
  const moved = person(bc, '30030', 'Nestor Wilke', { city: 'Oslo', country: 'NO' });
  for (const customer of [edited, moved]) {
    const record = await syncCustomer(syncDeps, { customerId: customer.id, source: 'manual', correlationId: 'test', attempt: 1 });
    expect(record.status).toBe('Succeeded');
  }
  const editedId = (await storage.links.get(edited.id))!.ipaasCustomerId;
  ipaas.editCustomer(editedId, { comment: 'edited by hand in iPaaS.com' });
  bc.updateCustomer(moved.id, { city: 'Bergen' });

  const report = await runToEnd(deps);
  expect(report.counts).toMatchObject({ Drifted: 2, InSync: 0 });
  const byId = new Map(report.items.map((item) => [item.customerId, item]));
  expect(byId.get(edited.id)).toMatchObject({ category: 'Drifted', changes: [{ field: 'Comment', from: 'edited by hand in iPaaS.com', to: 'Customer in Atlanta' }] });
  expect(byId.get(moved.id)).toMatchObject({ category: 'Drifted', changes: [{ field: 'Comment', from: 'Customer in Oslo', to: 'Customer in Bergen' }] });
});
