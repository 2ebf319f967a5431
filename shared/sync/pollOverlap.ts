import { createHash } from 'node:crypto';

/**
 * What a poll remembers of the overlap the next poll re-reads. Each poll asks Business Central for the changes since
 * its watermark minus an overlap (commits are not ordered by their timestamps), so every customer changed within the
 * overlap comes back at the next poll, and at every poll after it until a newer change moves the watermark. The
 * poll therefore stores, with its watermark, a short key of each customer it read whose change lies in the next
 * poll's overlap: the customer's id and its lastModifiedDateTime, hashed. The next poll does not enqueue a customer
 * whose key is there (the same change, already enqueued); a customer changed again has a new timestamp, and a change
 * committed late with an older timestamp is not in the set, so both are enqueued as before.
 *
 * The set is bounded: beyond OVERLAP_KEYS_MAX customers in one overlap, the newest are kept and the others are
 * enqueued again, as they were before the set existed. Any subset is safe; only a missing key costs a repeat.
 */
export const OVERLAP_KEYS_MAX = 1_500;

interface Seen {
  id: string;
  lastModifiedDateTime: string;
  ms: number;
}

/** 66 bits of SHA-256 of the id and the timestamp as Business Central wrote it: 11 characters, no collisions to fear. */
export function overlapKey(customer: { id: string; lastModifiedDateTime: string }): string {
  return createHash('sha256').update(`${customer.id}|${customer.lastModifiedDateTime}`).digest('base64url').slice(0, 11);
}

/**
 * Collects the customers a pass reads, keeping only those that can lie in the next poll's overlap: the next watermark
 * is at least the newest change seen so far (capped at the pass's start), so anything older than that minus the
 * overlap can be dropped as the pass goes.
 */
export class OverlapTracker {
  private seen: Seen[] = [];
  private newestMs = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly overlapMs: number,
    private readonly passStartedMs: number,
  ) {}

  note(customer: { id: string; lastModifiedDateTime: string }): void {
    const ms = Date.parse(customer.lastModifiedDateTime);
    if (Number.isNaN(ms)) return;
    if (ms > this.newestMs) this.newestMs = ms;
    if (ms <= this.floorMs(Math.min(this.newestMs, this.passStartedMs))) return;
    this.seen.push({ id: customer.id, lastModifiedDateTime: customer.lastModifiedDateTime, ms });
    if (this.seen.length >= 2 * OVERLAP_KEYS_MAX) this.prune(Math.min(this.newestMs, this.passStartedMs));
  }

  /** The keys of the customers read whose change lies in the overlap before `watermark`. */
  keysFor(watermark: string): string[] {
    this.prune(Date.parse(watermark));
    return this.seen.map(overlapKey);
  }

  private floorMs(watermarkMs: number): number {
    return watermarkMs - this.overlapMs;
  }

  private prune(watermarkMs: number): void {
    const floor = this.floorMs(watermarkMs);
    // The poll asks for changes strictly after the floor (`lastModifiedDateTime gt`).
    this.seen = this.seen.filter((entry) => entry.ms > floor);
    if (this.seen.length > OVERLAP_KEYS_MAX) this.seen = this.seen.sort((a, b) => b.ms - a.ms).slice(0, OVERLAP_KEYS_MAX);
  }
}
