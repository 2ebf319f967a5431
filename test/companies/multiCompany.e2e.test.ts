import { SANDBOX_CANADA_SYSTEM_ID, SANDBOX_COMPANIES } from '../../dev/settings';
import { getServices } from '../../shared/services';
import type { TransferRecord } from '../../shared/storage/types';
import { useE2E, waitFor, type E2ESystem } from '../e2e/support';

/**
 * Several Business Central companies in one deployment, end to end through the local Functions host against the
 * sandbox's two companies (as `npm start` runs them): CRONUS USA with the shipped mapping and system id 1207, and
 * CRONUS Canada with its own mapping file (numbers prefixed CA-, Company "CRONUS Canada"), system id 1208 and token.
 */
const e2e = useE2E();

const WEBHOOK = '/api/webhooks/business-central';
const USA = SANDBOX_COMPANIES.usa;
const CANADA = SANDBOX_COMPANIES.canada;
/** A company this deployment does not serve (another company of the same environment). */
const ELSEWHERE = '7e1f0c2d-3a4b-4c5d-8e6f-9a0b1c2d3e4f';

const path = (company: string) => `/api/companies/${encodeURIComponent(company)}`;

async function history(system: E2ESystem, company: string, customerId: string): Promise<TransferRecord[]> {
  const reply = await system.http(`${path(company)}/customers/${customerId}/transfers?limit=100`);
  if (reply.status !== 200) throw new Error(`GET transfers answered ${reply.status}: ${JSON.stringify(reply.body)}`);
  return (reply.body as { transfers: TransferRecord[] }).transfers;
}

function waitForTransfer(system: E2ESystem, company: string, customerId: string, match: (transfer: TransferRecord) => boolean): Promise<TransferRecord> {
  return waitFor(async () => (await history(system, company, customerId)).find(match), { timeoutMs: 15_000, intervalMs: 100, description: `a transfer of ${customerId} in ${company}` });
}

function entry(system: E2ESystem, companyId: string, customerId: string, changeType = 'updated'): Record<string, unknown> {
  return {
    subscriptionId: `sub-${companyId.slice(0, 8)}`,
    clientState: system.system.settings.WEBHOOK_CLIENT_STATE,
    expirationDateTime: new Date(Date.now() + 86_400_000).toISOString(),
    resource: `api/v2.0/companies(${companyId})/customers(${customerId})`,
    changeType,
    lastModifiedDateTime: new Date().toISOString(),
  };
}

describe('webhook', () => {
  test('one POST with two companies: each customer is transferred in its own company, entries of a company not configured are acknowledged, ignored and counted', async () => {
    const system = await e2e.start({ companies: 2 });
    const usa = system.world.businessCentral;
    const canada = usa.company(CANADA.id);
    const alice = usa.upsertCustomer({ number: 'U-100', displayName: 'Alice Ng', type: 'Person', email: 'alice.ng@contoso.example' });
    const bruno = canada.upsertCustomer({ number: 'U-100', displayName: 'Bruno Côté', type: 'Person', email: 'bruno.cote@contoso.example' });

    const reply = await system.http(WEBHOOK, { method: 'POST', body: { value: [entry(system, USA.id, alice.id), entry(system, CANADA.id, bruno.id), entry(system, ELSEWHERE, bruno.id)] } });
    expect(reply.status).toBe(202);
    expect(reply.body).toMatchObject({
      enqueued: 2,
      ignored: 1,
      otherCompanies: 1,
      companies: [
        { companyId: USA.id, companyName: USA.name, enqueued: 1 },
        { companyId: CANADA.id, companyName: CANADA.name, enqueued: 1 },
      ],
    });

    const inUsa = await waitForTransfer(system, USA.name, alice.id, (transfer) => transfer.status === 'Succeeded');
    const inCanada = await waitForTransfer(system, CANADA.id, bruno.id, (transfer) => transfer.status === 'Succeeded');
    expect(inUsa).toMatchObject({ action: 'Created', companyId: USA.id, companyName: USA.name, customerNumber: 'U-100', source: 'webhook' });
    expect(inCanada).toMatchObject({ action: 'Created', companyId: CANADA.id, companyName: CANADA.name, customerNumber: 'U-100', source: 'webhook' });
    // Each company's mapping: the same Business Central number is U-100 and CA-U-100 in iPaaS.com.
    const ipaas = system.world.ipaas.customers();
    expect(ipaas.map((customer) => [customer.customerNumber, customer.company]).sort()).toEqual([
      ['CA-U-100', 'CRONUS Canada'],
      ['U-100', ''],
    ]);
    // Each company's system id on its external id links.
    expect(system.world.ipaas.externalIds().map((link) => [link.systemId, link.externalId]).sort()).toEqual([
      [1207, 'U-100'],
      [SANDBOX_CANADA_SYSTEM_ID, 'CA-U-100'],
    ]);
  });
});

