import { createBusinessCentralClient } from '../../shared/businessCentral/client';
import type { Config } from '../../shared/config';
import { createIpaasClient } from '../../shared/ipaas/client';
import { silentLogger } from '../../shared/log';
import type { Storage } from '../../shared/storage';
import type { SyncDependencies } from '../../shared/sync/syncCustomer';

const noWait = async (): Promise<void> => {};

/** syncCustomer's collaborators for a test: real clients (retries without waiting) against the fakes, real Azurite stores. */
export function syncDependencies(config: Config, storage: Storage, overrides: Partial<SyncDependencies> = {}): SyncDependencies {
  return {
    businessCentral: createBusinessCentralClient(config.businessCentral, config.http, { sleep: noWait }),
    ipaas: createIpaasClient(config.ipaas, config.http, { sleep: noWait }),
    transfers: storage.transfers,
    links: storage.links,
    leases: storage.leases,
    logger: silentLogger,
    leaseTtlMs: 30_000,
    leaseWaitMs: 20_000,
    externalIds: { systemId: config.ipaas.systemId, source: config.ipaas.externalIdSource },
    ...overrides,
  };
}
