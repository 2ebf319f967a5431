import { systemClock, type Clock } from '../clock';
import type { SlotLease, SlotLeases } from '../storage/blobLeases';

/**
 * A request budget shared by every instance of the app, for a service whose limits are per app registration
 * (Business Central: 5 requests at once, 6,000 per 5 minutes), so that scaling out does not multiply them.
 *
 * The budget is `slots` leases that storage enforces (blob leases, shared/storage/blobLeases.ts). A request runs
 * only while its instance holds a slot, one request per slot at a time, so no more than `slots` requests are in
 * flight across all instances. An instance keeps a slot for its next requests while it is busy (no storage round
 * trip per request), renews its lease while it holds it, and hands it back once idle for `idleReleaseMs`, so
 * busy instances share the slots. Each slot also spaces its requests `minIntervalMs` apart, which caps the rate
 * at `slots × 1000 / minIntervalMs` per second (5 slots × 4/s = 6,000 per 5 minutes). Expiry is storage's: a
 * crashed instance's slots come back when their leases run out, and an instance whose clock is off can neither
 * take a slot early nor keep one late.
 *
 * Requests that find every slot busy wait in this instance's queue; one loop per instance (not one per request)
 * tries the slots, backing off with jitter while they stay taken. A request waits at most `maxWaitMs`, then fails
 * with BudgetWaitTimeoutError (transient: the queue delivers its message again later). When storage fails, every
 * waiting request fails with that error at once.
 */
export interface SharedBudgetOptions {
  slots: number;
  leases: SlotLeases;
  /** Spacing of request starts on one slot; 0 for none. */
  minIntervalMs: number;
  /** How long a request may wait for a slot before it fails (transient). */
  maxWaitMs: number;
  /** A held slot nobody here used for this long goes back to the pool. Default 200 ms. */
  idleReleaseMs?: number;
  /** First wait between rounds of attempts when every slot is held elsewhere; doubled up to maxPollMs. Default 50 ms. */
  pollMs?: number;
  /** Longest wait between rounds. Default 1 s. */
  maxPollMs?: number;
  /** For the spacing, the waits and the wait bound. */
  clock?: Clock;
  random?: () => number;
}

/** No slot came free within the bound: the service is busy with other instances' requests (or storage is slow). */
export class BudgetWaitTimeoutError extends Error {
  constructor(waitedMs: number) {
    super(`no request slot came free within ${Math.round(waitedMs / 1000)} s`);
    this.name = 'BudgetWaitTimeoutError';
  }
}

interface HeldSlot {
  lease: SlotLease;
  busy: boolean;
  /** When its last request started (for the spacing). */
  lastStart: number;
  idleTimer: ReturnType<typeof setTimeout> | undefined;
  renewTimer: ReturnType<typeof setInterval> | undefined;
}

interface Waiter {
  resolve: (slot: HeldSlot) => void;
  reject: (error: unknown) => void;
  deadline: number;
}

export class SharedRequestBudget {
  private readonly held = new Map<number, HeldSlot>();
  private readonly waiters: Waiter[] = [];
  private readonly clock: Clock;
  private readonly random: () => number;
  private acquiring = false;
  /** Storage operations made to take slots (attempts, successful or not); for tests and diagnostics. */
  attempts = 0;

  constructor(private readonly options: SharedBudgetOptions) {
    if (!Number.isInteger(options.slots) || options.slots < 1) throw new RangeError(`slots must be a positive integer, got ${options.slots}`);
    if (!(options.maxWaitMs > 0)) throw new RangeError(`maxWaitMs must be positive, got ${options.maxWaitMs}`);
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
  }

  /** Slots this instance holds now (for tests and diagnostics). */
  get heldSlots(): number {
    return this.held.size;
  }

  /** Requests of this instance waiting for a slot now. */
  get waiting(): number {
    return this.waiters.length;
  }

  /** Runs `operation` on a slot of the shared budget. */
  async run<T>(operation: () => Promise<T>): Promise<T> {
    const slot = await this.take();
    try {
      const wait = slot.lastStart + this.options.minIntervalMs - this.clock.now();
      if (wait > 0) await this.clock.sleep(wait);
      slot.lastStart = this.clock.now();
      return await operation();
    } finally {
      this.giveBack(slot);
    }
  }

  /** Returns every held slot to the pool and fails the requests still waiting (shutdown, tests). */
  async releaseAll(): Promise<void> {
    const slots = [...this.held.values()];
    this.held.clear();
    for (const waiter of this.waiters.splice(0)) waiter.reject(new Error('the request budget was released'));
    await Promise.all(slots.map((slot) => this.releaseLease(slot)));
  }

