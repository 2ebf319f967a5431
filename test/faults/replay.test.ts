import { randomUUID } from 'node:crypto';
import { loadStorageConfig } from '../../shared/config';
import type { ErrorCode } from '../../shared/errors';
import { createStorage, decodeMessage, storagePoisonQueue, tableFailedTransferSource, TableTransferStore, type TransferRecord, type TransferStatus } from '../../shared/storage';
import { syncMessageSchema } from '../../shared/messages';
import {
  MAX_REPLAY_PER_CALL,
  parseReplayRequest,
  replayTransfers,
  type ReplayDependencies,
  type ReplayRequest,
} from '../../shared/sync/replay';
import { formatResult, main as replayCli, parseCommandLine } from '../../scripts/replay';
import { silentLogger } from '../../shared/log';
import { emailNeedles, findLeaks, secretNeedles, tokenNeedles } from './support/leaks';
import { countMessages, postJson, putRaw, queue, useInProcessSystem } from './support/inProcess';
import { POISON_QUEUE, SYNC_QUEUE } from '../../shared/queueNames';

// Redeliveries at once, so a message can exhaust its five deliveries within a test.
const system = useInProcessSystem({ hostEnv: { AzureFunctionsJobHost__extensions__queues__visibilityTimeout: '00:00:00' } });
const storageConnection = () => loadStorageConfig(process.env);

const ids = Array.from({ length: 6 }, () => randomUUID());
const [alice, bob, carol, dave, erin, frank] = ids as [string, string, string, string, string, string];

// Recorded in order an hour ago, a millisecond apart, so "latest" is the last one recorded.
let clock = Date.now() - 3_600_000;
function transfer(customerId: string, status: TransferStatus, errorCode: ErrorCode | null = null): TransferRecord {
  clock += 1;
  const at = new Date(clock).toISOString();
  return {
    transferId: randomUUID(),
    customerId,
    customerNumber: null,
    source: 'webhook',
    status,
    action: status === 'Succeeded' ? 'Created' : null,
    errorCode,
    errorMessage: errorCode ? `failed with ${errorCode}` : null,
    ipaasCustomerId: null,
    addressesAdded: 0,
    attempt: 1,
    startedAt: at,
    finishedAt: at,
    durationMs: 0,
    warnings: [],
  };
}

function deps(overrides: Partial<ReplayDependencies> = {}): ReplayDependencies {
  const storage = createStorage(storageConnection());
  return {
    transfers: storage.transfers,
    failedTransfers: tableFailedTransferSource(storageConnection()),
    syncQueue: storage.syncQueue,
    poisonQueue: storagePoisonQueue(storageConnection()),
    logger: silentLogger,
    ...overrides,
  };
}

function request(body: unknown): ReplayRequest {
  const parsed = parseReplayRequest(body);
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.request;
}

async function takeSyncMessages(): Promise<Array<{ customerId: string; source: string }>> {
  const client = queue(SYNC_QUEUE);
  const messages: Array<{ customerId: string; source: string }> = [];
  for (;;) {
    const { receivedMessageItems } = await client.receiveMessages({ numberOfMessages: 32, visibilityTimeout: 60 });
    if (receivedMessageItems.length === 0) return messages;
    for (const item of receivedMessageItems) messages.push(syncMessageSchema.parse(decodeMessage(item.messageText)));
    await Promise.all(receivedMessageItems.map((item) => client.deleteMessage(item.messageId, item.popReceipt)));
  }
}

/** alice: latest RetriesExhausted; bob: failed once, then succeeded; carol: latest MissingEmail; dave: succeeded; erin: nothing recorded. */
async function seedHistory(): Promise<void> {
  const store = createStorage(storageConnection()).transfers;
  for (const record of [
    transfer(alice, 'Failed', 'IpaasUnavailable'),
    transfer(bob, 'Failed', 'IpaasUnavailable'),
    transfer(alice, 'Failed', 'RetriesExhausted'),
    transfer(bob, 'Succeeded'),
    transfer(carol, 'Failed', 'MissingEmail'),
    transfer(dave, 'Succeeded'),
  ]) {
    await store.record(record);
  }
}

