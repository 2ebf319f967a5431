import { useE2E, waitFor } from './support';

/**
 * Timers on their own schedules (shortened through POLL_SCHEDULE, as an app setting would in Azure):
 * nothing here calls runTimer.
 */
const e2e = useE2E();

const EVERY_SECOND = '*/1 * * * * *';

test('a scheduled poll catches changes that were never notified: first the create, then an update', async () => {
  const { world, waitForTransfer, invocations } = await e2e.start({ settings: { POLL_SCHEDULE: EVERY_SECOND } });
  const bc = world.businessCentral;
  // No ChangeNotifier call and no subscription: only the poll can find these changes.
  const customer = bc.upsertCustomer({ number: 'P-500', displayName: 'Johanna Lorenz', type: 'Person', email: 'johanna.lorenz@contoso.example', city: 'Berlin', country: 'DE' });

  // Bounds for a loaded machine (the poll runs every second), not durations asserted.
  const created = await waitForTransfer(customer.id, (t) => t.action === 'Created', 60_000);
  expect(created).toMatchObject({ source: 'poll', status: 'Succeeded', customerNumber: 'P-500', addressesAdded: 1 });

  bc.updateCustomer(customer.id, { displayName: 'Johanna Lorenz-Meyer' });
  const updated = await waitForTransfer(customer.id, (t) => t.action === 'Updated', 60_000);
  expect(updated).toMatchObject({ source: 'poll', status: 'Succeeded', ipaasCustomerId: created.ipaasCustomerId, addressesAdded: 0 });
  expect(world.ipaas.customer(created.ipaasCustomerId!)).toMatchObject({ customerNumber: 'P-500', firstName: 'Johanna Lorenz-Meyer' });
  expect(world.ipaas.customers()).toHaveLength(1);

  expect(invocations.some((event) => event.functionName === 'businessCentralWebhook')).toBe(false);
  expect(invocations.filter((event) => event.functionName === 'pollCustomers').length).toBeGreaterThanOrEqual(2);
});

test('the poll timer fires on its own schedule, again and again, and the subscription timer not at all', async () => {
  const { invocations } = await e2e.start({ settings: { POLL_SCHEDULE: EVERY_SECOND } });
  const polls = () => invocations.filter((event) => event.functionName === 'pollCustomers');

  // A bound for a loaded machine, not a duration asserted: when the ticks fall is the timer library's arithmetic
  // (croner, in dev/host/localHost.ts), not something a test can time on a shared machine.
  await waitFor(() => polls().length >= 3, { timeoutMs: 60_000, description: 'three scheduled poll runs' });
  const runs = polls();
  expect(runs.every((event) => event.trigger === 'timerTrigger' && event.succeeded)).toBe(true);
  expect(new Set(runs.map((event) => event.invocationId)).size).toBe(runs.length);
  expect(invocations.some((event) => event.functionName === 'subscriptionTimer')).toBe(false);
});
