import type { TransferRecord } from '../../shared/storage/types';
import { ALREADY_IN_IPAAS, planSync, type SyncPlan } from '../../shared/sync/planSync';
import { syncCustomer } from '../../shared/sync/syncCustomer';
import type { FakeIpaasRequestCounts } from '../../dev/fakes/ipaas';
import type { FakeBcCustomerInput } from '../../dev/fakes/businessCentral';
import { syncDependencies, syncWorld } from '../support/sync';
import { resetStorage } from '../support/storage';
import { ATLANTA_ADDRESS } from '../support/fixtures';

/**
 * One planner, two executors: for every scenario the dry run's plan is what the real sync then does, and the
 * dry run itself writes nothing (no iPaaS.com write, no transfer row, no link change).
 */
const { config, bc, ipaas, storage } = syncWorld({ IPAAS_SYSTEM_ID: '1207' });
const deps = syncDependencies(config, storage);

const ADDRESS = ATLANTA_ADDRESS;
const EMAIL = 'robert.townes@contoso.example';

function person(overrides: FakeBcCustomerInput = {}) {
  return bc.upsertCustomer({ number: '10000', displayName: 'Robert Townes', type: 'Person', email: EMAIL, ...overrides });
}

const WRITES = ['create', 'update', 'addAddress', 'linkExternalId'] as const;
function writes(): Record<(typeof WRITES)[number], number> {
  return Object.fromEntries(WRITES.map((operation) => [operation, ipaas.requests[operation]])) as Record<(typeof WRITES)[number], number>;
}
function delta(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(after).map(([key, value]) => [key, value - (before[key] ?? 0)]));
}

const ACTION_OF: Record<SyncPlan['outcome'], TransferRecord['action']> = {
  Create: 'Created',
  Update: 'Updated',
  Unchanged: 'Unchanged',
  Skipped: null,
  Fail: null,
};

interface Scenario {
  name: string;
  /** Sets the world up; returns the Business Central customer id to sync. */
  arrange: () => Promise<string> | string;
  expected: Partial<SyncPlan>;
}

const scenarios: Scenario[] = [
  { name: 'seed 1: valid customer (create)', arrange: () => person().id, expected: { outcome: 'Create', externalIdLink: true } },
  {
    name: 'seed 2: duplicate CustomerNumber',
    arrange: () => {
      ipaas.seedCustomer({ customerNumber: '10000', firstName: 'Someone Else', emailAddress: 'someone.else@example.com' });
      return person(ADDRESS).id;
    },
    expected: { outcome: 'Fail', errorCode: 'DuplicateCustomerNumber' },
  },
  { name: 'seed 3: missing email', arrange: () => person({ email: '' }).id, expected: { outcome: 'Fail', errorCode: 'MissingEmail' } },
  { name: 'seed 4: customer with address', arrange: () => person(ADDRESS).id, expected: { outcome: 'Create' } },
  {
    name: 'email match (update of the matched customer)',
    arrange: () => {
      ipaas.seedCustomer({ customerNumber: '10000', firstName: 'R. Townes', emailAddress: 'Robert.Townes@Contoso.example' });
      return person(ADDRESS).id;
    },
    expected: { outcome: 'Update', changes: [{ field: 'FirstName', from: 'R. Townes', to: 'Robert Townes' }, { field: 'EmailAddress', from: 'Robert.Townes@Contoso.example', to: EMAIL }] },
  },
  {
    name: 'DuplicateEmail',
    arrange: () => {
      ipaas.seedCustomer({ customerNumber: 'A1', emailAddress: EMAIL });
      ipaas.seedCustomer({ customerNumber: 'A2', emailAddress: EMAIL });
      return person().id;
    },
    expected: { outcome: 'Fail', errorCode: 'DuplicateEmail' },
  },
  {
    name: 'DuplicateCustomerNumber on the update path',
    arrange: () => {
      ipaas.seedCustomer({ customerNumber: 'OLD-1', firstName: 'Old', emailAddress: EMAIL });
      ipaas.seedCustomer({ customerNumber: '10000', firstName: 'Owner', emailAddress: 'owner@example.com' });
      return person(ADDRESS).id;
    },
    expected: { outcome: 'Fail', errorCode: 'DuplicateCustomerNumber' },
  },
  {
    name: 'PreventDuplicate (the address is there already)',
    arrange: () => {
      const existing = ipaas.seedCustomer({ customerNumber: '10000', firstName: 'Robert Townes', emailAddress: EMAIL });
      ipaas.seedAddress(existing.id, { address1: '192 MARKET SQUARE', city: 'Atlanta', region: 'GA', country: 'US', postalCode: '31772', phoneNumber: '+1 404 555 0100' });
      return person(ADDRESS).id;
    },
    expected: { outcome: 'Unchanged', reason: ALREADY_IN_IPAAS, changes: [], addressesToAdd: [], externalIdLink: true },
  },
  {
    name: 'unchanged since the last transfer',
    arrange: async () => {
      const customer = person(ADDRESS);
      await syncCustomer(deps, { customerId: customer.id, source: 'manual', correlationId: 'arrange', attempt: 1 });
      return customer.id;
    },
    expected: { outcome: 'Unchanged', externalIdLink: false, changes: [], addressesToAdd: [] },
  },
  {
    name: 'unchanged, with an external id link still pending',
    arrange: async () => {
      ipaas.setSubscriptions([]);
      const customer = person();
      await syncCustomer(deps, { customerId: customer.id, source: 'manual', correlationId: 'arrange', attempt: 1 });
      ipaas.reset();
      ipaas.seedCustomer({ customerNumber: '10000', firstName: 'Robert Townes', emailAddress: EMAIL });
      return customer.id;
    },
    expected: { outcome: 'Unchanged', externalIdLink: true },
  },
  {
    name: 'a changed customer (update through the link)',
    arrange: async () => {
      const customer = person(ADDRESS);
      await syncCustomer(deps, { customerId: customer.id, source: 'manual', correlationId: 'arrange', attempt: 1 });
      bc.updateCustomer(customer.id, { displayName: 'Robert J. Townes', city: 'Savannah' });
      return customer.id;
    },
    expected: { outcome: 'Update', changes: [{ field: 'FirstName', from: 'Robert Townes', to: 'Robert J. Townes' }], externalIdLink: false },
  },
  { name: 'a Company customer (filtered)', arrange: () => person({ type: 'Company' }).id, expected: { outcome: 'Skipped' } },
  {
    name: 'a customer deleted in Business Central',
    arrange: () => {
      const customer = person();
      bc.deleteCustomer(customer.id);
      return customer.id;
    },
    expected: { outcome: 'Skipped', customerNumber: null },
  },
];

