import type { BusinessCentralApi, BcCustomer } from '../businessCentral/types';
import type { ExternalIdSource } from '../config';
import type { ErrorCode } from '../errors';
import type { IpaasAddressInput, IpaasApi, IpaasCustomer, IpaasCustomerInput, IpaasCustomerRecord } from '../ipaas/types';
import { emailDigest, maskEmail } from '../log';
import { addressesToAdd, applyCustomerMapping, defaultCustomerMapping, emailKey, type CustomerMapping } from '../mapping';
import type { CustomerLink, CustomerLinkStore, LinkOwner, PendingCreate, TransferAction } from '../storage/types';
import { sameOwner } from '../storage/linkStore';
import { createHash } from 'node:crypto';

/**
 * The planner: decides what one sync of a customer would do, reading only (Business Central, the link table,
 * iPaaS.com searches and reads). The real sync (executePlan) carries out exactly this decision; the dry run
 * (route `?dryRun=true`, `npm run sync -- --dry-run`) shows it. One code path, two executors.
 */

export type SyncPlanOutcome = 'Create' | 'Update' | 'Unchanged' | 'Skipped' | 'Fail';

export interface SyncPlanChange {
  /** The mapping's destination name (iPaaS.com's mapping name), e.g. FirstName. */
  field: string;
  from: string | null;
  to: string | null;
}

/** What a sync would do, in the mapping's destination names (the dry run's reply). */
export interface SyncPlan {
  customerId: string;
  customerNumber: string | null;
  outcome: SyncPlanOutcome;
  errorCode: ErrorCode | null;
  reason: string | null;
  ipaasCustomerId: string | null;
  changes: SyncPlanChange[];
  addressesToAdd: Array<Record<string, string>>;
  /** Whether UpdateExternalId would be called (IPAAS_SYSTEM_ID set and the link not yet made). */
  externalIdLink: boolean;
}

/** How customers are linked by external id in iPaaS.com; absent or without systemId: no link calls. */
export interface ExternalIdSettings {
  systemId: number | undefined;
  source: ExternalIdSource;
}

export interface PlanDependencies {
  businessCentral: Pick<BusinessCentralApi, 'getCustomer'>;
  ipaas: IpaasApi;
  /** `ownerOf` (reverse links), when the store has it: an iPaaS.com customer linked to another customer is EmailInUse. */
  links: Pick<CustomerLinkStore, 'get' | 'getState' | 'ownerOf'>;
  /**
   * Called before the email is matched for a customer not linked yet, and before any create: the real sync takes a
   * lease on the email there, so two Business Central customers with one email never both create (or both claim) at
   * once; the second then sees the first's customer and ends EmailInUse. The dry run passes none.
   */
  reserveEmail?: (emailAddress: string) => Promise<void>;
  externalIds?: ExternalIdSettings;
  /** The mapping collection (CUSTOMER_MAPPING_FILE, or another file for a dry run); the default file when absent. */
  mapping?: CustomerMapping;
  /** The customer's company: its claims name it (the same id in another company is another customer). */
  company?: { id: string; name: string };
}

/** The external id a customer would be linked with, and the key the link table remembers it by. */
export interface PlannedExternalId {
  systemId: number;
  externalId: string;
  /** `{systemId}:{externalId}`: equal to the link's `externalIdKey` when this exact link was made. */
  key: string;
}

/** A plan plus what the executor needs to carry it out (never shown to users). */
export interface PlannedSync {
  plan: SyncPlan;
  /** The TransferRecord action for a Skipped plan (Filtered, NotFound). */
  skipAction: TransferAction | null;
  /** Present for Create, Update and Unchanged. */
  work: PlannedWork | null;
}

