import { randomUUID } from 'node:crypto';
import { loadStorageConfig } from '../../shared/config';
import { silentLogger } from '../../shared/log';
import { createStorage, type QueueSender, type TransferRecord } from '../../shared/storage';
import type { SyncMessage } from '../../shared/messages';
import { handlePoisonMessage, isDeferred } from '../../shared/sync/queueWorkers';
import { SyncError } from '../../shared/errors';
import { newSyncMessage } from '../../shared/messages';
import { RETRY_SCHEDULE_MINUTES, RetrySchedule, runDueRetries } from '../../shared/sync/retrySchedule';
import { resetStorage } from '../support/storage';
import type { Clock } from '../../shared/clock';

const storage = createStorage(loadStorageConfig(process.env));
let now = Date.parse('2026-11-27T10:00:00.000Z');
const clock: Clock = { now: () => now, sleep: async () => {} };
const schedule = new RetrySchedule(loadStorageConfig(process.env), { clock });

function capturingQueue(): QueueSender & { messages: SyncMessage[]; sent: Array<{ message: unknown; delaySeconds: number | undefined }> } {
  const messages: SyncMessage[] = [];
  const sent: Array<{ message: unknown; delaySeconds: number | undefined }> = [];
  return {
    messages,
    sent,
    send: async (batch, options) => {
      messages.push(...(batch as SyncMessage[]));
      for (const message of batch) sent.push({ message, delaySeconds: options?.delaySeconds });
    },
  };
}

function outcome(customerId: string, overrides: Partial<TransferRecord>): TransferRecord {
  const at = new Date(now).toISOString();
  return {
    transferId: randomUUID(),
    customerId,
    customerNumber: 'C1',
    source: 'replay',
    status: 'Succeeded',
    action: 'Updated',
    errorCode: null,
    errorMessage: null,
    ipaasCustomerId: '1',
    addressesAdded: 0,
    attempt: 1,
    startedAt: at,
    finishedAt: at,
    durationMs: 0,
    warnings: [],
    ...overrides,
  };
}

beforeEach(() => resetStorage());

test('a poison message schedules retries at 1, 5, 15, 60 minutes then every 6 hours for a day, stated in the history', async () => {
  const customerId = randomUUID();
  const queue = capturingQueue();
  const deps = { schedule, transfers: storage.transfers, syncQueue: queue, logger: silentLogger };
  const minutes: number[] = [];
  for (let step = 0; step < RETRY_SCHEDULE_MINUTES.length; step += 1) {
    const poison = await handlePoisonMessage({ transfers: storage.transfers, logger: silentLogger, retries: schedule, clock }, newSyncMessage(customerId, 'webhook'), 5);
    expect(poison.errorMessage).toContain(`Automatic retry ${step + 1} of ${RETRY_SCHEDULE_MINUTES.length}`);
    const row = await schedule.get(customerId);
    minutes.push((Date.parse(row!.nextAt) - now) / 60_000);
    // Not before it is due.
    expect(await runDueRetries(deps)).toMatchObject({ due: 0, enqueued: 0 });
    now = Date.parse(row!.nextAt);
    expect(await runDueRetries(deps)).toMatchObject({ due: 1, enqueued: 1 });
    expect(queue.messages.at(-1)).toMatchObject({ customerId, source: 'replay' });
    // Enqueued once: the next run does not send it again.
    expect(await runDueRetries(deps)).toMatchObject({ enqueued: 0 });
  }
  expect(minutes).toEqual([...RETRY_SCHEDULE_MINUTES]);
  // The schedule is used up: the last failure stands and says so.
  const last = await handlePoisonMessage({ transfers: storage.transfers, logger: silentLogger, retries: schedule, clock }, newSyncMessage(customerId, 'replay'), 5);
  expect(last.errorMessage).toContain('No automatic retry is left');
  expect(await schedule.get(customerId)).toBeNull();
  expect(queue.messages).toHaveLength(RETRY_SCHEDULE_MINUTES.length);
});

test('a later success stops the schedule; a final failure is never retried', async () => {
  const queue = capturingQueue();
  const deps = { schedule, transfers: storage.transfers, syncQueue: queue, logger: silentLogger };
  const recovered = randomUUID();
  const invalid = randomUUID();
  for (const customerId of [recovered, invalid]) {
    await handlePoisonMessage({ transfers: storage.transfers, logger: silentLogger, retries: schedule, clock }, newSyncMessage(customerId, 'webhook'), 5);
  }
  // A newer change transferred the first; the second's newer change fails validation (final).
  now += 1000;
  await storage.transfers.record(outcome(recovered, { source: 'webhook' }));
  await storage.transfers.record(outcome(invalid, { source: 'webhook', status: 'Failed', action: null, errorCode: 'MissingEmail', errorMessage: 'EMail is empty', ipaasCustomerId: null }));
  now += 60_000;
  expect(await runDueRetries(deps)).toEqual({ due: 2, enqueued: 0, stopped: 2 });
  expect(queue.messages).toHaveLength(0);
  expect(await schedule.get(recovered)).toBeNull();
  expect(await schedule.get(invalid)).toBeNull();
});