describe('parseReplayRequest', () => {
  it.each([
    [{ customerIds: [alice.toUpperCase(), `{${alice}}`, bob] }, { kind: 'customers', customerIds: [alice, bob] }],
    [{ errorCode: 'RetriesExhausted' }, { kind: 'errorCode', errorCode: 'RetriesExhausted' }],
    [{ all: true, includePoisonQueue: true, dryRun: true }, { kind: 'all' }],
  ])('accepts %j', (body, selector) => {
    const parsed = parseReplayRequest(body);
    expect(parsed).toMatchObject({ ok: true, request: { selector } });
  });

  it.each([
    [{}, 'exactly one of'],
    [{ all: true, errorCode: 'RetriesExhausted' }, 'exactly one of'],
    [{ customerIds: [alice], all: true }, 'exactly one of'],
    [{ all: false }, 'all must be true'],
    [{ customerIds: [] }, 'at least one id'],
    [{ customerIds: ['not-a-guid'] }, 'customerIds.0: must be a GUID'],
    [{ customerIds: [42] }, 'customerIds.0'],
    [{ customerIds: alice }, 'customerIds must be an array'],
    [{ errorCode: 'Bogus' }, 'errorCode must be one of'],
    [{ errorCode: "RetriesExhausted' or 1 eq 1" }, 'errorCode must be one of'],
    [{ all: true, includePoisonQueue: 'yes' }, 'includePoisonQueue must be true or false'],
    [{ all: true, extra: 1 }, 'extra'],
    [[], 'expected object'],
    [null, 'expected object'],
  ])('rejects %j with a message naming the problem', (body: unknown, message: string) => {
    const parsed = parseReplayRequest(body);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) {
      expect(parsed.error).toContain(message);
      expect(parsed.error).not.toContain('not-a-guid');
    }
  });
});

it(`parseReplayRequest rejects more than ${MAX_REPLAY_PER_CALL} ids`, () => {
  const parsed = parseReplayRequest({ customerIds: Array.from({ length: MAX_REPLAY_PER_CALL + 1 }, () => randomUUID()) });
  expect(parsed).toEqual({ ok: false, error: expect.stringContaining(`at most ${MAX_REPLAY_PER_CALL}`) });
});