describe('a company copy', () => {
  test('the same id and number in two companies are two customers: two iPaaS.com customers, routes by id without a company answer 409', async () => {
    const system = await e2e.start({ companies: 2 });
    const usa = system.world.businessCentral;
    const copy = usa.upsertCustomer({ number: '20000', displayName: 'Ines Bauer', type: 'Person', email: 'ines.bauer@contoso.example' });
    // Copied with the company: same id and number; the subsidiary gave her its own email.
    usa.company(CANADA.id).upsertCustomer({ id: copy.id, number: '20000', displayName: 'Ines Bauer', type: 'Person', email: 'ines.bauer@cronus-canada.example' });

    for (const company of [USA.name, CANADA.id]) {
      const queued = await system.http(`${path(company)}/customers/${copy.id}/sync`, { method: 'POST' });
      expect(queued.status).toBe(202);
      expect(queued.headers.get('location')).toMatch(new RegExp(`^/api/companies/[0-9a-f-]{36}/customers/${copy.id}/transfers$`, 'u'));
    }
    await waitForTransfer(system, USA.id, copy.id, (transfer) => transfer.status === 'Succeeded');
    await waitForTransfer(system, CANADA.name, copy.id, (transfer) => transfer.status === 'Succeeded');
    expect(system.world.ipaas.customers().map((customer) => customer.customerNumber).sort()).toEqual(['20000', 'CA-20000']);

    // A second sync of each writes nothing new: each company's link is its own.
    for (const company of [USA.id, CANADA.id]) await system.http(`${path(company)}/customers/${copy.id}/sync`, { method: 'POST' });
    await waitFor(async () => (await history(system, USA.id, copy.id)).length === 2 && (await history(system, CANADA.id, copy.id)).length === 2, { timeoutMs: 15_000 });
    expect((await history(system, CANADA.id, copy.id))[0]).toMatchObject({ status: 'Skipped', action: 'Unchanged' });
    expect(system.world.ipaas.customers()).toHaveLength(2);

    const ambiguous = await system.http(`/api/customers/${copy.id}/sync`, { method: 'POST' });
    expect(ambiguous.status).toBe(409);
    expect(ambiguous.body).toEqual({ error: { code: 'AmbiguousCustomer', message: expect.stringContaining(CANADA.name) } });
    expect((await system.http(`/api/customers/${copy.id}/transfers`)).status).toBe(409);
    expect((await system.http(`/api/customers/${copy.id}/sync?dryRun=true`, { method: 'POST' })).status).toBe(409);
  });

  test('EmailInUse spans companies: a copy that kept the email is not merged into the first company\'s iPaaS.com customer', async () => {
    const system = await e2e.start({ companies: 2 });
    const usa = system.world.businessCentral;
    const original = usa.upsertCustomer({ number: '30000', displayName: 'Omar Aziz', type: 'Person', email: 'omar.aziz@contoso.example' });
    usa.company(CANADA.id).upsertCustomer({ id: original.id, number: '30000', displayName: 'Omar Aziz', type: 'Person', email: 'omar.aziz@contoso.example' });
    await system.http(`${path(USA.id)}/customers/${original.id}/sync`, { method: 'POST' });
    const first = await waitForTransfer(system, USA.id, original.id, (transfer) => transfer.status === 'Succeeded');
    await system.http(`${path(CANADA.id)}/customers/${original.id}/sync`, { method: 'POST' });
    const second = await waitForTransfer(system, CANADA.id, original.id, (transfer) => transfer.status === 'Failed');
    expect(second).toMatchObject({ errorCode: 'EmailInUse', companyId: CANADA.id });
    expect(second.errorMessage).toContain(`Business Central customer 30000 of company ${USA.name}`);
    // Nothing was written: CRONUS USA's customer keeps its number and name.
    expect(system.world.ipaas.customers()).toEqual([expect.objectContaining({ id: first.ipaasCustomerId, customerNumber: '30000' })]);
  });

  test('by id without a company: found in one company → that one; in none → 404', async () => {
    const system = await e2e.start({ companies: 2 });
    const only = system.world.businessCentral.company(CANADA.id).upsertCustomer({ number: 'C-7', displayName: 'Hugo Roy', type: 'Person', email: 'hugo.roy@contoso.example' });
    const queued = await system.http(`/api/customers/${only.id}/sync`, { method: 'POST' });
    expect(queued.status).toBe(202);
    expect(queued.body).toMatchObject({ customerId: only.id, companyId: CANADA.id, companyName: CANADA.name, queued: true });
    await waitForTransfer(system, CANADA.id, only.id, (transfer) => transfer.status === 'Succeeded');
    const plan = await system.http(`/api/customers/${only.id}/sync?dryRun=true`, { method: 'POST' });
    expect(plan).toMatchObject({ status: 200, body: { outcome: 'Unchanged', companyId: CANADA.id, customerNumber: 'C-7' } });
    expect((await system.http(`/api/customers/${only.id}/transfers`)).body).toMatchObject({ companyId: CANADA.id, transfers: [{ companyName: CANADA.name }] });
    const nowhere = await system.http('/api/customers/0f0e0d0c-0b0a-4908-8706-050403020100/sync', { method: 'POST' });
    expect(nowhere).toMatchObject({ status: 404, body: { error: { code: 'CustomerNotFound' } } });
  });
});

