import { createBusinessCentralBudget, createBusinessCentralClient } from './businessCentral/client';
import type { BusinessCentralApi } from './businessCentral/types';
import { loadConfig, type Config } from './config';
import { createIpaasClient } from './ipaas/client';
import type { IpaasApi } from './ipaas/types';
import { deriveEmailKey, useEmailKey, type Logger } from './log';
import { createStorage, type Storage } from './storage';
import { ServiceBreakers } from './sync/outages';
import { RetrySchedule } from './sync/retrySchedule';
import type { HoldDependencies } from './sync/queueWorkers';
import type { SyncDependencies } from './sync/syncCustomer';
import { RECONCILE_QUEUE } from './queueNames';
import type { ReconcileDependencies } from './reconcile/reconcile';
import type { ReconcileScheduler } from './reconcile/queueRun';
import { sendDelayed } from './storage/queues';


/** Everything the functions use, built once per process from the settings (the composition root). */
export interface Services {
  config: Config;
  businessCentral: BusinessCentralApi;
  ipaas: IpaasApi;
  storage: Storage;
  /** The process's circuit breakers for Business Central and iPaaS.com (persisted in SyncState). */
  breakers: ServiceBreakers;
  /** Automatic retries of transfers that exhausted their deliveries (persisted in SyncState). */
  retries: RetrySchedule;
  syncDependencies(logger: Logger): SyncDependencies;
  reconcileDependencies(logger: Logger): ReconcileDependencies;
  /** Sends to the `reconcile` queue. */
  reconcileScheduler: ReconcileScheduler;
  /** What the customer-sync worker needs on top: holding work while a service is on hold. */
  holdDependencies(): HoldDependencies;
}

let cached: Services | undefined;

export function buildServices(config: Config): Services {
  // Email masks in logs and email digests in storage are keyed per deployment (docs/reliability.md, "Secrets").
  useEmailKey(deriveEmailKey(config.webhook.clientState));
  const storage = createStorage(config.storage);
  const breakers = new ServiceBreakers(storage.state);
  // Every working answer tells the breaker its service is back (2xx, and 404: the service answered).
  const ok = (status: number | 'error') => status !== 'error' && ((status >= 200 && status < 300) || status === 404);
  const businessCentral = createBusinessCentralClient(config.businessCentral, config.http, {
    onExchange: (exchange) => breakers.observe('businessCentral', ok(exchange.status)),
    ...(config.http.bcSharedBudget ? { budget: createBusinessCentralBudget(config.http, storage.leases) } : {}),
  });
  const ipaas = createIpaasClient(config.ipaas, config.http, { onExchange: (exchange) => breakers.observe('ipaas', ok(exchange.status)) });
  breakers.setProbes(serviceProbes(businessCentral, ipaas));
  return {
    config,
    businessCentral,
    ipaas,
    storage,
    breakers,
    retries: new RetrySchedule(config.storage),
    holdDependencies: () => ({ breakers, syncQueue: storage.syncQueue }),
    syncDependencies: (logger) => ({
      businessCentral,
      ipaas,
      transfers: storage.transfers,
      links: storage.links,
      leases: storage.leases,
      logger,
      leaseTtlMs: config.sync.leaseSeconds * 1000,
      writeTimeoutMs: config.http.timeoutMs,
      externalIds: { systemId: config.ipaas.systemId, source: config.ipaas.externalIdSource },
      mapping: config.mapping.mapping,
    }),
    reconcileDependencies: (logger) => ({
      businessCentral,
      ipaas,
      links: storage.links,
      runs: storage.reconciliations,
      syncQueue: storage.syncQueue,
      logger,
      mapping: config.mapping.mapping,
    }),
    reconcileScheduler: (message, delaySeconds) => sendDelayed(config.storage, RECONCILE_QUEUE, message, delaySeconds),
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
  cached ??= buildServices(loadConfig(process.env));
  return cached;
}

/** Forget the built services (after the settings changed: tests, the local host). */
export function resetServices(): void {
  cached = undefined;
}
