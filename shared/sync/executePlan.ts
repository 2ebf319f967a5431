import { isoNow, systemClock, type Clock } from '../clock';
import { describeError, SyncError } from '../errors';
import type { IpaasApi, IpaasCustomer } from '../ipaas/types';
import { emailDigest, redact } from '../log';
import { addressesToAdd, type CustomerMapping } from '../mapping';
import { sameOwner } from '../storage/linkStore';
import type { CustomerLinkStore, PendingCreate, TransferRecord } from '../storage/types';
import { duplicateNumberReason, emailInUseReason, externalIdLinkNeeded, isEarlierCreate, type PlannedSync } from './planSync';

/** What a transfer ended as (the TransferRecord fields the executor decides). */
export type ExecutionOutcome = Pick<
  TransferRecord,
  'status' | 'action' | 'errorCode' | 'errorMessage' | 'customerNumber' | 'ipaasCustomerId' | 'addressesAdded' | 'warnings'
>;

export interface ExecuteDependencies {
  ipaas: IpaasApi;
  /** `claim` / `releaseClaim` (reverse links), when the store has them. */
  links: Pick<CustomerLinkStore, 'save' | 'claim' | 'releaseClaim' | 'recordCreates'>;
  clock?: Clock;
  /**
   * Called before every write to iPaaS.com: throws when the sync may no longer write (for example, its
   * per-customer lease was lost). The real sync passes its lease check; nothing else needs one.
   */
  beforeWrite?: () => Promise<void>;
  /** The mapping collection the plan was made with (its PreventDuplicate rule); the default file when absent. */
  mapping?: CustomerMapping;
}

export const EXTERNAL_ID_WARNING = 'ExternalIdNotLinked';

/**
 * Carries out a plan made by planTransfer: exactly the writes it names, in order (create or update, the external
 * id link, the addresses), then saves the link. A race since planning (the customer deleted in iPaaS.com, its
 * number taken) is handled here; a failed external id link never fails the transfer: it becomes a warning and
 * stays pending in the link table, so the next sync of the customer tries again.
 */
