import { randomUUID } from 'node:crypto';
import type { BusinessCentralApi, BcCustomer } from '../businessCentral/types';
import { describeError, SyncError, type ErrorCode } from '../errors';
import type { IpaasApi } from '../ipaas/types';
import { redact, type Logger } from '../log';
import { applyCustomerMapping, type CustomerMapping } from '../mapping';
import type { CustomerLink, CustomerLinkStore, Lease, LeaseStore, TransferRecord, TransferStore } from '../storage/types';
import { transferEventLine } from '../telemetry';
import type { SyncSource } from '../messages';
import { executePlan, type ExecutionOutcome } from './executePlan';
import { planTransfer, type ExternalIdSettings } from './planSync';

export interface SyncDependencies {
  businessCentral: Pick<BusinessCentralApi, 'getCustomer'>;
  ipaas: IpaasApi;
  transfers: TransferStore;
  links: CustomerLinkStore;
  leases: LeaseStore;
  logger: Logger;
  /** How long one sync may hold the per-customer lease before another may take over. */
  leaseTtlMs: number;
  /** How long to wait for a lease held by a concurrent sync of the same customer before asking the queue to retry. */
  leaseWaitMs?: number;
  clock?: () => Date;
  sleep?: (ms: number) => Promise<void>;
  /** IPAAS_SYSTEM_ID / IPAAS_EXTERNAL_ID_SOURCE; absent or without a system id: no UpdateExternalId calls. */
  externalIds?: ExternalIdSettings;
  /** The mapping collection (CUSTOMER_MAPPING_FILE); the shipped default file when absent. */
  mapping?: CustomerMapping;
}

export interface SyncRequest {
  customerId: string;
  source: SyncSource;
  correlationId: string;
  /** Delivery attempt (the queue's dequeue count), 1 for the first. */
  attempt: number;
  /** When the message was enqueued, for the end-to-end latency in telemetry. */
  enqueuedAt?: string;
  /**
   * The entity as a poll page returned it. Used instead of reading the customer again when it is current
   * (first delivery, not older than the version last synced); otherwise the customer is read as without it.
   */
  snapshot?: BcCustomer;
}

type Outcome = ExecutionOutcome;

const LEASE_POLL_MS = 100;

/**
 * Transfers one Business Central customer to iPaaS.com by the seed's rules (docs/architecture.md, "Where each rule lives")
 * and records the outcome: the planner (planSync.ts, reads only) decides, the executor (executePlan.ts) writes
 * exactly that. Final failures are recorded and returned; transient ones are recorded and
 * rethrown so the queue retries. A per-customer lease plus the email re-check make the sync idempotent:
 * concurrent or repeated deliveries, or a retry after a crash, never create a second iPaaS.com customer.
 */
export async function syncCustomer(deps: SyncDependencies, request: SyncRequest): Promise<TransferRecord> {
  const clock = deps.clock ?? (() => new Date());
  const started = clock();
  let customerNumber: string | null = null;
  let lease: Lease | null = null;
  let outcome: Outcome;
  let failure: unknown;
  try {
    const held = await acquireLease(deps, request.customerId);
    lease = held.lease;
    // With a snapshot the link is read first: it tells whether the snapshot is still current.
    const link = request.snapshot ? await deps.links.get(request.customerId) : undefined;
    const snapshot = request.snapshot && snapshotIsCurrent(deps, request, request.snapshot, link ?? null) ? request.snapshot : undefined;
    const entity = snapshot ?? (await deps.businessCentral.getCustomer(request.customerId));
    customerNumber = entity?.number || null;
    const planned = await planTransfer(deps, request.customerId, entity, link);
    outcome = await executePlan({ ...deps, beforeWrite: () => keepLease(deps, held) }, planned);
  } catch (error) {
    failure = error;
    // Anything but a SyncError is a fault of ours (a TypeError, a broken invariant), not of a remote service.
    const code: ErrorCode = error instanceof SyncError ? error.code : 'InternalError';
    if (!(error instanceof SyncError)) logInternalError(deps.logger, request.customerId, error);
    const transient = !(error instanceof SyncError) || error.transient;
    outcome = {
      status: 'Failed',
      action: null,
      errorCode: code,
      errorMessage: redact(`${describeError(error)}${transient ? ' (will be retried)' : ''}`),
      customerNumber,
      ipaasCustomerId: null,
      addressesAdded: 0,
      warnings: [],
    };
  } finally {
    if (lease) await deps.leases.release(lease).catch(() => undefined);
  }
  const finished = clock();
  const record: TransferRecord = {
    transferId: randomUUID(),
    customerId: request.customerId,
    source: request.source,
    attempt: request.attempt,
    startedAt: started.toISOString(),
    finishedAt: finished.toISOString(),
    durationMs: finished.getTime() - started.getTime(),
    ...outcome,
  };
  await deps.transfers.record(record);
  const line = transferEventLine(record, { correlationId: request.correlationId, ...(request.enqueuedAt ? { enqueuedAt: request.enqueuedAt } : {}) });
  if (record.status === 'Failed' || record.warnings.length > 0) deps.logger.warn(line);
  else deps.logger.info(line);
  if (failure !== undefined && (!(failure instanceof SyncError) || failure.transient)) throw failure;
  return record;
}

