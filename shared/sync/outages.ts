import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { systemClock, type Clock } from '../clock';
import { describeError, outageOf, SERVICE_LABELS, SERVICES, SyncError, type OutageKind, type ServiceName } from '../errors';
import { redact, silentLogger, type Logger } from '../log';
import type { StateStore } from '../storage/types';
import { reportEvent, SERVICE_OUTAGE_EVENT, STORAGE_OUTAGE_EVENT, type ServiceOutageEvent, type StorageOutageEvent } from '../telemetry';

/**
 * A circuit breaker per remote service (Business Central, iPaaS.com), shared by every invocation of the
 * process and persisted in SyncState so every instance sees it. A failure of the whole service (the
 * credentials refused, long throttling, 5xx / timeouts that persist) opens it: work for that service is put
 * on hold instead of failing customer after customer. When the hold time has passed, the breaker itself asks
 * the service a question about no customer (the probe, one instance at a time across all instances); when it
 * answers, the breaker closes and the held work is resumed, whether or not any traffic arrives meanwhile
 * (`watch`, run by a timer, and `admit`, run by every message, both probe a service whose hold has ended).
 */

export const OUTAGE_STATE_PREFIX = 'outage-';

const isoTime = z.string().refine((value) => !Number.isNaN(Date.parse(value)), 'must be an ISO timestamp');

export const outageStateSchema = z.object({
  service: z.enum(SERVICES),
  kind: z.enum(['auth', 'throttled', 'unavailable']),
  /** When the outage began (first failure that opened the breaker). */
  since: isoTime,
  /** Held until then; afterwards the service is probed. */
  retryAt: isoTime,
  /** How many times in a row it was opened (the back-off exponent): 1, plus one per failed probe. */
  openings: z.number().int().min(1),
  /** The last failure, redacted (no secrets, no emails). */
  message: z.string().max(1000),
  /** A probe is running until then (another instance must not probe meanwhile). */
  probeUntil: isoTime.optional(),
  /** Which probe that is: only its own instance closes the breaker on its answer. */
  probeId: z.string().max(64).optional(),
  /** When the last "still on hold" line was written (one instance writes it, every few minutes). */
  reportedAt: isoTime.optional(),
});
export type OutageState = z.infer<typeof outageStateSchema>;

export interface OutageReport extends OutageState {
  /** What an operator should do, in one sentence. */
  action: string;
}

/** Where held customers wait while a service is on hold (shared/storage/waitingRoom.ts). */
export interface WaitingCustomers {
  /** Sends every customer waiting for `service` back to the queue; returns how many. */
  resume(service: ServiceName, logger: Logger): Promise<number>;
  /** How many customers wait for `service`. */
  count(service: ServiceName): Promise<number>;
}

export interface BreakerOptions {
  clock?: Clock;
  random?: () => number;
  logger?: Logger;
  /**
   * Consecutive `unavailable` failures (with no working answer between) after which the service itself is
   * checked (see `probes`); the breaker opens only when that check fails too. Default 3.
   */
  failureThreshold?: number;
  /**
   * A cheap request per service that has nothing to do with any customer (Business Central: the first
   * customers page of size 1; iPaaS.com: a look-up of a customer id that does not exist), made with the same
   * credentials as the transfers. It decides whether failures are the service's (then the breaker opens) or
   * some customers' (then they take the queue's path: redeliveries, RetriesExhausted, automatic retries), and
   * it is the probe that closes the breaker once the service answers again. Without one the hold simply ends
   * when its time is up.
   */
  probes?: Partial<Record<ServiceName, () => Promise<void>>>;
  /** First hold; doubled at each failed probe. Default 30 s. */
  baseDelayMs?: number;
  /** Longest hold of the back-off. Default 5 min. */
  maxDelayMs?: number;
  /**
   * Longest hold a `Retry-After` may ask for (OUTAGE_MAX_RETRY_AFTER_SECONDS, default 15 min): a longer one is
   * cut to this, and the service is probed then; a bogus `Retry-After: 864000` never holds work for 10 days.
   */
  maxRetryAfterMs?: number;
  /** How long a read of the persisted state is trusted before reading it again. Default 10 s. */
  refreshMs?: number;
  /** How long a probe has the service to itself (longer than one request's timeout). Default 60 s. */
  probeWindowMs?: number;
  /** How often a "still on hold" line is written while a service stays on hold. Default 5 min. */
  reportEveryMs?: number;
  /** Customers held during an outage; resumed when the breaker closes. */
  waiting?: WaitingCustomers;
  /** Fields every ServiceOutage record carries besides its own (the company whose work is held: companyId, companyName). */
  eventFields?: Readonly<Record<string, string>>;
  /** The instance's Table Storage outage, shared by the breakers of every company (one StorageOutage line per change). */
  storageOutage?: StorageOutageTracker;
}

