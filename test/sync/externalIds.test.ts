import { http } from 'msw';
import { loadConfig } from '../../shared/config';
import type { Logger } from '../../shared/log';
import { syncCustomer, type SyncDependencies, type SyncRequest } from '../../shared/sync/syncCustomer';
import { parseTransferEventLine } from '../../shared/telemetry';
import type { FakeBcCustomerInput } from '../../dev/fakes/businessCentral';
import { syncDependencies, syncWorld } from '../support/sync';
import { resetStorage } from '../support/storage';

const { config, server, bc, ipaas, storage } = syncWorld({ IPAAS_SYSTEM_ID: '1207' });

const lines: Array<{ level: 'info' | 'warn'; line: string }> = [];
const logger: Logger = {
  info: (line) => lines.push({ level: 'info', line }),
  warn: (line) => lines.push({ level: 'warn', line }),
  error: () => {},
};

function dependencies(overrides: Partial<SyncDependencies> = {}): SyncDependencies {
  return syncDependencies(config, storage, { logger, ...overrides });
}

function request(customerId: string): SyncRequest {
  return { customerId, source: 'webhook', correlationId: 'test', attempt: 1 };
}

function person(overrides: FakeBcCustomerInput = {}) {
  return bc.upsertCustomer({ number: '10000', displayName: 'Robert Townes', type: 'Person', email: 'robert.townes@contoso.example', ...overrides });
}

/** The JSON bodies POSTed to UpdateExternalId (the fake still answers them). */
function linkBodies(): unknown[] {
  const bodies: unknown[] = [];
  server.use(
    http.post(`${config.ipaas.apiBaseUrl}/customers/v2/External/UpdateExternalId`, async ({ request: sent }) => {
      bodies.push(await sent.clone().json());
    }),
  );
  return bodies;
}

beforeEach(async () => {
  await resetStorage();
  ipaas.reset();
  lines.length = 0;
  for (const customer of bc.customers()) bc.deleteCustomer(customer.id);
});

afterEach(() => server.resetHandlers());

