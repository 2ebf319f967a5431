/**
 * On hold through the local Functions host and Azurite: iPaaS.com refusing the key puts its work on hold
 * at the first 401 (no per-customer failure spiral), the message goes back to the real queue invisible for
 * the hold (the host does not see it meanwhile, as Azure would not) and health says degraded and what to do.
 * The recovery itself, after the hold, is covered in simulated time by outages.test.ts.
 */
import { loadStorageConfig } from '../../shared/config';
import { SYNC_QUEUE } from '../../shared/queueNames';
import { createStorage } from '../../shared/storage';
import { countMessages, request, useInProcessSystem } from './support/inProcess';

const system = useInProcessSystem();
const storage = createStorage(loadStorageConfig(process.env));

it('a refused key holds the message on the queue with a delay, health reports it, and nothing fails for good', async () => {
  const customer = system.world.businessCentral.upsertCustomer({ type: 'Person', displayName: 'Key Expired', email: 'key.expired@example.com' });
  system.world.ipaas.faults.add({ status: 401 });
  const queued = await request(system.host(), `/api/customers/${customer.id}/sync`, { method: 'POST' });
  expect(queued.status).toBe(202);

  expect(await system.host().drainQueue('syncWorker')).toBe(1);
  // iPaaS.com was asked once: an auth failure is not retried in-process and opens the breaker at once.
  expect(system.world.ipaas.requests.total).toBe(1);
  // The message is back on the queue but invisible: a second drain finds nothing to do.
  expect(await countMessages(SYNC_QUEUE)).toBe(1);
  expect(await system.host().drainQueue('syncWorker')).toBe(0);
  expect(await countMessages(`${SYNC_QUEUE}-poison`)).toBe(0);
  expect(system.logs.lines.some((line) => line.includes('TransferOnHold') && line.includes(customer.id))).toBe(true);

  const health = await request(system.host(), '/api/health/details');
  expect(health.status).toBe(200);
  expect(await health.json()).toMatchObject({
    status: 'degraded',
    onHold: [{ service: 'iPaaS.com', reason: 'auth', action: expect.stringContaining('renew IPAAS_API_TOKEN') }],
  });

  // The attempt is visible in the history, and not as a final failure.
  const [attempt] = await storage.transfers.listForCustomer(customer.id, 5);
  expect(attempt).toMatchObject({ status: 'Failed', errorCode: 'IpaasUnavailable' });
  expect(attempt?.errorMessage).toContain('will be retried');

  // The hold's own timing and the recovery are covered in simulated time by outages.test.ts.
});