/**
 * `sentinel`: this message's own invocation opened the breaker or ran the probe that failed. The caller sends it
 * back on the queue for the hold's time instead of parking it, so one message per service keeps coming back at the
 * end of each hold and the breaker is probed even if its timer does not run.
 */
export type Admission = { admitted: true } | { admitted: false; service: ServiceName; state: OutageState; delayMs: number; sentinel: boolean };

export interface HoldDecision {
  held: boolean;
  service?: ServiceName;
  state?: OutageState;
  delayMs: number;
  /** This failure opened the breaker (see Admission.sentinel). */
  sentinel?: boolean;
}

/** What one probe found; `probed`: this call asked the service (and it failed). */
export type ProbeOutcome = { open: false } | { open: true; state: OutageState; delayMs: number; probed: boolean };

interface Entry {
  state: OutageState | null;
  etag: string | null;
  readAt: number;
  /** The row exists but cannot be read as an outage: treated as one, overwritten by the next write. */
  corrupt: boolean;
  /** Whether this process ever read the row (so a failed read can fall back on what it knew). */
  known: boolean;
  /** Consecutive `unavailable` failures seen by this process. */
  failures: number;
  /** A working answer was seen while the breaker was open: close it at the next settle(). */
  recovered: boolean;
}

/** Work held behind a probe another instance is running comes back after this much at most. */
const PROBE_WAIT_MS = 5_000;

const ACTIONS: Record<ServiceName, Record<OutageKind, string>> = {
  ipaas: {
    auth: 'iPaaS.com refuses the API key: renew IPAAS_API_TOKEN (or restore the key\'s permissions); held transfers resume by themselves',
    throttled: 'iPaaS.com is throttling requests: transfers resume by themselves; if it lasts, lower IPAAS_MAX_CONCURRENT_REQUESTS',
    unavailable: 'iPaaS.com does not answer properly (5xx, timeouts or unexpected replies): transfers resume by themselves once it does; check iPaaS.com\'s status if it lasts',
  },
  businessCentral: {
    auth: 'Business Central refuses the app: renew BC_CLIENT_SECRET or check the app\'s permissions in Business Central; held transfers resume by themselves',
    throttled: 'Business Central is throttling requests: transfers resume by themselves; if it lasts, lower BC_MAX_CONCURRENT_REQUESTS',
    unavailable: 'Business Central does not answer (5xx or timeouts): transfers resume by themselves once it does; check the environment\'s status if it lasts',
  },
};

export function outageAction(service: ServiceName, kind: OutageKind): string {
  return ACTIONS[service][kind];
}

const stateKey = (service: ServiceName) => `${OUTAGE_STATE_PREFIX}${service}`;
const CORRUPT = Symbol('corrupt');
const parseLenient = (value: unknown): OutageState | typeof CORRUPT => {
  const parsed = outageStateSchema.safeParse(value);
  return parsed.success ? parsed.data : CORRUPT;
};

export class ServiceBreakers {
  private readonly entries = new Map<ServiceName, Entry>();
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly logger: Logger;
  private readonly failureThreshold: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly maxRetryAfterMs: number;
  private readonly refreshMs: number;
  private readonly probeWindowMs: number;
  private readonly reportEveryMs: number;
  private probes: Partial<Record<ServiceName, () => Promise<void>>>;
  private waiting: WaitingCustomers | undefined;
  private readonly eventFields: Readonly<Record<string, string>>;
  private readonly storageOutage: StorageOutageTracker;

