/**
 * What a reconciliation run is and how it is kept: its dependencies, the checkpoint it writes after every step (a
 * versioned JSON blob read back under its ETag), its id, and the parts (pages already read) stored beside it.
 */
import { type Clock } from '../clock';
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { BusinessCentralApi } from '../businessCentral/types';
import type { IpaasApi, IpaasCustomer } from '../ipaas/types';
import type { Logger } from '../log';
import type { ReconcileRunStore } from '../storage/reconcileStore';
import type { CustomerLinkLister, QueueSender } from '../storage/types';
import type { CustomerMapping } from '../mapping';
import { progressSchema, reportItemSchema, reportSchema, countsSchema as reportCountsSchema, RUN_STATUSES, TRIGGERS } from './report';

/** Business Central page size: 100,000 customers in 10 requests, as the poll reads them. */
export const DEFAULT_RECONCILE_PAGE_SIZE = 10_000;
/** iPaaS.com list pages read (concurrently, within the client's limit) per step, i.e. per checkpoint. */
export const DEFAULT_IPAAS_PAGES_PER_STEP = 200;
/** A Running run with no checkpoint for this long is taken as abandoned (longer than a function's timeout plus the longest retry wait). */
export const DEFAULT_STALE_AFTER_MS = 30 * 60 * 1000;
/** Transient failures (an outage) a run waits out, with growing pauses, before it gives up: about 2 hours in all. */
export const MAX_TRANSIENT_FAILURES = 16;
export const MAX_RETRY_DELAY_MS = 10 * 60 * 1000;
export const FIRST_RETRY_DELAY_MS = 30 * 1000;

/** What the run reads of one company: its customers, its iPaaS.com (token), its links and its mapping. */
export interface CompanyReconcileDependencies {
  businessCentral: Pick<BusinessCentralApi, 'readCustomerPage'>;
  ipaas: Pick<IpaasApi, 'listCustomersPage'>;
  links: CustomerLinkLister;
  /** The company's mapping collection; the shipped default file when absent. */
  mapping?: CustomerMapping;
}

export interface ReconcileDependencies {
  businessCentral: Pick<BusinessCentralApi, 'readCustomerPage'>;
  ipaas: Pick<IpaasApi, 'listCustomersPage'>;
  links: CustomerLinkLister;
  /** The mapping collection the sync uses (CUSTOMER_MAPPING_FILE) in a run of no company; the default file when absent. */
  mapping?: CustomerMapping;
  /**
   * A run over configured companies reads each one through these (a run started with `companies`); a company
   * no longer configured fails the run, naming it.
   */
  companyDeps?: (companyId: string) => CompanyReconcileDependencies | undefined;
  /** Every company's links (with their company): an iPaaS.com customer linked in another company is EmailInUse too. */
  allLinks?: CustomerLinkLister;
  runs: ReconcileRunStore;
  /** `customer-sync`, for `fix`. */
  syncQueue: QueueSender;
  logger: Logger;
  clock?: Clock;
  pageSize?: number;
  ipaasPagesPerStep?: number;
  staleAfterMs?: number;
}

export const countsSchema = reportSchema.shape.counts;

export const stateSchema = z.object({
  version: z.literal(1),
  runId: z.string(),
  status: z.enum(RUN_STATUSES),
  trigger: z.enum(TRIGGERS),
  fix: z.boolean(),
  startedAt: z.string(),
  finishedAt: z.string().nullable(),
  updatedAt: z.string(),
  enqueued: z.number().int().nonnegative(),
  error: z.string().nullable(),
  transientFailures: z.number().int().nonnegative(),
  counts: countsSchema,
  progress: progressSchema,
  cursor: z.object({
    ipaasNextPage: z.number().int().positive(),
    ipaasTotalPages: z.number().int().nonnegative().nullable(),
    ipaasParts: z.number().int().nonnegative(),
    businessCentralNextLink: z.string().nullable(),
    businessCentralParts: z.number().int().nonnegative(),
  }),
  /** The companies the run covers, one after the other (absent: a run of no company, as before companies existed). */
  companies: z.array(z.object({ id: z.string(), name: z.string() })).optional(),
  /** The company being read, and where its iPaaS.com parts start. */
  companyIndex: z.number().int().nonnegative().optional(),
  companyFirstIpaasPart: z.number().int().nonnegative().optional(),
  /** Each covered company's counts so far. */
  companyCounts: z.array(reportCountsSchema).optional(),
});
export type RunState = z.infer<typeof stateSchema>;

/** A page of iPaaS.com customers as a part keeps it: [id, customerNumber, firstName, lastName, emailAddress, company]. */
export const ipaasPartSchema = z.array(z.tuple([z.string(), z.string(), z.string(), z.string(), z.string(), z.string(), z.string()]));
export const businessCentralPartSchema = z.object({ counts: countsSchema, items: z.array(reportItemSchema), customerIds: z.array(z.string()), companyId: z.string().optional() });

export const partName = (kind: 'ipaas' | 'bc', index: number) => `${kind}-${String(index).padStart(5, '0')}`;

/** Sortable, unique run ids: 20261127T101500Z-3f9a1c. */
export function newRunId(now: Date): string {
  return `${now.toISOString().replace(/[-:]/gu, '').replace(/\.\d{3}/u, '')}-${randomBytes(3).toString('hex')}`;
}

export const RUN_ID_PATTERN = /^\d{8}T\d{6}Z-[0-9a-f]{6}$/u;

export async function readState(runs: ReconcileRunStore, runId: string): Promise<{ state: RunState; etag: string } | null> {
  const stored = await runs.readState(runId);
  if (!stored) return null;
  const parsed = stateSchema.safeParse(stored.value);
  if (!parsed.success) throw new Error(`The checkpoint of reconciliation ${runId} is unreadable`);
  return { state: parsed.data, etag: stored.etag };
}

export function compact(customer: IpaasCustomer): z.infer<typeof ipaasPartSchema>[number] {
  return [customer.id, customer.customerNumber, customer.firstName, customer.lastName, customer.emailAddress, customer.company, customer.comment];
}
