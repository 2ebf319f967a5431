import { z } from 'zod';
import { describeError, outageOf, SERVICE_LABELS, SERVICES, type OutageKind, type ServiceName } from '../errors';
import { redact, silentLogger, type Logger } from '../log';
import type { StateStore } from '../storage/types';
import { reportEvent, SERVICE_OUTAGE_EVENT } from '../telemetry';

/**
 * A circuit breaker per remote service (Business Central, iPaaS.com), shared by every invocation of the
 * process and persisted in SyncState so other instances see it. A failure of the whole service (the
 * credentials refused, long throttling, 5xx / timeouts that persist) opens it: work for that service is put
 * on hold (the queue message goes back with a delay) instead of failing customer after customer. Once the
 * hold time has passed one invocation, across all instances, is let through as a probe (half-open); the first
 * answer that works closes it and everything waiting flows again without anyone doing anything.
 */

export const OUTAGE_STATE_PREFIX = 'outage-';

const isoTime = z.string().refine((value) => !Number.isNaN(Date.parse(value)), 'must be an ISO timestamp');

export const outageStateSchema = z.object({
  service: z.enum(SERVICES),
  kind: z.enum(['auth', 'throttled', 'unavailable']),
  /** When the outage began (first failure that opened the breaker). */
  since: isoTime,
  /** Held until then; afterwards one probe may try. */
  retryAt: isoTime,
  /** How many times in a row it was opened (the backoff exponent). */
  openings: z.number().int().min(1),
  /** The last failure, redacted (no secrets, no emails). */
  message: z.string().max(1000),
  /** A probe is running until then (another instance must not probe meanwhile). */
  probeUntil: isoTime.optional(),
});
export type OutageState = z.infer<typeof outageStateSchema>;

export interface OutageReport extends OutageState {
  /** What an operator should do, in one sentence. */
  action: string;
}

export interface BreakerOptions {
  /** Milliseconds since the epoch. */
  clock?: () => number;
  random?: () => number;
  logger?: Logger;
  /**
   * Consecutive `unavailable` failures (with no working answer between) after which the service itself is
   * checked (see `probes`); the breaker opens only when that check fails too. Default 3.
   */
  failureThreshold?: number;
  /**
   * A cheap request per service that has nothing to do with any customer (Business Central: the first
   * customers page of size 1; iPaaS.com: a look-up of a customer id that does not exist). When it gets an
   * answer, the failures were those of particular customers (for example one customer's record that makes the
   * service fail), which take the queue's path (redeliveries, RetriesExhausted, automatic retries) instead of
   * holding everyone. Without a probe, the threshold alone decides.
   */
  probes?: Partial<Record<ServiceName, () => Promise<void>>>;
  /** First hold; doubled at each failed probe. Default 30 s. */
  baseDelayMs?: number;
  /** Longest hold (a Retry-After asking for more is honoured). Default 5 min. */
  maxDelayMs?: number;
  /** How long a read of the persisted state is trusted before reading it again. Default 10 s. */
  refreshMs?: number;
  /** How long a probe has the service to itself. Default 60 s. */
  probeWindowMs?: number;
  /** Fields every ServiceOutage record carries besides its own (the company whose work is held: companyId, companyName). */
  eventFields?: Readonly<Record<string, string>>;
}

export type Admission =
  | { admitted: true; probes: ServiceName[] }
  | { admitted: false; service: ServiceName; state: OutageState; delayMs: number };

export interface HoldDecision {
  held: boolean;
  service?: ServiceName;
  state?: OutageState;
  delayMs: number;
}

interface Entry {
  state: OutageState | null;
  etag: string | null;
  readAt: number;
  /** Consecutive `unavailable` failures seen by this process. */
  failures: number;
  /** A working answer was seen while the breaker was open: close it at the next settle(). */
  recovered: boolean;
}

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
const parseState = (value: unknown): OutageState => outageStateSchema.parse(value);

export class ServiceBreakers {
  private readonly entries = new Map<ServiceName, Entry>();
  private readonly clock: () => number;
  private readonly random: () => number;
  private readonly logger: Logger;
  private readonly failureThreshold: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly refreshMs: number;
  private readonly probeWindowMs: number;
  private probes: Partial<Record<ServiceName, () => Promise<void>>>;
  private readonly eventFields: Readonly<Record<string, string>>;

