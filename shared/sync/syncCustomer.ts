import { dateOf, systemClock, type Clock } from '../clock';
import { randomUUID } from 'node:crypto';
import type { BusinessCentralApi, BcCustomer } from '../businessCentral/types';
import { describeError, SyncError, type ErrorCode } from '../errors';
import type { IpaasApi } from '../ipaas/types';
import { emailDigest, redact, type Logger } from '../log';
import { applyCustomerMapping, defaultCustomerMapping, type CustomerMapping } from '../mapping';
import type { CustomerLink, CustomerLinkStore, Lease, LeaseStore, LinkState, TransferRecord, TransferStore } from '../storage/types';
import { reportTransfer } from '../telemetry';
import type { SyncSource } from '../messages';
import type { CompanyRef } from '../storage/companies';
import { executePlan, type ExecutionOutcome } from './executePlan';
import { planTransfer, type ExternalIdSettings } from './planSync';
import { TransferLeases } from './transferLeases';
import { withWriteGuard } from '../http/writeGuard';

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
  /**
   * The longest one write request can take (HTTP_TIMEOUT_MS): a write starts only while the lease is ours for at
   * least that long (shared/sync/transferLeases.ts). A quarter of the lease's time when absent.
   */
  writeTimeoutMs?: number;
  /**
   * Monotonic milliseconds for the age of the leases held: the clock's when one is given (simulated time), else
   * performance.now(), which no adjustment of the system time can move.
   */
  leaseClock?: () => number;
  /** Time for records, lease waits and the wait for a create in doubt (the process's clock; a simulated one in tests). */
  clock?: Clock;
  /** Overrides the clock's sleep (tests that count waits). */
  sleep?: (ms: number) => Promise<void>;
  /** IPAAS_SYSTEM_ID / IPAAS_EXTERNAL_ID_SOURCE; absent or without a system id: no UpdateExternalId calls. */
  externalIds?: ExternalIdSettings;
  /** The mapping collection (CUSTOMER_MAPPING_FILE); the shipped default file when absent. */
  mapping?: CustomerMapping;
  /** The Business Central company the customer belongs to; its id and name go on every record and telemetry line. */
  company?: CompanyRef;
  /** Leases of the whole deployment (the email lease spans companies); `leases` when absent. */
  sharedLeases?: LeaseStore;
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
  const clock = deps.clock ?? systemClock;
  const started = dateOf(clock);
  let customerNumber: string | null = null;
  let outcome: Outcome;
  let failure: unknown;
  let attempted: string | null = null;
  let busy: LeaseBusyError | undefined;
  // Before anything is read or recorded: a busy lease means another transfer of this customer is running
  // (LeaseBusyError; the worker puts this message back with a short delay instead of holding a worker).
  const held = await acquireLease(deps, `customer-${request.customerId}`);
  // Renewed while the transfer works, and checked before every write (fencing): see transferLeases.ts.
  const leases = new TransferLeases({
    leases: deps.leases,
    ttlMs: deps.leaseTtlMs,
    logger: deps.logger,
    ...(deps.writeTimeoutMs === undefined ? {} : { writeTimeoutMs: deps.writeTimeoutMs }),
    now: leaseClockOf(deps),
  });
  leases.add(held.lease, held.acquiredAt);
  // Taken by the planner before it matches a customer not linked yet by email, or creates (see reserveEmail).
  let emailReserved = false;
  const reserveEmail = async (emailAddress: string): Promise<void> => {
    if (emailReserved) return;
    // Across companies: one iPaaS.com customer per email, whichever company the customers belong to.
    const email = await acquireLease(
      { ...deps, leases: deps.sharedLeases ?? deps.leases },
      emailLeaseName(emailAddress),
      'A transfer of another customer with the same email is running',
    );
    emailReserved = true;
    leases.add(email.lease, email.acquiredAt);
  };
  try {
    // The link is read first, with the version last attempted and any create in doubt, in one read: it tells
    // whether a snapshot is still current, and whether it is the very version already tried.
    const state = await readLinkState(deps, request.customerId);
    const link = state.link;
    if (request.snapshot && alreadyTried(request.snapshot, state, deps.externalIds?.systemId, deps.mapping)) {
      return unchangedSinceLastAttempt(deps, request, started);
    }
    const snapshot = request.snapshot && snapshotIsCurrent(deps, request, request.snapshot, link ?? null) ? request.snapshot : undefined;
    const entity = snapshot ?? (await deps.businessCentral.getCustomer(request.customerId));
    customerNumber = entity?.number || null;
    attempted = entity?.lastModifiedDateTime ?? null;
    // A reconciliation's message: iPaaS.com was found to differ from what was last sent, so look at it again.
    const plan = (inDoubtMs: number) =>
      planTransfer({ ...deps, reserveEmail }, request.customerId, entity, link, {
        compareWithIpaas: request.source === 'reconcile',
        pendingCreates: state.pendingCreates ?? [],
        now: dateOf(clock),
        inDoubtMs,
      });
    let planned = await plan(2 * (deps.writeTimeoutMs ?? deps.leaseTtlMs / 4));
    const waitMs = planned.work?.createWaitMs ?? 0;
    if (waitMs > 0) {
      // An earlier create got no answer a moment ago and may still land in iPaaS.com: wait until it would have
      // (the leases are kept meanwhile), then look again, rather than send a second create.
      deps.logger.info(`customer ${request.customerId}: an earlier create got no answer; looking again in ${Math.ceil(waitMs / 1000)} s before creating`);
      await (deps.sleep ?? clock.sleep)(waitMs);
      planned = await plan(0);
    }
    const fence = () => leases.ensureWritable();
    outcome = await withWriteGuard(fence, () => executePlan({ ...deps, beforeWrite: fence }, planned));
  } catch (error) {
    // The email is reserved by another customer's transfer right now: as a busy lease, nothing done, nothing recorded.
    if (error instanceof LeaseBusyError) busy = error;
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
    await leases.releaseAll();
  }
  if (busy) throw busy;
  const finished = dateOf(clock);
  const record: TransferRecord = {
    transferId: randomUUID(),
    customerId: request.customerId,
    ...companyFields(deps.company),
    source: request.source,
    attempt: request.attempt,
    startedAt: started.toISOString(),
    finishedAt: finished.toISOString(),
    durationMs: finished.getTime() - started.getTime(),
    ...outcome,
  };
  await deps.transfers.record(record);
  // A version that ended without success for good (a final failure, filtered) is remembered, so polls that
  // meet the same, unchanged customer again do not repeat its reads and iPaaS.com calls.
  const final = failure === undefined || (failure instanceof SyncError && !failure.transient);
  if (attempted && final && (record.status === 'Failed' || record.action === 'Filtered')) {
    await deps.links.recordAttempt?.(request.customerId, attempted, (deps.mapping ?? defaultCustomerMapping()).fingerprint).catch((error: unknown) => deps.logger.warn(`could not remember the attempted version: ${describeError(error)}`));
  }
  reportTransfer(
    deps.logger,
    record,
    { correlationId: request.correlationId, ...(request.enqueuedAt ? { enqueuedAt: request.enqueuedAt } : {}) },
    record.status === 'Failed' || record.warnings.length > 0 ? 'warn' : 'info',
  );
  if (failure !== undefined && (!(failure instanceof SyncError) || failure.transient)) throw failure;
  return record;
}