  constructor(
    private readonly store: StateStore,
    options: BreakerOptions = {},
  ) {
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    this.logger = options.logger ?? silentLogger;
    this.failureThreshold = options.failureThreshold ?? 3;
    this.baseDelayMs = options.baseDelayMs ?? 30_000;
    this.maxDelayMs = options.maxDelayMs ?? 5 * 60_000;
    this.maxRetryAfterMs = options.maxRetryAfterMs ?? 15 * 60_000;
    this.refreshMs = options.refreshMs ?? 10_000;
    this.probeWindowMs = options.probeWindowMs ?? 60_000;
    this.reportEveryMs = options.reportEveryMs ?? 5 * 60_000;
    this.probes = options.probes ?? {};
    this.waiting = options.waiting;
    this.eventFields = options.eventFields ?? {};
    this.storageOutage = options.storageOutage ?? new StorageOutageTracker(this.clock, this.reportEveryMs);
  }

  /** The services' own checks (the clients are built after the breakers, which their answers feed). */
  setProbes(probes: Partial<Record<ServiceName, () => Promise<void>>>): void {
    this.probes = probes;
  }

  /** Where held customers wait (built with the queue sender, after the breakers). */
  setWaiting(waiting: WaitingCustomers): void {
    this.waiting = waiting;
  }

  /**
   * Whether work that needs `services` may run now; when not, how long to hold it. A service whose hold has
   * ended is probed first (by this instance, unless another one is probing it already), so the message is never
   * the probe: it runs only once every service it needs answers. Read failures keep what was last known (an
   * outage is never forgotten because its row could not be read); with nothing known they throw. `logger`: the
   * invocation's, which writes the `resumed` line when this call's probe closes a breaker.
   */
  async admit(services: readonly ServiceName[] = SERVICES, logger: Logger = this.logger): Promise<Admission> {
    const due: ServiceName[] = [];
    let hold: { service: ServiceName; state: OutageState; waitMs: number } | undefined;
    for (const service of services) {
      const { state } = await this.current(service);
      if (!state) continue;
      const waitMs = this.waitFor(state);
      if (waitMs === 0) due.push(service);
      else if (!hold || waitMs > hold.waitMs) hold = { service, state, waitMs };
    }
    // Held by one service: nothing is claimed for another (its probe waits for the timer or the next message).
    if (hold) return { admitted: false, service: hold.service, state: hold.state, delayMs: this.spread(hold.waitMs), sentinel: false };
    for (const service of due) {
      const outcome = await this.probe(service, logger);
      if (outcome.open) return { admitted: false, service, state: outcome.state, delayMs: this.spread(outcome.delayMs), sentinel: outcome.probed };
    }
    return { admitted: true };
  }

  /** The first of `services` that is on hold now (probing a service whose hold has ended), or null. */
  async onHold(services: readonly ServiceName[] = SERVICES, logger: Logger = this.logger): Promise<ServiceName | null> {
    const admission = await this.admit(services, logger);
    return admission.admitted ? null : admission.service;
  }

  /** Whether `service` is on hold now, read from storage (no probe). */
  async isOnHold(service: ServiceName): Promise<boolean> {
    return (await this.current(service, true)).state !== null;
  }

  /** A message held because Table Storage failed: one line when it starts, then every few minutes (per instance). */
  storageFailed(error: unknown, logger: Logger = this.logger, heldMessage = true): void {
    this.storageOutage.failed(error, logger, heldMessage);
  }

  /** A transfer went through: if storage had failed, one line says it answers again. */
  storageAnswered(logger: Logger = this.logger): void {
    this.storageOutage.answered(logger);
  }

  /** Every answer of a service (from the HTTP clients): a working one (2xx, 404) counts as the service being back. */
  observe(service: ServiceName, ok: boolean): void {
    if (!ok) return;
    const entry = this.entry(service);
    entry.failures = 0;
    if (entry.state) entry.recovered = true;
  }