  constructor(
    private readonly store: StateStore,
    options: BreakerOptions = {},
  ) {
    this.clock = options.clock ?? Date.now;
    this.random = options.random ?? Math.random;
    this.logger = options.logger ?? silentLogger;
    this.failureThreshold = options.failureThreshold ?? 3;
    this.baseDelayMs = options.baseDelayMs ?? 30_000;
    this.maxDelayMs = options.maxDelayMs ?? 5 * 60_000;
    this.refreshMs = options.refreshMs ?? 10_000;
    this.probeWindowMs = options.probeWindowMs ?? 60_000;
    this.probes = options.probes ?? {};
    this.eventFields = options.eventFields ?? {};
  }

  /** The services' own checks (the clients are built after the breakers, which their answers feed). */
  setProbes(probes: Partial<Record<ServiceName, () => Promise<void>>>): void {
    this.probes = probes;
  }

  /** Whether the service answers a request of no particular customer; true when there is no way to tell. */
  private async answers(service: ServiceName): Promise<boolean> {
    const probe = this.probes[service];
    if (!probe) return false;
    try {
      await probe();
      return true;
    } catch (error) {
      // A final answer (a 4xx) is still an answer: only a failure of the service itself says it is down.
      return outageOf(error) === undefined;
    }
  }

  /** Whether work that needs `services` may run now; when not, how long to hold it. Claims a probe when one is due. */
  async admit(services: readonly ServiceName[] = SERVICES): Promise<Admission> {
    const probes: ServiceName[] = [];
    for (const service of services) {
      const entry = await this.current(service);
      const state = entry.state;
      if (!state) continue;
      const now = this.clock();
      const retryAt = Date.parse(state.retryAt);
      if (now < retryAt) return { admitted: false, service, state, delayMs: this.spread(retryAt - now) };
      const probeUntil = state.probeUntil ? Date.parse(state.probeUntil) : 0;
      if (probeUntil > now) return { admitted: false, service, state, delayMs: this.spread(Math.min(probeUntil - now, this.baseDelayMs)) };
      // Half-open: claim the probe; exactly one contender's conditional write wins.
      const claimed: OutageState = { ...state, probeUntil: new Date(now + this.probeWindowMs).toISOString() };
      if (entry.etag && (await this.store.put(stateKey(service), claimed, entry.etag))) {
        this.remember(service, claimed, null);
        probes.push(service);
        continue;
      }
      entry.readAt = Number.NEGATIVE_INFINITY;
      const fresh = await this.current(service);
      if (!fresh.state) continue;
      return { admitted: false, service, state: fresh.state, delayMs: this.spread(this.baseDelayMs) };
    }
    return { admitted: true, probes };
  }

  /** Every answer of a service (from the HTTP clients): a working one (2xx, 404) counts as the service being back. */
  observe(service: ServiceName, ok: boolean): void {
    if (!ok) return;
    const entry = this.entry(service);
    entry.failures = 0;
    if (entry.state) entry.recovered = true;
  }

  /**
   * A failed invocation: when the failure is one of a whole service and it opens (or re-opens) that service's
   * breaker, the work is held (the caller re-enqueues it after `delayMs`) instead of failing.
   */
  async failed(error: unknown, logger: Logger = this.logger): Promise<HoldDecision> {
    const signal = outageOf(error);
    if (!signal) return { held: false, delayMs: 0 };
    const { service, kind } = signal;
    const entry = await this.current(service);
    entry.recovered = false;
    if (kind === 'unavailable' && !entry.state) {
      entry.failures += 1;
      if (entry.failures < this.failureThreshold) return { held: false, delayMs: 0 };
      if (await this.answers(service)) {
        entry.failures = 0;
        return { held: false, delayMs: 0 };
      }
    }
    const state = await this.open(service, kind, error, logger);
    return { held: true, service, state, delayMs: this.spread(Math.max(0, Date.parse(state.retryAt) - this.clock())) };
  }

  /** After an invocation: closes, for every instance, the breakers of services that answered properly again. */
  async settle(logger: Logger = this.logger): Promise<void> {
    for (const [service, entry] of this.entries) {
      if (!entry.recovered || !entry.state) continue;
      entry.recovered = false;
      const state = entry.state;
      await this.store.delete(stateKey(service));
      this.remember(service, null, null);
      entry.failures = 0;
      const downMs = this.clock() - Date.parse(state.since);
      reportEvent(logger, SERVICE_OUTAGE_EVENT, { service, state: 'resumed', kind: state.kind, since: state.since, retryAt: null, downMs, message: null, ...this.eventFields });
    }
  }