/** `companyId` and `companyName` of a record, when the sync knows its company. */
export function companyFields(company: CompanyRef | undefined): Pick<TransferRecord, 'companyId' | 'companyName'> {
  return company ? { companyId: company.id, companyName: company.name } : {};
}

/** The stack says where it broke; redact keeps any email or secret the message carried out of the log. */
function logInternalError(logger: Logger, customerId: string, error: unknown): void {
  const detail = error instanceof Error ? (error.stack ?? `${error.name}: ${error.message}`) : String(error);
  logger.error(`syncCustomer: internal error while transferring customer ${customerId}: ${redact(detail)}`);
}

/** Another transfer of the customer holds its lease (after `leaseWaitMs`): nothing was done or recorded. */
export class LeaseBusyError extends SyncError {
  constructor(message = 'Another transfer of this customer is still running') {
    super('ConcurrentSync', message, { transient: true });
    this.name = 'LeaseBusyError';
  }
}

async function readLinkState(deps: SyncDependencies, customerId: string): Promise<LinkState> {
  if (deps.links.getState) return deps.links.getState(customerId);
  return { link: await deps.links.get(customerId), lastAttemptedModifiedAt: null, lastAttemptedMapping: null };
}

/**
 * A poll snapshot of exactly the version already tried: the one that ended without success for good, or the
 * one last transferred (when it maps to the payload then sent). Nothing can have changed: no read, no call.
 */
