import type { QueueSender, SendOptions } from '../../../shared/storage/types';
import { ManualClock } from '../../support/clock';

/**
 * Simulated time for outage runs: an hour of outage passes in a moment. Every component under test reads
 * this clock (clients' retry waits, leases, breakers, transfer times, the fake Business Central's change
 * times), and the queue below hides messages by it, as the storage queue hides them by wall-clock time.
 */
export class SimulatedClock extends ManualClock {
  /** Milliseconds since the epoch, for fakes that take a `() => number`. */
  ms = (): number => this.time;
}

export interface SimulatedMessage {
  id: number;
  body: unknown;
  visibleAt: number;
  dequeueCount: number;
}

/**
 * The customer-sync queue in simulated time, with the storage queue's rules that matter here: a sent message
 * may start invisible (`delaySeconds`), a received one is hidden while it is processed, a failed one comes
 * back after host.json's visibilityTimeout with its dequeue count kept, and one that failed `maxDequeueCount`
 * times goes to the poison queue.
 */
export class SimulatedQueue implements QueueSender {
  private nextId = 1;
  readonly messages: SimulatedMessage[] = [];
  readonly poison: unknown[] = [];
  sent = 0;
  delayedSends = 0;
  /** Messages handed to a worker (the storage queue's Get Messages). */
  received = 0;
  /** Messages removed after processing (Delete Message), or moved to the poison queue. */
  deleted = 0;
  /** Sends, receives and deletes of each customer's messages. */
  private readonly operations = new Map<string, number>();

  /** Queue operations (send, receive, delete) spent on `customerId`'s messages so far. */
  operationsFor(customerId: string): number {
    return this.operations.get(customerId) ?? 0;
  }

  private count(body: unknown): void {
    const customerId = typeof body === 'object' && body !== null && 'customerId' in body ? String(body.customerId) : '';
    this.operations.set(customerId, (this.operations.get(customerId) ?? 0) + 1);
  }

  constructor(private readonly clock: SimulatedClock) {}

  async send(messages: readonly unknown[], options: SendOptions = {}): Promise<void> {
    const delayMs = Math.max(0, Math.ceil(options.delaySeconds ?? 0)) * 1000;
    if (delayMs > 0) this.delayedSends += messages.length;
    for (const body of messages) {
      this.sent += 1;
      this.count(body);
      // As the service stores it: a JSON round trip, so nothing shares objects with the sender.
      this.messages.push({ id: this.nextId++, body: JSON.parse(JSON.stringify(body)) as unknown, visibleAt: this.clock.time + delayMs, dequeueCount: 0 });
    }
  }

  /** The next visible message, taken (dequeue count incremented), or undefined. */
  take(): SimulatedMessage | undefined {
    const visible = this.messages.filter((message) => message.visibleAt <= this.clock.time).sort((a, b) => a.visibleAt - b.visibleAt || a.id - b.id);
    const message = visible[0];
    if (!message) return undefined;
    message.dequeueCount += 1;
    message.visibleAt = Number.POSITIVE_INFINITY;
    this.received += 1;
    this.count(message.body);
    return message;
  }

  complete(message: SimulatedMessage): void {
    this.deleted += 1;
    this.count(message.body);
    this.messages.splice(this.messages.indexOf(message), 1);
  }

  fail(message: SimulatedMessage, visibilityTimeoutMs: number, maxDequeueCount: number): 'retry' | 'poison' {
    if (message.dequeueCount >= maxDequeueCount) {
      this.complete(message);
      this.poison.push(message.body);
      return 'poison';
    }
    message.visibleAt = this.clock.time + visibilityTimeoutMs;
    return 'retry';
  }

  /** When the next hidden message becomes visible; undefined when the queue is empty. */
  nextVisibleAt(): number | undefined {
    const times = this.messages.map((message) => message.visibleAt).filter((time) => Number.isFinite(time));
    return times.length > 0 ? Math.min(...times) : undefined;
  }

  get length(): number {
    return this.messages.length;
  }
}

/** A small deterministic random source (mulberry32), so a run's jitter is the same every time. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
