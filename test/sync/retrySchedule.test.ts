import { randomUUID } from 'node:crypto';
import { loadStorageConfig } from '../../shared/config';
import { silentLogger } from '../../shared/log';
import { createStorage, type QueueSender, type TransferRecord } from '../../shared/storage';
import type { SyncMessage } from '../../shared/messages';
import { handlePoisonMessage } from '../../shared/sync/queueWorkers';
import { newSyncMessage } from '../../shared/messages';
import { RETRY_SCHEDULE_MINUTES, RetrySchedule, runDueRetries } from '../../shared/sync/retrySchedule';
import { resetStorage } from '../support/storage';
import type { Clock } from '../../shared/clock';

const storage = createStorage(loadStorageConfig(process.env));
let now = Date.parse('2026-11-27T10:00:00.000Z');
const clock: Clock = { now: () => now, sleep: async () => {} };
const schedule = new RetrySchedule(loadStorageConfig(process.env), { clock });

function capturingQueue(): QueueSender & { messages: SyncMessage[] } {
  const messages: SyncMessage[] = [];
  return { messages, send: async (batch) => void messages.push(...(batch as SyncMessage[])) };
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
