import { createBusinessCentralClient } from './businessCentral/client';
import type { BusinessCentralApi } from './businessCentral/types';
import { loadConfig, type Config } from './config';
import { createIpaasClient } from './ipaas/client';
import type { IpaasApi } from './ipaas/types';
import type { Logger } from './log';
import { createStorage } from './storage';
import { ServiceBreakers } from './sync/outages';
import type { HoldDependencies } from './sync/queueMessages';
import type { SyncDependencies } from './sync/syncCustomer';

export type Storage = ReturnType<typeof createStorage>;

/** Everything the functions use, built once per process from the settings (the composition root). */
export interface Services {
  config: Config;
  businessCentral: BusinessCentralApi;
  ipaas: IpaasApi;
  storage: Storage;
  /** The process's circuit breakers for Business Central and iPaaS.com (persisted in SyncState). */
  breakers: ServiceBreakers;
  syncDependencies(logger: Logger): SyncDependencies;
  /** What the customer-sync worker needs on top: holding work while a service is on hold. */
  holdDependencies(): HoldDependencies;
}

let cached: Services | undefined;

export function buildServices(config: Config): Services {
  const storage = createStorage(config.storage);
  const breakers = new ServiceBreakers(storage.state);
  // Every working answer tells the breaker its service is back (2xx, and 404: the service answered).
  const ok = (status: number | 'error') => status !== 'error' && ((status >= 200 && status < 300) || status === 404);
  const businessCentral = createBusinessCentralClient(config.businessCentral, config.http, {
    onExchange: (exchange) => breakers.observe('businessCentral', ok(exchange.status)),
  });
  const ipaas = createIpaasClient(config.ipaas, config.http, { onExchange: (exchange) => breakers.observe('ipaas', ok(exchange.status)) });
  return {
    config,
    businessCentral,
    ipaas,
    storage,
    breakers,
    holdDependencies: () => ({ breakers, syncQueue: storage.syncQueue }),
    syncDependencies: (logger) => ({
      businessCentral,
      ipaas,
      transfers: storage.transfers,
      links: storage.links,
      leases: storage.leases,
      logger,
      leaseTtlMs: config.sync.leaseSeconds * 1000,
    }),
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