/** The stack says where it broke; redact keeps any email or secret the message carried out of the log. */
function logInternalError(logger: Logger, customerId: string, error: unknown): void {
  const detail = error instanceof Error ? (error.stack ?? `${error.name}: ${error.message}`) : String(error);
  logger.error(`syncCustomer: internal error while transferring customer ${customerId}: ${redact(detail)}`);
}

async function acquireLease(deps: SyncDependencies, customerId: string): Promise<HeldLease> {
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const deadline = Date.now() + (deps.leaseWaitMs ?? 15_000);
  for (;;) {
    // Taken before asking: the lease's TTL runs from no earlier than this.
    const acquiredAt = performance.now();
    const lease = await deps.leases.tryAcquire(`customer-${customerId}`, deps.leaseTtlMs);
    if (lease) return { lease, acquiredAt };
    if (Date.now() >= deadline) {
      throw new SyncError('ConcurrentSync', 'Another transfer of this customer is still running', { transient: true });
    }
    await sleep(LEASE_POLL_MS + Math.floor(Math.random() * LEASE_POLL_MS));
  }
}

/**
 * A poll snapshot may be used instead of reading the customer when nothing newer can have been synced since
 * it was taken: on the first delivery (a retry may come much later), and when it is not older than the version
 * the link records. A link without that time (saved before it existed) accepts only a snapshot that maps to
 * the payload last sent, which then ends as Unchanged without writing anything. Anything else reads the customer.
 */
function snapshotIsCurrent(deps: SyncDependencies, request: SyncRequest, snapshot: BcCustomer, link: CustomerLink | null): boolean {
  if (request.attempt > 1 || snapshot.id !== request.customerId) return false;
  const modifiedAt = Date.parse(snapshot.lastModifiedDateTime);
  if (Number.isNaN(modifiedAt)) return false;
  if (!link) return true;
  if (link.sourceModifiedAt) return modifiedAt >= Date.parse(link.sourceModifiedAt);
  const mapping = applyCustomerMapping(snapshot, deps.mapping);
  return mapping.kind === 'mapped' && mapping.hash === link.payloadHash;
}

interface HeldLease {
  lease: Lease;
  /** performance.now() just before it was acquired or last renewed: a monotonic measure of how much of its TTL is left. */
  acquiredAt: number;
}

/**
 * Before writing, make sure the lease is still ours; a lost lease means another delivery may be writing.
 * A lease is taken over only once expired, so while most of its TTL is left it is ours without asking
 * storage (the common case, which saves a read and a write per transfer); later it is renewed.
 */
async function keepLease(deps: SyncDependencies, held: HeldLease): Promise<void> {
  if (performance.now() - held.acquiredAt < deps.leaseTtlMs / 2) return;
  const renewedAt = performance.now();
  if (!(await deps.leases.renew(held.lease, deps.leaseTtlMs))) {
    throw new SyncError('ConcurrentSync', 'The transfer lease expired before iPaaS.com was written; retrying', { transient: true });
  }
  held.acquiredAt = renewedAt;
}
