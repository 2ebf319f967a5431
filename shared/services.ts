import { createBusinessCentralClient } from './businessCentral/client';
import type { BusinessCentralApi } from './businessCentral/types';
import { loadConfig, type Config } from './config';
import { createIpaasClient } from './ipaas/client';
import type { IpaasApi } from './ipaas/types';
import type { Logger } from './log';
import { createStorage, type Storage } from './storage';
import type { SyncDependencies } from './sync/syncCustomer';


/** Everything the functions use, built once per process from the settings (the composition root). */
export interface Services {
  config: Config;
  businessCentral: BusinessCentralApi;
  ipaas: IpaasApi;
  storage: Storage;
  syncDependencies(logger: Logger): SyncDependencies;
}

let cached: Services | undefined;

export function buildServices(config: Config): Services {
  const businessCentral = createBusinessCentralClient(config.businessCentral, config.http);
  const ipaas = createIpaasClient(config.ipaas, config.http);
  const storage = createStorage(config.storage);
  return {
    config,
    businessCentral,
    ipaas,
    storage,
    syncDependencies: (logger) => ({
      businessCentral,
      ipaas,
      transfers: storage.transfers,
      links: storage.links,
      leases: storage.leases,
      logger,
      leaseTtlMs: config.sync.leaseSeconds * 1000,
      externalIds: { systemId: config.ipaas.systemId, source: config.ipaas.externalIdSource },
      mapping: config.mapping.mapping,
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
