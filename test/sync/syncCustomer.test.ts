import { SyncError } from '../../shared/errors';
import { silentLogger } from '../../shared/log';
import { handlePoisonMessage, handleSyncMessage } from '../../shared/sync/queueWorkers';
import { syncCustomer, type SyncDependencies, type SyncRequest } from '../../shared/sync/syncCustomer';
import type { FakeBcCustomerInput } from '../../dev/fakes/businessCentral';
import { syncDependencies, syncWorld } from '../support/sync';
import { resetStorage } from '../support/storage';
import { ATLANTA_ADDRESS } from '../support/fixtures';

const { config, bc, ipaas, storage } = syncWorld();

function dependencies(overrides: Partial<SyncDependencies> = {}): SyncDependencies {
  return syncDependencies(config, storage, overrides);
}
const deps = dependencies();

function request(customerId: string, overrides: Partial<SyncRequest> = {}): SyncRequest {
  return { customerId, source: 'webhook', correlationId: 'test', attempt: 1, ...overrides };
}

function person(overrides: FakeBcCustomerInput = {}) {
  return bc.upsertCustomer({
    number: '10000',
    displayName: 'Robert Townes',
    type: 'Person',
    email: 'robert.townes@contoso.example',
    ...overrides,
  });
}

const ADDRESS = ATLANTA_ADDRESS;

beforeEach(async () => {
  await resetStorage();
  ipaas.reset();
  bc.faults.clear();
  bc.resetRequests();
  for (const customer of bc.customers()) bc.deleteCustomer(customer.id);
});

/*
 * Which test goes red when a rule of the mapping collection is removed (tried: rule taken out, tests run, rule restored;
 * docs/architecture.md says where each rule lives):
 * - filter Type == "Person" && RecordType == "Customer" (filter.test always true): 'a Company customer is filtered with
 *   zero iPaaS.com calls'; also test/mapping 'type "Company" is filtered out' and test/sync/pollSnapshot 'a filtered
 *   customer is skipped from its snapshot alone'.
 * - No → CustomerNumber (row removed from the field table): 'Scenario 1', 'Scenario 2', 'Scenario 4' and 28 more.
 * - Name → FirstName: 'Scenario 1: Valid Customer Record', 'an email match updates the existing customer instead of creating one'.
 * - EMail → EmailAddress: 'Scenario 1' to 'Scenario 4' and 34 more.
 * - email match before create (search result ignored): 'an email match updates the existing customer instead of creating
 *   one', 'a retry after a crash between "created in iPaaS.com" and "link saved" creates no second customer', and
 *   test/faults/lostAnswers 'a create whose answer is lost is not sent again'.
 * - DuplicateCustomerNumber: on create (iPaaS.com's refusal no longer recognised) 'Scenario 2: Duplicate CustomerNumber
 *   (Failure Case)'; on update (the number owner check skipped) 'DuplicateCustomerNumber on the update path writes nothing'.
 * - DuplicateEmail: several matches 'two iPaaS.com customers with the email fail with DuplicateEmail and nothing is
 *   written'; a match other than the linked customer 'an email that now belongs to another iPaaS.com customer than the
 *   linked one is DuplicateEmail'.
 * - PreventDuplicate (off): 'PreventDuplicate keeps an existing address from being added again', 'a retry after a crash
 *   ...', and test/faults/lostAnswers 'an address whose answer is lost is not added twice'.
 * - ParentOnly child filter (always true): 'an empty (ParentOnly) address is not sent', 'Scenario 1: Valid Customer Record'.
 */