  /**
   * A failed invocation: when the failure is one of a whole service and it opens (or finds open) that service's
   * breaker, the work is held (the caller parks it or re-enqueues it after `delayMs`) instead of failing. A
   * refused credential (401/403) or a run of 5xx opens it only when the service also fails a request of no
   * particular customer with the same credentials: one customer's record that the service refuses or chokes on
   * is that customer's failure.
   */
  async failed(error: unknown, logger: Logger = this.logger): Promise<HoldDecision> {
    const signal = outageOf(error);
    if (!signal) return { held: false, delayMs: 0 };
    const { service, kind } = signal;
    const entry = await this.current(service);
    entry.recovered = false;
    if (entry.state) return { held: true, service, state: entry.state, delayMs: this.spread(Math.max(this.waitFor(entry.state), PROBE_WAIT_MS)) };
    if (kind === 'unavailable') {
      entry.failures += 1;
      if (entry.failures < this.failureThreshold) return { held: false, delayMs: 0 };
    }
    if (kind !== 'throttled' && (await this.answers(service)).answered) {
      entry.failures = 0;
      return { held: false, delayMs: 0 };
    }
    const { state, opened } = await this.open(service, kind, error, logger);
    return { held: true, service, state, delayMs: this.spread(Math.max(0, Date.parse(state.retryAt) - this.clock.now())), sentinel: opened };
  }

  /** After an invocation: closes the breakers of services that answered properly again (the row as it was read). */
  async settle(logger: Logger = this.logger): Promise<void> {
    for (const [service, entry] of this.entries) {
      if (!entry.recovered || !entry.state) continue;
      entry.recovered = false;
      // Only the outage this process saw, by its ETag: one opened or re-opened since is left to its probe.
      if (entry.etag === null || entry.corrupt) continue;
      await this.close(service, entry.state, entry.etag, logger);
    }
  }

  /**
   * The timer's round: probes every service whose hold has ended (so a breaker closes by itself after the service
   * recovers, with or without traffic), writes the "still on hold" line every few minutes (one instance does,
   * by a conditional write), and resumes customers left waiting for a service that is no longer on hold.
   */
  async watch(logger: Logger = this.logger): Promise<Array<{ service: ServiceName; onHold: boolean; resumed: number }>> {
    try {
      const results = await this.watchRound(logger);
      this.storageAnswered(logger);
      return results;
    } catch (error) {
      // Table Storage down: an outage of storage (one line per change of state), not a failed timer every 15 s.
      if (!(error instanceof SyncError) || error.code !== 'StorageUnavailable' || !error.transient) throw error;
      this.storageFailed(error, logger, false);
      return [];
    }
  }

  private async watchRound(logger: Logger): Promise<Array<{ service: ServiceName; onHold: boolean; resumed: number }>> {
    const results: Array<{ service: ServiceName; onHold: boolean; resumed: number }> = [];
    for (const service of SERVICES) {
      const entry = await this.current(service, true);
      let state = entry.state;
      if (state && this.waitFor(state) === 0) {
        const outcome = await this.probe(service, logger);
        state = outcome.open ? outcome.state : null;
      }
      if (state) {
        await this.reportStillOnHold(service, logger);
        results.push({ service, onHold: true, resumed: 0 });
        continue;
      }
      // Customers parked by an instance that had not yet seen the breaker close (or a resume cut short).
      const resumed = this.waiting ? await this.waiting.resume(service, logger) : 0;
      results.push({ service, onHold: false, resumed });
    }
    return results;
  }

  /** The persisted outages, read now (for the health route). */
  async report(): Promise<OutageReport[]> {
    const reports: OutageReport[] = [];
    for (const service of SERVICES) {
      const { state } = await this.current(service, true);
      if (state) reports.push({ ...state, action: outageAction(service, state.kind) });
    }
    return reports;
  }

