/**
 * Ambiguous failures: iPaaS.com does the write, but its answer never reaches us in time (a timeout or a
 * dropped connection after the commit). The sync must not write a second time. The fault suite's injected
 * faults all fail before the fakes write anything; these tests cover the other half.
 */
import { delay, getResponse, http } from 'msw';
import { loadStorageConfig } from '../../shared/config';
import { createStorage } from '../../shared/storage';
import { useInProcessSystem } from './support/inProcess';

// A short client timeout, so an answer delayed by half a second counts as lost.
const system = useInProcessSystem({ hostEnv: { HTTP_TIMEOUT_MS: '300', AzureFunctionsJobHost__extensions__queues__visibilityTimeout: '00:00:00' } });

/** The fake does the work, then answers too late for the client (once). */
function answerTooLate(operation: 'create' | 'addAddress'): void {
  const { ipaas } = system.world;
  system.server.use(
    http.post(
      ({ request }) => ipaas.operationOf(request) === operation,
      async ({ request }) => {
        const response = await getResponse(ipaas.handlers, request);
        await delay(600);
        return response;
      },
      { once: true },
    ),
  );
}

async function syncOnce(customerId: string): Promise<void> {
  const response = await fetch(`${system.host().url}/api/customers/${customerId}/sync`, { method: 'POST' });
  expect(response.status).toBe(202);
  // Every delivery the queue would make, until the message is done.
  for (let delivery = 0; delivery < 5; delivery += 1) await system.host().drainQueue('syncWorker');
}

afterEach(() => system.server.resetHandlers());

it('control: with timely answers one sync writes one customer and one address', async () => {
  const customer = system.world.businessCentral.upsertCustomer({ type: 'Person', displayName: 'On Time', email: 'on.time@example.com', city: 'Oslo', country: 'NO' });
  await syncOnce(customer.id);
  expect(system.world.ipaas.customers()).toHaveLength(1);
  expect(system.world.ipaas.addresses(system.world.ipaas.customers()[0]!.id)).toHaveLength(1);
});

// A POST is not retried in-process after a timeout (it may have been stored): the transfer fails as transient, the
// queue delivers the message again, and that delivery finds the customer the lost POST created by its email (the
// email match) and links it. Without the email match the second delivery would POST again: two creates, and a
// final DuplicateCustomerNumber from iPaaS.com's unique number instead of Succeeded.
it('a create whose answer is lost is not sent again: the next delivery finds the customer by email and links it', async () => {
  const { ipaas } = system.world;
  const customer = system.world.businessCentral.upsertCustomer({ type: 'Person', displayName: 'Lost Create', email: 'lost.create@example.com' });
  const createsBefore = ipaas.requests.create;
  answerTooLate('create');
  await syncOnce(customer.id);

  expect(ipaas.requests.create - createsBefore).toBe(1);
  const created = ipaas.customers().filter((candidate) => candidate.emailAddress === 'lost.create@example.com');
  expect(created).toHaveLength(1);
  const [latest, first, ...older] = await createStorage(loadStorageConfig(process.env)).transfers.listForCustomer(customer.id, 10);
  expect(older).toEqual([]);
  expect(first).toMatchObject({ status: 'Failed', errorMessage: expect.stringContaining('will be retried') });
  expect(latest).toMatchObject({ status: 'Succeeded', ipaasCustomerId: created[0]!.id });
});

// The email match cannot find it when the email changed before the next delivery: the create it made is searched by
// the number it carried (remembered before it was sent), recognised by that number and email, linked and updated.
// Without that, the next delivery would create again: refused for the number, a final (and false)
// DuplicateCustomerNumber, the customer left unlinked.
it('a create whose answer is lost is found by its number when the email changed meanwhile: linked, not created again', async () => {
  const { ipaas, businessCentral } = system.world;
  const customer = businessCentral.upsertCustomer({ type: 'Person', displayName: 'Moved Mail', email: 'moved.mail@example.com' });
  const createsBefore = ipaas.requests.create;
  system.server.use(
    http.post(
      ({ request }) => ipaas.operationOf(request) === 'create',
      async ({ request }) => {
        const response = await getResponse(ipaas.handlers, request);
        // Before the retry reads it again, the customer gets another email in Business Central.
        businessCentral.updateCustomer(customer.id, { email: 'new.mail@example.com' });
        await delay(600);
        return response;
      },
      { once: true },
    ),
  );
  await syncOnce(customer.id);

  expect(ipaas.requests.create - createsBefore).toBe(1);
  const created = ipaas.customers().filter((candidate) => candidate.customerNumber === customer.number);
  expect(created).toEqual([expect.objectContaining({ emailAddress: 'new.mail@example.com' })]);
  const [latest] = await createStorage(loadStorageConfig(process.env)).transfers.listForCustomer(customer.id, 10);
  expect(latest).toMatchObject({ status: 'Succeeded', action: 'Updated', ipaasCustomerId: created[0]!.id });
});

// Likewise for an address: the next delivery lists the addresses again, and PreventDuplicate sees it.
it('an address whose answer is lost is not added twice', async () => {
  const customer = system.world.businessCentral.upsertCustomer({ type: 'Person', displayName: 'Lost Address', email: 'lost.address@example.com', city: 'Oslo', country: 'NO' });
  answerTooLate('addAddress');
  await syncOnce(customer.id);
  const [created] = system.world.ipaas.customers();
  expect(system.world.ipaas.addresses(created!.id)).toHaveLength(1);
});