describe('routes by number and company', () => {
  test('without a company: 400 CompanyRequired; with its GUID or name: the company; an unknown company: 404 UnknownCompany', async () => {
    const system = await e2e.start({ companies: 2 });
    const canada = system.world.businessCentral.company(CANADA.id);
    const lea = canada.upsertCustomer({ number: 'N-1', displayName: 'Léa Martin', type: 'Person', email: 'lea.martin@contoso.example' });

    for (const route of ['/api/customers/by-number/N-1/sync', '/api/customers/by-number/N-1/sync?dryRun=true']) {
      const reply = await system.http(route, { method: 'POST' });
      expect(reply).toMatchObject({ status: 400, body: { error: { code: 'CompanyRequired', message: expect.stringContaining('/api/companies/{company}/') } } });
    }
    expect((await system.http('/api/customers/by-number/N-1/transfers')).status).toBe(400);

    const plan = await system.http(`${path(CANADA.name)}/customers/by-number/N-1/sync?dryRun=true`, { method: 'POST' });
    expect(plan).toMatchObject({ status: 200, body: { customerId: lea.id, outcome: 'Create', companyId: CANADA.id, changes: expect.arrayContaining([{ field: 'CustomerNumber', from: null, to: 'CA-N-1' }]) } });
    const queued = await system.http(`${path(CANADA.name.toUpperCase())}/customers/by-number/N-1/sync`, { method: 'POST' });
    expect(queued).toMatchObject({ status: 202, body: { customerId: lea.id, companyId: CANADA.id } });
    await waitForTransfer(system, CANADA.id, lea.id, (transfer) => transfer.status === 'Succeeded');
    // The number is not CRONUS USA's.
    expect((await system.http(`${path(USA.id)}/customers/by-number/N-1/sync`, { method: 'POST' })).body).toMatchObject({ error: { code: 'CustomerNotFound' } });
    expect((await system.http(`${path(CANADA.id)}/customers/by-number/N-1/transfers`)).body).toMatchObject({ customerId: lea.id, companyName: CANADA.name, transfers: [{ status: 'Succeeded' }] });

    for (const route of [`${path('CRONUS Mexico')}/customers/by-number/N-1/sync`, `${path(ELSEWHERE)}/customers/${lea.id}/sync`]) {
      const unknown = await system.http(route, { method: 'POST' });
      expect(unknown).toMatchObject({ status: 404, body: { error: { code: 'UnknownCompany', message: expect.stringContaining(USA.name) } } });
    }
    expect((await system.http(`${path('nope')}/customers/${lea.id}/transfers`)).status).toBe(404);
    expect((await system.http('/api/transfers?company=nope')).body).toMatchObject({ error: { code: 'UnknownCompany' } });

    const recent = await system.http(`/api/transfers?company=${encodeURIComponent(CANADA.name)}`);
    expect((recent.body as { transfers: TransferRecord[] }).transfers.map((transfer) => transfer.companyId)).toEqual([CANADA.id]);
    expect((await system.http(`/api/transfers?company=${USA.id}`)).body).toEqual({ transfers: [], nextLink: null });
  });
});

