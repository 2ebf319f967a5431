import { createHash, randomUUID } from 'node:crypto';
import type { BusinessCentralApi, BcCustomer } from '../businessCentral/types';
import { describeError, SyncError, type ErrorCode } from '../errors';
import type { IpaasAddressInput, IpaasApi, IpaasCustomer, IpaasCustomerInput } from '../ipaas/types';
import { maskEmail, redact, type Logger } from '../log';
import { addressesToAdd, applyCustomerMapping, emailKey, type CustomerMapping } from '../mapping';
import type { CustomerLink, CustomerLinkStore, Lease, LeaseStore, TransferAction, TransferRecord, TransferStore } from '../storage/types';
import { transferEventLine } from '../telemetry';
import type { SyncSource } from '../messages';

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

type Outcome = Pick<TransferRecord, 'status' | 'action' | 'errorCode' | 'errorMessage' | 'customerNumber' | 'ipaasCustomerId' | 'addressesAdded'>;

const LEASE_POLL_MS = 100;

/**
 * Transfers one Business Central customer to iPaaS.com by the seed's rules (docs/architecture.md, "Where each rule lives")
 * and records the outcome. Final failures are recorded and returned; transient ones are recorded and
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
    outcome = entity ? await transfer(deps, entity, held, link) : skipped('NotFound', null, 'The customer no longer exists in Business Central');
  } catch (error) {
    failure = error;
    const code: ErrorCode = error instanceof SyncError ? error.code : 'IpaasUnavailable';
    const transient = !(error instanceof SyncError) || error.transient;
    outcome = {
      status: 'Failed',
      action: null,
      errorCode: code,
      errorMessage: redact(`${describeError(error)}${transient ? ' (will be retried)' : ''}`),
      customerNumber,
      ipaasCustomerId: null,
      addressesAdded: 0,
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
  if (record.status === 'Failed') deps.logger.warn(line);
  else deps.logger.info(line);
  if (failure !== undefined && (!(failure instanceof SyncError) || failure.transient)) throw failure;
  return record;
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

function skipped(action: TransferAction, customerNumber: string | null, reason: string, ipaasCustomerId: string | null = null): Outcome {
  return { status: 'Skipped', action, errorCode: null, errorMessage: reason, customerNumber, ipaasCustomerId, addressesAdded: 0 };
}

function failed(code: ErrorCode, message: string, customerNumber: string | null): Outcome {
  return { status: 'Failed', action: null, errorCode: code, errorMessage: message, customerNumber, ipaasCustomerId: null, addressesAdded: 0 };
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

async function transfer(deps: SyncDependencies, entity: BcCustomer, held: HeldLease, knownLink: CustomerLink | null | undefined): Promise<Outcome> {
  const mapping = applyCustomerMapping(entity, deps.mapping);
  const customerNumber = mapping.customer.No || null;
  if (mapping.kind === 'filtered') return skipped('Filtered', customerNumber, mapping.reason);
  if (mapping.kind === 'invalid') {
    const [first] = mapping.problems;
    return failed(first?.code ?? 'MissingEmail', mapping.problems.map((problem) => problem.message).join('; '), customerNumber);
  }
  const { ipaasCustomer: wanted, addresses, hash } = mapping;
  const link = knownLink !== undefined ? knownLink : await deps.links.get(entity.id);
  if (link && link.payloadHash === hash) {
    return skipped('Unchanged', customerNumber, 'Nothing changed since the last successful transfer', link.ipaasCustomerId);
  }

  // Rule 5: email match before create.
  const matches = (await deps.ipaas.findCustomersByEmail(wanted.emailAddress)).filter(
    (candidate) => emailKey(candidate.emailAddress) === emailKey(wanted.emailAddress),
  );
  if (matches.length > 1) {
    return failed('DuplicateEmail', `${matches.length} iPaaS.com customers have the email ${maskEmail(wanted.emailAddress)}`, customerNumber);
  }
  const [match] = matches;
  if (match && link && match.id !== link.ipaasCustomerId) {
    return failed(
      'DuplicateEmail',
      `The email ${maskEmail(wanted.emailAddress)} belongs to iPaaS.com customer ${match.id}, not to the linked customer ${link.ipaasCustomerId}`,
      customerNumber,
    );
  }

  await keepLease(deps, held);
  let target: IpaasCustomer | null = null;
  let action: 'Created' | 'Updated' = 'Updated';
  // Read by the link when the email no longer matches; the record read then serves the update (no second GET).
  const read = !match && link ? await deps.ipaas.readCustomer(link.ipaasCustomerId) : null;
  const existing = match ?? read?.customer ?? null;
  if (existing) {
    // Rule 6: the number must not belong to another iPaaS.com customer.
    if (existing.customerNumber !== wanted.customerNumber) {
      const owners = await deps.ipaas.findCustomersByNumber(wanted.customerNumber);
      if (owners.some((owner) => owner.id !== existing.id)) {
        return failed('DuplicateCustomerNumber', `CustomerNumber ${wanted.customerNumber} already belongs to another iPaaS.com customer`, customerNumber);
      }
    }
    target = sameCustomer(existing, wanted) ? existing : await deps.ipaas.updateCustomer(existing.id, wanted, read ?? undefined);
  }
  if (!target) {
    target = await deps.ipaas.createCustomer(wanted);
    action = 'Created';
  }
  if (!link || link.ipaasCustomerId !== target.id) await deps.ipaas.linkExternalId(target.id, entity.id);

  // Rule 7: the address child collection with PreventDuplicate. Addresses unchanged since the last successful
  // sync of this same iPaaS.com customer were all present then, so listing them again would add nothing.
  let addressesAdded = 0;
  const addressHash = addressesHash(addresses);
  const addressesKnownPresent = action === 'Updated' && link?.ipaasCustomerId === target.id && link.addressHash === addressHash;
  if (addresses.length > 0 && !addressesKnownPresent) {
    const present = action === 'Created' ? [] : await deps.ipaas.listAddresses(target.id);
    for (const address of addressesToAdd(addresses, present, deps.mapping)) {
      await deps.ipaas.addAddress(target.id, address);
      addressesAdded += 1;
    }
  }

  const sourceModifiedAt = Number.isNaN(Date.parse(entity.lastModifiedDateTime)) ? undefined : entity.lastModifiedDateTime;
  await deps.links.save({
    customerId: entity.id,
    ipaasCustomerId: target.id,
    customerNumber: wanted.customerNumber,
    payloadHash: hash,
    lastSyncedAt: (deps.clock ?? (() => new Date()))().toISOString(),
    addressHash,
    ...(sourceModifiedAt ? { sourceModifiedAt } : {}),
  });
  return { status: 'Succeeded', action, errorCode: null, errorMessage: null, customerNumber, ipaasCustomerId: target.id, addressesAdded };
}

/** Stable hash of the mapped addresses (order kept: it is the child collection's order). */
function addressesHash(addresses: readonly IpaasAddressInput[]): string {
  const canonical = JSON.stringify(addresses.map((address) => Object.entries(address).sort(([a], [b]) => a.localeCompare(b))));
  return createHash('sha256').update(canonical).digest('hex');
}

function sameCustomer(current: IpaasCustomer, wanted: IpaasCustomerInput): boolean {
  return (Object.keys(wanted) as Array<keyof IpaasCustomerInput>).every((key) => current[key] === wanted[key]);
}

interface HeldLease {
  lease: Lease;
  /** performance.now() just before it was acquired: a monotonic measure of how much of its TTL is left. */
  acquiredAt: number;
}

/**
 * Before writing, make sure the lease is still ours; a lost lease means another delivery may be writing.
 * A lease is taken over only once expired, so while most of its TTL is left it is ours without asking
 * storage (the common case, which saves a read and a write per transfer); later it is renewed.
 */
async function keepLease(deps: SyncDependencies, held: HeldLease): Promise<void> {
  if (performance.now() - held.acquiredAt < deps.leaseTtlMs / 2) return;
  if (!(await deps.leases.renew(held.lease, deps.leaseTtlMs))) {
    throw new SyncError('ConcurrentSync', 'The transfer lease expired before iPaaS.com was written; retrying', { transient: true });
  }
}