export interface PlannedWork {
  entity: BcCustomer;
  wanted: IpaasCustomerInput;
  payloadHash: string;
  addressHash: string;
  link: CustomerLink | null;
  /** The iPaaS.com customer to update (Update) or found identical (Unchanged after a search or read); null for Create and an Unchanged link. */
  existing: IpaasCustomer | null;
  /** The record as read, when it was read by id: the update sends it back without a second GET. */
  existingRecord: IpaasCustomerRecord | null;
  /** The addresses to add (PreventDuplicate applied). */
  addresses: IpaasAddressInput[];
  /** Every mapped address (for a customer created instead of updated after a race). */
  mappedAddresses: IpaasAddressInput[];
  /** The external id for this customer when IPAAS_SYSTEM_ID is set. */
  externalId: PlannedExternalId | null;
  /**
   * `existing` is not yet claimed by this customer (its reverse link): the executor claims it before writing, and
   * ends EmailInUse, writing nothing, when another customer claimed it first. False without reverse links.
   */
  claimExisting: boolean;
  /** This customer as the owner of the iPaaS.com customer it is linked to (the reverse link's content). */
  owner: LinkOwner;
  /** Creates of earlier attempts whose outcome is unknown (answer lost), still unresolved. */
  pendingCreates: PendingCreate[];
  /**
   * For a Create while an earlier create of this customer may still land in iPaaS.com (sent less than the in-doubt
   * time ago, its answer lost, not found by email nor number): how long until that time is over. The sync waits
   * that long and plans again instead of sending a second create. 0 otherwise.
   */
  createWaitMs: number;
}

/** What the planner knows of earlier creates whose answer was lost (the sync passes them; the dry run reads them). */
export interface PendingCreates {
  pendingCreates?: readonly PendingCreate[];
  /** How long after it was sent a create whose answer was lost may still land in iPaaS.com. */
  inDoubtMs?: number;
  now?: Date;
}


/** Why a plan is Unchanged: the link's payload hash says so (nothing is written, unless a pending external id link)... */
export const UNCHANGED_SINCE_LAST_TRANSFER = 'Nothing changed since the last successful transfer';
/** ... or the iPaaS.com customer the sync found already holds the mapped data (the link is saved, no PUT is sent). */
export const ALREADY_IN_IPAAS = 'The iPaaS.com customer already holds this data; no update was sent';

/** Reads the customer from Business Central and plans its sync (the dry run). */
export async function planSync(deps: PlanDependencies, customerId: string): Promise<SyncPlan> {
  const entity = await deps.businessCentral.getCustomer(customerId);
  const state = entity && deps.links.getState ? await deps.links.getState(entity.id) : undefined;
  return (await planTransfer(deps, customerId, entity, state?.link, { pendingCreates: state?.pendingCreates ?? [] })).plan;
}

/**
 * Plans the sync of `entity` (null: it no longer exists). `knownLink`: the link when the caller already read it
 * (undefined: read it here when needed). `compareWithIpaas`: look at iPaaS.com even when the payload hash is
 * unchanged (a reconciliation found iPaaS.com edited or deleted there, which the hash of the last payload cannot see).
 */