describe('replayTransfers', () => {
  it('errorCode selects customers whose latest transfer failed with that code, and re-enqueues each once with source replay', async () => {
    await seedHistory();
    const result = await replayTransfers(deps(), request({ errorCode: 'RetriesExhausted' }));
    expect(result).toMatchObject({ replayed: 1, customerIds: [alice], moreRemain: false, dryRun: false });
    expect(await takeSyncMessages()).toEqual([expect.objectContaining({ customerId: alice, source: 'replay' })]);
  });

  it('all selects every customer whose latest transfer failed, not those that failed before and succeeded since', async () => {
    await seedHistory();
    const result = await replayTransfers(deps(), request({ all: true }));
    expect(result.customerIds.sort()).toEqual([alice, carol].sort());
    expect((await takeSyncMessages()).map((message) => message.customerId).sort()).toEqual([alice, carol].sort());
  });

  it('named customers are replayed only when their latest transfer failed; the others are listed as skipped with the reason', async () => {
    await seedHistory();
    const result = await replayTransfers(deps(), request({ customerIds: [alice, dave, erin] }));
    expect(result.customerIds).toEqual([alice]);
    expect(result.skipped).toEqual([
      { customerId: dave, reason: expect.stringContaining('latest transfer is Succeeded') },
      { customerId: erin, reason: expect.stringContaining('no transfer is recorded') },
    ]);
    expect(await takeSyncMessages()).toHaveLength(1);
  });

  it('a dry run selects the same customers and changes nothing', async () => {
    await seedHistory();
    await putRaw(POISON_QUEUE, { customerId: frank, source: 'webhook', correlationId: 'c', enqueuedAt: new Date().toISOString() });
    const result = await replayTransfers(deps(), request({ all: true, includePoisonQueue: true, dryRun: true }));
    expect(result).toMatchObject({ replayed: 2, dryRun: true, poison: { requeued: 0, waiting: 1 } });
    expect(await countMessages(SYNC_QUEUE)).toBe(0);
    expect(await countMessages(POISON_QUEUE)).toBe(1);
  });

  it('caps the customers per call and says that more remain', async () => {
    const store = createStorage(storageConnection()).transfers;
    for (const customerId of ids) await store.record(transfer(customerId, 'Failed', 'RetriesExhausted'));
    const result = await replayTransfers(deps({ maxPerCall: 4 }), request({ errorCode: 'RetriesExhausted' }));
    expect(result.replayed).toBe(4);
    expect(result.moreRemain).toBe(true);
    expect(result.message).toMatch(/More remain: at most 4 customers are replayed per call/u);
    expect(await takeSyncMessages()).toHaveLength(4);
  });

  it('finds failures older than the newest 1,000 failed rows (listRecent would stop there)', async () => {
    const store = createStorage(storageConnection()).transfers;
    await store.record(transfer(alice, 'Failed', 'RetriesExhausted'));
    // A later burst: 1,100 failures of another customer that has since succeeded.
    const burst = Array.from({ length: 1100 }, () => transfer(bob, 'Failed', 'IpaasUnavailable'));
    for (let index = 0; index < burst.length; index += 100) await Promise.all(burst.slice(index, index + 100).map((record) => store.record(record)));
    await store.record(transfer(bob, 'Succeeded'));
    expect((await store.listRecent({ status: 'Failed', limit: 1000 })).some((record) => record.customerId === alice)).toBe(false);

    const result = await replayTransfers(deps(), request({ all: true }));
    expect(result.customerIds).toEqual([alice]);
    // 2,200 Azurite writes: about 30 s on an idle laptop, several times that on a shared, loaded CI machine.
  }, 240_000);

  it('with a scan budget too small to read everything, says more may remain', async () => {
    await seedHistory();
    const result = await replayTransfers(deps({ maxScannedRows: 1 }), request({ all: true }));
    expect(result.moreRemain).toBe(true);
  });

  it('includePoisonQueue moves readable dead letters back (once per customer) and leaves unreadable ones in place', async () => {
    await seedHistory();
    const dead = (customerId: string) => ({ customerId, source: 'webhook', correlationId: randomUUID(), enqueuedAt: new Date().toISOString() });
    await putRaw(POISON_QUEUE, dead(alice));
    await putRaw(POISON_QUEUE, dead(frank));
    await putRaw(POISON_QUEUE, 'not a message at all');
    const result = await replayTransfers(deps(), request({ errorCode: 'RetriesExhausted', includePoisonQueue: true }));
    expect(result.customerIds.sort()).toEqual([alice, frank].sort());
    expect(result.poison).toEqual({ requeued: 2, unreadable: 1 });
    const messages = await takeSyncMessages();
    expect(messages.map((message) => message.customerId).sort()).toEqual([alice, frank].sort());
    expect(messages.every((message) => message.source === 'replay')).toBe(true);
    // The unreadable one is still there (hidden for a while), the two readable ones are gone.
    expect(await countMessages(POISON_QUEUE)).toBe(1);
  });

  it('a storage failure rejects (the route answers 503) and leaves poison messages in place', async () => {
    await putRaw(POISON_QUEUE, { customerId: frank, source: 'webhook', correlationId: 'c', enqueuedAt: new Date().toISOString() });
    const failing = { send: jest.fn().mockRejectedValue(new Error('queue down')) };
    await expect(replayTransfers(deps({ syncQueue: failing }), request({ customerIds: [frank], includePoisonQueue: true }))).rejects.toThrow('queue down');
    expect(await countMessages(POISON_QUEUE)).toBe(1);
  });

  it('the table scan reads only Failed rows, across days, newest first', async () => {
    const store = new TableTransferStore(storageConnection(), { tableName: 'ReplayScanA', byTimeTableName: 'ReplayScanB' });
    const tenDaysAgo = new Date(Date.now() - 10 * 86_400_000).toISOString();
    const old = { ...transfer(carol, 'Failed', 'MissingEmail'), finishedAt: tenDaysAgo, startedAt: tenDaysAgo };
    await store.record(old);
    await store.record(transfer(dave, 'Succeeded'));
    await store.record(transfer(alice, 'Failed', 'RetriesExhausted'));
    const rows: Array<{ customerId: string; errorCode: string | null }> = [];
    for await (const row of tableFailedTransferSource(storageConnection(), { tableName: 'ReplayScanB' }).scan()) rows.push(row);
    expect(rows).toEqual([
      { customerId: alice, errorCode: 'RetriesExhausted' },
      { customerId: carol, errorCode: 'MissingEmail' },
    ]);
    rows.length = 0;
    for await (const row of tableFailedTransferSource(storageConnection(), { tableName: 'ReplayScanB', lookbackDays: 5 }).scan()) rows.push(row);
    expect(rows).toEqual([{ customerId: alice, errorCode: 'RetriesExhausted' }]);
  });
});