describe('seed test scenarios', () => {
  test('Scenario 1: Valid Customer Record', async () => {
    const customer = person();
    const transfer = await syncCustomer(deps, request(customer.id));

    expect(transfer).toMatchObject({ status: 'Succeeded', action: 'Created', errorCode: null, customerNumber: '10000', customerId: customer.id });
    const [created, ...others] = ipaas.customers();
    expect(others).toHaveLength(0);
    expect(created).toMatchObject({ customerNumber: '10000', firstName: 'Robert Townes', emailAddress: 'robert.townes@contoso.example' });
    expect(transfer.ipaasCustomerId).toBe(created?.id);
    // Without IPAAS_SYSTEM_ID no external id link is attempted.
    expect(ipaas.requests.linkExternalId).toBe(0);
    expect(transfer.warnings).toEqual([]);
    expect(await storage.links.get(customer.id)).toMatchObject({ ipaasCustomerId: created?.id, customerNumber: '10000' });
    expect(await storage.transfers.listForCustomer(customer.id)).toEqual([transfer]);
  });

  test('Scenario 2: Duplicate CustomerNumber (Failure Case)', async () => {
    const existing = ipaas.seedCustomer({ customerNumber: '10000', firstName: 'Someone Else', emailAddress: 'someone.else@example.com' });
    const customer = person(ADDRESS);
    const transfer = await syncCustomer(deps, request(customer.id));

    expect(transfer).toMatchObject({ status: 'Failed', errorCode: 'DuplicateCustomerNumber', action: null, ipaasCustomerId: null });
    expect(ipaas.customers()).toEqual([existing]);
    expect(ipaas.addresses(existing.id)).toEqual([]);
    expect(await storage.links.get(customer.id)).toBeNull();
    expect(await storage.transfers.listForCustomer(customer.id)).toEqual([transfer]);
  });

  test('Scenario 3: Missing Email (Failure Case)', async () => {
    const customer = person({ email: '' });
    const transfer = await syncCustomer(deps, request(customer.id));

    expect(transfer).toMatchObject({ status: 'Failed', errorCode: 'MissingEmail', customerNumber: '10000' });
    expect(transfer.errorMessage).toMatch(/EMail is empty/u);
    expect(ipaas.requests.total).toBe(0);
    expect(await storage.transfers.listForCustomer(customer.id)).toEqual([transfer]);
  });

  test('Scenario 4: Customer with Address', async () => {
    const customer = person(ADDRESS);
    const transfer = await syncCustomer(deps, request(customer.id));

    expect(transfer).toMatchObject({ status: 'Succeeded', action: 'Created', addressesAdded: 1 });
    const [created] = ipaas.customers();
    expect(ipaas.addresses(created!.id)).toEqual([
      expect.objectContaining({
        address1: '192 Market Square',
        address2: '',
        city: 'Atlanta',
        region: 'GA',
        country: 'US',
        postalCode: '31772',
        phoneNumber: '+1 404 555 0100',
      }),
    ]);
  });
});