beforeEach(async () => {
  await resetStorage();
  ipaas.reset();
  for (const customer of bc.customers()) bc.deleteCustomer(customer.id);
});

describe.each(scenarios)('$name', ({ arrange, expected }) => {
  test('the dry run writes nothing and its plan is what the sync then does', async () => {
    const customerId = await arrange();
    const linkBefore = await storage.links.get(customerId);
    const transfersBefore = await storage.transfers.listForCustomer(customerId);
    const requestsBefore: FakeIpaasRequestCounts = { ...ipaas.requests };
    const customersBefore = ipaas.customers();

    const plan = await planSync(deps, customerId);
    expect(plan).toMatchObject({ customerId, ...expected });

    // Reads only.
    expect(delta(requestsBefore, ipaas.requests)).toMatchObject({ create: 0, update: 0, addAddress: 0, linkExternalId: 0 });
    expect(ipaas.customers()).toEqual(customersBefore);
    expect(await storage.transfers.listForCustomer(customerId)).toEqual(transfersBefore);
    expect(await storage.links.get(customerId)).toEqual(linkBefore);

    // The real sync does exactly what was planned.
    const before = writes();
    const transfer = await syncCustomer(deps, { customerId, source: 'manual', correlationId: 'real', attempt: 1 });
    const done = delta(before, writes());

    expect(transfer.customerNumber).toBe(plan.customerNumber);
    if (plan.outcome === 'Fail') expect(transfer).toMatchObject({ status: 'Failed', errorCode: plan.errorCode, errorMessage: plan.reason });
    else if (plan.outcome === 'Skipped') expect(transfer).toMatchObject({ status: 'Skipped', errorMessage: plan.reason });
    // Unchanged by the link's hash writes nothing (Skipped) unless a link is pending; found identical in iPaaS.com, the link is saved (Succeeded).
    else if (plan.outcome === 'Unchanged') {
      expect(transfer).toMatchObject({ action: 'Unchanged', status: plan.externalIdLink || plan.reason === ALREADY_IN_IPAAS ? 'Succeeded' : 'Skipped' });
    }
    else expect(transfer).toMatchObject({ status: 'Succeeded', action: ACTION_OF[plan.outcome] });
    if (plan.ipaasCustomerId !== null) expect(transfer.ipaasCustomerId).toBe(plan.ipaasCustomerId);

    expect(done).toEqual({
      create: plan.outcome === 'Create' ? 1 : 0,
      update: plan.outcome === 'Update' && plan.changes.length > 0 ? 1 : 0,
      addAddress: plan.addressesToAdd.length,
      linkExternalId: plan.externalIdLink ? 1 : 0,
    });
    expect(transfer.addressesAdded).toBe(plan.addressesToAdd.length);
    if (plan.outcome === 'Create' || plan.outcome === 'Update') {
      const written = ipaas.customer(transfer.ipaasCustomerId!);
      for (const change of plan.changes) {
        const key = (change.field.charAt(0).toLowerCase() + change.field.slice(1)) as 'customerNumber' | 'firstName' | 'emailAddress';
        expect(written?.[key]).toBe(change.to);
      }
      const addresses = ipaas.addresses(transfer.ipaasCustomerId!).slice(-plan.addressesToAdd.length || Infinity);
      if (plan.addressesToAdd.length > 0) {
        expect(addresses.map((address) => address.city)).toEqual(plan.addressesToAdd.map((address) => address.City));
      }
    }
  });
});

test('a plan speaks in the mapping\'s destination names', async () => {
  const plan = await planSync(deps, person(ADDRESS).id);
  expect(plan).toEqual({
    customerId: expect.any(String),
    customerNumber: '10000',
    outcome: 'Create',
    errorCode: null,
    reason: null,
    ipaasCustomerId: null,
    changes: [
      { field: 'CustomerNumber', from: null, to: '10000' },
      { field: 'FirstName', from: null, to: 'Robert Townes' },
      { field: 'EmailAddress', from: null, to: EMAIL },
    ],
    addressesToAdd: [
      { Address1: '192 Market Square', Address2: '', City: 'Atlanta', Region: 'GA', Country: 'US', PostalCode: '31772', PhoneNumber: '+1 404 555 0100' },
    ],
    externalIdLink: true,
  });
});