describe('polling and subscriptions', () => {
  test('one subscription per company (same URL and clientState), renewed and re-created each on its own', async () => {
    const system = await e2e.start({ companies: 2 });
    const bc = system.world.businessCentral;
    await system.system.host.runTimer('subscriptionTimer');
    const first = bc.subscriptions();
    expect(first.map((subscription) => subscription.resource).sort()).toEqual([`/api/v2.0/companies(${CANADA.id})/customers`, `/api/v2.0/companies(${USA.id})/customers`].sort());
    expect(new Set(first.map((subscription) => subscription.notificationUrl)).size).toBe(1);
    expect(new Set(first.map((subscription) => subscription.clientState))).toEqual(new Set([system.system.settings.WEBHOOK_CLIENT_STATE]));

    // Business Central drops Canada's: the next check re-creates it alone and keeps CRONUS USA's.
    const canadas = first.find((subscription) => subscription.resource.includes(CANADA.id))!;
    const usas = first.find((subscription) => subscription.resource.includes(USA.id))!;
    bc.expireSubscription(canadas.subscriptionId);
    await system.system.host.runTimer('subscriptionTimer');
    const after = bc.subscriptions();
    expect(after).toHaveLength(2);
    expect(after.map((subscription) => subscription.subscriptionId)).toContain(usas.subscriptionId);
    expect(after.map((subscription) => subscription.subscriptionId)).not.toContain(canadas.subscriptionId);

    const status = await system.http('/api/status');
    const companies = (status.body as { companies: Array<{ companyName: string; subscription: { subscriptionId: string } | null }> }).companies;
    expect(companies.map((company) => [company.companyName, company.subscription?.subscriptionId])).toEqual([
      [USA.name, usas.subscriptionId],
      [CANADA.name, after.find((subscription) => subscription.resource.includes(CANADA.id))!.subscriptionId],
    ]);
  });

  test('one company failing (403 not permitted, then 404 deleted) is recorded and shown, and never delays the other', async () => {
    const system = await e2e.start({ companies: 2 });
    const bc = system.world.businessCentral;
    bc.denyCompany(CANADA.id);
    const nina = bc.upsertCustomer({ number: 'P-1', displayName: 'Nina Park', type: 'Person', email: 'nina.park@contoso.example' });

    await system.system.host.runTimer('pollCustomers').catch(() => undefined);
    await waitForTransfer(system, USA.id, nina.id, (transfer) => transfer.status === 'Succeeded');

    const statusOf = async () =>
      (
        (await system.http('/api/status')).body as {
          companies: Array<{ companyName: string; watermark: string | null; lastPoll: { outcome: string; status: number | null } | null }>;
        }
      ).companies;
    const [usa, canada] = await statusOf();
    expect(usa).toMatchObject({ companyName: USA.name, lastPoll: { outcome: 'Succeeded' } });
    expect(usa!.watermark).not.toBeNull();
    expect(canada).toMatchObject({ companyName: CANADA.name, watermark: null, lastPoll: { outcome: 'Failed', status: 403 } });
    const health = await system.http('/api/health/details');
    expect(health.body).toMatchObject({ status: 'degraded', checks: expect.arrayContaining([expect.objectContaining({ name: `poll (${CANADA.name})`, status: 'degraded', message: expect.stringContaining('permission') })]) });

    // Deleted: 404; CRONUS USA keeps polling from its own watermark.
    bc.removeCompany(CANADA.id);
    const later = bc.upsertCustomer({ number: 'P-2', displayName: 'Omar Haddad', type: 'Person', email: 'omar.haddad@contoso.example' });
    await system.system.host.runTimer('pollCustomers').catch(() => undefined);
    await waitForTransfer(system, USA.id, later.id, (transfer) => transfer.status === 'Succeeded');
    expect((await statusOf())[1]).toMatchObject({ lastPoll: { outcome: 'Failed', status: 404 } });
  });

  test('Business Central refusing one company holds that company\'s transfers only; the other transfers at once', async () => {
    const system = await e2e.start({ companies: 2 });
    const bc = system.world.businessCentral;
    const held = bc.company(CANADA.id).upsertCustomer({ number: 'H-1', displayName: 'Zoe Tran', type: 'Person', email: 'zoe.tran@contoso.example' });
    const flowing = bc.upsertCustomer({ number: 'H-2', displayName: 'Yan Wu', type: 'Person', email: 'yan.wu@contoso.example' });
    bc.denyCompany(CANADA.id);

    await system.http(`${path(CANADA.id)}/customers/${held.id}/sync`, { method: 'POST' });
    // Canada's hold opens (its own breaker): the health names the company, and its message waits instead of failing.
    const health = await waitFor(
      async () => {
        const details = (await system.http('/api/health/details')).body as { onHold?: Array<{ service: string; companyName?: string }> };
        return details.onHold?.find((entry) => entry.companyName === CANADA.name);
      },
      { timeoutMs: 15_000, description: "CRONUS Canada's hold" },
    );
    expect(health.service).toBe(`Business Central (${CANADA.name})`);
    // One ServiceOutage line names the company whose work is held (no line per held message).
    expect(system.logs.some((line) => line.message.includes('ServiceOutage {') && line.message.includes('"onHold"') && line.message.includes(CANADA.id))).toBe(true);
    expect(system.logs.some((line) => line.message.includes('ServiceOutage {') && line.message.includes(USA.id))).toBe(false);
    // The attempt that met the refusal is recorded as one to retry, never as a final failure.
    expect((await history(system, CANADA.id, held.id)).map((transfer) => [transfer.errorCode, transfer.errorMessage?.endsWith('(will be retried)')])).toEqual([
      ['BusinessCentralUnavailable', true],
    ]);

    // CRONUS USA is not held: its customer transfers now.
    await system.http(`${path(USA.id)}/customers/${flowing.id}/sync`, { method: 'POST' });
    await waitForTransfer(system, USA.id, flowing.id, (transfer) => transfer.status === 'Succeeded');
    const details = (await system.http('/api/health/details')).body as { onHold?: Array<{ companyName?: string }> };
    expect((details.onHold ?? []).filter((entry) => entry.companyName === USA.name)).toEqual([]);
  });

  test('a poll that finds nothing costs one Business Central request per company', async () => {
    const system = await e2e.start({ companies: 2 });
    const bc = system.world.businessCentral;
    await system.system.host.runTimer('pollCustomers');
    bc.resetRequests();
    await system.system.host.runTimer('pollCustomers');
    expect(bc.requests).toMatchObject({ total: 2, list: 2 });
    expect(bc.requestLog.map((request) => /companies\(([^)]+)\)/u.exec(request.url)?.[1]).sort()).toEqual([CANADA.id, USA.id].sort());
  });
});

