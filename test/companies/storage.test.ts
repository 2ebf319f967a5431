import { randomUUID } from 'node:crypto';
import { loadStorageConfig } from '../../shared/config';
import { COMPANY_KEYS_STATE, createStorage, TableStateStore, type TransferRecord } from '../../shared/storage';
import { isoNow } from '../../shared/clock';
import { RetrySchedule } from '../../shared/sync/retrySchedule';
import { fixedClock } from '../support/clock';
import { SYNC_QUEUE } from '../../shared/queueNames';
import { countMessages, queue, resetStorage } from '../support/storage';

/** Rows keyed by company and customer; the company that served the deployment first keeps its unprefixed rows. */
const US = { id: 'b18aed47-c385-49d2-b954-dbdf8ad71780', name: 'CRONUS USA, Inc.' };
const CA = { id: '2c9e4b1a-7f3d-4c8e-9a6b-5d0e1f2a3b4c', name: 'CRONUS Canada' };
const CUSTOMER = 'f2a5738a-44e3-ea11-bb43-000d3a2feca1';

const transfer = (overrides: Partial<TransferRecord> = {}): TransferRecord => ({
  transferId: randomUUID(),
  customerId: CUSTOMER,
  customerNumber: '10000',
  source: 'poll',
  status: 'Failed',
  action: null,
  errorCode: 'RetriesExhausted',
  errorMessage: 'gave up',
  ipaasCustomerId: null,
  addressesAdded: 0,
  attempt: 5,
  startedAt: new Date().toISOString(),
  finishedAt: new Date().toISOString(),
  durationMs: 1,
  warnings: [],
  ...overrides,
});

const link = { customerId: CUSTOMER, customerNumber: '10000', payloadHash: 'h', lastSyncedAt: '2026-03-10T10:00:00.000Z' };

beforeEach(resetStorage);

test('the same customer id in two companies is two customers: links, history, state and leases apart', async () => {
  const storage = createStorage(loadStorageConfig(), undefined, { companies: [US, CA] });
  const us = storage.forCompany(US);
  const ca = storage.forCompany(CA);
  await us.links.save({ ...link, ipaasCustomerId: '1' }, { ifMatch: null });
  await ca.links.save({ ...link, ipaasCustomerId: '2' }, { ifMatch: null });
  expect(await us.links.get(CUSTOMER)).toMatchObject({ ipaasCustomerId: '1', companyId: US.id });
  expect(await ca.links.get(CUSTOMER)).toMatchObject({ ipaasCustomerId: '2', companyId: CA.id });

  await us.transfers.record(transfer({ errorCode: 'MissingEmail' }));
  await ca.transfers.record(transfer({ errorCode: 'InvalidEmail' }));
  expect((await us.transfers.listForCustomer(CUSTOMER)).map((record) => [record.companyName, record.errorCode])).toEqual([[US.name, 'MissingEmail']]);
  expect((await ca.transfers.listForCustomer(CUSTOMER)).map((record) => [record.companyName, record.errorCode])).toEqual([[CA.name, 'InvalidEmail']]);
  expect((await storage.transfers.listRecent({ limit: 10 })).map((record) => record.companyName).sort()).toEqual([CA.name, US.name]);
  expect((await us.transfers.listRecent({ limit: 10 })).map((record) => record.companyId)).toEqual([US.id]);

  await us.state.put('pollWatermark', { lastModifiedDateTime: '2026-01-01T00:00:00Z' });
  expect(await ca.state.get('pollWatermark', (value) => value)).toBeNull();

  const lease = await us.leases.tryAcquire(`customer-${CUSTOMER}`, 60_000);
  expect(lease).not.toBeNull();
  expect(await ca.leases.tryAcquire(`customer-${CUSTOMER}`, 60_000)).not.toBeNull();
  expect(await us.leases.tryAcquire(`customer-${CUSTOMER}`, 60_000)).toBeNull();

  // Each company's links, listed apart.
  const listed = async (view: typeof us) => {
    const ids: string[] = [];
    for await (const page of view.links.listLinkedIds()) ids.push(...page.map((entry) => `${entry.companyId}:${entry.ipaasCustomerId}`));
    return ids;
  };
  expect(await listed(us)).toEqual([`${US.id}:1`]);
  expect(await listed(ca)).toEqual([`${CA.id}:2`]);

  // Failed rows name their company for a replay.
  const failed = [];
  for await (const row of storage.failedTransfers.scan()) failed.push(row.companyId);
  expect(failed.sort()).toEqual([CA.id, US.id].sort());
});

