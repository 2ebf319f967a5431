import { createBusinessCentralClient } from '../../shared/businessCentral/client';
import { loadConfig, type Config } from '../../shared/config';
import { createIpaasClient } from '../../shared/ipaas/client';
import { silentLogger } from '../../shared/log';
import { createStorage, type Storage } from '../../shared/storage';
import type { SyncDependencies } from '../../shared/sync/syncCustomer';
import { createFakeWorld } from '../../dev/fakes/world';
import { startMockServer } from './msw';

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

/**
 * A sync test file's world: the settings (the test environment plus `env`), the fakes served by this file's msw
 * server, and the Azurite stores. Call at the top of the file.
 */
export function syncWorld(env: Record<string, string> = {}) {
  const config = loadConfig({ ...process.env, ...env });
  const world = createFakeWorld(config);
  const server = startMockServer(...world.handlers);
  return { config, world, server, bc: world.businessCentral, ipaas: world.ipaas, storage: createStorage(config.storage) };
}