export async function planTransfer(
  deps: PlanDependencies,
  customerId: string,
  entity: BcCustomer | null,
  knownLink?: CustomerLink | null,
  options: { compareWithIpaas?: boolean } & PendingCreates = {},
): Promise<PlannedSync> {
  if (!entity) return skip(customerId, null, 'NotFound', 'The customer no longer exists in Business Central');
  const mappingCollection = deps.mapping ?? defaultCustomerMapping();
  const mapping = applyCustomerMapping(entity, mappingCollection);
  const customerNumber = mapping.customer.No || null;
  if (mapping.kind === 'filtered') return skip(entity.id, customerNumber, 'Filtered', mapping.reason);
  if (mapping.kind === 'invalid') {
    const [first] = mapping.problems;
    return fail(entity.id, customerNumber, first?.code ?? 'MissingEmail', mapping.problems.map((problem) => problem.message).join('; '));
  }
  const { ipaasCustomer: wanted, addresses, hash } = mapping;
  const link = knownLink !== undefined ? knownLink : await deps.links.get(entity.id);
  const externalId = plannedExternalId(deps.externalIds, entity, wanted);
  const addressHash = addressesHash(addresses);
  // The owner names its company: the same customer id in another company is another customer.
  const owner: LinkOwner = { customerId: entity.id, customerNumber: wanted.customerNumber, ...(deps.company ? { companyId: deps.company.id, companyName: deps.company.name } : {}) };
  // Creates of earlier attempts that no successful transfer has settled since.
  const pendingCreates = (options.pendingCreates ?? []).filter((create) => !link || Date.parse(create.sentAt) > Date.parse(link.lastSyncedAt));
  const work = (existing: IpaasCustomer | null, existingRecord: IpaasCustomerRecord | null, toAdd: IpaasAddressInput[], claimExisting = false, createWaitMs = 0): PlannedWork => ({
    entity,
    wanted,
    payloadHash: hash,
    addressHash,
    link,
    existing,
    existingRecord,
    addresses: toAdd,
    mappedAddresses: addresses,
    externalId,
    claimExisting,
    owner,
    pendingCreates,
    createWaitMs,
  });

  if (link && link.payloadHash === hash && !options.compareWithIpaas) {
    // Nothing to send; only a link iPaaS.com has not accepted yet is retried.
    const pendingLink = externalId !== null && link.externalIdKey !== externalId.key;
    return {
      plan: basePlan(entity.id, customerNumber, 'Unchanged', {
        reason: UNCHANGED_SINCE_LAST_TRANSFER,
        ipaasCustomerId: link.ipaasCustomerId,
        externalIdLink: pendingLink,
      }),
      skipAction: null,
      work: work(null, null, []),
    };
  }

  // A customer not linked yet matches by email, and may create: the email is reserved first (see reserveEmail).
  let reserved = false;
  const reserve = async (): Promise<boolean> => {
    if (reserved || !deps.reserveEmail) return false;
    reserved = true;
    await deps.reserveEmail(wanted.emailAddress);
    return true;
  };
  if (!link) await reserve();

  // Number searches of one decision, by number (the creates in doubt and rule 6 often ask for the same one).
  const numberSearches = new Map<string, Promise<IpaasCustomer[]>>();
  const findByNumber = (customerNumber: string): Promise<IpaasCustomer[]> => {
    const key = numberKey(customerNumber);
    let search = numberSearches.get(key);
    if (!search) {
      search = deps.ipaas.findCustomersByNumber(customerNumber);
      numberSearches.set(key, search);
    }
    return search;
  };

  const decide = async (): Promise<PlannedSync> => {
    numberSearches.clear();
    // Rule 5: email match before create.
    const matches = (await deps.ipaas.findCustomersByEmail(wanted.emailAddress)).filter(
      (candidate) => emailKey(candidate.emailAddress) === emailKey(wanted.emailAddress),
    );
    if (matches.length > 1) {
      return fail(entity.id, customerNumber, 'DuplicateEmail', `${matches.length} iPaaS.com customers have the email ${maskEmail(wanted.emailAddress)}`);
    }
    const [match] = matches;
    if (match && link && match.id !== link.ipaasCustomerId) {
      return fail(
        entity.id,
        customerNumber,
        'DuplicateEmail',
        `The email ${maskEmail(wanted.emailAddress)} belongs to iPaaS.com customer ${match.id}, not to the linked customer ${link.ipaasCustomerId}`,
      );
    }
    // Read by the link when the email no longer matches; the record read then serves the update (no second GET).
    const read = !match && link ? await deps.ipaas.readCustomer(link.ipaasCustomerId) : null;
    let existing = match ?? read?.customer ?? null;
    // A create of an earlier attempt whose answer was lost, not found by the email (it changed since, or the
    // create landed late): searched by the number it carried, and recognised by that number and email.
    if (!existing && pendingCreates.length > 0) existing = await earlierCreate(pendingCreates, findByNumber);

    // Rule 5, one Business Central customer per iPaaS.com customer: one already linked to another customer is
    // not written (EmailInUse); the first customer keeps it. A customer that holds the claim needs no look-up.
    let claimExisting = false;
    if (existing && deps.links.ownerOf && !(link?.ipaasCustomerId === existing.id && link.claimedIpaasCustomerId === existing.id)) {
      const holder = await deps.links.ownerOf(existing.id);
      if (holder && !sameOwner(holder, owner)) return fail(entity.id, customerNumber, 'EmailInUse', emailInUseReason(existing.id, wanted.emailAddress, holder, match !== undefined));
      claimExisting = true;
    }

    // Rule 6: the number must not belong to another iPaaS.com customer (on create: to any).
    if (!existing || existing.customerNumber !== wanted.customerNumber) {
      const owners = await findByNumber(wanted.customerNumber);
      if (owners.some((candidate) => candidate.id !== existing?.id)) {
        return fail(entity.id, customerNumber, 'DuplicateCustomerNumber', duplicateNumberReason(wanted.customerNumber));
      }
    }

    if (!existing) {
      const now = (options.now ?? new Date()).getTime();
      const waitMs = Math.max(0, ...pendingCreates.map((create) => Date.parse(create.sentAt) + (options.inDoubtMs ?? 0) - now));
      return {
        plan: basePlan(entity.id, customerNumber, 'Create', {
          changes: customerChanges(null, wanted, mappingCollection),
          addressesToAdd: addressesToAdd(addresses, [], mappingCollection).map((address) => addressToPlan(address, mappingCollection)),
          externalIdLink: externalId !== null,
        }),
        skipAction: null,
        work: work(null, null, addressesToAdd(addresses, [], mappingCollection), false, waitMs),
      };
    }

    // Rule 7: PreventDuplicate. Addresses unchanged since the last successful sync of this same iPaaS.com customer
    // were all present then, so listing them again would add nothing.
    const addressesKnownPresent = link?.ipaasCustomerId === existing.id && link.addressHash === addressHash;
    const toAdd = addresses.length > 0 && !addressesKnownPresent ? addressesToAdd(addresses, await deps.ipaas.listAddresses(existing.id), mappingCollection) : [];
    const changes = customerChanges(existing, wanted, mappingCollection);
    // iPaaS.com holds this data already: no PUT and no address is sent (the link is still saved, and made if due).
    const unchanged = changes.length === 0 && toAdd.length === 0;
    return {
      plan: basePlan(entity.id, customerNumber, unchanged ? 'Unchanged' : 'Update', {
        ...(unchanged ? { reason: ALREADY_IN_IPAAS } : {}),
        ipaasCustomerId: existing.id,
        changes,
        addressesToAdd: toAdd.map((address) => addressToPlan(address, mappingCollection)),
        externalIdLink: externalIdLinkNeeded(externalId, link, existing.id),
      }),
      skipAction: null,
      work: work(existing, read, toAdd, claimExisting),
    };
  };

  const decided = await decide();
  // A create (the linked customer was deleted in iPaaS.com) is decided again once the email is reserved: another
  // customer with this email may have created it meanwhile.
  if (decided.plan.outcome === 'Create' && (await reserve())) return decide();
  return decided;
}

