/**
 * The waiting room (shared/storage/waitingRoom.ts) on Azurite, as several instances use it: when a breaker closes,
 * the instance that closed it and every instance's outage timer resume the same partition at once; each waiting
 * customer must reach the queue once, not once per instance.
 */
import { loadStorageConfig } from '../../shared/config';
import { TableWaitingRoom, type QueueSender } from '../../shared/storage';
import type { SyncMessage } from '../../shared/messages';
import { ManualClock } from '../support/clock';
import { resetStorage } from '../support/storage';

beforeEach(resetStorage);

const customerId = (index: number) => `00000000-0000-4000-8000-${String(index).padStart(12, '0')}`;
const message = (index: number): SyncMessage => ({ customerId: customerId(index), source: 'webhook', correlationId: `c${index}`, enqueuedAt: '2026-03-10T10:00:00.000Z' });

/** A queue that records what it was sent, slowly enough that concurrent resumes overlap. */
function recordingQueue(): QueueSender & { sent: SyncMessage[] } {
  const sent: SyncMessage[] = [];
  return {
    sent,
    send: async (messages) => {
      await new Promise((resolve) => setTimeout(resolve, 50));
      sent.push(...(messages as SyncMessage[]));
    },
  };
}

test('three instances resuming one service at once send each waiting customer to the queue once', async () => {
  const clock = new ManualClock(Date.parse('2026-03-10T10:00:00Z'));
  const queue = recordingQueue();
  const storage = loadStorageConfig();
  const rooms = [0, 1, 2].map(() => new TableWaitingRoom(storage, queue, { clock }));
  for (let index = 0; index < 40; index += 1) await rooms[index % 3]!.park('ipaas', message(index));
  const counts = await Promise.all(rooms.map((room) => room.resume('ipaas')));
  expect(counts.reduce((sum, count) => sum + count, 0)).toBe(40);
  expect(queue.sent.map((sent) => sent.customerId).sort()).toEqual(Array.from({ length: 40 }, (_, index) => customerId(index)).sort());
  expect(await rooms[0]!.count('ipaas')).toBe(0);
});

test('a resume that died after its claim is taken over once the claim expires: the customer is not lost', async () => {
  const clock = new ManualClock(Date.parse('2026-03-10T10:00:00Z'));
  const storage = loadStorageConfig();
  const failing: QueueSender = { send: async () => Promise.reject(new Error('the process died before sending')) };
  const queue = recordingQueue();
  await new TableWaitingRoom(storage, queue, { clock }).park('ipaas', message(1));
  await expect(new TableWaitingRoom(storage, failing, { clock }).resume('ipaas')).rejects.toThrow();
  const other = new TableWaitingRoom(storage, queue, { clock });
  // Claimed by the one that died: left alone while its claim lasts, then resumed.
  expect(await other.resume('ipaas')).toBe(0);
  clock.advance(3 * 60_000);
  expect(await other.resume('ipaas')).toBe(1);
  expect(queue.sent.map((sent) => sent.customerId)).toEqual([customerId(1)]);
  expect(await other.count('ipaas')).toBe(0);
});

test('a customer parked again while being resumed keeps its newer row', async () => {
  const clock = new ManualClock(Date.parse('2026-03-10T10:00:00Z'));
  const storage = loadStorageConfig();
  let room!: TableWaitingRoom;
  const queue: QueueSender = {
    // While the first resume sends, the customer changes again and is parked again (its row replaced).
    send: async () => room.park('ipaas', { ...message(1), correlationId: 'newer' }),
  };
  room = new TableWaitingRoom(storage, queue, { clock });
  await room.park('ipaas', message(1));
  await room.resume('ipaas');
  expect(await room.count('ipaas')).toBe(1);
});
