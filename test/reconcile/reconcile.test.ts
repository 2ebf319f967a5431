import { loadConfig } from '../../shared/config';
import { SYNC_QUEUE } from '../../shared/queueNames';
import {
  advanceReconciliation,
  outOfSyncCount,
  readReport,
  readReportCsv,
  startReconciliation,
} from '../../shared/reconcile';
import { createStorage } from '../../shared/storage';
import { startMockServer } from '../support/msw';
import { countMessages, queue } from '../support/storage';
import { takeMessages } from '../triggers/harness';
import { createReconcileFakes, person, resetReconcileWorld, runToEnd, processSyncQueue, reconcileDependencies, transfer } from './support';
import { offsetClock } from '../../shared/clock';

const config = loadConfig(process.env);
const { bc, ipaas, handlers } = createReconcileFakes(config);
startMockServer(...handlers);
const storage = createStorage(config.storage);
const deps = reconcileDependencies(config, storage);

beforeEach(() => resetReconcileWorld({ bc, ipaas }));

/** Every category, each produced the way it happens in practice. */
async function seedEveryCategory() {
  const inSync = person(bc, '10000', 'Robert Townes');
  await transfer(config, storage, inSync.id);

  // Changed in Business Central after its transfer, and the change never arrived (a lost notification).
  const drifted = person(bc, '10010', 'Alex Wilber');
  await transfer(config, storage, drifted.id);
  bc.updateCustomer(drifted.id, { displayName: 'Wilber, "Alex"\nJr.' });

  // Never transferred.
  const missing = person(bc, '10020', 'Nestor Wilke');
  // Transferred, then deleted in iPaaS.com: the link points nowhere.
  const deletedThere = person(bc, '10030', 'Lynne Robbins');
  await transfer(config, storage, deletedThere.id);
  const deletedId = (await storage.links.get(deletedThere.id))?.ipaasCustomerId ?? '';
  ipaas.deleteCustomer(deletedId);

  // Exists in iPaaS.com by email, never linked.
  const unlinked = person(bc, '10040', 'Diego Siciliani');
  ipaas.seedCustomer({ customerNumber: '10040', firstName: 'Diego S.', emailAddress: 'diego.siciliani@contoso.example' });
  // Exists in iPaaS.com by number only (another email), never linked.
  const byNumber = person(bc, '10045', 'Isaiah Langer');
  ipaas.seedCustomer({ customerNumber: '10045', firstName: 'Isaiah Langer', emailAddress: 'isaiah@old-mail.example' });

  const duplicate = person(bc, '10050', 'Megan Bowen');
  ipaas.seedCustomer({ customerNumber: 'X-1', firstName: 'Megan Bowen', emailAddress: 'megan.bowen@contoso.example' });
  ipaas.seedCustomer({ customerNumber: 'X-2', firstName: 'Megan B.', emailAddress: 'Megan.Bowen@contoso.example' });

  const invalid = person(bc, '10060', 'Sam Nomail', { email: '' });
  const filtered = person(bc, '10070', 'Adatum Corporation', { type: 'Company' });

  // A link whose Business Central customer was deleted since.
  const gone = person(bc, '10080', 'Pradeep Gupta');
  await transfer(config, storage, gone.id);
  bc.deleteCustomer(gone.id);

  return { inSync, drifted, missing, deletedThere, deletedId, unlinked, byNumber, duplicate, invalid, filtered, gone };
}