  /**
   * Probes `service` if its hold has ended and nobody else probes it: claims the probe (a conditional write),
   * asks the service a question about no customer, and closes the breaker when it answers (resuming everyone
   * waiting), or holds it again with a longer back-off when it does not.
   */
  async probe(service: ServiceName, logger: Logger = this.logger): Promise<ProbeOutcome> {
    const entry = await this.current(service, true);
    const state = entry.state;
    if (!state) return { open: false };
    const waitMs = this.waitFor(state);
    if (waitMs > 0) return { open: true, state, delayMs: waitMs, probed: false };
    const probeId = randomUUID();
    const claimed: OutageState = { ...state, probeUntil: new Date(this.clock.now() + this.probeWindowMs).toISOString(), probeId };
    // Exactly one contender's conditional write wins (a corrupt row is simply overwritten).
    if (!(await this.store.put(stateKey(service), claimed, entry.corrupt ? undefined : entry.etag))) {
      const fresh = await this.current(service, true);
      if (!fresh.state) return { open: false };
      return { open: true, state: fresh.state, delayMs: Math.max(this.waitFor(fresh.state), PROBE_WAIT_MS), probed: false };
    }
    this.forget(service);
    const check = await this.answers(service);
    // Our claim, as stored now: its ETag makes the close (or the next hold) conditional on nobody else's change.
    const mine = await this.current(service, true);
    if (!mine.state || mine.state.probeId !== probeId || mine.etag === null) {
      return mine.state ? { open: true, state: mine.state, delayMs: Math.max(this.waitFor(mine.state), PROBE_WAIT_MS), probed: false } : { open: false };
    }
    if (check.answered) {
      if (await this.close(service, mine.state, mine.etag, logger)) return { open: false };
      // Changed meanwhile (opened again elsewhere): that state decides.
      const fresh = await this.current(service, true);
      return fresh.state ? { open: true, state: fresh.state, delayMs: Math.max(this.waitFor(fresh.state), PROBE_WAIT_MS), probed: false } : { open: false };
    }
    const reopened = await this.reopen(service, mine.state, mine.etag, check.error);
    return { open: true, state: reopened, delayMs: Math.max(0, Date.parse(reopened.retryAt) - this.clock.now()), probed: true };
  }

  /** Whether the service answers a request of no particular customer; without a probe, whether its hold is over. */
  private async answers(service: ServiceName): Promise<{ answered: true } | { answered: false; error: unknown }> {
    const probe = this.probes[service];
    if (!probe) return { answered: true };
    try {
      await probe();
      return { answered: true };
    } catch (error) {
      // A final answer (a 4xx) is still an answer: only a failure of the service itself says it is down.
      return outageOf(error) === undefined ? { answered: true } : { answered: false, error };
    }
  }

  /** 0 when the hold is over and nobody probes; else how long until one of those changes. */
  private waitFor(state: OutageState): number {
    const now = this.clock.now();
    const retryAt = Date.parse(state.retryAt);
    if (now < retryAt) return retryAt - now;
    const probeUntil = state.probeUntil ? Date.parse(state.probeUntil) : 0;
    if (probeUntil > now) return Math.min(probeUntil - now, PROBE_WAIT_MS);
    return 0;
  }