test('a newer change that ends in the poison queue again starts the schedule over', async () => {
  const customerId = randomUUID();
  const queue = capturingQueue();
  const deps = { schedule, transfers: storage.transfers, syncQueue: queue, logger: silentLogger };
  const poison = () => handlePoisonMessage({ transfers: storage.transfers, logger: silentLogger, retries: schedule, clock }, newSyncMessage(customerId, 'webhook'), 5);
  await poison();
  now += 60_000;
  await runDueRetries(deps);
  await poison();
  expect((await schedule.get(customerId))?.step).toBe(1);
  // Not a failure of the retry the timer sent (that one is still to come): a fresh failure restarts at 1 minute.
  await poison();
  expect((await schedule.get(customerId))?.step).toBe(0);
});

describe('the poison handler when Table Storage fails', () => {
  const down = () => new SyncError('StorageUnavailable', 'Storage recording a transfer failed: HTTP 503', { transient: true });

  test('records the failure first: a schedule that cannot be written leaves the RetriesExhausted record, and the message waits on the poison queue', async () => {
    const customerId = randomUUID();
    const poisonQueue = capturingQueue();
    const failing = new RetrySchedule(loadStorageConfig(process.env), { clock });
    jest.spyOn(failing, 'apply').mockRejectedValueOnce(down());
    const result = await handlePoisonMessage({ transfers: storage.transfers, logger: silentLogger, retries: failing, clock, poisonQueue }, newSyncMessage(customerId, 'webhook'), 5);
    expect(result).toMatchObject({ deferred: true, recorded: true });
    const [recorded] = await storage.transfers.listForCustomer(customerId, 5);
    expect(recorded).toMatchObject({ errorCode: 'RetriesExhausted' });
    expect(await schedule.get(customerId)).toBeNull();
    // Back on the poison queue, delayed, carrying the record it wrote: the next round writes that same row and schedules.
    expect(poisonQueue.sent).toEqual([{ message: expect.objectContaining({ customerId, poisonDeferrals: 1, exhausted: { transferId: recorded!.transferId, finishedAt: recorded!.finishedAt } }), delaySeconds: 60 }]);
    const again = await handlePoisonMessage({ transfers: storage.transfers, logger: silentLogger, retries: schedule, clock, poisonQueue }, poisonQueue.sent[0]!.message, 5);
    expect(isDeferred(again)).toBe(false);
    const history = await storage.transfers.listForCustomer(customerId, 5);
    expect(history).toHaveLength(1);
    expect(history[0]).toMatchObject({ transferId: recorded!.transferId, errorCode: 'RetriesExhausted', errorMessage: expect.stringContaining('Automatic retry 1 of') });
    expect(await schedule.get(customerId)).toMatchObject({ step: 0 });
  });

  test('a message whose failure cannot be recorded goes back on the poison queue with a growing delay, never thrown into its poison queue', async () => {
    const customerId = randomUUID();
    const poisonQueue = capturingQueue();
    const transfers = { ...storage.transfers, record: async () => Promise.reject(down()), listForCustomer: storage.transfers.listForCustomer.bind(storage.transfers) };
    let body: unknown = newSyncMessage(customerId, 'webhook');
    for (const delaySeconds of [60, 120, 240]) {
      const result = await handlePoisonMessage({ transfers, logger: silentLogger, retries: schedule, clock, poisonQueue }, body, 5);
      expect(result).toMatchObject({ deferred: true, recorded: false, delaySeconds });
      body = poisonQueue.sent.at(-1)!.message;
    }
    expect(await storage.transfers.listForCustomer(customerId, 5)).toHaveLength(0);
    // Storage answers again: recorded once, retry scheduled.
    const result = await handlePoisonMessage({ transfers: storage.transfers, logger: silentLogger, retries: schedule, clock, poisonQueue }, body, 5);
    expect(result).toMatchObject({ customerId, errorCode: 'RetriesExhausted' });
    expect(await storage.transfers.listForCustomer(customerId, 5)).toHaveLength(1);
    expect(await schedule.get(customerId)).not.toBeNull();
  });

  test('when the poison queue refuses the message too, the storage failure goes up (the host delivers it again)', async () => {
    const transfers = { ...storage.transfers, record: async () => Promise.reject(down()), listForCustomer: storage.transfers.listForCustomer.bind(storage.transfers) };
    const poisonQueue = { send: async () => Promise.reject(new Error('queue down')) };
    await expect(handlePoisonMessage({ transfers, logger: silentLogger, retries: schedule, clock, poisonQueue }, newSyncMessage(randomUUID(), 'webhook'), 5)).rejects.toMatchObject({
      code: 'StorageUnavailable',
    });
  });
});

test('a retry that failed because Table Storage or this code failed is retried again; the schedule goes on', async () => {
  const queue = capturingQueue();
  const deps = { schedule, transfers: storage.transfers, syncQueue: queue, logger: silentLogger };
  for (const errorCode of ['StorageUnavailable', 'InternalError'] as const) {
    const customerId = randomUUID();
    await handlePoisonMessage({ transfers: storage.transfers, logger: silentLogger, retries: schedule, clock }, newSyncMessage(customerId, 'webhook'), 5);
    now += 60_000;
    expect(await runDueRetries(deps)).toMatchObject({ enqueued: 1 });
    // The retry ran and failed (recorded, not poisoned again): the timer moves the schedule on instead of stopping it.
    now += 1000;
    await storage.transfers.record(outcome(customerId, { status: 'Failed', action: null, errorCode, errorMessage: 'failed', ipaasCustomerId: null }));
    now += 60 * 60_000;
    const result = await runDueRetries(deps);
    expect(result.stopped).toBe(0);
    expect((await schedule.get(customerId))?.step).toBe(1);
  }
});
