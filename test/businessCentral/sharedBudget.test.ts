/**
 * Three hosts (three Business Central clients, each with its own shared-budget object and slot leases, as three
 * instances have; in one test process) on one Azurite against one Business Central fake that answers 429 to a
 * request arriving while 5 are in flight. Counts, not timings.
 */
import { randomUUID } from 'node:crypto';
import { BUDGET_LEASE_SECONDS, budgetWaitMs, createBusinessCentralBudget } from '../../shared/businessCentral/budget';
import { loadConfig, loadStorageConfig } from '../../shared/config';
import { SyncError } from '../../shared/errors';
import { BlobSlotLeases } from '../../shared/storage/blobLeases';
import { startMockServer } from '../support/msw';
import { harness } from './harness';

const server = startMockServer();
const storage = loadStorageConfig(process.env);
const CALLS_PER_HOST = 20;

function setUp() {
  const h = harness(server, { maxConcurrentRequests: 5 });
  // Each call takes a little while, so calls from different hosts overlap.
  h.bc.faults.latencyMs = 20;
  const ids = Array.from({ length: 10 }, (_, index) => h.bc.upsertCustomer({ displayName: `Customer ${index}`, type: 'Company' }).id);
  return { h, ids };
}

test('with the shared budget, three hosts calling at once get no 429 and never have more than 5 requests in flight', async () => {
  const { h, ids } = setUp();
  const name = `bc-budget-${randomUUID()}`;
  // Production's wait bound (twice a 30 s timeout): 60 calls spaced 250 ms per slot queue for seconds here.
  const budgets = [0, 1, 2].map(() => createBusinessCentralBudget({ ...h.config.http, timeoutMs: 30_000 }, new BlobSlotLeases(storage, name, BUDGET_LEASE_SECONDS)));
  // Retries off: a 429 would fail its call instead of being hidden by a retry.
  const clients = budgets.map((budget) => h.client({ http: { maxAttempts: 1 }, options: { budget } }));
  const results = await Promise.all(
    clients.flatMap((client) => Array.from({ length: CALLS_PER_HOST }, (_, call) => client.getCustomer(ids[call % ids.length]!))),
  );
  await Promise.all(budgets.map((budget) => budget.releaseAll()));
  expect(h.bc.throttled).toBe(0);
  expect(results.filter((customer) => customer !== null)).toHaveLength(3 * CALLS_PER_HOST);
  expect(h.bc.requests.get).toBe(3 * CALLS_PER_HOST);
  expect(h.bc.maxInFlight).toBeGreaterThan(1);
  expect(h.bc.maxInFlight).toBeLessThanOrEqual(5);
}, 120_000);

test('without it, the same three hosts (each capped at 5 in process) overrun the fake: 429s', async () => {
  const { h, ids } = setUp();
  const clients = [0, 1, 2].map(() => h.client({ http: { maxAttempts: 1 } }));
  const outcomes = await Promise.allSettled(
    clients.flatMap((client) => Array.from({ length: CALLS_PER_HOST }, (_, call) => client.getCustomer(ids[call % ids.length]!))),
  );
  expect(h.bc.throttled).toBeGreaterThan(0);
  const failures = outcomes.filter((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
  expect(failures.length).toBe(h.bc.throttled);
  expect(failures.every((failure) => failure.reason instanceof SyncError && failure.reason.transient && failure.reason.status === 429)).toBe(true);
});

test('when the budget cannot be taken (storage down), the call fails as transient and nothing reaches Business Central', async () => {
  const { h, ids } = setUp();
  const budget = { run: async () => Promise.reject(new Error('table unreachable')) };
  const error = await h.client({ http: { maxAttempts: 1 }, options: { budget } }).getCustomer(ids[0]!).catch((caught: unknown) => caught);
  expect(error).toBeInstanceOf(SyncError);
  expect((error as SyncError).transient).toBe(true);
  expect((error as SyncError).message).toContain('shared request budget is unavailable');
  expect(h.bc.requests.total).toBe(0);
});

test('when storage fails under the budget, the call fails as a storage outage (held by the worker, no delivery spent), nothing sent', async () => {
  const { h, ids } = setUp();
  const budget = { run: async () => Promise.reject(new SyncError('StorageUnavailable', 'Storage taking a request budget slot failed: HTTP 503', { transient: true })) };
  const error = await h.client({ http: { maxAttempts: 1 }, options: { budget } }).getCustomer(ids[0]!).catch((caught: unknown) => caught);
  expect(error).toMatchObject({ code: 'StorageUnavailable', transient: true });
  expect(h.bc.requests.total).toBe(0);
});

test('a request waits for a slot at most twice HTTP_TIMEOUT_MS', () => {
  expect(budgetWaitMs({ timeoutMs: 30_000 })).toBe(60_000);
});

test('BC_SHARED_BUDGET: off unless set outside Azure, on in Azure, and a wrong value is a clear error', () => {
  const base = { ...process.env };
  delete base.WEBSITE_SITE_NAME;
  delete base.BC_SHARED_BUDGET;
  expect(loadConfig(base).http.bcSharedBudget).toBe(false);
  expect(loadConfig({ ...base, WEBSITE_SITE_NAME: 'func-sync' }).http.bcSharedBudget).toBe(true);
  expect(loadConfig({ ...base, WEBSITE_SITE_NAME: 'func-sync', BC_SHARED_BUDGET: 'off' }).http.bcSharedBudget).toBe(false);
  expect(loadConfig({ ...base, BC_SHARED_BUDGET: 'on' }).http.bcSharedBudget).toBe(true);
  expect(() => loadConfig({ ...base, BC_SHARED_BUDGET: 'yes' })).toThrow(/BC_SHARED_BUDGET.*must be on or off/su);
});
