/**
 * On hold through the local Functions host and Azurite: iPaaS.com refusing the key (the transfer's request and a
 * request of no customer both refused) puts its work on hold at the first 401 (no per-customer failure spiral);
 * the customer waits in the waiting room (no message going round the queue), health says degraded and what to do,
 * one ServiceOutage line says so. Once the key works again, the outage timer alone (no traffic) probes iPaaS.com,
 * closes the breaker and resumes the customer, which is then transferred. The timing of holds and recovery is
 * covered in simulated time by outages.test.ts.
 */
import { loadStorageConfig } from '../../shared/config';
import { SYNC_QUEUE } from '../../shared/queueNames';
import { createStorage } from '../../shared/storage';
import { OUTAGE_STATE_PREFIX } from '../../shared/sync/outages';
import { countMessages, request, useInProcessSystem } from './support/inProcess';

const system = useInProcessSystem();
const storage = createStorage(loadStorageConfig(process.env));

it('a refused key parks the customer, health reports it, and the outage timer alone resumes it once the key works', async () => {
  const opener = system.world.businessCentral.upsertCustomer({ type: 'Person', displayName: 'Key Expired', email: 'key.expired@example.com' });
  const customer = system.world.businessCentral.upsertCustomer({ type: 'Person', displayName: 'Key Waiting', email: 'key.waiting@example.com' });
  system.world.ipaas.faults.add({ status: 401 });
  expect((await request(system.host(), `/api/customers/${opener.id}/sync`, { method: 'POST' })).status).toBe(202);
  expect(await system.host().drainQueue('syncWorker')).toBe(1);
  // iPaaS.com was asked twice: the transfer's request and one of no customer (is it the key, or this record?).
  expect(system.world.ipaas.requests.total).toBe(2);
  // The message that opened the breaker goes back on the queue, invisible for the hold (it probes when the hold ends).
  expect(await countMessages(SYNC_QUEUE)).toBe(1);
  expect(await system.host().drainQueue('syncWorker')).toBe(0);

  // A change during the outage: not attempted, the customer waits in the waiting room, no message goes round.
  expect((await request(system.host(), `/api/customers/${customer.id}/sync`, { method: 'POST' })).status).toBe(202);
  expect(await system.host().drainQueue('syncWorker')).toBe(1);
  expect(system.world.ipaas.requests.total).toBe(2);
  expect(await countMessages(SYNC_QUEUE)).toBe(1);
  expect(await storage.waiting.count('ipaas')).toBe(1);
  expect(await countMessages(`${SYNC_QUEUE}-poison`)).toBe(0);
  const outageLines = system.logs.lines.filter((line) => line.includes('ServiceOutage'));
  expect(outageLines).toHaveLength(1);
  expect(outageLines[0]).toContain('"onHold"');

  const health = await request(system.host(), '/api/health/details');
  expect(health.status).toBe(200);
  expect(await health.json()).toMatchObject({
    status: 'degraded',
    onHold: [{ service: 'iPaaS.com', reason: 'auth', action: expect.stringContaining('renew IPAAS_API_TOKEN') }],
  });

  // The attempt is visible in the history, and not as a final failure.
  const [attempt] = await storage.transfers.listForCustomer(opener.id, 5);
  expect(attempt).toMatchObject({ status: 'Failed', errorCode: 'IpaasUnavailable' });
  expect(attempt?.errorMessage).toContain('will be retried');

  // The key works again; the hold ends (moved to now, rather than waiting 30 s); only the timer runs.
  system.world.ipaas.faults.clear();
  const row = await storage.state.get(`${OUTAGE_STATE_PREFIX}ipaas`, (value) => value as Record<string, unknown>);
  await storage.state.put(`${OUTAGE_STATE_PREFIX}ipaas`, { ...row!.value, retryAt: new Date(Date.now() - 1000).toISOString() }, row!.etag);
  await system.host().runTimer('outageWatch');
  expect(await storage.state.get(`${OUTAGE_STATE_PREFIX}ipaas`, (value) => value)).toBeNull();
  expect(await storage.waiting.count('ipaas')).toBe(0);
  expect((await (await request(system.host(), '/api/health/details')).json()) as object).toMatchObject({ status: 'ok' });
  // The waiting customer is back on the queue at once and transferred.
  expect(await system.host().drainQueue('syncWorker')).toBe(1);
  const [latest] = await storage.transfers.listForCustomer(customer.id, 1);
  expect(latest).toMatchObject({ status: 'Succeeded', action: 'Created' });
  expect(system.logs.lines.filter((line) => line.includes('ServiceOutage') && line.includes('"resumed"'))).toHaveLength(1);
});
