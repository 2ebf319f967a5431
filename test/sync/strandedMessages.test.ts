/**
 * No message is left where nothing looks: every queue the app or its host can create has a reader (the poison
 * queues included) or, for the poison queues of the poison queues, a sweeper that moves their messages back and
 * reports them (an alert counts those records). The readers never give a message up: a catch-up message comes back
 * later, again and again, a reconciliation goes on from its checkpoint or ends visibly as Failed.
 */
import path from 'node:path';
import { loadFunctionApp } from '../../dev/host/loadApp';
import { loadConfig, loadStorageConfig } from '../../shared/config';
import type { Logger } from '../../shared/log';
import { ALL_QUEUES, CATCH_UP_POISON_QUEUE, poisonQueueOf, POISON_QUEUE, RECONCILE_POISON_POISON_QUEUE, RECONCILE_POISON_QUEUE, SWEPT_QUEUES, SYNC_POISON_POISON_QUEUE } from '../../shared/queueNames';
import { cancelReconciliation, handleReconcilePoison, MAX_RECONCILE_REDRIVES, startReconciliation } from '../../shared/reconcile';
import type { ReconcileMessage } from '../../shared/messages';
import { createStorage, encodeMessage, peekCount, storageQueueMover } from '../../shared/storage';
import type { QueueSender } from '../../shared/storage/types';
import { handleCatchUpPoison, newPollCatchUp } from '../../shared/sync/catchUp';
import { sweepPoisonQueues } from '../../shared/sync/poisonSweep';
import { STRANDED_MESSAGES_EVENT } from '../../shared/telemetry';
import { fixedClock } from '../support/clock';
import { queue, resetStorage } from '../support/storage';
import { reconcileDependencies } from '../reconcile/support';

const storageConfig = loadStorageConfig(process.env);
const storage = createStorage(storageConfig);

beforeEach(resetStorage);

function collecting(): Logger & { lines: Array<{ level: string; message: string }> } {
  const lines: Array<{ level: string; message: string }> = [];
  return {
    lines,
    info: (message) => lines.push({ level: 'info', message }),
    warn: (message) => lines.push({ level: 'warn', message }),
    error: (message) => lines.push({ level: 'error', message }),
  };
}

function capturing(): QueueSender & { sent: Array<{ message: unknown; delaySeconds: number | undefined }> } {
  const sent: Array<{ message: unknown; delaySeconds: number | undefined }> = [];
  return { sent, send: async (messages, options) => void sent.push(...messages.map((message) => ({ message, delaySeconds: options?.delaySeconds }))) };
}

test('every queue the host can create is read by a function, or swept back to one by the timer', () => {
  const registrations = loadFunctionApp(path.resolve(__dirname, '../..'));
  const triggered = registrations
    .map((registration) => Object.values(registration.metadata.bindings).find((binding) => binding.direction === 'in' && binding.type === 'queueTrigger')?.queueName)
    .filter((name): name is string => typeof name === 'string');
  const swept = SWEPT_QUEUES.map((entry) => entry.from);
  // The host creates each trigger's queue and its poison queue: all of them are known...
  for (const name of triggered) {
    expect(ALL_QUEUES).toContain(name);
    expect(ALL_QUEUES).toContain(poisonQueueOf(name));
  }
  // ...and each is read by a trigger, or swept back to a queue that is.
  for (const name of ALL_QUEUES) expect(triggered.includes(name) || swept.includes(name)).toBe(true);
  for (const { to } of SWEPT_QUEUES) expect(triggered).toContain(to);
  expect(registrations.map((registration) => registration.metadata.name)).toEqual(expect.arrayContaining(['poisonWorker', 'catchUpPoisonWorker', 'reconcilePoisonWorker', 'sweepPoisonQueues']));
});

test('a catch-up message in its poison queue goes back to customer-catchup later, every time, with a growing delay', async () => {
  const catchUpQueue = capturing();
  const logger = collecting();
  let message: unknown = newPollCatchUp('subscription re-created', 'corr-1', undefined, fixedClock('2026-03-10T10:00:00Z'));
  const delays: number[] = [];
  for (let round = 1; round <= 7; round += 1) {
    const outcome = await handleCatchUpPoison({ catchUpQueue, logger }, message);
    expect(outcome).toMatchObject({ outcome: 'redriven', round });
    message = catchUpQueue.sent.at(-1)!.message;
    delays.push(catchUpQueue.sent.at(-1)!.delaySeconds!);
  }
  expect(delays).toEqual([300, 600, 1200, 2400, 3600, 3600, 3600]);
  expect(message).toMatchObject({ kind: 'poll', correlationId: 'corr-1', redriven: 7 });
  // Warnings first, errors once it has failed for over an hour.
  expect(logger.lines.map((line) => line.level)).toEqual(['warn', 'warn', 'warn', 'error', 'error', 'error', 'error']);
  expect(await handleCatchUpPoison({ catchUpQueue, logger }, { kind: 'nonsense' })).toMatchObject({ outcome: 'dropped' });
  // When the queue refuses it, the failure goes up (the host delivers it again; the sweeper is the last line).
  const refusing = { send: async () => Promise.reject(new Error('queue down')) };
  await expect(handleCatchUpPoison({ catchUpQueue: refusing, logger }, message)).rejects.toThrow('queue down');
});

