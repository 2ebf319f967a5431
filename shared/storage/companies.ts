import { z } from 'zod';
import { normalizeGuid } from '../guid';
import { customerKey } from './keys';
import { storageError } from './storageErrors';
import type {
  CustomerLink,
  CustomerLinkLister,
  CustomerLinkStore,
  Lease,
  LeaseStore,
  LinkedIds,
  LinkOwner,
  LinkState,
  PendingCreate,
  StateStore,
  TransferCursor,
  TransferPage,
  TransferRecord,
  TransferStatus,
  TransferStore,
} from './types';

/**
 * Every row is keyed by company and customer: a company copy keeps customer ids (and numbers), so the same id in
 * two companies is two customers. A deployment that served one company wrote its rows without a company in the
 * keys; that company keeps them as they are, and every other company's keys start with `{companyId}|`. Which
 * company owns the unprefixed keys is recorded once in SyncState (`companyKeys`), the first time a deployment
 * of this version runs: the configured company then (BC_COMPANY_ID, or the first of BC_COMPANIES). So switching
 * from BC_COMPANY_ID to BC_COMPANIES needs no migration (list that company first), and reordering BC_COMPANIES
 * later never hands one company's links and history to another.
 */

export interface CompanyRef {
  /** The company GUID, lower case. */
  id: string;
  /** Its configured name (BC_COMPANIES `name`; the id itself with BC_COMPANY_ID). */
  name: string;
}

/** The SyncState key recording which company's keys carry no company prefix. */
export const COMPANY_KEYS_STATE = 'companyKeys';
const recordSchema = z.object({ unprefixedCompanyId: z.string().min(1) });

/** The key prefix of a company that does not own the unprefixed keys. */
export function companyKeyPrefix(companyId: string): string {
  return `${normalizeGuid(companyId)}|`;
}

/** The company a prefixed key belongs to (undefined: an unprefixed, legacy key). */
export function companyOfKey(key: string): string | undefined {
  const at = key.indexOf('|');
  return at > 0 ? key.slice(0, at) : undefined;
}

export class CompanyKeyspace {
  private owner: Promise<string> | undefined;

  /** `first`: the company that takes the unprefixed keys when none is recorded yet. */
  constructor(
    private readonly state: Pick<StateStore, 'get' | 'put'>,
    private readonly first: string,
  ) {}

  /** The company whose keys have no prefix: read once per process (and recorded when absent). */
  ownerId(): Promise<string> {
    if (!this.owner) {
      const pending = this.resolve();
      this.owner = pending;
      // A storage failure is not remembered: the next use asks again.
      pending.catch(() => {
        if (this.owner === pending) this.owner = undefined;
      });
    }
    return this.owner;
  }

  /** '' for the owner of the unprefixed keys, `{companyId}|` for every other company. */
  async prefix(companyId: string): Promise<string> {
    const id = normalizeGuid(companyId);
    return (await this.ownerId()) === id ? '' : companyKeyPrefix(id);
  }

  /** The company of a stored key: its prefix, else the owner of the unprefixed keys. */
  async companyOf(key: string): Promise<string> {
    return companyOfKey(key) ?? (await this.ownerId());
  }

  private async resolve(): Promise<string> {
    const parse = (value: unknown) => recordSchema.parse(value).unprefixedCompanyId;
    for (let round = 0; round < 3; round += 1) {
      const stored = await this.state.get(COMPANY_KEYS_STATE, parse);
      if (stored) return normalizeGuid(stored.value);
      // Create-only: of several instances starting at once, the first write wins and the others read it.
      if (await this.state.put(COMPANY_KEYS_STATE, { unprefixedCompanyId: normalizeGuid(this.first) }, null)) return normalizeGuid(this.first);
    }
    throw new Error(`${COMPANY_KEYS_STATE} could not be read or recorded`);
  }
}

/**
 * A customer's key in a company: `{companyId}|` before the customer key, or nothing without a keyspace, without a
 * company, or for the owner of the unprefixed keys. A keyspace that cannot be read is a storage error.
 */
export async function companyCustomerKey(keyspace: CompanyKeyspace | undefined, customerId: string, companyId: string | undefined): Promise<string> {
  const prefix = companyId && keyspace ? await keyspace.prefix(companyId).catch((error: unknown) => Promise.reject(storageError('reading the company keys', error))) : '';
  return prefix + customerKey(customerId);
}

/** Where a company's rows are read and written, and how the rows of other companies and of older versions are told apart. */
export interface CompanyScope extends CompanyRef {
  keyspace: CompanyKeyspace;
}