describe('POST /api/transfers/replay through the local host', () => {
  function seedCustomer(email: string) {
    return system.world.businessCentral.upsertCustomer({ type: 'Person', displayName: 'Replay Person', email, city: 'Oslo', country: 'NO' });
  }

  it('a transfer that exhausted its retries is replayed: replaying twice leaves one iPaaS.com customer and the second round Unchanged', async () => {
    const host = system.host();
    const customer = seedCustomer('replay.person@example.com');
    // iPaaS.com fails this customer only (every search for its email): its own failure, which exhausts the
    // deliveries. (Were iPaaS.com down for everyone, the work would be held instead: test/faults/outages.test.ts.)
    system.world.ipaas.faults.add({ status: 503, match: (request) => request.url.includes('replay.person') });
    await postJson(host, `/api/customers/${customer.id}/sync`, {});
    // Five deliveries, each failing after its in-process retries; then the poison worker records RetriesExhausted.
    for (let delivery = 0; delivery < 6; delivery += 1) await host.drainQueue('syncWorker');
    await host.drainQueue('poisonWorker');
    const [exhausted] = await createStorage(storageConnection()).transfers.listForCustomer(customer.id, 1);
    expect(exhausted).toMatchObject({ status: 'Failed', errorCode: 'RetriesExhausted', source: 'manual' });
    expect(system.world.ipaas.customers()).toHaveLength(0);

    system.world.ipaas.faults.clear();
    const first = await postJson(host, '/api/transfers/replay', { errorCode: 'RetriesExhausted' });
    const second = await postJson(host, '/api/transfers/replay', { errorCode: 'RetriesExhausted' });
    expect(first.status).toBe(202);
    expect(await first.json()).toMatchObject({ replayed: 1, customerIds: [customer.id], moreRemain: false });
    expect(await second.json()).toMatchObject({ replayed: 1, customerIds: [customer.id] });
    // Both replays are delivered together: one transfers, the other (its customer busy) goes back on the queue
    // for a few seconds instead of waiting for the lease; drain until it has come back and been done.
    const storageNow = createStorage(storageConnection());
    for (let round = 0; round < 100 && (await storageNow.transfers.listForCustomer(customer.id, 3)).filter((record) => record.source === 'replay').length < 2; round += 1) {
      await host.drainQueue('syncWorker');
      await new Promise((resolve) => setTimeout(resolve, 250));
    }

    const history = await createStorage(storageConnection()).transfers.listForCustomer(customer.id, 2);
    expect(history.map((record) => [record.source, record.status, record.action])).toEqual([
      ['replay', 'Skipped', 'Unchanged'],
      ['replay', 'Succeeded', 'Created'],
    ]);
    expect(system.world.ipaas.customers().filter((candidate) => candidate.emailAddress === 'replay.person@example.com')).toHaveLength(1);

    // Now that it succeeded, a further replay finds nothing to do.
    const third = await postJson(host, '/api/transfers/replay', { errorCode: 'RetriesExhausted' });
    expect(await third.json()).toMatchObject({ replayed: 0, customerIds: [] });
  });

  it('answers 400 with a JSON error for a bad body and 413 for an oversized one', async () => {
    const host = system.host();
    const bad = await postJson(host, '/api/transfers/replay', { errorCode: 'RetriesExhausted', all: true });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ error: { code: 'InvalidBody', message: expect.stringContaining('exactly one of') } });
    const huge = await postJson(host, '/api/transfers/replay', JSON.stringify({ customerIds: Array.from({ length: 8000 }, () => randomUUID()) }));
    expect(huge.status).toBe(413);
  });
});

