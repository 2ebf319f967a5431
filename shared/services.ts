import { BUDGET_LEASE_SECONDS, BUDGET_NAME, createBusinessCentralBudget } from './businessCentral/budget';
import { companyOfBusinessCentralUrl, createBusinessCentralClients } from './businessCentral/client';
import { BlobSlotLeases } from './storage/blobLeases';
import type { BusinessCentralApi } from './businessCentral/types';
import { systemClock, type Clock } from './clock';
import { loadConfig, type CompanyConfig, type Config } from './config';
import { SERVICES } from './errors';
import { isGuid, normalizeGuid } from './guid';
import { createIpaasClient } from './ipaas/client';
import type { IpaasApi } from './ipaas/types';
import { deriveEmailKey, useEmailKey, type Logger } from './log';
import { createStorage, type CompanyStorage, type Storage } from './storage';
import type { CompanyRef } from './storage/companies';
import { ServiceBreakers, StorageOutageTracker } from './sync/outages';
import { RetrySchedule } from './sync/retrySchedule';
import type { HoldDependencies } from './sync/queueWorkers';
import type { SyncDependencies } from './sync/syncCustomer';
import type { CompanyWork } from './sync/companyRuns';
import { RECONCILE_QUEUE } from './queueNames';
import type { CompanyReconcileDependencies, ReconcileDependencies } from './reconcile/runState';
import type { ReconcileScheduler } from './reconcile/queueRun';
import { sendDelayed } from './storage/queues';

/** One configured company: its clients, its rows, its breakers (shared/storage/companies.ts). */
export interface CompanyServices {
  config: CompanyConfig;
  ref: CompanyRef;
  /** This company's Business Central customers (the connection is shared by all companies). */
  businessCentral: BusinessCentralApi;
  /** iPaaS.com with this company's token (shared by companies with the same token). */
  ipaas: IpaasApi;
  storage: CompanyStorage;
  /** This company's hold on Business Central and iPaaS.com: one company's refused access never holds another's work. */
  breakers: ServiceBreakers;
  /** `logger` with this company's name before each line when several companies are configured. */
  logger(base: Logger): Logger;
  syncDependencies(logger: Logger): SyncDependencies;
  holdDependencies(): HoldDependencies;
  reconcileDependencies(logger: Logger): ReconcileDependencies;
  /** What the poll and the subscription timer need of this company. */
  work(logger: Logger): CompanyWork;
}

/** Everything the functions use, built once per process from the settings (the composition root). */
export interface Services {
  config: Config;
  /** The configured companies, in order; the first one's clients and stores are also the fields below. */
  companies: CompanyServices[];
  /** Several companies are configured (routes without a company then need one, or search them all). */
  multiCompany: boolean;
  /** A company by GUID or configured name (case-insensitive); undefined when none is configured. */
  company(idOrName: string): CompanyServices | undefined;
  /**
   * The company of a queue message: its `companyId`, or, for a message queued before several companies were
   * configured (none), the company that served the deployment then. undefined: a company no longer configured.
   */
  companyOf(companyId: string | undefined): Promise<CompanyServices | undefined>;
  businessCentral: BusinessCentralApi;
  ipaas: IpaasApi;
  storage: Storage;
  /** The first company's circuit breakers for Business Central and iPaaS.com (persisted in SyncState). */
  breakers: ServiceBreakers;
  /** Automatic retries of transfers that exhausted their deliveries (persisted in SyncState). */
  retries: RetrySchedule;
  /** The process's one clock: everything above takes its time from it. */
  clock: Clock;
  syncDependencies(logger: Logger): SyncDependencies;
  reconcileDependencies(logger: Logger): ReconcileDependencies;
  /** Sends to the `reconcile` queue. */
  reconcileScheduler: ReconcileScheduler;
  /** What the customer-sync worker needs on top: holding work while a service is on hold. */
  holdDependencies(): HoldDependencies;
}

let cached: Services | undefined;
let processClock: Clock = systemClock;

export interface ServiceOptions {
  /** The process's clock; the machine's by default. */
  clock?: Clock;
}

