import { useE2E, waitFor } from './support';

/**
 * A customer iPaaS.com keeps refusing: the queue redelivers it (host.json rules, visibilityTimeout shortened
 * through the AzureFunctionsJobHost__ override exactly as in Azure), five deliveries, then the poison queue
 * and poisonWorker's RetriesExhausted record.
 */
const e2e = useE2E();

test('five failed deliveries, then customer-sync-poison and a Failed RetriesExhausted transfer', async () => {
  const { world, http, transfers, invocations, system } = await e2e.start({
    settings: { AzureFunctionsJobHost__extensions__queues__visibilityTimeout: '00:00:01' },
  });
  expect(system.host.settings.queues).toMatchObject({ visibilityTimeoutMs: 1000, maxDequeueCount: 5 });
  const customer = world.businessCentral.upsertCustomer({ number: 'X-900', displayName: 'Grady Archie', type: 'Person', email: 'grady.archie@contoso.example' });
  // Every create of a customer fails with 500 (this test has no other customer to create).
  world.ipaas.faults.add({ match: world.ipaas.matches('create'), status: 500 });

  expect((await http(`/api/customers/${customer.id}/sync`, { method: 'POST' })).status).toBe(202);

  const history = await waitFor(
    async () => {
      const list = await transfers(customer.id);
      return list.some((t) => t.errorCode === 'RetriesExhausted') ? list : undefined;
    },
    { timeoutMs: 90_000, intervalMs: 200, description: 'the RetriesExhausted transfer' },
  );
  const [final, ...attempts] = history;
  expect(final).toMatchObject({ status: 'Failed', errorCode: 'RetriesExhausted', attempt: 5, source: 'manual', customerNumber: 'X-900' });
  expect(final!.errorMessage).toMatch(/Gave up after 5 attempts/u);
  // Newest first: attempts 5, 4, 3, 2, 1, each a transient failure.
  expect(attempts.map((t) => t.attempt)).toEqual([5, 4, 3, 2, 1]);
  expect(attempts.every((t) => t.status === 'Failed' && t.errorCode !== 'RetriesExhausted' && /will be retried/u.test(t.errorMessage ?? ''))).toBe(true);

  // Five deliveries by the sync worker, one by the poison worker; nothing reached iPaaS.com.
  expect(invocations.filter((event) => event.functionName === 'syncWorker').map((event) => event.succeeded)).toEqual([false, false, false, false, false]);
  // The poison worker records RetriesExhausted before it schedules the retry: its invocation ends a moment after the record appears.
  await waitFor(() => invocations.some((event) => event.functionName === 'poisonWorker'), { timeoutMs: 30_000, description: "the poison worker's invocation" });
  expect(invocations.filter((event) => event.functionName === 'poisonWorker')).toEqual([expect.objectContaining({ succeeded: true })]);
  expect(world.ipaas.customers()).toEqual([]);
  // Visible through the cross-customer query too.
  const failed = await http('/api/transfers?status=Failed&limit=10');
  expect((failed.body as { transfers: Array<{ errorCode: string }> }).transfers[0]).toMatchObject({ errorCode: 'RetriesExhausted' });
  // Bounds for a loaded machine, not expectations: five deliveries with in-process retries take seconds when idle.
}, 120_000);