describe('reconciliation categories (both fakes, several pages of each)', () => {
  test('every Business Central customer lands in exactly one category, with field changes for Drifted', async () => {
    const seeded = await seedEveryCategory();
    const report = await runToEnd(deps);

    expect(report.status).toBe('Completed');
    expect(report.counts).toEqual({ InSync: 1, Missing: 2, Drifted: 1, Unlinked: 2, DuplicateEmail: 1, Invalid: 1, Filtered: 1, Orphaned: 1 });
    const total = report.counts.InSync + report.counts.Missing + report.counts.Drifted + report.counts.Unlinked + report.counts.DuplicateEmail + report.counts.Invalid + report.counts.Filtered;
    expect(total).toBe(bc.customers().length);

    const byId = new Map(report.items.map((item) => [item.customerId, item]));
    expect(byId.has(seeded.inSync.id)).toBe(false);
    expect(byId.has(seeded.filtered.id)).toBe(false);
    expect(byId.get(seeded.drifted.id)).toMatchObject({
      category: 'Drifted',
      customerNumber: '10010',
      changes: [{ field: 'FirstName', from: 'Alex Wilber', to: 'Wilber, "Alex"\nJr.' }],
    });
    expect(byId.get(seeded.missing.id)).toMatchObject({ category: 'Missing', ipaasCustomerId: null });
    expect(byId.get(seeded.missing.id)?.changes.map((change) => change.field).sort()).toEqual(['CustomerNumber', 'EmailAddress', 'FirstName']);
    expect(byId.get(seeded.deletedThere.id)).toMatchObject({ category: 'Missing', customerNumber: '10030' });
    expect(byId.get(seeded.unlinked.id)).toMatchObject({ category: 'Unlinked', changes: [{ field: 'FirstName', from: 'Diego S.', to: 'Diego Siciliani' }] });
    expect(byId.get(seeded.byNumber.id)).toMatchObject({ category: 'Unlinked', changes: [{ field: 'EmailAddress', from: 'isaiah@old-mail.example' }] });
    expect(byId.get(seeded.duplicate.id)).toMatchObject({ category: 'DuplicateEmail', errorCode: 'DuplicateEmail' });
    expect(byId.get(seeded.invalid.id)).toMatchObject({ category: 'Invalid', errorCode: 'MissingEmail' });
    expect(report.items).toHaveLength(7);
    // Items come sorted by category, then number.
    expect(report.items.map((item) => item.category)).toEqual(['Missing', 'Missing', 'Drifted', 'Unlinked', 'Unlinked', 'DuplicateEmail', 'Invalid']);
  });

  test('reads pages only: Business Central with $select and one request per page, iPaaS.com list pages and no per-customer call', async () => {
    await seedEveryCategory();
    bc.resetRequests();
    const before = { ...ipaas.requests };
    const report = await runToEnd(deps);

    const listRequests = bc.requestLog.filter((request) => request.kind === 'list');
    expect(listRequests).toHaveLength(Math.ceil(bc.customers().length / 3));
    expect(bc.requests.get).toBe(0);
    for (const request of listRequests) expect(new URL(request.url).searchParams.get('$select')).toBe('id,number,displayName,type,email,blocked,lastModifiedDateTime');
    const ipaasPages = Math.ceil(ipaas.customers().length / 3);
    expect(ipaas.requests.list - before.list).toBe(ipaasPages);
    expect(ipaas.requests.total - before.total).toBe(ipaasPages);
    expect(report.progress).toMatchObject({ phase: 'done', ipaasPagesRead: ipaasPages, ipaasTotalPages: ipaasPages, businessCentralCustomers: bc.customers().length });
  });

  test('the report is kept as JSON and CSV, and the latest run answers for "latest"', async () => {
    await seedEveryCategory();
    const report = await runToEnd(deps);
    expect(await readReport(deps, 'latest')).toEqual(report);
    expect(await readReport(deps, report.runId)).toEqual(report);
    const csv = await readReportCsv(deps, 'latest');
    expect(csv?.split('\r\n')[0]).toBe('category,customerId,customerNumber,ipaasCustomerId,errorCode,field,from,to');
    // The drifted name with a comma, quotes and a newline stays one field.
    expect(csv).toContain(',FirstName,Alex Wilber,"Wilber, ""Alex""\nJr."\r\n');
    expect(await readReport(deps, '20990101T000000Z-abcdef')).toBeNull();
  });
});

describe('fix', () => {
  test('enqueues Missing and Drifted with source reconcile; once transferred, a second run is all in sync', async () => {
    const inSync = person(bc, '20000', 'Robert Townes');
    await transfer(config, storage, inSync.id);
    const drifted = person(bc, '20010', 'Alex Wilber');
    await transfer(config, storage, drifted.id);
    bc.updateCustomer(drifted.id, { displayName: 'Alexander Wilber' });
    const missing = person(bc, '20020', 'Nestor Wilke');
    const deletedThere = person(bc, '20030', 'Lynne Robbins');
    await transfer(config, storage, deletedThere.id);
    ipaas.deleteCustomer((await storage.links.get(deletedThere.id))?.ipaasCustomerId ?? '');
    person(bc, '20040', 'Adatum Corporation', { type: 'Company' });

    const first = await runToEnd(deps, true);
    expect(first.counts).toMatchObject({ InSync: 1, Drifted: 1, Missing: 2, Filtered: 1 });
    expect(first.enqueued).toBe(3);
    const messages = await takeMessages(SYNC_QUEUE);
    expect(messages).toHaveLength(3);
    expect(messages).toEqual(expect.arrayContaining([expect.objectContaining({ customerId: drifted.id, source: 'reconcile' })]));
    // Put them back for the worker.
    await storage.syncQueue.send(messages);
    expect(await processSyncQueue(config, storage)).toBe(3);

    const second = await runToEnd(deps);
    expect(second.counts).toMatchObject({ InSync: 4, Drifted: 0, Missing: 0, Filtered: 1 });
    expect(outOfSyncCount(second.counts)).toBe(0);
    expect(second.items).toEqual([]);
    expect(ipaas.customers().find((customer) => customer.customerNumber === '20010')?.firstName).toBe('Alexander Wilber');
  });

  test('without fix nothing is enqueued', async () => {
    person(bc, '20020', 'Nestor Wilke');
    const report = await runToEnd(deps, false);
    expect(report.counts.Missing).toBe(1);
    expect(report.enqueued).toBe(0);
    await queue(SYNC_QUEUE).createIfNotExists();
    expect(await countMessages(SYNC_QUEUE)).toBe(0);
  });
});