  /** The hold after `openings` openings, for `kind`; a Retry-After is honoured up to the cap. */
  private holdFor(kind: OutageKind, openings: number, error: unknown): number {
    const retryAfterMs = error instanceof SyncError ? error.retryAfterMs : undefined;
    const backoff = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** Math.min(openings - 1, 20));
    const asked = kind === 'throttled' && retryAfterMs !== undefined ? Math.max(retryAfterMs, 1000) : backoff;
    return Math.min(asked, this.maxRetryAfterMs);
  }

  private async open(service: ServiceName, kind: OutageKind, error: unknown, logger: Logger): Promise<{ state: OutageState; opened: boolean }> {
    for (let round = 0; round < 3; round += 1) {
      const entry = await this.current(service, round > 0);
      // Opened by another invocation meanwhile: nothing to add.
      if (entry.state) return { state: entry.state, opened: false };
      const now = this.clock.now();
      const state: OutageState = {
        service,
        kind,
        since: new Date(now).toISOString(),
        retryAt: new Date(now + this.holdFor(kind, 1, error)).toISOString(),
        openings: 1,
        message: redact(describeError(error)).slice(0, 1000),
        reportedAt: new Date(now).toISOString(),
      };
      if (await this.store.put(stateKey(service), state, entry.corrupt ? undefined : null)) {
        this.forget(service, state);
        this.emit(logger, 'warn', { service, state: 'onHold', kind, since: state.since, retryAt: state.retryAt, downMs: 0, message: state.message, openings: 1, waiting: null });
        return { state, opened: true };
      }
    }
    const { state } = await this.current(service, true);
    if (state) return { state, opened: false };
    throw new SyncError('StorageUnavailable', `could not record the ${SERVICE_LABELS[service]} outage`, { transient: true });
  }

  /** A failed probe: the same outage, held again for the next step of the back-off (no log line: not a change). */
  private async reopen(service: ServiceName, state: OutageState, etag: string, error: unknown): Promise<OutageState> {
    const signal = outageOf(error);
    const kind = signal?.kind ?? state.kind;
    const openings = state.openings + 1;
    const { probeUntil: _probeUntil, probeId: _probeId, ...rest } = state;
    const next: OutageState = {
      ...rest,
      kind,
      openings,
      retryAt: new Date(this.clock.now() + this.holdFor(kind, openings, error)).toISOString(),
      message: redact(describeError(error)).slice(0, 1000),
    };
    if (await this.store.put(stateKey(service), next, etag)) {
      this.forget(service, next);
      return next;
    }
    const fresh = await this.current(service, true);
    return fresh.state ?? next;
  }

  /** Deletes exactly the row that was read (its ETag), then resumes the customers waiting for the service. */
  private async close(service: ServiceName, state: OutageState, etag: string, logger: Logger): Promise<boolean> {
    if (!(await this.store.delete(stateKey(service), etag))) {
      this.forget(service);
      return false;
    }
    this.forget(service, null);
    const entry = this.entry(service);
    entry.failures = 0;
    entry.recovered = false;
    let waiting: number | null = null;
    try {
      waiting = this.waiting ? await this.waiting.resume(service, logger) : null;
    } catch (error) {
      // The timer's next round resumes them.
      logger.warn(`${SERVICE_LABELS[service]} answers again, but the customers waiting for it could not all be resumed yet: ${describeError(error)}`);
    }
    const downMs = this.clock.now() - Date.parse(state.since);
    this.emit(logger, 'info', { service, state: 'resumed', kind: state.kind, since: state.since, retryAt: null, downMs, message: null, openings: state.openings, waiting });
    return true;
  }

  /** One line every `reportEveryMs` while a service stays on hold, written by whichever instance updates the row first. */
  private async reportStillOnHold(service: ServiceName, logger: Logger): Promise<void> {
    const entry = await this.current(service);
    const state = entry.state;
    if (!state || entry.etag === null || entry.corrupt) return;
    const now = this.clock.now();
    const last = Date.parse(state.reportedAt ?? state.since);
    if (now - last < this.reportEveryMs) return;
    const next: OutageState = { ...state, reportedAt: new Date(now).toISOString() };
    if (!(await this.store.put(stateKey(service), next, entry.etag))) return;
    this.forget(service, next);
    const waiting = this.waiting ? await this.waiting.count(service).catch(() => null) : null;
    this.emit(logger, 'warn', {
      service,
      state: 'stillOnHold',
      kind: state.kind,
      since: state.since,
      retryAt: state.retryAt,
      downMs: now - Date.parse(state.since),
      message: state.message,
      openings: state.openings,
      waiting,
    });
  }

  private emit(logger: Logger, level: 'info' | 'warn', event: ServiceOutageEvent): void {
    reportEvent(logger, SERVICE_OUTAGE_EVENT, { ...event, ...this.eventFields }, level);
  }

  private entry(service: ServiceName): Entry {
    let entry = this.entries.get(service);
    if (!entry) {
      entry = { state: null, etag: null, readAt: Number.NEGATIVE_INFINITY, corrupt: false, known: false, failures: 0, recovered: false };
      this.entries.set(service, entry);
    }
    return entry;
  }

  /**
   * The entry, re-read from storage when `fresh` or when the last read is older than refreshMs (or was
   * invalidated by a write). A failed read keeps what this process knew (never "no outage" because the row could
   * not be read); when it knew nothing, the storage error goes up (the caller holds the work for storage).
   */
  private async current(service: ServiceName, fresh = false): Promise<Entry> {
    const entry = this.entry(service);
    if (!fresh && this.clock.now() - entry.readAt < this.refreshMs) return entry;
    let stored: { value: OutageState | typeof CORRUPT; etag: string } | null;
    try {
      stored = await this.store.get(stateKey(service), parseLenient);
    } catch (error) {
      if (!(error instanceof SyncError) || error.transient) {
        if (!entry.known) throw error;
        // Keep what we knew; look again after refreshMs.
        entry.readAt = this.clock.now();
        return entry;
      }
      // The row is there but is not even JSON: an outage of unknown age, probed and then overwritten.
      stored = { value: CORRUPT, etag: '' };
    }
    const value = stored?.value ?? null;
    if (value === CORRUPT) {
      const now = new Date(this.clock.now()).toISOString();
      entry.state = { service, kind: 'unavailable', since: now, retryAt: now, openings: 1, message: 'the stored outage state was unreadable' };
      entry.etag = stored?.etag || null;
      entry.corrupt = true;
    } else {
      entry.state = value;
      entry.etag = stored?.etag ?? null;
      entry.corrupt = false;
    }
    entry.known = true;
    entry.readAt = this.clock.now();
    return entry;
  }

  /** After our own write the ETag is unknown (the store does not return it): the next use reads again. */
  private forget(service: ServiceName, state?: OutageState | null): void {
    const entry = this.entry(service);
    if (state !== undefined) {
      entry.state = state;
      entry.known = true;
    }
    entry.etag = null;
    entry.corrupt = false;
    entry.readAt = state === null ? this.clock.now() : Number.NEGATIVE_INFINITY;
  }

  /** Spreads held work over a little time after the hold ends, so it does not all come back at once. */
  private spread(delayMs: number): number {
    const jitter = Math.min(10_000, Math.max(1_000, delayMs * 0.1));
    return Math.round(delayMs + this.random() * jitter);
  }
}

