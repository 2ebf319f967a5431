import { SyncError } from '../errors';
import type { Logger } from '../log';
import type { Lease, LeaseStore } from '../storage/types';

/**
 * The leases one transfer holds (its customer's, and its email's while it matches or creates), kept for as long as
 * the transfer works and checked before every write:
 *
 * - **Heartbeat.** Every quarter of the lease's time each lease is renewed in storage, also while a call is in
 *   flight or the HTTP client waits out a Retry-After, so a slow transfer is not taken over by a second delivery.
 * - **Fence.** A write (each attempt of each write request, see shared/http/writeGuard.ts, and each storage claim)
 *   starts only when the lease is ours until that write has ended: renewed (in storage, by its ETag) less than
 *   `ttl − writeTimeout − margin` ago, where `writeTimeout` is the longest one request can take (HTTP_TIMEOUT_MS)
 *   and `margin` is a quarter of the lease's time (storage, which judges expiry by its own clock, dates its replies
 *   to the second). Otherwise the lease is renewed first (with a lease shorter than a request, before every
 *   write); a lease found lost (someone else wrote its row) stops the transfer with ConcurrentSync (transient: the
 *   message is retried and reads again).
 *
 * Ages are measured on a monotonic clock taken before each renewal request was sent, so they never understate.
 */
export interface TransferLeaseOptions {
  leases: LeaseStore;
  ttlMs: number;
  /** The longest one write request can take (the HTTP timeout); a quarter of the TTL when unknown. */
  writeTimeoutMs?: number;
  /** Monotonic milliseconds; performance.now() by default. */
  now?: () => number;
  logger?: Logger;
}

interface Held {
  lease: Lease;
  /** Monotonic time just before the lease was acquired or last renewed. */
  renewedAt: number;
  lost: boolean;
  /** The renewal in flight: renewals of one lease never overlap (they are conditional on the ETag the last one got). */
  renewing: Promise<boolean> | null;
}

export class TransferLeases {
  private readonly held: Held[] = [];
  private readonly now: () => number;
  private readonly margin: number;
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly options: TransferLeaseOptions) {
    this.now = options.now ?? (() => performance.now());
    const skew = options.ttlMs / 4;
    this.margin = (options.writeTimeoutMs ?? options.ttlMs / 4) + skew;
  }

  /** Starts keeping `lease`, acquired at monotonic time `acquiredAt` (taken before asking for it). */
  add(lease: Lease, acquiredAt: number): void {
    this.held.push({ lease, renewedAt: acquiredAt, lost: false, renewing: null });
    if (!this.timer) {
      this.timer = setInterval(() => void this.heartbeat(), Math.max(1, Math.floor(this.options.ttlMs / 4)));
      this.timer.unref?.();
    }
  }

  /** Throws ConcurrentSync unless every lease is ours for longer than one write can take (renewing first if needed). */
  async ensureWritable(): Promise<void> {
    for (const held of this.held) {
      if (!held.lost && this.now() - held.renewedAt + this.margin <= this.options.ttlMs) continue;
      if (held.lost || !(await this.renew(held))) {
        throw new SyncError('ConcurrentSync', 'The transfer lease was lost before iPaaS.com was written (another delivery may have taken it over); retrying', {
          transient: true,
        });
      }
    }
  }

  /** Stops the heartbeat and releases every lease (a lease taken over meanwhile is left alone). */
  async releaseAll(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await Promise.all(this.held.map(async (held) => {
      await held.renewing?.catch(() => false);
      await this.options.leases.release(held.lease).catch(() => undefined);
    }));
  }

  private async heartbeat(): Promise<void> {
    for (const held of this.held) {
      if (held.lost || this.now() - held.renewedAt < this.options.ttlMs / 4) continue;
      // A storage error here is not fatal: the fence renews (or stops the transfer) before the next write.
      await this.renew(held).catch((error: unknown) => this.options.logger?.warn(`could not renew a transfer lease: ${error instanceof Error ? error.message : String(error)}`));
    }
  }

  private renew(held: Held): Promise<boolean> {
    held.renewing ??= (async () => {
      const startedAt = this.now();
      try {
        const renewed = await this.options.leases.renew(held.lease, this.options.ttlMs);
        if (renewed) held.renewedAt = startedAt;
        else held.lost = true;
        return renewed;
      } finally {
        held.renewing = null;
      }
    })();
    return held.renewing;
  }
}