describe('resumable, one at a time', () => {
  test('a run interrupted half-way resumes from its checkpoint and ends with the same report', async () => {
    await seedEveryCategory();
    const reference = await runToEnd(deps);

    const started = await startReconciliation(deps, { fix: false, trigger: 'http' });
    if (!started.started) throw new Error('not started');
    const listBefore = ipaas.requests.list;
    // Half-way: iPaaS.com read, some Business Central pages compared, then the worker stops (timeout, crash).
    const interrupted = await advanceReconciliation(deps, started.runId, { maxSteps: 4 });
    expect(interrupted.outcome).toBe('continue');
    const midway = await readReport(deps, started.runId);
    expect(midway).toMatchObject({ status: 'Running', finishedAt: null, items: [] });
    expect(midway?.progress.phase).toBe('businessCentral');
    expect(midway?.progress.businessCentralPagesRead).toBeGreaterThan(0);

    // A fresh worker (no memory of the first) picks it up.
    const resumed = await advanceReconciliation(reconcileDependencies(config, storage), started.runId);
    expect(resumed.outcome).toBe('completed');
    if (resumed.outcome !== 'completed') return;
    expect(resumed.report.counts).toEqual(reference.counts);
    expect(resumed.report.items).toEqual(reference.items);
    // The iPaaS.com pages were read once, not again after the interruption.
    expect(ipaas.requests.list - listBefore).toBe(Math.ceil(ipaas.customers().length / 3));
  });

  test('a transient outage keeps the checkpoint and asks to retry later; the run then completes', async () => {
    await seedEveryCategory();
    const started = await startReconciliation(deps, { fix: false, trigger: 'http' });
    if (!started.started) throw new Error('not started');
    bc.faults.add({ status: 503, times: 50 });
    const paused = await advanceReconciliation(deps, started.runId, { retryTransient: true });
    expect(paused).toMatchObject({ outcome: 'retry', report: { status: 'Running' } });
    if (paused.outcome !== 'retry') return;
    expect(paused.retryAfterMs).toBeGreaterThan(0);
    expect(paused.report.error).toMatch(/Waiting to retry/u);
    bc.faults.clear();
    const done = await advanceReconciliation(deps, started.runId, { retryTransient: true });
    expect(done).toMatchObject({ outcome: 'completed', report: { status: 'Completed', error: null } });
  });

  test('a final failure ends the run as Failed with the reason', async () => {
    person(bc, '10000', 'Robert Townes');
    const started = await startReconciliation(deps, { fix: false, trigger: 'command' });
    if (!started.started) throw new Error('not started');
    // A rejected request (not an outage: an expired key or a 5xx is waited out as above).
    ipaas.faults.add({ status: 400, times: 20 });
    const result = await advanceReconciliation(deps, started.runId, { retryTransient: true });
    expect(result).toMatchObject({ outcome: 'failed', report: { status: 'Failed' } });
    if (result.outcome !== 'failed') return;
    expect(result.report.error).toMatch(/400|VALD/u);
    expect(result.report.finishedAt).not.toBeNull();
  });

  test('one run at a time: a second start names the running run', async () => {
    const first = await startReconciliation(deps, { fix: false, trigger: 'http' });
    expect(first.started).toBe(true);
    const second = await startReconciliation(deps, { fix: false, trigger: 'timer' });
    expect(second).toEqual({ started: false, runningRunId: first.started ? first.runId : '' });
  });

  test('a run without progress for longer than the stale limit no longer blocks a new one', async () => {
    const first = await startReconciliation(deps, { fix: false, trigger: 'http' });
    if (!first.started) throw new Error('not started');
    const later = reconcileDependencies(config, storage, { clock: offsetClock(31 * 60 * 1000) });
    const second = await startReconciliation(later, { fix: false, trigger: 'timer' });
    expect(second.started).toBe(true);
    expect(await readReport(deps, first.runId)).toMatchObject({ status: 'Failed', error: expect.stringMatching(/Abandoned/u) });
  });
});