  /** The persisted outages, read now (for the health route). */
  async report(): Promise<OutageReport[]> {
    const reports: OutageReport[] = [];
    for (const service of SERVICES) {
      const entry = this.entry(service);
      entry.readAt = Number.NEGATIVE_INFINITY;
      const { state } = await this.current(service);
      if (state) reports.push({ ...state, action: outageAction(service, state.kind) });
    }
    return reports;
  }

  private async open(service: ServiceName, kind: OutageKind, error: unknown, logger: Logger): Promise<OutageState> {
    const retryAfterMs = error instanceof Error && 'retryAfterMs' in error && typeof error.retryAfterMs === 'number' ? error.retryAfterMs : undefined;
    for (let round = 0; round < 3; round += 1) {
      const entry = await this.current(service);
      const previous = entry.state;
      const now = this.clock();
      // Another invocation re-opened it meanwhile (its probe failed too): nothing to add.
      if (previous && Date.parse(previous.retryAt) > now && !previous.probeUntil) return previous;
      const openings = (previous?.openings ?? 0) + 1;
      const backoff = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (openings - 1));
      const delay = kind === 'throttled' && retryAfterMs !== undefined ? Math.max(retryAfterMs, 1000) : backoff;
      const state: OutageState = {
        service,
        kind,
        since: previous?.since ?? new Date(now).toISOString(),
        retryAt: new Date(now + delay).toISOString(),
        openings,
        message: redact(describeError(error)).slice(0, 1000),
      };
      if (await this.store.put(stateKey(service), state, entry.etag)) {
        this.remember(service, state, null);
        reportEvent(
          logger,
          SERVICE_OUTAGE_EVENT,
          { service, state: 'onHold', kind, since: state.since, retryAt: state.retryAt, downMs: now - Date.parse(state.since), message: state.message, ...this.eventFields },
          'warn',
        );
        return state;
      }
      entry.readAt = Number.NEGATIVE_INFINITY;
    }
    const { state } = await this.current(service);
    if (state) return state;
    throw new Error(`could not record the ${SERVICE_LABELS[service]} outage`);
  }

  private entry(service: ServiceName): Entry {
    let entry = this.entries.get(service);
    if (!entry) {
      entry = { state: null, etag: null, readAt: Number.NEGATIVE_INFINITY, failures: 0, recovered: false };
      this.entries.set(service, entry);
    }
    return entry;
  }

  /** The entry, re-read from storage when the last read is older than refreshMs (or was after a write). */
  private async current(service: ServiceName): Promise<Entry> {
    const entry = this.entry(service);
    if (this.clock() - entry.readAt < this.refreshMs && entry.etag !== null) return entry;
    if (this.clock() - entry.readAt < this.refreshMs && entry.state === null) return entry;
    let stored: { value: OutageState; etag: string } | null;
    try {
      stored = await this.store.get(stateKey(service), parseState);
    } catch (error) {
      // An unreadable row must not stop every transfer: treat it as no outage and overwrite it at the next one.
      this.logger.warn(`outage state of ${SERVICE_LABELS[service]} is unreadable, ignored: ${describeError(error)}`);
      await this.store.delete(stateKey(service)).catch(() => undefined);
      stored = null;
    }
    entry.state = stored?.value ?? null;
    entry.etag = stored?.etag ?? null;
    entry.readAt = this.clock();
    return entry;
  }

  /** After our own write the ETag is unknown (the store does not return it): the next use reads again. */
  private remember(service: ServiceName, state: OutageState | null, etag: string | null): void {
    const entry = this.entry(service);
    entry.state = state;
    entry.etag = etag;
    entry.readAt = state === null ? this.clock() : Number.NEGATIVE_INFINITY;
  }

  /** Spreads held work over a little time after the hold ends, so it does not all come back at once. */
  private spread(delayMs: number): number {
    const jitter = Math.min(30_000, Math.max(1_000, delayMs * 0.2));
    return Math.round(delayMs + this.random() * jitter);
  }
}