describe('filter, email matching and uniqueness', () => {
  test('a Company customer is filtered with zero iPaaS.com calls', async () => {
    const customer = person({ type: 'Company' });
    const transfer = await syncCustomer(deps, request(customer.id));
    expect(transfer).toMatchObject({ status: 'Skipped', action: 'Filtered', errorCode: null });
    expect(ipaas.requests.total).toBe(0);
  });

  test('an email match updates the existing customer instead of creating one', async () => {
    const existing = ipaas.seedCustomer({ customerNumber: '10000', firstName: 'R. Townes', emailAddress: 'Robert.Townes@Contoso.example' });
    const customer = person();
    const transfer = await syncCustomer(deps, request(customer.id));

    expect(transfer).toMatchObject({ status: 'Succeeded', action: 'Updated', ipaasCustomerId: existing.id });
    expect(ipaas.requests.create).toBe(0);
    expect(ipaas.customers()).toEqual([expect.objectContaining({ id: existing.id, firstName: 'Robert Townes' })]);
  });

  test('an email match that already holds the data is Unchanged, not Updated: no PUT is sent, the link is saved', async () => {
    const existing = ipaas.seedCustomer({ customerNumber: '10000', firstName: 'Robert Townes', emailAddress: 'robert.townes@contoso.example' });
    const customer = person();
    const transfer = await syncCustomer(deps, request(customer.id));

    expect(transfer).toMatchObject({ status: 'Succeeded', action: 'Unchanged', ipaasCustomerId: existing.id, addressesAdded: 0 });
    expect(ipaas.requests.update + ipaas.requests.create + ipaas.requests.addAddress).toBe(0);
    expect(await storage.links.get(customer.id)).toMatchObject({ ipaasCustomerId: existing.id });
  });

  test('two iPaaS.com customers with the email fail with DuplicateEmail and nothing is written', async () => {
    ipaas.seedCustomer({ customerNumber: 'A1', emailAddress: 'robert.townes@contoso.example' });
    ipaas.seedCustomer({ customerNumber: 'A2', emailAddress: 'robert.townes@contoso.example' });
    const transfer = await syncCustomer(deps, request(person().id));

    expect(transfer).toMatchObject({ status: 'Failed', errorCode: 'DuplicateEmail' });
    expect(transfer.errorMessage).not.toContain('robert.townes');
    expect(ipaas.requests.create + ipaas.requests.update + ipaas.requests.addAddress).toBe(0);
  });

  test('a BIZL answer to a create is DuplicateCustomerNumber only once a search shows the number taken', async () => {
    // The number is free when planned and taken just before the create (a race with another writer).
    const racing = dependencies({
      ipaas: {
        ...deps.ipaas,
        createCustomer: (input) => {
          ipaas.seedCustomer({ customerNumber: input.customerNumber, emailAddress: 'other.writer@example.com' });
          return deps.ipaas.createCustomer(input);
        },
      },
    });
    const transfer = await syncCustomer(racing, request(person().id));
    expect(transfer).toMatchObject({ status: 'Failed', errorCode: 'DuplicateCustomerNumber' });
    expect(transfer.errorMessage).toContain('BIZL-1001');
    expect(ipaas.requests.searchByNumber).toBe(2);
  });

  test('a BIZL answer to an update is confirmed by reading: DuplicateCustomerNumber only when another customer owns the number', async () => {
    const customer = person();
    await syncCustomer(deps, request(customer.id));
    bc.updateCustomer(customer.id, { number: '10001' });
    // Another writer takes 10001 between the plan and the update.
    const racing = dependencies({
      ipaas: {
        ...deps.ipaas,
        updateCustomer: (id, input, current) => {
          ipaas.seedCustomer({ customerNumber: input.customerNumber, emailAddress: 'other.writer@example.com' });
          return deps.ipaas.updateCustomer(id, input, current);
        },
      },
    });
    const transfer = await syncCustomer(racing, request(customer.id));
    expect(transfer).toMatchObject({ status: 'Failed', errorCode: 'DuplicateCustomerNumber' });
    expect(ipaas.customers().find((c) => c.emailAddress === 'robert.townes@contoso.example')?.customerNumber).toBe('10000');

    // A BIZL the number does not explain stays what it was.
    ipaas.reset();
    await resetStorage();
    const second = person({ number: '20000', email: 'second@contoso.example' });
    await syncCustomer(deps, request(second.id));
    bc.updateCustomer(second.id, { displayName: 'Second, renamed' });
    ipaas.faults.add({ match: ipaas.matches('update'), status: 409, times: 1 });
    const rejected = await syncCustomer(deps, request(second.id));
    expect(rejected).toMatchObject({ status: 'Failed', errorCode: 'IpaasRejected' });
    expect(rejected.errorMessage).toContain('BIZL-1000');
  });

  test('an unexplained BIZL answer stays IpaasRejected with its code and message', async () => {
    ipaas.faults.add({ match: ipaas.matches('create'), status: 409, times: 1 });
    const transfer = await syncCustomer(deps, request(person().id));
    expect(transfer).toMatchObject({ status: 'Failed', errorCode: 'IpaasRejected' });
    expect(transfer.errorMessage).toContain('BIZL-1000');
    expect(transfer.errorMessage).toContain('Request failed with status 409');
    expect(ipaas.customers()).toEqual([]);
  });

  test('DuplicateCustomerNumber on the update path writes nothing', async () => {
    const matched = ipaas.seedCustomer({ customerNumber: 'OLD-1', firstName: 'Old', emailAddress: 'robert.townes@contoso.example' });
    const owner = ipaas.seedCustomer({ customerNumber: '10000', firstName: 'Owner', emailAddress: 'owner@example.com' });
    const transfer = await syncCustomer(deps, request(person(ADDRESS).id));

    expect(transfer).toMatchObject({ status: 'Failed', errorCode: 'DuplicateCustomerNumber' });
    expect(ipaas.customers()).toEqual([matched, owner]);
    expect(ipaas.requests.update + ipaas.requests.create + ipaas.requests.addAddress).toBe(0);
  });

  test('an email that now belongs to another iPaaS.com customer than the linked one is DuplicateEmail', async () => {
    const customer = person();
    await syncCustomer(deps, request(customer.id));
    ipaas.seedCustomer({ customerNumber: 'Z9', emailAddress: 'new.address@contoso.example' });
    bc.updateCustomer(customer.id, { email: 'new.address@contoso.example' });

    const transfer = await syncCustomer(deps, request(customer.id));
    expect(transfer).toMatchObject({ status: 'Failed', errorCode: 'DuplicateEmail' });
    expect(ipaas.customers().filter((c) => c.emailAddress === 'new.address@contoso.example')).toHaveLength(1);
  });

  test('a changed email updates the linked customer', async () => {
    const customer = person();
    const first = await syncCustomer(deps, request(customer.id));
    bc.updateCustomer(customer.id, { email: 'robert@townes.example' });

    const second = await syncCustomer(deps, request(customer.id));
    expect(second).toMatchObject({ status: 'Succeeded', action: 'Updated', ipaasCustomerId: first.ipaasCustomerId });
    expect(ipaas.customers()).toEqual([expect.objectContaining({ emailAddress: 'robert@townes.example' })]);
  });
});

