import { DEMO_SCENARIOS } from '../../dev/sandbox/demoData';
import type { TransferRecord } from '../../shared/storage/types';
import { useE2E, waitFor } from './support';

/**
 * The product end to end through the local Functions host, with timers driven by runTimer (their schedules
 * never fire in this file): webhook notifications, manual sync, the demo data's seed scenarios and the
 * webhook subscription lifecycle against the sandbox's Business Central and iPaaS.com.
 */
const e2e = useE2E();

const WEBHOOK = '/api/webhooks/business-central';

describe('webhook → transfer', () => {
  test('a created-customer notification with our clientState ends as a Created transfer and the mapped customer in iPaaS.com', async () => {
    const { world, system, http, waitForTransfer, transfers } = await e2e.start();
    const bc = world.businessCentral;
    const customer = bc.upsertCustomer({
      number: 'C-2001',
      displayName: 'Nestor Wilke',
      type: 'Person',
      email: 'nestor.wilke@contoso.example',
      addressLine1: '1 Main Street',
      addressLine2: 'Suite 4',
      city: 'Oslo',
      state: 'Oslo',
      country: 'NO',
      postalCode: '0150',
      phoneNumber: '+47 555 0100',
    });
    const entry = {
      subscriptionId: 'e2e-subscription',
      clientState: system.settings.WEBHOOK_CLIENT_STATE,
      expirationDateTime: new Date(Date.now() + 86_400_000).toISOString(),
      resource: `${bc.customersResource}(${customer.id})`,
      changeType: 'created',
      lastModifiedDateTime: customer.lastModifiedDateTime,
    };

    // A notification without our secret is refused and starts nothing.
    const forged = await http(WEBHOOK, { method: 'POST', body: { value: [{ ...entry, clientState: 'not-the-client-state-at-all' }] } });
    expect(forged.status).toBe(401);

    const accepted = await http(WEBHOOK, { method: 'POST', body: { value: [entry] } });
    expect(accepted.status).toBe(202);
    expect(accepted.body).toMatchObject({ enqueued: 1 });

    const transfer = await waitForTransfer(customer.id, (t) => t.status === 'Succeeded');
    expect(transfer).toMatchObject({ source: 'webhook', status: 'Succeeded', action: 'Created', customerNumber: 'C-2001', addressesAdded: 1, attempt: 1 });
    // The forged notification added nothing: exactly one transfer.
    expect(await transfers(customer.id)).toHaveLength(1);

    const [created, ...others] = world.ipaas.customers();
    expect(others).toHaveLength(0);
    expect(created).toMatchObject({ id: transfer.ipaasCustomerId, customerNumber: 'C-2001', firstName: 'Nestor Wilke', emailAddress: 'nestor.wilke@contoso.example' });
    expect(world.ipaas.addresses(created!.id)).toEqual([
      expect.objectContaining({
        address1: '1 Main Street',
        address2: 'Suite 4',
        city: 'Oslo',
        region: 'Oslo',
        country: 'NO',
        postalCode: '0150',
        phoneNumber: '+47 555 0100',
        isPrimaryBilling: true,
        isPrimaryShipping: true,
      }),
    ]);
    // The sandbox sets IPAAS_SYSTEM_ID: the customer number is recorded as the iPaaS.com customer's external id.
    expect(world.ipaas.externalIds()).toEqual([{ tableName: 'customer', systemId: 1207, internalId: created!.id, externalId: 'C-2001' }]);
  });
});

