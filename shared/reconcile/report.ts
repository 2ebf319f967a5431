import { z } from 'zod';

/** Every Business Central customer lands in exactly one of these. */
export const CUSTOMER_CATEGORIES = ['InSync', 'Missing', 'Drifted', 'Unlinked', 'DuplicateEmail', 'Invalid', 'Filtered'] as const;
export type CustomerCategory = (typeof CUSTOMER_CATEGORIES)[number];

/** The counts of the report: the customer categories plus links whose Business Central customer is gone. */
export const COUNT_NAMES = [...CUSTOMER_CATEGORIES, 'Orphaned'] as const;
export type CountName = (typeof COUNT_NAMES)[number];
export type ReconcileCounts = Record<CountName, number>;

/** Categories that mean the two systems disagree (Filtered is by design; Orphaned links hold no customer data). */
export const OUT_OF_SYNC: readonly CustomerCategory[] = ['Missing', 'Drifted', 'Unlinked', 'DuplicateEmail', 'Invalid'];
/** What `fix` enqueues: a transfer settles these by itself. */
export const FIXABLE: readonly CustomerCategory[] = ['Missing', 'Drifted'];

export const RUN_STATUSES = ['Running', 'Completed', 'Failed'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

export interface FieldChange {
  /** The mapping's destination name (iPaaS.com's mapping name), e.g. FirstName. */
  field: string;
  /** What iPaaS.com holds now. */
  from: string | null;
  /** What the mapping would write. */
  to: string | null;
}

export interface ReportItem {
  category: Exclude<CustomerCategory, 'InSync' | 'Filtered'>;
  customerId: string | null;
  /** The customer's company, when the run covers configured companies. */
  companyId?: string;
  companyName?: string;
  customerNumber: string | null;
  ipaasCustomerId: string | null;
  errorCode: string | null;
  changes: FieldChange[];
}

export type ReconcilePhase = 'ipaas' | 'businessCentral' | 'finishing' | 'done';

/** Where a run stands; the report carries it so a caller can show progress while the run is Running. */
export interface ReconcileProgress {
  phase: ReconcilePhase;
  ipaasPagesRead: number;
  /** total_Pages of iPaaS.com's list; null until the first page was read. */
  ipaasTotalPages: number | null;
  ipaasCustomers: number;
  businessCentralPagesRead: number;
  businessCentralCustomers: number;
}

/** The reconciliation report as the routes return it and the blob keeps it. */
export interface ReconcileReport {
  runId: string;
  status: RunStatus;
  startedAt: string;
  finishedAt: string | null;
  counts: ReconcileCounts;
  items: ReportItem[];
  /** Whether the run enqueues Missing and Drifted customers, and how many it enqueued so far. */
  fix: boolean;
  enqueued: number;
  /** Who started it: the command, the route or the timer. */
  trigger: ReconcileTrigger;
  progress: ReconcileProgress;
  /** Why the run failed, or the transient problem it is waiting out; null otherwise. */
  error: string | null;
  /** Each company the run covers, with its own counts (the top-level counts are their sums). */
  companies?: CompanyCounts[];
}

export interface CompanyCounts {
  companyId: string;
  companyName: string;
  counts: ReconcileCounts;
}

export const TRIGGERS = ['command', 'http', 'timer'] as const;
export type ReconcileTrigger = (typeof TRIGGERS)[number];

export function emptyCounts(): ReconcileCounts {
  return Object.fromEntries(COUNT_NAMES.map((name) => [name, 0])) as ReconcileCounts;
}

export function addCounts(into: ReconcileCounts, other: Partial<ReconcileCounts>): ReconcileCounts {
  for (const name of COUNT_NAMES) into[name] += other[name] ?? 0;
  return into;
}

/** Customers in a category that means disagreement; 0 means everything is in sync. */
export function outOfSyncCount(counts: ReconcileCounts): number {
  return OUT_OF_SYNC.reduce((sum, category) => sum + counts[category], 0);
}

// ---- Schemas (the report and its parts are read back from storage and over HTTP) -----------------------

export const countsSchema = z.object(Object.fromEntries(COUNT_NAMES.map((name) => [name, z.number().int().nonnegative()])) as Record<CountName, z.ZodNumber>);

export const fieldChangeSchema = z.object({ field: z.string(), from: z.string().nullable(), to: z.string().nullable() });

export const reportItemSchema = z.object({
  category: z.enum(['Missing', 'Drifted', 'Unlinked', 'DuplicateEmail', 'Invalid']),
  customerId: z.string().nullable(),
  companyId: z.string().optional(),
  companyName: z.string().optional(),
  customerNumber: z.string().nullable(),
  ipaasCustomerId: z.string().nullable(),
  errorCode: z.string().nullable(),
  changes: z.array(fieldChangeSchema),
});

export const progressSchema = z.object({
  phase: z.enum(['ipaas', 'businessCentral', 'finishing', 'done']),
  ipaasPagesRead: z.number().int().nonnegative(),
  ipaasTotalPages: z.number().int().nonnegative().nullable(),
  ipaasCustomers: z.number().int().nonnegative(),
  businessCentralPagesRead: z.number().int().nonnegative(),
  businessCentralCustomers: z.number().int().nonnegative(),
});

export const reportSchema = z.looseObject({
  runId: z.string().min(1),
  status: z.enum(RUN_STATUSES),
  startedAt: z.string(),
  finishedAt: z.string().nullable(),
  counts: countsSchema,
  items: z.array(reportItemSchema),
  fix: z.boolean(),
  enqueued: z.number().int().nonnegative(),
  trigger: z.enum(TRIGGERS),
  progress: progressSchema,
  error: z.string().nullable(),
  companies: z.array(z.object({ companyId: z.string(), companyName: z.string(), counts: countsSchema })).optional(),
});
