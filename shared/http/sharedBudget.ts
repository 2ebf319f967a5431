import type { LeaseStore } from '../storage/types';

/**
 * A request budget shared by every instance of the app, for a service whose limits are per app registration
 * (Business Central: 5 requests at once, 6,000 per 5 minutes), so that scaling out does not multiply them.
 *
 * The budget is `slots` leases in Table Storage (`<name>-slot-<n>`). A request runs only while its instance
 * holds a slot, one request per slot at a time, so no more than `slots` requests are in flight across all
 * instances. An instance keeps a slot for its next requests while it is busy (no storage round trip per
 * request) and hands it back once idle for `idleReleaseMs` or when the lease nears its end, so busy
 * instances share the slots. Each slot also spaces its requests `minIntervalMs` apart, which caps the rate
 * at `slots × 1000 / minIntervalMs` per second (5 slots × 4/s = 6,000 per 5 minutes).
 *
 * A slot's lease lasts `leaseMs`, longer than any request (the HTTP timeout), so a lease cannot run out
 * under a request; a crashed instance's slots come back when their leases expire.
 */
export interface SharedBudgetOptions {
  name: string;
  slots: number;
  leases: LeaseStore;
  /** Longer than the longest request (its timeout) plus a margin. */
  leaseMs: number;
  /** Spacing of request starts on one slot; 0 for none. */
  minIntervalMs: number;
  /** A held slot nobody here used for this long goes back to the pool. */
  idleReleaseMs?: number;
  /** Wait between attempts to take a slot when all are held elsewhere. */
  pollMs?: number;
  clock?: () => number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

interface HeldSlot {
  index: number;
  lease: { name: string; token: string; expiresAt: string };
  busy: boolean;
  /** When its last request started (for the spacing). */
  lastStart: number;
  idleTimer: ReturnType<typeof setTimeout> | undefined;
}

export class SharedRequestBudget {
  private readonly held = new Map<number, HeldSlot>();
  private readonly waiters: Array<(slot: HeldSlot) => void> = [];
  private readonly clock: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  private acquiring = false;

  constructor(private readonly options: SharedBudgetOptions) {
    if (!Number.isInteger(options.slots) || options.slots < 1) throw new RangeError(`slots must be a positive integer, got ${options.slots}`);
    this.clock = options.clock ?? Date.now;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.random = options.random ?? Math.random;
  }

  /** Slots this instance holds now (for tests and diagnostics). */
  get heldSlots(): number {
    return this.held.size;
  }

  /** Runs `operation` on a slot of the shared budget. */
  async run<T>(operation: () => Promise<T>): Promise<T> {
    const slot = await this.take();
    try {
      const wait = slot.lastStart + this.options.minIntervalMs - this.clock();
      if (wait > 0) await this.sleep(wait);
      slot.lastStart = this.clock();
      return await operation();
    } finally {
      await this.giveBack(slot);
    }
  }

  /** Returns every held slot to the pool (shutdown, tests). */
  async releaseAll(): Promise<void> {
    const slots = [...this.held.values()];
    this.held.clear();
    await Promise.all(slots.map((slot) => this.releaseLease(slot)));
  }

  private async take(): Promise<HeldSlot> {
    const free = [...this.held.values()].find((slot) => !slot.busy);
    if (free) return this.occupy(free);
    return new Promise<HeldSlot>((resolve, reject) => {
      this.waiters.push(resolve);
      this.acquireForWaiters().catch((error: unknown) => {
        // Storage failed: the waiters fail with it (the caller's retry logic treats it as transient).
        const pending = this.waiters.splice(0);
        for (const _ of pending) reject(error);
      });
    });
  }

  private occupy(slot: HeldSlot): HeldSlot {
    slot.busy = true;
    if (slot.idleTimer) clearTimeout(slot.idleTimer);
    slot.idleTimer = undefined;
    return slot;
  }

  /** One loop per instance takes slots from the pool while requests wait here. */
  private async acquireForWaiters(): Promise<void> {
    if (this.acquiring) return;
    this.acquiring = true;
    try {
      while (this.waiters.length > 0) {
        const slot = await this.tryTakeSlot();
        if (slot) {
          this.handTo(slot);
          continue;
        }
        const poll = this.options.pollMs ?? 50;
        await this.sleep(Math.round(poll / 2 + this.random() * poll));
      }
    } finally {
      this.acquiring = false;
    }
  }

  private handTo(slot: HeldSlot): void {
    const waiter = this.waiters.shift();
    if (waiter) waiter(this.occupy(slot));
    else this.scheduleIdleRelease(slot);
  }

  private async tryTakeSlot(): Promise<HeldSlot | null> {
    const { slots, leases, leaseMs, name } = this.options;
    // From a random slot, so instances do not all contend for slot 0.
    const start = Math.floor(this.random() * slots);
    for (let offset = 0; offset < slots; offset += 1) {
      const index = (start + offset) % slots;
      if (this.held.has(index)) continue;
      const lease = await leases.tryAcquire(`${name}-slot-${index}`, leaseMs);
      if (lease) {
        const slot: HeldSlot = { index, lease, busy: false, lastStart: 0, idleTimer: undefined };
        this.held.set(index, slot);
        return slot;
      }
    }
    return null;
  }

  private async giveBack(slot: HeldSlot): Promise<void> {
    slot.busy = false;
    // Near the end of its lease a slot is not reused: the next request might outlive it.
    if (Date.parse(slot.lease.expiresAt) - this.clock() < this.options.leaseMs / 2) {
      this.held.delete(slot.index);
      await this.releaseLease(slot);
      if (this.waiters.length > 0) void this.acquireForWaiters().catch(() => undefined);
      return;
    }
    if (this.waiters.length > 0) {
      this.handTo(slot);
      return;
    }
    this.scheduleIdleRelease(slot);
  }

  private scheduleIdleRelease(slot: HeldSlot): void {
    if (slot.idleTimer) clearTimeout(slot.idleTimer);
    slot.idleTimer = setTimeout(() => {
      if (slot.busy || this.held.get(slot.index) !== slot) return;
      this.held.delete(slot.index);
      void this.releaseLease(slot);
    }, this.options.idleReleaseMs ?? 200);
    slot.idleTimer.unref?.();
  }

  private async releaseLease(slot: HeldSlot): Promise<void> {
    if (slot.idleTimer) clearTimeout(slot.idleTimer);
    // A failed release only delays the slot until its lease expires.
    await this.options.leases.release(slot.lease).catch(() => undefined);
  }
}
