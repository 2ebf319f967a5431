import { z } from 'zod';
import { GUID_PATTERN, normalizeGuid } from '../guid';

export const SYNC_QUEUE = 'customer-sync';
export const POISON_QUEUE = 'customer-sync-poison';

export const SOURCES = ['webhook', 'poll', 'manual', 'replay'] as const;
export type SyncSource = (typeof SOURCES)[number];

/** A `customer-sync` queue message: a hint to re-read one customer from Business Central. */
export const syncMessageSchema = z.object({
  customerId: z
    .string()
    .regex(GUID_PATTERN, 'customerId must be a GUID')
    .transform(normalizeGuid),
  source: z.enum(SOURCES),
  changeType: z.string().max(64).optional(),
  correlationId: z.string().min(1).max(200),
  enqueuedAt: z.string().refine((value) => !Number.isNaN(Date.parse(value)), 'enqueuedAt must be an ISO timestamp'),
});

export type SyncMessage = z.infer<typeof syncMessageSchema>;