export async function executePlan(deps: ExecuteDependencies, planned: PlannedSync): Promise<ExecutionOutcome> {
  const { plan, work } = planned;
  const base = { customerNumber: plan.customerNumber, warnings: [] as string[] };
  if (plan.outcome === 'Skipped') {
    return { ...base, status: 'Skipped', action: planned.skipAction, errorCode: null, errorMessage: plan.reason, ipaasCustomerId: null, addressesAdded: 0 };
  }
  if (plan.outcome === 'Fail' || !work) {
    return { ...base, status: 'Failed', action: null, errorCode: plan.errorCode, errorMessage: plan.reason, ipaasCustomerId: null, addressesAdded: 0 };
  }
  const beforeWrite = deps.beforeWrite ?? (() => Promise.resolve());
  const { wanted, link, externalId } = work;

  if (plan.outcome === 'Unchanged' && !work.existing) {
    if (!plan.externalIdLink || !externalId || !link) {
      return { ...base, status: 'Skipped', action: 'Unchanged', errorCode: null, errorMessage: plan.reason, ipaasCustomerId: plan.ipaasCustomerId, addressesAdded: 0 };
    }
    // Only the pending external id link is due.
    await beforeWrite();
    const warning = await linkExternalId(deps.ipaas, externalId.systemId, link.ipaasCustomerId, externalId.externalId);
    if (!warning) await deps.links.save({ ...link, externalIdKey: externalId.key }, { ifMatch: link.etag ?? null });
    return {
      ...base,
      status: 'Succeeded',
      action: 'Unchanged',
      errorCode: null,
      errorMessage: null,
      ipaasCustomerId: link.ipaasCustomerId,
      addressesAdded: 0,
      warnings: warning ? [warning] : [],
    };
  }

  let target: IpaasCustomer | null = null;
  // Unchanged: the customer found in iPaaS.com already holds the data, so no PUT is sent (never reported as Updated).
  let action: 'Created' | 'Updated' | 'Unchanged' = plan.outcome === 'Unchanged' ? 'Unchanged' : 'Updated';
  // The iPaaS.com customer this transfer holds the reverse link of (claimed now, or before).
  let claimed: string | undefined = link?.claimedIpaasCustomerId;
  const clock = deps.clock ?? systemClock;
  let pendingCreates = work.pendingCreates;
  let claimedNow: string | undefined;
  // IPAAS_ADDRESS_MODE=nested: the addresses travel inside the customer's create or update body, not one by one.
  const nested = deps.ipaas.addressMode === 'nested';
  let nestedSent = 0;
  try {
    if (work.existing) {
      const existing = work.existing;
      if (work.claimExisting && deps.links.claim) {
        // Atomic: of two customers with one email, exactly one gets it; the other writes nothing.
        await beforeWrite();
        const holder = await deps.links.claim(existing.id, work.owner);
        if (!sameOwner(holder, work.owner)) {
          throw new SyncError('EmailInUse', emailInUseReason(existing.id, wanted.emailAddress, holder, true), { transient: false });
        }
        if (claimed !== existing.id) claimedNow = existing.id;
        claimed = existing.id;
      }
      const nestedAddresses = nested ? work.addresses : [];
      if (plan.changes.length === 0 && nestedAddresses.length === 0) target = existing;
      else {
        await beforeWrite();
        target = await confirmDuplicateNumber(deps.ipaas, wanted.customerNumber, existing.id, () =>
          nested
            ? deps.ipaas.updateCustomer(existing.id, wanted, work.existingRecord ?? undefined, nestedAddresses)
            : deps.ipaas.updateCustomer(existing.id, wanted, work.existingRecord ?? undefined),
        );
        if (target) nestedSent = nestedAddresses.length;
      }
    }
    if (!target) {
      // Planned as a create, or the customer to update was deleted in iPaaS.com meanwhile (then it gets every address).
      const createAddresses = nested ? (work.existing ? addressesToAdd(work.mappedAddresses, [], deps.mapping) : work.addresses) : [];
      await beforeWrite();
      // Remembered before it is sent: should its answer be lost, the next attempt recognises what it made.
      const sent: PendingCreate = { customerNumber: wanted.customerNumber, emailDigest: emailDigest(wanted.emailAddress), sentAt: isoNow(clock) };
      pendingCreates = [...work.pendingCreates, sent].slice(-MAX_PENDING_CREATES);
      await deps.links.recordCreates?.(work.entity.id, pendingCreates);
      try {
        target = await confirmDuplicateNumber(
          deps.ipaas,
          wanted.customerNumber,
          null,
          () => (nested ? deps.ipaas.createCustomer(wanted, createAddresses) : deps.ipaas.createCustomer(wanted)),
          pendingCreates,
        );
      } catch (error) {
        // Refused, or never sent: this create made nothing, so it is forgotten again (a lost answer is kept).
        if (!answerMayBeLost(error)) {
          pendingCreates = work.pendingCreates;
          await deps.links.recordCreates?.(work.entity.id, pendingCreates).catch(() => undefined);
        }
        throw error;
      }
      action = 'Created';
      nestedSent = createAddresses.length;
      // A new iPaaS.com id: nobody else can hold it.
      if (deps.links.claim) {
        await deps.links.claim(target.id, work.owner);
        claimed = target.id;
      }
    }
  } catch (error) {
    // A claim made by this transfer, which then failed for good, is given back (a transient failure keeps it: its retry goes on).
    if (claimedNow && error instanceof SyncError && !error.transient && error.code !== 'EmailInUse') {
      await deps.links.releaseClaim?.(claimedNow, work.owner).catch(() => undefined);
    }
    throw error;
  }
  if (!target) throw new SyncError('IpaasRejected', 'iPaaS.com returned no customer for the create');
  const created = target;

  const warnings: string[] = [];
  let externalIdKey = link?.ipaasCustomerId === created.id ? link.externalIdKey : undefined;
  if (externalId && externalIdLinkNeeded(externalId, link, created.id)) {
    await beforeWrite();
    const warning = await linkExternalId(deps.ipaas, externalId.systemId, created.id, externalId.externalId);
    if (warning) {
      warnings.push(warning);
      externalIdKey = undefined;
    } else externalIdKey = externalId.key;
  }

  // Addresses: those the plan found missing; a customer created instead of updated (race) gets them all.
  // Nested: they went with the customer's own body above.
  const addresses = nested ? [] : action === 'Created' && work.existing ? addressesToAdd(work.mappedAddresses, [], deps.mapping) : work.addresses;
  let addressesAdded = nestedSent;
  for (const address of addresses) {
    await beforeWrite();
    await deps.ipaas.addAddress(created.id, address);
    addressesAdded += 1;
  }

  const sourceModifiedAt = Number.isNaN(Date.parse(work.entity.lastModifiedDateTime)) ? undefined : work.entity.lastModifiedDateTime;
  await deps.links.save({
    customerId: work.entity.id,
    ipaasCustomerId: created.id,
    customerNumber: wanted.customerNumber,
    payloadHash: work.payloadHash,
    lastSyncedAt: isoNow(deps.clock ?? systemClock),
    addressHash: work.addressHash,
    ...(sourceModifiedAt ? { sourceModifiedAt } : {}),
    ...(externalIdKey ? { externalIdKey } : {}),
    ...(claimed === created.id ? { claimedIpaasCustomerId: created.id } : {}),
    // Fencing: only over the link this sync planned from (or none), so a stale worker never overwrites a newer one.
  }, { ifMatch: work.link ? (work.link.etag ?? undefined) : null });
  // Linked: whatever earlier creates made is settled (adopted, or refused by the unique number). A create of this
  // transfer that succeeded leaves its row: older than the link now, it is ignored (no write spent on removing it).
  if (work.pendingCreates.length > 0) await deps.links.recordCreates?.(work.entity.id, []).catch(() => undefined);
  return { ...base, status: 'Succeeded', action, errorCode: null, errorMessage: null, ipaasCustomerId: created.id, addressesAdded, warnings };
}