describe('manual sync', () => {
  test('by id: 202 with a Location where the transfer then appears', async () => {
    const { world, http } = await e2e.start();
    const customer = world.businessCentral.upsertCustomer({ number: 'M-100', displayName: 'Lynne Robbins', type: 'Person', email: 'lynne.robbins@contoso.example' });

    const response = await http(`/api/customers/${customer.id.toUpperCase()}/sync`, { method: 'POST' });
    expect(response.status).toBe(202);
    const location = response.headers.get('location');
    expect(location).toBe(`/api/customers/${customer.id}/transfers`);

    const transfer = await waitFor(
      async () => {
        const result = await http(location!);
        return (result.body as { transfers: TransferRecord[] }).transfers.find((t) => t.source === 'manual');
      },
      { description: 'the manual transfer at the Location' },
    );
    expect(transfer).toMatchObject({ customerId: customer.id, status: 'Succeeded', action: 'Created', customerNumber: 'M-100', addressesAdded: 0 });
    expect(world.ipaas.customers()).toEqual([expect.objectContaining({ customerNumber: 'M-100', firstName: 'Lynne Robbins' })]);
  });

  test('by number: resolves the id in Business Central, 202, and the transfer appears; an unknown number is 404', async () => {
    const { world, http, waitForTransfer } = await e2e.start();
    const customer = world.businessCentral.upsertCustomer({ number: 'M-200', displayName: 'Pradeep Gupta', type: 'Person', email: 'pradeep.gupta@contoso.example', city: 'Cairo', country: 'EG' });

    const response = await http('/api/customers/by-number/M-200/sync', { method: 'POST' });
    expect(response.status).toBe(202);
    expect(response.headers.get('location')).toBe(`/api/customers/${customer.id}/transfers`);
    expect(response.body).toMatchObject({ customerId: customer.id, queued: true });

    const transfer = await waitForTransfer(customer.id, (t) => t.source === 'manual');
    expect(transfer).toMatchObject({ status: 'Succeeded', action: 'Created', customerNumber: 'M-200', addressesAdded: 1 });

    expect((await http('/api/customers/by-number/NOPE-1/sync', { method: 'POST' })).status).toBe(404);
  });
});

describe('the demo data after one poll', () => {
  test("every seed scenario ends as the banner says", async () => {
    const { world, system, http } = await e2e.start({ seedDemo: true });
    await system.host.runTimer('pollCustomers');

    const byNumber = await waitFor(
      async () => {
        const result = await http('/api/transfers?limit=100');
        const transfers = (result.body as { transfers: TransferRecord[] }).transfers;
        const latest = new Map<string, TransferRecord>();
        // Newest first: the first seen per number is its latest outcome.
        for (const transfer of transfers) if (transfer.customerNumber && !latest.has(transfer.customerNumber)) latest.set(transfer.customerNumber, transfer);
        return latest.size >= DEMO_SCENARIOS.length ? latest : undefined;
      },
      { description: 'a transfer for each of the demo customers' },
    );
    const outcome = (number: string) => {
      const t = byNumber.get(number);
      return t && { source: t.source, status: t.status, action: t.action, errorCode: t.errorCode, addressesAdded: t.addressesAdded };
    };
    expect(outcome('10000')).toEqual({ source: 'poll', status: 'Succeeded', action: 'Created', errorCode: null, addressesAdded: 1 });
    expect(outcome('10010')).toEqual({ source: 'poll', status: 'Skipped', action: 'Filtered', errorCode: null, addressesAdded: 0 });
    expect(outcome('10020')).toEqual({ source: 'poll', status: 'Failed', action: null, errorCode: 'DuplicateCustomerNumber', addressesAdded: 0 });
    expect(outcome('10030')).toEqual({ source: 'poll', status: 'Failed', action: null, errorCode: 'MissingEmail', addressesAdded: 0 });
    expect(outcome('10040')).toEqual({ source: 'poll', status: 'Succeeded', action: 'Updated', errorCode: null, addressesAdded: 0 });
    expect(outcome('10050')).toEqual({ source: 'poll', status: 'Failed', action: null, errorCode: 'InvalidEmail', addressesAdded: 0 });
    expect(outcome('10060')).toEqual({ source: 'poll', status: 'Succeeded', action: 'Created', errorCode: null, addressesAdded: 0 });
    expect(outcome('10070')).toEqual({ source: 'poll', status: 'Failed', action: null, errorCode: 'DuplicateEmail', addressesAdded: 0 });
    expect(outcome('10080')).toEqual({ source: 'poll', status: 'Succeeded', action: 'Created', errorCode: null, addressesAdded: 0 });

    // iPaaS.com: the four seeded customers plus the three created ones; Alex updated in place with one address.
    const ipaas = world.ipaas.customers();
    expect(ipaas.map((c) => c.customerNumber).sort()).toEqual(['10000', '10020', '10040', '10060', '10080', 'W-7001', 'W-7002']);
    const alex = ipaas.find((c) => c.customerNumber === '10040')!;
    expect(alex.firstName).toBe('Alex Wilber');
    expect(world.ipaas.addresses(alex.id)).toHaveLength(1);
    const jane = ipaas.find((c) => c.customerNumber === '10020')!;
    expect(jane.emailAddress).toBe('j.cooper@old-mail.example');
    const robert = ipaas.find((c) => c.customerNumber === '10000')!;
    expect(world.ipaas.addresses(robert.id)).toEqual([expect.objectContaining({ address1: '192 Market Square', city: 'Atlanta', region: 'GA', country: 'US', postalCode: '31772' })]);
    expect(world.ipaas.addresses(ipaas.find((c) => c.customerNumber === '10060')!.id)).toEqual([]);
  });
});