describe('address child collection', () => {
  test('PreventDuplicate keeps an existing address from being added again', async () => {
    const existing = ipaas.seedCustomer({ customerNumber: '10000', firstName: 'Robert Townes', emailAddress: 'robert.townes@contoso.example' });
    ipaas.seedAddress(existing.id, { address1: '192 MARKET SQUARE', city: 'Atlanta', region: 'GA', country: 'US', postalCode: '31772', phoneNumber: '+1 404 555 0100' });
    const transfer = await syncCustomer(deps, request(person(ADDRESS).id));

    expect(transfer).toMatchObject({ status: 'Succeeded', addressesAdded: 0 });
    expect(ipaas.addresses(existing.id)).toHaveLength(1);
    expect(ipaas.requests.addAddress).toBe(0);
  });

  test('a changed address is added beside the old one', async () => {
    const customer = person(ADDRESS);
    await syncCustomer(deps, request(customer.id));
    bc.updateCustomer(customer.id, { city: 'Savannah', postalCode: '31401' });
    const transfer = await syncCustomer(deps, request(customer.id));

    expect(transfer).toMatchObject({ action: 'Updated', addressesAdded: 1 });
    expect(ipaas.addresses(transfer.ipaasCustomerId!).map((address) => address.city)).toEqual(['Atlanta', 'Savannah']);
  });

  test('an empty (ParentOnly) address is not sent', async () => {
    const transfer = await syncCustomer(deps, request(person().id));
    expect(transfer).toMatchObject({ status: 'Succeeded', addressesAdded: 0 });
    expect(ipaas.requests.addAddress + ipaas.requests.listAddresses).toBe(0);
  });
});

describe('idempotency and failures', () => {
  test('an unchanged customer makes zero iPaaS.com calls', async () => {
    const customer = person(ADDRESS);
    await syncCustomer(deps, request(customer.id));
    const before = ipaas.requests.total;
    const transfer = await syncCustomer(deps, request(customer.id, { source: 'poll' }));

    expect(transfer).toMatchObject({ status: 'Skipped', action: 'Unchanged' });
    expect(ipaas.requests.total).toBe(before);
  });

  test('10 concurrent syncs of one new customer create exactly one iPaaS.com customer', async () => {
    const customer = person(ADDRESS);
    const transfers = await Promise.all(Array.from({ length: 10 }, () => syncCustomer(deps, request(customer.id))));

    expect(ipaas.customers()).toHaveLength(1);
    expect(ipaas.addresses(ipaas.customers()[0]!.id)).toHaveLength(1);
    expect(transfers.filter((transfer) => transfer.action === 'Created')).toHaveLength(1);
    expect(transfers.filter((transfer) => transfer.action === 'Unchanged')).toHaveLength(9);
  });

  test('a retry after a crash between "created in iPaaS.com" and "link saved" creates no second customer', async () => {
    const customer = person(ADDRESS);
    const crashing = dependencies({
      links: {
        get: (id) => storage.links.get(id),
        save: () => Promise.reject(new Error('process died')),
      },
    });
    await expect(syncCustomer(crashing, request(customer.id))).rejects.toThrow('process died');
    expect(ipaas.customers()).toHaveLength(1);
    // A crash also leaves the lease behind: the retry waits for it to expire, then takes over.
    await storage.leases.tryAcquire(`customer-${customer.id}`, 500);

    const retry = await syncCustomer(deps, request(customer.id, { attempt: 2 }));
    // The customer the crashed attempt created already holds the data: found by email, linked, no PUT sent.
    expect(retry).toMatchObject({ status: 'Succeeded', action: 'Unchanged', addressesAdded: 0, attempt: 2 });
    expect(ipaas.customers()).toHaveLength(1);
    expect(ipaas.addresses(retry.ipaasCustomerId!)).toHaveLength(1);
    expect(await storage.links.get(customer.id)).toMatchObject({ ipaasCustomerId: retry.ipaasCustomerId });
  });

  test('a transient failure is recorded and rethrown, and the retry succeeds', async () => {
    const customer = person();
    ipaas.faults.add({ match: ipaas.matches('create'), status: 503, times: 10 });
    const failure = await syncCustomer(deps, request(customer.id)).catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(SyncError);
    expect(failure).toMatchObject({ code: 'IpaasUnavailable', transient: true });
    const [recorded] = await storage.transfers.listForCustomer(customer.id);
    expect(recorded).toMatchObject({ status: 'Failed', errorCode: 'IpaasUnavailable' });
    expect(recorded?.errorMessage).toMatch(/will be retried/u);

    ipaas.faults.clear();
    const retry = await syncCustomer(deps, request(customer.id, { attempt: 2 }));
    expect(retry).toMatchObject({ status: 'Succeeded', action: 'Created' });
    expect(ipaas.customers()).toHaveLength(1);
  });

  test('an unexpected error is InternalError, logged with its stack and without the email it carried, and retried', async () => {
    const customer = person();
    const errors: string[] = [];
    const logger = { ...silentLogger, error: (message: string) => errors.push(message) };
    const broken = dependencies({
      logger,
      ipaas: { ...deps.ipaas, findCustomersByEmail: (email: string) => Promise.reject(new TypeError(`Cannot read properties of undefined (reading 'id') for ${email}`)) },
    });
    await expect(syncCustomer(broken, request(customer.id))).rejects.toBeInstanceOf(TypeError);

    const [recorded] = await storage.transfers.listForCustomer(customer.id);
    expect(recorded).toMatchObject({ status: 'Failed', errorCode: 'InternalError' });
    expect(recorded?.errorMessage).toMatch(/^TypeError: Cannot read properties of undefined/u);
    expect(recorded?.errorMessage).not.toContain('robert.townes');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/internal error while transferring customer .*TypeError: Cannot read properties[\s\S]*\n\s+at /u);
    expect(errors[0]).not.toContain('robert.townes');
    expect(ipaas.requests.total).toBe(0);
  });

  test('a Business Central outage is transient', async () => {
    const customer = person();
    bc.faults.add({ status: 503, retryAfterSeconds: 0 });
    await expect(syncCustomer(deps, request(customer.id))).rejects.toMatchObject({ code: 'BusinessCentralUnavailable', transient: true });
    expect(ipaas.requests.total).toBe(0);
  });

  test('a customer deleted in Business Central is Skipped/NotFound', async () => {
    const customer = person();
    bc.deleteCustomer(customer.id);
    const transfer = await syncCustomer(deps, request(customer.id));
    expect(transfer).toMatchObject({ status: 'Skipped', action: 'NotFound' });
    expect(ipaas.requests.total).toBe(0);
  });
});