/**
 * The iPaaS.com customer an earlier, unanswered create made: one that carries the number and the email (by its keyed
 * digest) one of those creates sent. Several candidates (which cannot happen while numbers are unique) adopt none.
 */
async function earlierCreate(pendingCreates: readonly PendingCreate[], findByNumber: (customerNumber: string) => Promise<IpaasCustomer[]>): Promise<IpaasCustomer | null> {
  const found = new Map<string, IpaasCustomer>();
  for (const customerNumber of new Set(pendingCreates.map((create) => create.customerNumber))) {
    for (const candidate of await findByNumber(customerNumber)) {
      if (isEarlierCreate(candidate, pendingCreates)) found.set(candidate.id, candidate);
    }
  }
  return found.size === 1 ? [...found.values()][0]! : null;
}

/** Whether `candidate` carries the number and email of one of the creates in doubt. */
export function isEarlierCreate(candidate: IpaasCustomer, pendingCreates: readonly PendingCreate[]): boolean {
  const digest = emailDigest(candidate.emailAddress);
  return pendingCreates.some((create) => numberKey(create.customerNumber) === numberKey(candidate.customerNumber) && create.emailDigest === digest);
}

/** iPaaS.com keeps customer numbers unique without regard to case or surrounding blanks. */
function numberKey(customerNumber: string): string {
  return customerNumber.trim().toUpperCase();
}