describe('reconciliation', () => {
  test('every company, or one: items and counts per company', async () => {
    const system = await e2e.start({ companies: 2 });
    const bc = system.world.businessCentral;
    bc.upsertCustomer({ number: 'R-1', displayName: 'Rita Moss', type: 'Person', email: 'rita.moss@contoso.example' });
    bc.company(CANADA.id).upsertCustomer({ number: 'R-1', displayName: 'Remy Leduc', type: 'Person', email: 'remy.leduc@contoso.example' });
    bc.company(CANADA.id).upsertCustomer({ number: 'R-2', displayName: 'Rosa Lima', type: 'Person', email: '' });

    const runOf = async (body: unknown) => {
      const started = await system.http('/api/reconciliations', { method: 'POST', body });
      expect(started.status).toBe(202);
      const runId = (started.body as { runId: string }).runId;
      return waitFor(
        async () => {
          const report = await system.http(`/api/reconciliations/${runId}`);
          return (report.body as { status: string }).status === 'Completed' ? (report.body as Record<string, unknown>) : undefined;
        },
        { timeoutMs: 20_000, intervalMs: 200, description: `reconciliation ${runId}` },
      );
    };
    const all = await runOf({});
    expect(all).toMatchObject({
      counts: { Missing: 2, Invalid: 1 },
      companies: [
        { companyId: USA.id, companyName: USA.name, counts: { Missing: 1, Invalid: 0 } },
        { companyId: CANADA.id, companyName: CANADA.name, counts: { Missing: 1, Invalid: 1 } },
      ],
    });
    const items = all.items as Array<{ category: string; companyName: string; customerNumber: string; changes: Array<{ field: string; to: string }> }>;
    expect(items.map((item) => [item.category, item.companyName, item.customerNumber])).toEqual([
      ['Missing', USA.name, 'R-1'],
      ['Missing', CANADA.name, 'R-1'],
      ['Invalid', CANADA.name, 'R-2'],
    ]);
    // Canada's own mapping decides what would be written.
    expect(items[1]!.changes).toEqual(expect.arrayContaining([expect.objectContaining({ field: 'CustomerNumber', to: 'CA-R-1' })]));

    const one = await runOf({ company: CANADA.name });
    expect(one).toMatchObject({ counts: { Missing: 1, Invalid: 1 }, companies: [{ companyId: CANADA.id }] });
    expect((one.companies as unknown[]).length).toBe(1);
    expect((await system.http('/api/reconciliations', { method: 'POST', body: { company: 'CRONUS Mexico' } })).body).toMatchObject({ error: { code: 'UnknownCompany' } });
  });
});