export function buildServices(config: Config, options: ServiceOptions = {}): Services {
  const clock = options.clock ?? systemClock;
  // Email masks in logs and email digests in storage are keyed per deployment (docs/reliability.md, "Secrets").
  useEmailKey(deriveEmailKey(config.webhook.clientState));
  const refs: CompanyRef[] = config.companies.map((company) => ({ id: company.id, name: company.name }));
  const storage = createStorage(config.storage, undefined, { companies: refs, clock });
  const multiCompany = config.companies.length > 1;
  const breakersOf = new Map<string, ServiceBreakers>();
  // Table Storage is the deployment's: one StorageOutage line per change of state for the instance, not per company.
  const storageOutage = new StorageOutageTracker(clock);
  // Each company its own breakers (their state in its own keys, its own waiting room): one company's refused access never holds another's work.
  for (const company of config.companies) {
    const companyStorage = storage.forCompany({ id: company.id, name: company.name });
    breakersOf.set(
      company.id,
      new ServiceBreakers(companyStorage.state, {
        clock,
        maxRetryAfterMs: config.outage.maxRetryAfterMs,
        waiting: companyStorage.waiting,
        eventFields: { companyId: company.id, companyName: company.name },
        storageOutage,
      }),
    );
  }
  const first = config.companies[0]!;
  // Every working answer tells the breaker its service is back (2xx, and 404: the service answered).
  const ok = (status: number | 'error') => status !== 'error' && ((status >= 200 && status < 300) || status === 404);
  const budget = config.http.bcSharedBudget
    ? { budget: createBusinessCentralBudget(config.http, new BlobSlotLeases(config.storage, BUDGET_NAME, BUDGET_LEASE_SECONDS), { clock }) }
    : {};
  const bcOptions = {
    sleep: clock.sleep,
    onExchange: (exchange: { url: string; status: number | 'error' }) => {
      // A company's own request tells that company's breaker; an environment-level one (subscriptions) the
      // only company, when there is one (with several, one company's refused access must not look like recovery).
      const companyId = companyOfBusinessCentralUrl(exchange.url) ?? (multiCompany ? undefined : first.id);
      if (companyId) breakersOf.get(companyId)?.observe('businessCentral', ok(exchange.status));
    },
    ...budget,
  };
  const companyIds = config.companies.map((company) => company.id);
  const bcClients = createBusinessCentralClients(config.businessCentral, companyIds, config.http, bcOptions);
  // The breakers' probes ask once (no retries in the process): one answer says whether the service is back.
  const probeHttp = { ...config.http, maxAttempts: 1 };
  const bcProbeClients = createBusinessCentralClients(config.businessCentral, companyIds, probeHttp, bcOptions);
  // One iPaaS.com client per distinct token: companies that share a token share its cap and its answers.
  const ipaasClients = new Map<string, { client: IpaasApi; probe: IpaasApi }>();
  const tokenUsers = new Map<string, string[]>();
  for (const company of config.companies) tokenUsers.set(company.ipaas.apiToken, [...(tokenUsers.get(company.ipaas.apiToken) ?? []), company.id]);
  for (const [token, users] of tokenUsers) {
    const ipaasOptions = {
      sleep: clock.sleep,
      onExchange: (exchange: { status: number | 'error' }) => {
        for (const companyId of users) breakersOf.get(companyId)?.observe('ipaas', ok(exchange.status));
      },
    };
    ipaasClients.set(token, {
      client: createIpaasClient({ ...config.ipaas, apiToken: token }, config.http, ipaasOptions),
      probe: createIpaasClient({ ...config.ipaas, apiToken: token }, probeHttp, ipaasOptions),
    });
  }

  const reconcileCompanies = new Map<string, CompanyReconcileDependencies>();
  const companies: CompanyServices[] = config.companies.map((company) => {
    const ref: CompanyRef = { id: company.id, name: company.name };
    const businessCentral = bcClients.get(company.id)!;
    const { client: ipaas, probe: ipaasProbe } = ipaasClients.get(company.ipaas.apiToken)!;
    const companyStorage = storage.forCompany(ref);
    const breakers = breakersOf.get(company.id)!;
    breakers.setProbes(serviceProbes(bcProbeClients.get(company.id)!, ipaasProbe));
    const logger = (base: Logger): Logger => (multiCompany ? companyLogger(base, company.name) : base);
    return {
      config: company,
      ref,
      businessCentral,
      ipaas,
      storage: companyStorage,
      breakers,
      logger,
      holdDependencies: () => ({ breakers, syncQueue: storage.syncQueue, waiting: companyStorage.waiting }),
      syncDependencies: (base) => ({
        businessCentral,
        ipaas,
        transfers: companyStorage.transfers,
        links: companyStorage.links,
        leases: companyStorage.leases,
        logger: logger(base),
        leaseTtlMs: config.sync.leaseSeconds * 1000,
        clock,
        writeTimeoutMs: config.http.timeoutMs,
        externalIds: { systemId: company.ipaas.systemId, source: config.ipaas.externalIdSource },
        mapping: company.mapping.mapping,
        company: ref,
        // The email lease spans companies, as EmailInUse does.
        sharedLeases: storage.leases,
      }),
      reconcileDependencies: (base) => ({
        businessCentral,
        ipaas,
        links: companyStorage.links,
        mapping: company.mapping.mapping,
        runs: storage.reconciliations,
        syncQueue: storage.syncQueue,
        logger: logger(base),
        clock,
        // A run over several companies reads each through its own clients, links and mapping, and sees every
        // company's links (one iPaaS.com customer belongs to one customer of any company).
        companyDeps: (companyId: string) => reconcileCompanies.get(companyId),
        allLinks: storage.links,
      }),
      work: (base) => {
        const companyLogger = logger(base);
        // The run's own logger: a probe of this call that closes a breaker writes its `resumed` line there.
        return { ref, businessCentral, state: companyStorage.state, leases: companyStorage.leases, logger: companyLogger, onHold: () => breakers.onHold(SERVICES, companyLogger) };
      },
    };
  });
  const [primary] = companies as [CompanyServices, ...CompanyServices[]];
  for (const company of companies) {
    reconcileCompanies.set(company.ref.id, { businessCentral: company.businessCentral, ipaas: company.ipaas, links: company.storage.links, mapping: company.config.mapping.mapping });
  }

  const byKey = new Map<string, CompanyServices>();
  for (const company of companies) {
    byKey.set(company.ref.id, company);
    byKey.set(company.ref.name.toLowerCase(), company);
  }
  return {
    config,
    companies,
    multiCompany,
    company: (idOrName) => {
      const trimmed = idOrName.trim();
      const id = normalizeGuid(trimmed);
      return isGuid(id) ? byKey.get(id) ?? byKey.get(trimmed.toLowerCase()) : byKey.get(trimmed.toLowerCase());
    },
    companyOf: async (companyId) => {
      if (companyId) return byKey.get(normalizeGuid(companyId));
      // Queued before several companies existed: the company that served the deployment then.
      const owner = storage.keyspace ? await storage.keyspace.ownerId() : undefined;
      return (owner && byKey.get(owner)) || primary;
    },
    businessCentral: primary.businessCentral,
    ipaas: primary.ipaas,
    storage,
    breakers: primary.breakers,
    clock,
    retries: new RetrySchedule(config.storage, { clock, ...(storage.keyspace ? { keyspace: storage.keyspace } : {}) }),
    holdDependencies: () => primary.holdDependencies(),
    syncDependencies: (logger) => primary.syncDependencies(logger),
    reconcileDependencies: (logger) => primary.reconcileDependencies(logger),
    reconcileScheduler: (message, delaySeconds) => sendDelayed(config.storage, RECONCILE_QUEUE, message, delaySeconds),
  };
}