/** The names of companies by id, to show a row's company (rows keep the name they were written with, too). */
export type CompanyNames = ReadonlyMap<string, string>;

// ---- Scoped views: the stores as one company sees them ------------------------------------------------------

/** Table stores that take the company of each call (shared/storage/transferStore.ts, linkStore.ts). */
export interface CompanyTransferStore {
  record(transfer: TransferRecord): Promise<void>;
  listForCustomer(customerId: string, limit?: number, company?: CompanyScope): Promise<TransferRecord[]>;
  listRecentPage(options: { status?: TransferStatus; limit: number; after?: TransferCursor; company?: CompanyScope }): Promise<TransferPage>;
}

export interface CompanyLinkStore {
  get(customerId: string, company?: CompanyScope): Promise<CustomerLink | null>;
  save(link: CustomerLink, options?: { ifMatch?: string | null }, company?: CompanyScope): Promise<void>;
  getState(customerId: string, company?: CompanyScope): Promise<LinkState>;
  recordAttempt(customerId: string, sourceModifiedAt: string, mappingFingerprint?: string, company?: CompanyScope): Promise<void>;
  recordCreates(customerId: string, creates: readonly PendingCreate[], company?: CompanyScope): Promise<void>;
  listLinkedIds(company?: CompanyScope): AsyncIterable<LinkedIds[]>;
  /** The reverse links are the deployment's, across companies: one iPaaS.com customer belongs to one customer of any company. */
  ownerOf(ipaasCustomerId: string): Promise<LinkOwner | null>;
  claim(ipaasCustomerId: string, owner: LinkOwner): Promise<LinkOwner>;
  releaseClaim(ipaasCustomerId: string, owner: LinkOwner): Promise<void>;
}

/** One company's transfer history: records carry the company, reads stay in it. */
export function companyTransfers(store: CompanyTransferStore, company: CompanyScope): TransferStore {
  return {
    record: (transfer) => store.record({ ...transfer, companyId: company.id, companyName: company.name }),
    listForCustomer: (customerId, limit) => store.listForCustomer(customerId, limit, company),
    listRecent: async (options) => (await store.listRecentPage({ ...options, company })).transfers,
    listRecentPage: (options) => store.listRecentPage({ ...options, company }),
  };
}

/**
 * One company's links. Its claims on iPaaS.com customers name the company, and who holds an iPaaS.com customer is
 * looked up across every company (EmailInUse spans companies).
 */
export function companyLinks(store: CompanyLinkStore, company: CompanyScope): CustomerLinkStore & CustomerLinkLister {
  const owned = (owner: LinkOwner): LinkOwner => ({ ...owner, companyId: company.id, companyName: company.name });
  return {
    get: (customerId) => store.get(customerId, company),
    save: (link, options) => store.save({ ...link, companyId: company.id }, options, company),
    getState: (customerId) => store.getState(customerId, company),
    recordAttempt: (customerId, sourceModifiedAt, mappingFingerprint) => store.recordAttempt(customerId, sourceModifiedAt, mappingFingerprint, company),
    recordCreates: (customerId, creates) => store.recordCreates(customerId, creates, company),
    listLinkedIds: () => store.listLinkedIds(company),
    ownerOf: (ipaasCustomerId) => store.ownerOf(ipaasCustomerId),
    claim: (ipaasCustomerId, owner) => store.claim(ipaasCustomerId, owned(owner)),
    releaseClaim: (ipaasCustomerId, owner) => store.releaseClaim(ipaasCustomerId, owned(owner)),
  };
}

/** One company's named state (watermark, poll checkpoint, subscription, outages): its keys carry its prefix. */
export function companyState(state: StateStore, company: CompanyScope): StateStore {
  const key = async (name: string) => `${await company.keyspace.prefix(company.id)}${name}`;
  return {
    get: async (name, parse) => state.get(await key(name), parse),
    put: async (name, value, etag) => state.put(await key(name), value, etag),
    delete: async (name, etag) => state.delete(await key(name), etag),
  };
}

/** One company's leases (its poll, its customers). */
export function companyLeases(leases: LeaseStore, company: CompanyScope): LeaseStore {
  return {
    tryAcquire: async (name, ttlMs) => leases.tryAcquire(`${await company.keyspace.prefix(company.id)}${name}`, ttlMs),
    renew: (lease: Lease, ttlMs) => leases.renew(lease, ttlMs),
    release: (lease: Lease) => leases.release(lease),
  };
}