  private take(): Promise<HeldSlot> {
    const free = [...this.held.values()].find((slot) => !slot.busy);
    if (free) return Promise.resolve(this.occupy(free));
    return new Promise<HeldSlot>((resolve, reject) => {
      this.waiters.push({ resolve, reject, deadline: this.clock.now() + this.options.maxWaitMs });
      void this.acquireForWaiters();
    });
  }

  private occupy(slot: HeldSlot): HeldSlot {
    slot.busy = true;
    if (slot.idleTimer) clearTimeout(slot.idleTimer);
    slot.idleTimer = undefined;
    return slot;
  }

  /** The one loop per instance that takes slots from the pool while requests wait here. Never rejects. */
  private async acquireForWaiters(): Promise<void> {
    if (this.acquiring) return;
    this.acquiring = true;
    const firstPoll = this.options.pollMs ?? 50;
    const maxPoll = Math.max(firstPoll, this.options.maxPollMs ?? 1_000);
    let poll = firstPoll;
    try {
      for (;;) {
        this.expireWaiters();
        if (this.waiters.length === 0) return;
        let slot: HeldSlot | null;
        try {
          slot = await this.tryTakeSlot();
        } catch (error) {
          // Storage failed: every waiting request fails with it (the client treats it as transient).
          for (const waiter of this.waiters.splice(0)) waiter.reject(error);
          return;
        }
        if (slot) {
          this.handTo(slot);
          poll = firstPoll;
          continue;
        }
        // Every slot is held elsewhere: wait, longer each round, with jitter so instances do not knock in step.
        await this.clock.sleep(Math.round(poll / 2 + this.random() * poll));
        poll = Math.min(maxPoll, poll * 2);
      }
    } finally {
      this.acquiring = false;
    }
  }

  private expireWaiters(): void {
    const now = this.clock.now();
    for (let index = this.waiters.length - 1; index >= 0; index -= 1) {
      const waiter = this.waiters[index] as Waiter;
      if (waiter.deadline > now) continue;
      this.waiters.splice(index, 1);
      waiter.reject(new BudgetWaitTimeoutError(this.options.maxWaitMs));
    }
  }

  private handTo(slot: HeldSlot): void {
    const waiter = this.waiters.shift();
    if (waiter) waiter.resolve(this.occupy(slot));
    else this.scheduleIdleRelease(slot);
  }

  /** One storage operation per slot tried, from a random slot so instances do not all contend for slot 0. */
  private async tryTakeSlot(): Promise<HeldSlot | null> {
    const { slots, leases } = this.options;
    const start = Math.floor(this.random() * slots);
    for (let offset = 0; offset < slots; offset += 1) {
      const index = (start + offset) % slots;
      if (this.held.has(index)) continue;
      this.attempts += 1;
      const lease = await leases.acquire(index);
      if (!lease) continue;
      const slot: HeldSlot = { lease, busy: false, lastStart: 0, idleTimer: undefined, renewTimer: undefined };
      this.held.set(index, slot);
      this.keepRenewed(slot);
      return slot;
    }
    return null;
  }

  /** Renews the lease a third of its duration after each renewal, in real time (storage expires it in real time). */
  private keepRenewed(slot: HeldSlot): void {
    slot.renewTimer = setInterval(() => {
      void this.options.leases.renew(slot.lease).then(
        (kept) => {
          if (!kept) this.drop(slot);
        },
        () => this.drop(slot),
      );
    }, Math.max(1_000, Math.floor(this.options.leases.durationMs / 3)));
    slot.renewTimer.unref?.();
  }

  /** A slot whose lease could not be renewed is no longer ours: not used again (a running request finishes). */
  private drop(slot: HeldSlot): void {
    if (slot.renewTimer) clearInterval(slot.renewTimer);
    if (slot.idleTimer) clearTimeout(slot.idleTimer);
    if (this.held.get(slot.lease.index) === slot) this.held.delete(slot.lease.index);
  }

  private giveBack(slot: HeldSlot): void {
    slot.busy = false;
    if (this.held.get(slot.lease.index) !== slot) return;
    if (this.waiters.length > 0) {
      this.handTo(slot);
      return;
    }
    this.scheduleIdleRelease(slot);
  }

  private scheduleIdleRelease(slot: HeldSlot): void {
    if (slot.idleTimer) clearTimeout(slot.idleTimer);
    slot.idleTimer = setTimeout(() => {
      if (slot.busy || this.held.get(slot.lease.index) !== slot) return;
      this.held.delete(slot.lease.index);
      void this.releaseLease(slot);
    }, this.options.idleReleaseMs ?? 200);
    slot.idleTimer.unref?.();
  }

  private async releaseLease(slot: HeldSlot): Promise<void> {
    if (slot.idleTimer) clearTimeout(slot.idleTimer);
    if (slot.renewTimer) clearInterval(slot.renewTimer);
    // A failed release only delays the slot until its lease expires.
    await this.options.leases.release(slot.lease).catch(() => undefined);
  }
}