test('a reconciliation message in its poison queue goes on from its checkpoint later; after 5 rounds the run ends as Failed, visibly', async () => {
  const config = loadConfig(process.env);
  const deps = reconcileDependencies(config, storage, { logger: collecting() });
  const started = await startReconciliation(deps, { fix: false, trigger: 'http' });
  if (!started.started) throw new Error('not started');
  const scheduled: Array<{ message: ReconcileMessage; delaySeconds: number }> = [];
  const schedule = async (message: ReconcileMessage, delaySeconds: number) => void scheduled.push({ message, delaySeconds });
  let message: unknown = { runId: started.runId };
  for (let round = 1; round <= MAX_RECONCILE_REDRIVES; round += 1) {
    expect(await handleReconcilePoison(deps, schedule, message)).toBe('redriven');
    message = scheduled.at(-1)!.message;
  }
  expect(scheduled.map((entry) => entry.delaySeconds)).toEqual([300, 600, 1200, 2400, 3600]);
  expect(await storage.reconciliations.readState(started.runId)).toMatchObject({ value: expect.objectContaining({ status: 'Running' }) });
  expect(await handleReconcilePoison(deps, schedule, message)).toBe('ended');
  expect(await storage.reconciliations.readState(started.runId)).toMatchObject({ value: expect.objectContaining({ status: 'Failed', error: expect.stringMatching(/kept failing/u) }) });
  // A new run can start.
  expect(await startReconciliation(deps, { fix: false, trigger: 'http' })).toMatchObject({ started: true });
  await cancelReconciliation(deps, (await storage.reconciliations.readLatest())!.value.runId, 'test over');
});

test('the sweeper moves messages from the poison queues of the poison queues back to their poison queue, text intact, and reports them', async () => {
  const texts = [encodeMessage({ customerId: 'a' }), encodeMessage({ customerId: 'b' }), 'not even base64 {'];
  await queue(SYNC_POISON_POISON_QUEUE).createIfNotExists();
  for (const text of texts) await queue(SYNC_POISON_POISON_QUEUE).sendMessage(text);
  await queue(RECONCILE_POISON_POISON_QUEUE).createIfNotExists();
  await queue(RECONCILE_POISON_POISON_QUEUE).sendMessage(encodeMessage({ runId: 'r-1' }));
  const logger = collecting();
  const results = await sweepPoisonQueues({ queues: storageQueueMover(storageConfig), logger });
  expect(results).toEqual(
    expect.arrayContaining([
      { queue: SYNC_POISON_POISON_QUEUE, returnedTo: POISON_QUEUE, found: 3, moved: 3 },
      { queue: RECONCILE_POISON_POISON_QUEUE, returnedTo: RECONCILE_POISON_QUEUE, found: 1, moved: 1 },
      expect.objectContaining({ returnedTo: CATCH_UP_POISON_QUEUE, found: 0 }),
    ]),
  );
  expect(await peekCount(storageConfig, SYNC_POISON_POISON_QUEUE)).toBe(0);
  const back = (await queue(POISON_QUEUE).receiveMessages({ numberOfMessages: 32 })).receivedMessageItems.map((item) => item.messageText);
  expect(back.sort()).toEqual([...texts].sort());
  const reports = logger.lines.filter((line) => line.message.startsWith(`${STRANDED_MESSAGES_EVENT} `));
  expect(reports).toHaveLength(2);
  expect(reports.every((line) => line.level === 'error')).toBe(true);
  expect(JSON.parse(reports[0]!.message.slice(STRANDED_MESSAGES_EVENT.length + 1))).toMatchObject({ found: expect.any(Number), left: 0, error: null });
  // Nothing left: the next run reports nothing.
  const quiet = collecting();
  await sweepPoisonQueues({ queues: storageQueueMover(storageConfig), logger: quiet });
  expect(quiet.lines).toEqual([]);
});

test('a message the sweeper cannot move now stays where it is and is reported as left', async () => {
  await queue(SYNC_POISON_POISON_QUEUE).createIfNotExists();
  await queue(SYNC_POISON_POISON_QUEUE).sendMessage(encodeMessage({ customerId: 'a' }));
  const mover = storageQueueMover(storageConfig);
  const logger = collecting();
  await sweepPoisonQueues({ queues: { ...mover, send: async () => Promise.reject(new Error('queue down')) }, logger });
  const report = logger.lines.find((line) => line.message.includes(SYNC_POISON_POISON_QUEUE));
  expect(JSON.parse(report!.message.slice(STRANDED_MESSAGES_EVENT.length + 1))).toMatchObject({ found: 1, moved: 0, left: 1, error: expect.stringContaining('queue down') });
  // Hidden for a while by the failed attempt, but still there.
  expect(await peekCount(storageConfig, SYNC_POISON_POISON_QUEUE)).toBe(1);
});
