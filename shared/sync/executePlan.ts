import { describeError, SyncError } from '../errors';
import type { IpaasApi, IpaasCustomer } from '../ipaas/types';
import { redact } from '../log';
import { addressesToAdd, type CustomerMapping } from '../mapping';
import type { CustomerLinkStore, TransferRecord } from '../storage/types';
import { duplicateNumberReason, externalIdLinkNeeded, type PlannedSync } from './planSync';

/** What a transfer ended as (the TransferRecord fields the executor decides). */
export type ExecutionOutcome = Pick<
  TransferRecord,
  'status' | 'action' | 'errorCode' | 'errorMessage' | 'customerNumber' | 'ipaasCustomerId' | 'addressesAdded' | 'warnings'
>;

export interface ExecuteDependencies {
  ipaas: IpaasApi;
  links: Pick<CustomerLinkStore, 'save'>;
  clock?: () => Date;
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
  // IPAAS_ADDRESS_MODE=nested: the addresses travel inside the customer's create or update body, not one by one.
  const nested = deps.ipaas.addressMode === 'nested';
  let nestedSent = 0;
  if (work.existing) {
    const existing = work.existing;
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
    target = await confirmDuplicateNumber(deps.ipaas, wanted.customerNumber, null, () =>
      nested ? deps.ipaas.createCustomer(wanted, createAddresses) : deps.ipaas.createCustomer(wanted),
    );
    action = 'Created';
    nestedSent = createAddresses.length;
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
    lastSyncedAt: (deps.clock ?? (() => new Date()))().toISOString(),
    addressHash: work.addressHash,
    ...(sourceModifiedAt ? { sourceModifiedAt } : {}),
    ...(externalIdKey ? { externalIdKey } : {}),
    // Fencing: only over the link this sync planned from (or none), so a stale worker never overwrites a newer one.
  }, { ifMatch: work.link ? (work.link.etag ?? undefined) : null });
  return { ...base, status: 'Succeeded', action, errorCode: null, errorMessage: null, ipaasCustomerId: created.id, addressesAdded, warnings };
}

/**
 * A business-rule rejection (BIZL) of a create or update is not read from its message: the number is searched,
 * and only when another customer owns it is the outcome DuplicateCustomerNumber. Anything else stays the
 * rejection it was (IpaasRejected, with iPaaS.com's code and message).
 */
async function confirmDuplicateNumber<T>(ipaas: IpaasApi, customerNumber: string, ownId: string | null, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    if (!(error instanceof SyncError) || error.transient || !error.remoteCodes.some((code) => code.startsWith('BIZL-'))) throw error;
    const owners = await ipaas.findCustomersByNumber(customerNumber);
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

/** UpdateExternalId; a failure (any status, or none) is returned as the transfer's warning, never thrown. */
async function linkExternalId(ipaas: IpaasApi, systemId: number, internalId: string, externalId: string): Promise<string | null> {
  try {
    await ipaas.linkExternalId({ systemId, internalId, externalId });
    return null;
  } catch (error) {
    return `${EXTERNAL_ID_WARNING}: ${redact(describeError(error))} (retried at the next sync of this customer)`;
  }
}