describe('with IPAAS_SYSTEM_ID set', () => {
  test('a new customer costs exactly one UpdateExternalId with the documented body (external id: the number)', async () => {
    const bodies = linkBodies();
    const transfer = await syncCustomer(dependencies(), request(person().id));

    expect(transfer).toMatchObject({ status: 'Succeeded', action: 'Created', warnings: [] });
    expect(ipaas.requests.linkExternalId).toBe(1);
    expect(bodies).toEqual([{ table_name: 'customer', system_id: 1207, external_id: '10000', internal_id: transfer.ipaasCustomerId }]);
    expect(ipaas.externalIds()).toEqual([{ tableName: 'customer', systemId: 1207, externalId: '10000', internalId: transfer.ipaasCustomerId }]);
  });

  test('IPAAS_EXTERNAL_ID_SOURCE=id links the customer GUID instead', async () => {
    const byId = loadConfig({ ...process.env, IPAAS_SYSTEM_ID: '1207', IPAAS_EXTERNAL_ID_SOURCE: 'id' });
    const customer = person();
    await syncCustomer(syncDependencies(byId, storage), request(customer.id));
    expect(ipaas.externalIds()).toEqual([expect.objectContaining({ systemId: 1207, externalId: customer.id })]);
  });

  test('a linked customer is not linked again: an unchanged sync makes no call, an update no link call', async () => {
    const customer = person();
    await syncCustomer(dependencies(), request(customer.id));
    const before = ipaas.requests.total;
    expect(await syncCustomer(dependencies(), request(customer.id))).toMatchObject({ status: 'Skipped', action: 'Unchanged' });
    expect(ipaas.requests.total).toBe(before);

    bc.updateCustomer(customer.id, { displayName: 'Robert J. Townes' });
    expect(await syncCustomer(dependencies(), request(customer.id))).toMatchObject({ status: 'Succeeded', action: 'Updated' });
    expect(ipaas.requests.linkExternalId).toBe(1);
  });

  test('a new customer number is linked anew (the external id is the number)', async () => {
    const customer = person();
    await syncCustomer(dependencies(), request(customer.id));
    bc.updateCustomer(customer.id, { number: '10001' });
    await syncCustomer(dependencies(), request(customer.id));
    expect(ipaas.requests.linkExternalId).toBe(2);
    expect(ipaas.externalIds()).toEqual([expect.objectContaining({ externalId: '10001' })]);
  });

  test('a refused link leaves the transfer Succeeded with a warning, stored, logged, and retried at the next sync', async () => {
    ipaas.setSubscriptions([{ id: 1311, type: 17, name: 'Web shop' }]);
    const customer = person();
    const first = await syncCustomer(dependencies(), request(customer.id));

    expect(first).toMatchObject({ status: 'Succeeded', action: 'Created', errorCode: null });
    expect(first.warnings).toEqual([expect.stringMatching(/^ExternalIdNotLinked: .*VALD-1017/u)]);
    expect(ipaas.customers()).toHaveLength(1);
    expect(await storage.transfers.listForCustomer(customer.id)).toEqual([first]);
    const [logged] = lines;
    expect(logged?.level).toBe('warn');
    expect(parseTransferEventLine(logged?.line ?? '')).toMatchObject({ status: 'Succeeded', warnings: first.warnings });

    // Nothing changed in Business Central, yet the pending link is tried again.
    const second = await syncCustomer(dependencies(), request(customer.id));
    expect(second).toMatchObject({ status: 'Succeeded', action: 'Unchanged', warnings: [expect.stringMatching(/^ExternalIdNotLinked/u)] });
    expect(ipaas.requests.linkExternalId).toBe(2);
    expect(ipaas.requests.update + ipaas.requests.create).toBe(1);

    // The subscription exists now: the next sync links, the one after that has nothing to do.
    ipaas.setSubscriptions([{ id: 1207, type: 41, name: 'Business Central' }]);
    expect(await syncCustomer(dependencies(), request(customer.id))).toMatchObject({ status: 'Succeeded', action: 'Unchanged', warnings: [] });
    expect(ipaas.externalIds()).toEqual([expect.objectContaining({ externalId: '10000', internalId: first.ipaasCustomerId })]);
    const calls = ipaas.requests.total;
    expect(await syncCustomer(dependencies(), request(customer.id))).toMatchObject({ status: 'Skipped', action: 'Unchanged', warnings: [] });
    expect(ipaas.requests.total).toBe(calls);
  });

  test('a link failing with 5xx (after retries) is a warning too, never a failed transfer', async () => {
    ipaas.faults.add({ match: ipaas.matches('linkExternalId'), status: 503 });
    const transfer = await syncCustomer(dependencies(), request(person().id));
    expect(transfer).toMatchObject({ status: 'Succeeded', action: 'Created', warnings: [expect.stringMatching(/^ExternalIdNotLinked: .*503/u)] });
    expect(await storage.links.get(transfer.customerId)).not.toHaveProperty('externalIdKey');
  });
});

describe('with IPAAS_SYSTEM_ID unset', () => {
  test('no link call at all, and nothing pending', async () => {
    const unset = loadConfig(process.env);
    expect(unset.ipaas.systemId).toBeUndefined();
    const customer = person();
    const transfer = await syncCustomer(syncDependencies(unset, storage), request(customer.id));
    expect(transfer).toMatchObject({ status: 'Succeeded', action: 'Created', warnings: [] });
    expect(ipaas.requests.linkExternalId).toBe(0);
    const before = ipaas.requests.total;
    expect(await syncCustomer(syncDependencies(unset, storage), request(customer.id))).toMatchObject({ status: 'Skipped', action: 'Unchanged' });
    expect(ipaas.requests.total).toBe(before);
  });
});