/**
 * A business-rule rejection (BIZL) of a create or update is not read from its message: the number is searched,
 * and only when another customer owns it is the outcome DuplicateCustomerNumber. Anything else stays the
 * rejection it was (IpaasRejected, with iPaaS.com's code and message).
 */
async function confirmDuplicateNumber<T>(
  ipaas: IpaasApi,
  customerNumber: string,
  ownId: string | null,
  write: () => Promise<T>,
  pendingCreates: readonly PendingCreate[] = [],
): Promise<T> {
  try {
    return await write();
  } catch (error) {
    if (!(error instanceof SyncError) || error.transient || !error.remoteCodes.some((code) => code.startsWith('BIZL-'))) throw error;
    const owners = await ipaas.findCustomersByNumber(customerNumber);
    // The customer an earlier create of this very customer made, landed after our search: not a duplicate. The
    // next attempt finds it (by email or by that create's number) and links it.
    const earlier = owners.find((owner) => owner.id !== ownId && isEarlierCreate(owner, pendingCreates));
    if (earlier) {
      throw new SyncError('ConcurrentSync', `iPaaS.com customer ${earlier.id} was made by an earlier attempt whose answer was lost; it is linked at the next attempt`, {
        transient: true,
        cause: error,
      });
    }
    if (owners.some((owner) => owner.id !== ownId)) {
      throw new SyncError('DuplicateCustomerNumber', `${duplicateNumberReason(customerNumber)} (${error.remoteCodes.join(', ')})`, {
        status: error.status,
        remoteCodes: error.remoteCodes,
        cause: error,
      });
    }
    throw error;
  }
}

/** Creates in doubt remembered per customer (the newest). */
const MAX_PENDING_CREATES = 5;

/**
 * Whether a failed create may nevertheless have made the customer: no answer came (a timeout, a dropped
 * connection), a gateway gave up waiting for one (504), or a success could not be read. Any other answer, an error
 * included, is iPaaS.com's word.
 */
function answerMayBeLost(error: unknown): boolean {
  if (!(error instanceof SyncError)) return true;
  if (!error.transient || error.code === 'ConcurrentSync') return false;
  // A 2xx whose body could not be read also made it.
  return error.status === undefined || error.status === 504 || (error.status >= 200 && error.status < 300);
}

/** UpdateExternalId; a failure (any status, or none) is returned as the transfer's warning, never thrown. */
async function linkExternalId(ipaas: IpaasApi, systemId: number, internalId: string, externalId: string): Promise<string | null> {
  try {
    await ipaas.linkExternalId({ systemId, internalId, externalId });
    return null;
  } catch (error) {
    return `${EXTERNAL_ID_WARNING}: ${redact(describeError(error))} (retried at the next sync of this customer)`;
  }
}