/** Lines of one company's work, told apart when several companies are configured: `[CRONUS Canada] poll started`. */
export function companyLogger(base: Logger, name: string): Logger {
  const prefix = `[${name}] `;
  return {
    info: (message, ...details) => base.info(`${prefix}${message}`, ...details),
    warn: (message, ...details) => base.warn(`${prefix}${message}`, ...details),
    error: (message, ...details) => base.error(`${prefix}${message}`, ...details),
  };
}

/**
 * Requests of no particular customer that tell whether a service answers at all (see ServiceBreakers): the
 * first page (one customer) of Business Central's customers; iPaaS.com's customer 0, which does not exist (404).
 */
export function serviceProbes(businessCentral: BusinessCentralApi, ipaas: IpaasApi): Record<'businessCentral' | 'ipaas', () => Promise<void>> {
  return {
    businessCentral: async () => {
      for await (const _page of businessCentral.listCustomers({ pageSize: 1 })) break;
    },
    ipaas: async () => {
      await ipaas.getCustomer('0');
    },
  };
}

/** The process-wide services; a settings problem surfaces here as one ConfigError naming the setting. */
export function getServices(): Services {
  cached ??= buildServices(loadConfig(process.env), { clock: processClock });
  return cached;
}

/**
 * The clock every service of this process takes its time from (the local host may give a process a clock that
 * runs ahead, for fault tests); forgets the services built with the previous one.
 */
export function useClock(clock: Clock): void {
  processClock = clock;
  cached = undefined;
}

/** Forget the built services (after the settings changed: tests, the local host). */
export function resetServices(): void {
  cached = undefined;
}
