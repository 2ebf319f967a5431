import { FakeBusinessCentral, type FakeBcCustomerInput } from '../../dev/fakes/businessCentral';
import { FakeEntraId } from '../../dev/fakes/entraId';
import { FakeIpaas } from '../../dev/fakes/ipaas';
import { createBusinessCentralClient } from '../../shared/businessCentral/client';
import type { Config } from '../../shared/config';
import { createIpaasClient } from '../../shared/ipaas/client';
import { silentLogger } from '../../shared/log';
import { SYNC_QUEUE } from '../../shared/queueNames';
import { advanceReconciliation, startReconciliation, type ReconcileDependencies, type ReconcileReport } from '../../shared/reconcile';
import type { Storage } from '../../shared/storage';
import { handleSyncMessage } from '../../shared/sync/queueWorkers';
import { syncCustomer } from '../../shared/sync/syncCustomer';
import { resetStorage } from '../support/storage';
import { syncDependencies } from '../support/sync';
import { takeMessages } from '../triggers/harness';

const noWait = async (): Promise<void> => {};

/** Fakes with small pages, so a handful of customers spans several pages of both lists. */
export function createReconcileFakes(config: Config, ipaasPageSize = 3) {
  const bcConfig = config.businessCentral;
  const entra = new FakeEntraId({ authorityHost: bcConfig.authorityHost, tenantId: bcConfig.tenantId, clientId: bcConfig.clientId, clientSecret: bcConfig.clientSecret });
  const bc = new FakeBusinessCentral({
    apiBaseUrl: bcConfig.apiBaseUrl,
    tenantId: bcConfig.tenantId,
    environment: bcConfig.environment,
    companyId: bcConfig.companyId,
    entra,
  });
  const ipaas = new FakeIpaas({ apiBaseUrl: config.ipaas.apiBaseUrl, apiToken: config.ipaas.apiToken, pageSize: ipaasPageSize });
  return { entra, bc, ipaas, handlers: [...entra.handlers, ...bc.handlers, ...ipaas.handlers] };
}

/** A clean start for each test: empty storage, no customer on either side, no fault, no request counted. */
export async function resetReconcileWorld(fakes: Pick<ReturnType<typeof createReconcileFakes>, 'bc' | 'ipaas'>): Promise<void> {
  await resetStorage();
  fakes.ipaas.reset();
  fakes.bc.faults.clear();
  for (const customer of fakes.bc.customers()) fakes.bc.deleteCustomer(customer.id);
  fakes.bc.resetRequests();
}

/** One whole run, started and advanced in-process until it completes (the command's way). */
export async function runToEnd(deps: ReconcileDependencies, fix = false): Promise<ReconcileReport> {
  const started = await startReconciliation(deps, { fix, trigger: 'command' });
  if (!started.started) throw new Error('a run is already running');
  const result = await advanceReconciliation(deps, started.runId);
  if (result.outcome !== 'completed') throw new Error(`run ended ${result.outcome}`);
  return result.report;
}

export function reconcileDependencies(config: Config, storage: Storage, overrides: Partial<ReconcileDependencies> = {}): ReconcileDependencies {
  return {
    businessCentral: createBusinessCentralClient(config.businessCentral, config.http, { sleep: noWait }),
    ipaas: createIpaasClient(config.ipaas, config.http, { sleep: noWait }),
    links: storage.links,
    runs: storage.reconciliations,
    syncQueue: storage.syncQueue,
    logger: silentLogger,
    pageSize: 3,
    ipaasPagesPerStep: 2,
    ...overrides,
  };
}

export function person(bc: FakeBusinessCentral, number: string, name: string, overrides: FakeBcCustomerInput = {}) {
  return bc.upsertCustomer({ number, displayName: name, type: 'Person', email: `${name.toLowerCase().replace(/[^a-z]+/gu, '.')}@contoso.example`, ...overrides });
}

/** Transfers a customer through the real sync (creates the iPaaS.com customer and the link). */
export async function transfer(config: Config, storage: Storage, customerId: string): Promise<void> {
  const record = await syncCustomer(syncDependencies(config, storage), { customerId, source: 'manual', correlationId: 'test', attempt: 1 });
  if (record.status !== 'Succeeded') throw new Error(`setup transfer failed: ${record.errorCode ?? ''} ${record.errorMessage ?? ''}`);
}

/** Runs every message in customer-sync through the worker's handler, as the queue trigger would. */
export async function processSyncQueue(config: Config, storage: Storage): Promise<number> {
  const messages = await takeMessages(SYNC_QUEUE);
  for (const message of messages) await handleSyncMessage(syncDependencies(config, storage), message, { dequeueCount: 1 });
  return messages.length;
}
