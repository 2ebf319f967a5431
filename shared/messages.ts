import { isoNow, systemClock, type Clock } from './clock';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { bcCustomerSchema, type BcCustomer } from './businessCentral/types';
import { GUID_PATTERN, normalizeGuid } from './guid';

export const SOURCES = ['webhook', 'poll', 'manual', 'replay', 'reconcile'] as const;
export type SyncSource = (typeof SOURCES)[number];

/** A `customer-sync` queue message: a hint to re-read one customer from Business Central. */
export const syncMessageSchema = z
  .object({
    customerId: z
      .string()
      .regex(GUID_PATTERN, 'customerId must be a GUID')
      .transform(normalizeGuid),
    /**
     * The Business Central company of the customer. A message without it was queued before several companies
     * were configured: it belongs to the company that served the deployment then (the first configured).
     */
    companyId: z.string().regex(GUID_PATTERN, 'companyId must be a GUID').transform(normalizeGuid).optional(),
    source: z.enum(SOURCES),
    changeType: z.string().max(64).optional(),
    correlationId: z.string().min(1).max(200),
    enqueuedAt: z.string().refine((value) => !Number.isNaN(Date.parse(value)), 'enqueuedAt must be an ISO timestamp'),
    /**
     * Optional: the customer as a poll page returned it, so the worker need not read it again when it is
     * still current (syncCustomer decides). Absent on webhook, manual and replay messages.
     */
    snapshot: bcCustomerSchema.optional(),
    /**
     * How many times this change was put back on the queue because a service was on hold (see
     * shared/sync/outages.ts); absent on a first delivery. A held message is a new queue message, so its
     * dequeue count starts again: an outage never drives a change into the poison queue.
     */
    holds: z.number().int().min(1).max(1_000_000).optional(),
    /**
     * On `customer-sync-poison` only: the RetriesExhausted record already written for this message (storage failed
     * before its automatic retry was scheduled), so the next round writes the same row again instead of a second one.
     */
    exhausted: z
      .object({
        transferId: z.string().min(1).max(100),
        finishedAt: z.string().refine((value) => !Number.isNaN(Date.parse(value)), 'finishedAt must be an ISO timestamp'),
      })
      .optional(),
    /** On `customer-sync-poison` only: how many times storage failed its handling (the back-off's exponent). */
    poisonDeferrals: z.number().int().min(1).max(1_000_000).optional(),
  })
  .refine((message) => message.snapshot === undefined || message.snapshot.id === message.customerId, {
    message: 'snapshot.id must equal customerId',
    path: ['snapshot', 'id'],
  });

export type SyncMessage = z.infer<typeof syncMessageSchema>;

/** The entity fields a snapshot keeps (bcCustomerSchema's, without the ETag): unknown extras would only grow the message. */
const SNAPSHOT_FIELDS = Object.keys(bcCustomerSchema.shape).filter((field) => field !== '@odata.etag') as Array<Exclude<keyof BcCustomer, '@odata.etag'>>;

/**
 * Largest snapshot carried in a message (JSON characters). Business Central's fields are short (Code[20],
 * Text[100], ...), so a real customer is well under 1 KB; anything bigger travels without a snapshot and the
 * worker reads it instead, far from the queue's 64 KB limit (base64 adds a third).
 */
export const MAX_SNAPSHOT_CHARS = 16 * 1024;

/** The customer trimmed to the fields the sync reads, or undefined when it is too large to carry. */
export function snapshotOf(customer: BcCustomer): BcCustomer | undefined {
  const snapshot: Record<string, unknown> = {};
  for (const field of SNAPSHOT_FIELDS) snapshot[field] = customer[field];
  return JSON.stringify(snapshot).length <= MAX_SNAPSHOT_CHARS ? (snapshot as BcCustomer) : undefined;
}

/** A new customer-sync message for one customer (ids lower-cased, a fresh correlation id unless given). */
export function newSyncMessage(
  customerId: string,
  source: SyncSource,
  extra: { changeType?: string; correlationId?: string; snapshot?: BcCustomer | undefined; companyId?: string | undefined; clock?: Clock } = {},
): SyncMessage {
  return {
    customerId: customerId.toLowerCase(),
    ...(extra.companyId ? { companyId: extra.companyId.toLowerCase() } : {}),
    source,
    ...(extra.changeType ? { changeType: extra.changeType } : {}),
    correlationId: extra.correlationId ?? randomUUID(),
    enqueuedAt: isoNow(extra.clock ?? systemClock),
    ...(extra.snapshot ? { snapshot: extra.snapshot } : {}),
  };
}

/** A `reconcile` queue message: advance this run from its checkpoint. */
export const reconcileMessageSchema = z.object({
  runId: z.string().regex(/^[A-Za-z0-9-]{1,80}$/u, 'runId must be a reconciliation run id'),
  enqueuedAt: z.string().optional(),
  /** How many times the message came back from reconcile-poison (handleReconcilePoison); absent at first. */
  redriven: z.number().int().min(1).max(1_000).optional(),
});
export type ReconcileMessage = z.infer<typeof reconcileMessageSchema>;