function alreadyTried(
  snapshot: BcCustomer,
  state: LinkState,
  systemId: number | undefined,
  mapping: CustomerMapping | undefined,
): boolean {
  const version = snapshot.lastModifiedDateTime;
  if (!version || Number.isNaN(Date.parse(version))) return false;
  // Tried at this version under this very mapping; another mapping (a filter that now admits it) tries again.
  const sameMapping = state.lastAttemptedMapping === (mapping ?? defaultCustomerMapping()).fingerprint;
  if (state.lastAttemptedModifiedAt === version && sameMapping && (!state.link?.sourceModifiedAt || Date.parse(state.link.sourceModifiedAt) < Date.parse(version))) return true;
  if (state.link?.sourceModifiedAt === version) {
    // An external id link iPaaS.com has not accepted yet is still due: that sync must run.
    if (systemId !== undefined && !state.link.externalIdKey?.startsWith(`${systemId}:`)) return false;
    // The configured mapping, as the sync that saved the hash used: a mapping change makes the snapshot "changed".
    const mapped = applyCustomerMapping(snapshot, mapping);
    return mapped.kind === 'mapped' && mapped.hash === state.link.payloadHash;
  }
  return false;
}

/** Not recorded (a row every poll would only bury the history) and not a TransferCompleted line: nothing was done. */
function unchangedSinceLastAttempt(deps: SyncDependencies, request: SyncRequest, started: Date): TransferRecord {
  const at = started.toISOString();
  deps.logger.info(`customer ${request.customerId}: poll snapshot of the version already tried (${request.snapshot?.lastModifiedDateTime}); nothing to do`);
  return {
    transferId: randomUUID(),
    customerId: request.customerId,
    ...companyFields(deps.company),
    customerNumber: request.snapshot?.number || null,
    source: request.source,
    status: 'Skipped',
    action: 'Unchanged',
    errorCode: null,
    errorMessage: 'Unchanged since the last attempt at this version; nothing done',
    ipaasCustomerId: null,
    addressesAdded: 0,
    attempt: request.attempt,
    startedAt: at,
    finishedAt: at,
    durationMs: 0,
    warnings: [],
  };
}

/**
 * The lease on an email (by its keyed digest: no address in storage): held from the email match of a customer
 * not linked yet until its link is saved, so two Business Central customers with one email never create two
 * iPaaS.com customers, nor claim one, at the same moment.
 */
export function emailLeaseName(emailAddress: string): string {
  return `email-${emailDigest(emailAddress)}`;
}

/** The monotonic milliseconds lease ages are measured on (see SyncDependencies.leaseClock). */
function leaseClockOf(deps: SyncDependencies): () => number {
  if (deps.leaseClock) return deps.leaseClock;
  const clock = deps.clock;
  return clock ? () => clock.now() : () => performance.now();
}

async function acquireLease(deps: SyncDependencies, name: string, busyMessage?: string): Promise<HeldLease> {
  const clock = deps.clock ?? systemClock;
  const sleep = deps.sleep ?? clock.sleep;
  const deadline = clock.now() + (deps.leaseWaitMs ?? 15_000);
  for (;;) {
    // Taken before asking: the lease's TTL runs from no earlier than this.
    const acquiredAt = leaseClockOf(deps)();
    const lease = await deps.leases.tryAcquire(name, deps.leaseTtlMs);
    if (lease) return { lease, acquiredAt };
    if (clock.now() >= deadline) {
      throw new LeaseBusyError(busyMessage);
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
  /** Monotonic time just before it was acquired. */
  acquiredAt: number;
}