/** EmailInUse: the iPaaS.com customer (found by email, or the linked one) belongs to another Business Central customer. */
export function emailInUseReason(ipaasCustomerId: string, emailAddress: string, holder: LinkOwner, byEmail: boolean): string {
  const company = holder.companyName ?? holder.companyId;
  const other = `${holder.customerNumber ? `Business Central customer ${holder.customerNumber}` : `another Business Central customer (${holder.customerId})`}${company ? ` of company ${company}` : ''}`;
  const found = byEmail ? `iPaaS.com customer ${ipaasCustomerId}, the one with the email ${maskEmail(emailAddress)},` : `iPaaS.com customer ${ipaasCustomerId}`;
  return `${found} is already linked to ${other}; nothing was written (give one of them its own email)`;
}

/** Whether UpdateExternalId is due for `targetId`: a system id is set and this exact link was not made yet. */
export function externalIdLinkNeeded(externalId: PlannedExternalId | null, link: CustomerLink | null, targetId: string): boolean {
  return externalId !== null && (!link || link.ipaasCustomerId !== targetId || link.externalIdKey !== externalId.key);
}

export function duplicateNumberReason(customerNumber: string): string {
  return `CustomerNumber ${customerNumber} already belongs to another iPaaS.com customer`;
}

/** The mapped customer fields that differ (all of them on create), in destination names. */
export function customerChanges(current: IpaasCustomer | null, wanted: IpaasCustomerInput, mapping: CustomerMapping = defaultCustomerMapping()): SyncPlanChange[] {
  const changes: SyncPlanChange[] = [];
  for (const field of mapping.fields) {
    const from = current ? current[field.key] : null;
    const to = wanted[field.key] ?? null;
    if (from !== to) changes.push({ field: field.destination, from, to });
  }
  return changes;
}

/** An address in the mapping's destination names. */
function addressToPlan(address: IpaasAddressInput, mapping: CustomerMapping): Record<string, string> {
  const result: Record<string, string> = {};
  for (const field of mapping.addresses?.fields ?? []) result[field.destination] = address[field.key];
  return result;
}

function plannedExternalId(settings: ExternalIdSettings | undefined, entity: BcCustomer, wanted: IpaasCustomerInput): PlannedExternalId | null {
  if (!settings || settings.systemId === undefined) return null;
  const externalId = settings.source === 'id' ? entity.id : wanted.customerNumber;
  return { systemId: settings.systemId, externalId, key: `${settings.systemId}:${externalId}` };
}

/** Stable hash of the mapped addresses (order kept: it is the child collection's order). */
export function addressesHash(addresses: readonly IpaasAddressInput[]): string {
  const canonical = JSON.stringify(addresses.map((address) => Object.entries(address).sort(([a], [b]) => a.localeCompare(b))));
  return createHash('sha256').update(canonical).digest('hex');
}

function basePlan(customerId: string, customerNumber: string | null, outcome: SyncPlanOutcome, rest: Partial<SyncPlan> = {}): SyncPlan {
  return {
    customerId,
    customerNumber,
    outcome,
    errorCode: null,
    reason: null,
    ipaasCustomerId: null,
    changes: [],
    addressesToAdd: [],
    externalIdLink: false,
    ...rest,
  };
}

function skip(customerId: string, customerNumber: string | null, action: TransferAction, reason: string): PlannedSync {
  return { plan: basePlan(customerId, customerNumber, 'Skipped', { reason }), skipAction: action, work: null };
}

function fail(customerId: string, customerNumber: string | null, code: ErrorCode, reason: string): PlannedSync {
  return { plan: basePlan(customerId, customerNumber, 'Fail', { errorCode: code, reason }), skipAction: null, work: null };
}