/**
 * Table Storage failing as this instance sees it (storage is the deployment's, not a company's): one StorageOutage
 * line when it starts, one every `reportEveryMs` while it lasts, one when a transfer goes through again.
 */
export class StorageOutageTracker {
  private state: { since: number | null; reportedAt: number; held: number; message: string | null } = { since: null, reportedAt: 0, held: 0, message: null };

  constructor(
    private readonly clock: Clock = systemClock,
    private readonly reportEveryMs: number = 5 * 60_000,
  ) {}

  failed(error: unknown, logger: Logger, heldMessage = true): void {
    const now = this.clock.now();
    const outage = this.state;
    if (heldMessage) outage.held += 1;
    outage.message = redact(describeError(error)).slice(0, 1000);
    if (outage.since === null) {
      outage.since = now;
      outage.reportedAt = now;
      this.emit(logger, 'warn', 'onHold', now);
    } else if (now - outage.reportedAt >= this.reportEveryMs) {
      outage.reportedAt = now;
      this.emit(logger, 'warn', 'stillOnHold', now);
    }
  }

  answered(logger: Logger): void {
    if (this.state.since === null) return;
    this.emit(logger, 'info', 'resumed', this.clock.now());
    this.state = { since: null, reportedAt: 0, held: 0, message: null };
  }

  private emit(logger: Logger, level: 'info' | 'warn', state: StorageOutageEvent['state'], now: number): void {
    const since = this.state.since ?? now;
    const event: StorageOutageEvent = {
      state,
      since: new Date(since).toISOString(),
      downMs: now - since,
      held: this.state.held,
      message: state === 'resumed' ? null : this.state.message,
    };
    reportEvent(logger, STORAGE_OUTAGE_EVENT, event, level);
  }
}