describe('upgrade from one company', () => {
  test('history, links, watermark and subscription written with BC_COMPANY_ID read back as the first company of BC_COMPANIES; the next sync updates, never creates again', async () => {
    const single = await e2e.start();
    const world = single.world;
    const sam = world.businessCentral.upsertCustomer({ number: 'G-1', displayName: 'Sam Gold', type: 'Person', email: 'sam.gold@contoso.example' });
    await single.system.host.runTimer('subscriptionTimer');
    await single.system.host.runTimer('pollCustomers');
    const created = await single.waitForTransfer(sam.id, (transfer) => transfer.status === 'Succeeded');
    expect(created.action).toBe('Created');
    const before = (await single.http('/api/status')).body as { subscription: { current: { subscriptionId: string } }; poll: { watermark: string } };
    expect(before.poll.watermark).not.toBeNull();
    await e2e.stop();

    // The same storage and services, now with BC_COMPANIES listing the company first and a second company.
    world.businessCentral.addCompany({ id: CANADA.id, name: CANADA.name });
    const several = await e2e.start({
      keep: { world },
      settings: {
        BC_COMPANY_ID: '',
        BC_COMPANIES: JSON.stringify([
          { id: USA.id, name: USA.name },
          { id: CANADA.id, name: CANADA.name, mappingFile: 'dev/sandbox/cronus-canada-mapping.json' },
        ]),
      },
    });

    // History: the old transfer, now naming its company.
    expect(await history(several, USA.name, sam.id)).toEqual([{ ...created, companyId: USA.id, companyName: USA.name }]);
    // Link: read back in the first company.
    const usa = getServices().company(USA.id)!;
    expect(await usa.storage.links.get(sam.id)).toMatchObject({ ipaasCustomerId: created.ipaasCustomerId, customerNumber: 'G-1' });
    expect(await getServices().company(CANADA.id)!.storage.links.get(sam.id)).toBeNull();
    // Watermark and subscription: the first company's.
    const after = (await several.http('/api/status')).body as { companies: Array<{ companyId: string; watermark: string | null; subscription: { subscriptionId: string } | null }> };
    expect(after.companies[0]).toMatchObject({ companyId: USA.id, watermark: before.poll.watermark, subscription: { subscriptionId: before.subscription.current.subscriptionId } });
    expect(after.companies[1]).toMatchObject({ companyId: CANADA.id, watermark: null, subscription: null });

    // The subscription timer knows CRONUS USA's subscription as its own: this restarted host listens on another port
    // (the URL changed), so it replaces it instead of leaving it beside a new one, and adds Canada's.
    await several.system.host.runTimer('subscriptionTimer');
    const subscriptions = world.businessCentral.subscriptions();
    expect(subscriptions.map((subscription) => subscription.resource).sort()).toEqual([`/api/v2.0/companies(${CANADA.id})/customers`, `/api/v2.0/companies(${USA.id})/customers`].sort());
    expect(subscriptions.map((subscription) => subscription.subscriptionId)).not.toContain(before.subscription.current.subscriptionId);

    // A change syncs as an update of the same iPaaS.com customer: no second create.
    world.businessCentral.updateCustomer(sam.id, { displayName: 'Samuel Gold' });
    await several.http(`${path(USA.id)}/customers/${sam.id}/sync`, { method: 'POST' });
    const updated = await waitForTransfer(several, USA.id, sam.id, (transfer) => transfer.transferId !== created.transferId && transfer.status === 'Succeeded');
    expect(updated).toMatchObject({ action: 'Updated', ipaasCustomerId: created.ipaasCustomerId, companyId: USA.id });
    expect(world.ipaas.customers()).toHaveLength(1);
    expect(world.ipaas.customers()[0]).toMatchObject({ firstName: 'Samuel Gold' });
  });

  test('reordering BC_COMPANIES never hands one company\'s rows to another', async () => {
    const single = await e2e.start();
    const world = single.world;
    const kim = world.businessCentral.upsertCustomer({ number: 'K-1', displayName: 'Kim Lee', type: 'Person', email: 'kim.lee@contoso.example' });
    await single.http(`/api/customers/${kim.id}/sync`, { method: 'POST' });
    await single.waitForTransfer(kim.id, (transfer) => transfer.status === 'Succeeded');
    await e2e.stop();

    // Canada listed first, with a copy of the same customer: CRONUS USA still reads its own rows, Canada has none.
    world.businessCentral.addCompany({ id: CANADA.id, name: CANADA.name }).upsertCustomer({ id: kim.id, number: 'K-1', displayName: 'Kim Lee', type: 'Person', email: 'kim.lee@cronus-canada.example' });
    const reordered = await e2e.start({
      keep: { world },
      settings: {
        BC_COMPANY_ID: '',
        BC_COMPANIES: JSON.stringify([
          { id: CANADA.id, name: CANADA.name, mappingFile: 'dev/sandbox/cronus-canada-mapping.json' },
          { id: USA.id, name: USA.name },
        ]),
      },
    });
    expect(await history(reordered, USA.id, kim.id)).toHaveLength(1);
    expect((await reordered.http(`${path(CANADA.id)}/customers/${kim.id}/transfers`)).body).toMatchObject({ transfers: [] });
    await reordered.http(`${path(CANADA.id)}/customers/${kim.id}/sync`, { method: 'POST' });
    await waitForTransfer(reordered, CANADA.id, kim.id, (transfer) => transfer.status === 'Succeeded');
    expect(world.ipaas.customers().map((customer) => customer.customerNumber).sort()).toEqual(['CA-K-1', 'K-1']);
  });
});