describe('npm run replay', () => {
  it.each([
    [['--customer', 'a', '--bogus'], /Unknown option '--bogus'/u],
    [['stray'], /positional/u],
    [['--error-code'], /argument missing/u],
  ])('reports a usage error for %j', (argv, message) => {
    const parsed = parseCommandLine(argv);
    expect(parsed.kind).toBe('usageError');
    if (parsed.kind === 'usageError') expect(parsed.message).toMatch(message);
  });

  it('maps flags to the route body', () => {
    expect(parseCommandLine(['--customer', alice, '--customer', bob, '--include-poison', '--dry-run'])).toEqual({
      kind: 'run',
      body: { customerIds: [alice, bob], includePoisonQueue: true, dryRun: true },
      local: false,
    });
    expect(parseCommandLine(['--error-code', 'RetriesExhausted'])).toEqual({ kind: 'run', body: { errorCode: 'RetriesExhausted' }, local: false });
    expect(parseCommandLine(['--all', '--local'])).toEqual({ kind: 'run', body: { all: true }, local: true });
    expect(parseCommandLine(['-h'])).toEqual({ kind: 'help' });
  });

  it.each([[[]], [['--all', '--error-code', 'RetriesExhausted']], [['--customer', 'nope']], [['--error-code', 'Nope']]])(
    'exits 2 with the usage for %j, naming flags',
    async (argv) => {
      const errors: string[] = [];
      const spy = jest.spyOn(console, 'error').mockImplementation((text: unknown) => void errors.push(String(text)));
      try {
        expect(await replayCli(argv)).toBe(2);
      } finally {
        spy.mockRestore();
      }
      expect(errors.join('\n')).toContain('Usage: npm run replay');
      expect(errors.join('\n')).toMatch(/--customer|--error-code|--all/u);
    },
  );

  it('replays against the storage in AzureWebJobsStorage and prints what it did (dry run first)', async () => {
    await seedHistory();
    const out: string[] = [];
    const spy = jest.spyOn(console, 'log').mockImplementation((text: unknown) => void out.push(String(text)));
    try {
      expect(await replayCli(['--all', '--dry-run'])).toBe(0);
      expect(await countMessages(SYNC_QUEUE)).toBe(0);
      expect(await replayCli(['--error-code', 'MissingEmail'])).toBe(0);
    } finally {
      spy.mockRestore();
    }
    const printed = out.join('\n');
    expect(printed).toContain('Dry run: 2 customers would be re-enqueued');
    expect(printed).toContain(`1 customer re-enqueued to customer-sync with source replay.\n  ${carol}`);
    expect(printed).not.toMatch(/AccountKey/u);
    expect(printed).toMatch(/^Storage: .*, from AzureWebJobsStorage in the environment$/mu);
    expect(await takeSyncMessages()).toEqual([expect.objectContaining({ customerId: carol, source: 'replay' })]);
  });

  it('formats skipped customers and the poison queue outcome', () => {
    const text = formatResult({
      replayed: 0,
      customerIds: [],
      dryRun: false,
      moreRemain: false,
      message: '0 customers re-enqueued.',
      skipped: [{ customerId: dave, reason: 'the latest transfer is Succeeded' }],
      poison: { requeued: 3, unreadable: 1 },
    });
    expect(text).toContain(`skipped ${dave}: the latest transfer is Succeeded`);
    expect(text).toContain('Poison queue: 3 messages moved back to customer-sync, 1 unreadable left in place.');
  });
});

describe('logs of this file', () => {
  it('hold no secret, no issued token and no raw email of the test data', () => {
    const needles = [
      ...secretNeedles(),
      ...tokenNeedles(system.issuedTokens),
      ...emailNeedles(['replay.person@example.com']),
    ];
    expect(system.logs.lines.length).toBeGreaterThan(0);
    expect(system.issuedTokens.size).toBeGreaterThan(0);
    expect(findLeaks(system.logs.lines, needles)).toEqual([]);
  });
});