describe('queue messages', () => {
  const message = (customerId: string) => ({ customerId, source: 'webhook', correlationId: 'c-1', enqueuedAt: new Date().toISOString() });

  test('a final failure is recorded and not thrown (the queue does not retry it)', async () => {
    const customer = person({ email: 'not-an-email' });
    const transfer = await handleSyncMessage(deps, message(customer.id), { dequeueCount: 1 });
    expect(transfer).toMatchObject({ status: 'Failed', errorCode: 'InvalidEmail' });
  });

  test('an invalid message is recorded as a failed transfer and not retried', async () => {
    const customer = person();
    const transfer = await handleSyncMessage(deps, { customerId: customer.id, source: 'carrier-pigeon' }, { dequeueCount: 1 });
    expect(transfer).toMatchObject({ status: 'Failed', errorCode: 'InvalidMessage', customerId: customer.id });
    expect(transfer.errorMessage).toMatch(/source/u);
    expect(await storage.transfers.listForCustomer(customer.id)).toEqual([transfer]);
    expect(ipaas.requests.total + bc.requests.get).toBe(0);
  });

  test('a message without a usable id is filed under the nil GUID', async () => {
    const transfer = await handleSyncMessage(deps, 'not json at all', { dequeueCount: 2 });
    expect(transfer).toMatchObject({ errorCode: 'InvalidMessage', customerId: '00000000-0000-0000-0000-000000000000', attempt: 2 });
  });

  test('the attempt number comes from the dequeue count', async () => {
    const transfer = await handleSyncMessage(deps, message(person().id), { dequeueCount: 3 });
    expect(transfer.attempt).toBe(3);
  });

  test('a poison message becomes a RetriesExhausted transfer carrying the last error', async () => {
    const customer = person();
    ipaas.faults.add({ status: 500 });
    await expect(handleSyncMessage(deps, message(customer.id), { dequeueCount: 5 })).rejects.toBeInstanceOf(SyncError);

    const transfer = await handlePoisonMessage({ transfers: storage.transfers, logger: silentLogger }, message(customer.id), 5);
    expect(transfer).toMatchObject({ status: 'Failed', errorCode: 'RetriesExhausted', attempt: 5, customerNumber: '10000' });
    expect(transfer.errorMessage).toMatch(/last error: iPaaS.com/u);
    const [latest] = await storage.transfers.listForCustomer(customer.id);
    expect(latest).toEqual(transfer);
  });
});