describe('webhook subscription lifecycle', () => {
  test('the subscription timer subscribes after a real handshake; a change notified by Business Central flows to iPaaS.com', async () => {
    const { world, system, http, invocations, waitForTransfer } = await e2e.start();
    const bc = world.businessCentral;
    const notificationUrl = system.settings.WEBHOOK_NOTIFICATION_URL!;
    expect(notificationUrl).toBe(`http://localhost:${system.host.port}${WEBHOOK}`);

    await system.host.runTimer('subscriptionTimer');
    const run = invocations.find((event) => event.functionName === 'subscriptionTimer');
    // The error first, so a failure names its cause (on a loaded machine: the handshake's 5 s answer window).
    expect(run?.error).toBeUndefined();
    expect(run).toMatchObject({ succeeded: true });
    expect(bc.handshakes).toEqual([{ url: expect.stringContaining(notificationUrl), ok: true }]);
    const [subscription, ...more] = bc.subscriptions();
    expect(more).toHaveLength(0);
    expect(subscription).toMatchObject({ notificationUrl, resource: bc.customersResource, clientState: system.settings.WEBHOOK_CLIENT_STATE });

    // A new subscription asks for a catch-up poll; let it finish so what follows comes from the notification alone.
    await waitFor(() => invocations.find((event) => event.functionName === 'catchUpWorker'), { description: 'the catch-up poll' });
    const webhookCalls = () => invocations.filter((event) => event.functionName === 'businessCentralWebhook');
    // So far only the handshake reached the webhook.
    expect(webhookCalls()).toHaveLength(1);

    // Change a customer the way a user would (the sandbox route), which makes Business Central notify.
    const created = await http('/sandbox/business-central/customers', {
      method: 'POST',
      body: { number: 'W-300', displayName: 'Isaiah Langer', email: 'isaiah.langer@contoso.example', city: 'Lisbon', country: 'PT' },
    });
    expect(created.status).toBe(201);
    const customerId = (created.body as { id: string }).id;

    const transfer = await waitForTransfer(customerId, (t) => t.status === 'Succeeded');
    expect(transfer).toMatchObject({ source: 'webhook', action: 'Created', customerNumber: 'W-300', addressesAdded: 1 });
    // The handshake, then exactly one notification, accepted.
    expect(webhookCalls()).toEqual([expect.objectContaining({ succeeded: true }), expect.objectContaining({ succeeded: true })]);
    expect(world.ipaas.customers()).toEqual([expect.objectContaining({ customerNumber: 'W-300', firstName: 'Isaiah Langer' })]);

    // Running the timer again keeps the one subscription (no second handshake).
    await system.host.runTimer('subscriptionTimer');
    expect(bc.subscriptions().map((s) => s.subscriptionId)).toEqual([subscription!.subscriptionId]);
    expect(bc.handshakes).toHaveLength(1);
  });
});