test('rows written without a company read back as the first company\'s, after BC_COMPANIES lists it first', async () => {
  // A deployment of one company, before several existed: stores of no company.
  const before = createStorage(loadStorageConfig());
  await before.links.save({ ...link, ipaasCustomerId: '7' });
  await before.transfers.record(transfer());
  await before.state.put('pollWatermark', { lastModifiedDateTime: '2026-02-02T00:00:00Z' });

  const after = createStorage(loadStorageConfig(), undefined, { companies: [US, CA] });
  const us = after.forCompany(US);
  expect(await us.links.get(CUSTOMER)).toMatchObject({ ipaasCustomerId: '7', companyId: US.id });
  expect(await us.transfers.listForCustomer(CUSTOMER)).toEqual([expect.objectContaining({ companyId: US.id, companyName: US.name })]);
  expect((await after.transfers.listRecent({ limit: 5 }))[0]).toMatchObject({ companyId: US.id, companyName: US.name });
  expect(await us.state.get('pollWatermark', (value) => value)).toMatchObject({ value: { lastModifiedDateTime: '2026-02-02T00:00:00Z' } });
  expect(await after.forCompany(CA).links.get(CUSTOMER)).toBeNull();
  // Recorded once: which company owns the unprefixed rows.
  expect(await new TableStateStore(loadStorageConfig()).get(COMPANY_KEYS_STATE, (value) => value)).toMatchObject({ value: { unprefixedCompanyId: US.id } });
});

test('the company recorded as the owner of the unprefixed rows keeps them when the list is reordered', async () => {
  const first = createStorage(loadStorageConfig(), undefined, { companies: [US] });
  await first.forCompany(US).links.save({ ...link, ipaasCustomerId: '9' });
  const reordered = createStorage(loadStorageConfig(), undefined, { companies: [CA, US] });
  expect(await reordered.forCompany(US).links.get(CUSTOMER)).toMatchObject({ ipaasCustomerId: '9' });
  expect(await reordered.forCompany(CA).links.get(CUSTOMER)).toBeNull();
});

test('scheduled retries belong to their company', async () => {
  const storage = createStorage(loadStorageConfig(), undefined, { companies: [US, CA] });
  const clock = fixedClock('2026-05-01T00:00:00Z');
  const schedule = new RetrySchedule(loadStorageConfig(), { keyspace: storage.keyspace!, clock });
  await schedule.scheduleAfter({ customerId: CUSTOMER, finishedAt: isoNow(clock), companyId: CA.id });
  await schedule.scheduleAfter({ customerId: CUSTOMER, finishedAt: isoNow(clock), companyId: US.id });
  const due = await new RetrySchedule(loadStorageConfig(), { keyspace: storage.keyspace!, clock: fixedClock('2026-05-01T01:00:00Z') }).due();
  expect(due.map((retry) => retry.companyId).sort()).toEqual([CA.id, US.id].sort());
  expect(await schedule.get(CUSTOMER, CA.id)).toMatchObject({ companyId: CA.id, step: 0 });
});

test('each company has its own waiting room: parking, counting and resuming one company never touches another', async () => {
  const storage = createStorage(loadStorageConfig(), undefined, { companies: [US, CA] });
  const message = (companyId: string) => ({ customerId: CUSTOMER, companyId, source: 'webhook' as const, correlationId: `c-${companyId}`, enqueuedAt: '2026-03-10T10:00:00.000Z' });
  await storage.forCompany(US).waiting.park('ipaas', message(US.id));
  await storage.forCompany(CA).waiting.park('ipaas', message(CA.id));
  expect(await storage.forCompany(US).waiting.count('ipaas')).toBe(1);
  expect(await storage.forCompany(CA).waiting.count('ipaas')).toBe(1);

  expect(await storage.forCompany(CA).waiting.resume('ipaas')).toBe(1);
  const [sent] = await queue(SYNC_QUEUE).receiveMessages({ numberOfMessages: 32 }).then((reply) => reply.receivedMessageItems);
  expect(JSON.parse(Buffer.from(sent!.messageText, 'base64').toString('utf8'))).toMatchObject({ customerId: CUSTOMER, companyId: CA.id, holds: 1 });
  expect(await countMessages(SYNC_QUEUE)).toBe(1);
  expect(await storage.forCompany(CA).waiting.count('ipaas')).toBe(0);
  // CRONUS USA's customer still waits for its own hold.
  expect(await storage.forCompany(US).waiting.count('ipaas')).toBe(1);
});

test("a company's outage row is deleted only as it was read (the breaker's conditional close)", async () => {
  const storage = createStorage(loadStorageConfig(), undefined, { companies: [US, CA] });
  const state = storage.forCompany(CA).state;
  await state.put('outage-ipaas', { openings: 1 });
  const read = await state.get('outage-ipaas', (value) => value);
  // Opened again meanwhile (another instance): the row read is no longer there as it was.
  await state.put('outage-ipaas', { openings: 2 }, read!.etag);
  expect(await state.delete('outage-ipaas', read!.etag)).toBe(false);
  expect((await state.get('outage-ipaas', (value) => value))?.value).toEqual({ openings: 2 });
});
