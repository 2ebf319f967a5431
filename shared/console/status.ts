import { isoNow, systemClock, type Clock } from '../clock';
import { z } from 'zod';
import type { Config } from '../config';
import type { StateStore } from '../storage/types';
import { SUBSCRIPTION_STATE_KEY } from '../sync/ensureSubscription';
import { POLL_WATERMARK_KEY } from '../sync/pollChanges';
import { parseRunStatus, POLL_STATUS_KEY, SUBSCRIPTION_STATUS_KEY, type RunStatus } from '../sync/companyRuns';

/**
 * What the operator console shows beside health and transfers and no other route exposes: the webhook
 * subscription as last recorded, the polling watermark, queue depths, and which optional routes this
 * deployment has. Read-only; names no secret and no personal data.
 */
export interface SyncStatus {
  generatedAt: string;
  subscription: {
    /** WEBHOOK_NOTIFICATION_URL is set, so the subscription timer keeps a subscription. */
    managed: boolean;
    schedule: string;
    /** As last recorded by the subscription timer; null when none was ever recorded. */
    current: { subscriptionId: string; expirationDateTime: string; lastRenewedAt: string } | null;
  };
  poll: { schedule: string; watermark: string | null };
  /** Approximate message counts; null when the queue could not be read. */
  queues: { sync: number | null; poison: number | null };
  /** Optional routes of this deployment, so the console offers only what answers. */
  features: ConsoleFeatures;
  /**
   * Every configured company with its own subscription, watermark and last runs (the top-level `subscription`
   * and `poll` are the first company's); the route always lists them.
   */
  companies?: CompanyStatus[];
}

export interface CompanyStatus {
  companyId: string;
  companyName: string;
  subscription: SyncStatus['subscription']['current'];
  watermark: string | null;
  /** The last poll and subscription check, when recorded: a failing company shows here (404 deleted, 403 not permitted). */
  lastPoll: RunStatus | null;
  lastSubscriptionCheck: RunStatus | null;
}

export interface ConsoleFeatures {
  /** POST /api/customers/{id}/sync?dryRun=true answers a SyncPlan. */
  dryRun: boolean;
  /** POST /api/reconciliations and GET /api/reconciliations/{runId|latest}. */
  reconciliation: boolean;
}

/** Optional routes present in this build. */
export const CONSOLE_FEATURES: ConsoleFeatures = { dryRun: true, reconciliation: true };

const recordedSubscription = z.object({ subscriptionId: z.string(), expirationDateTime: z.string(), updatedAt: z.string() });
const watermark = z.object({ lastModifiedDateTime: z.string() });

export interface StatusDependencies {
  config: Pick<Config, 'webhook' | 'poll' | 'subscription'>;
  /** The first company's state. */
  state: Pick<StateStore, 'get'>;
  /** Every configured company with its state (absent: the first company's state alone, unnamed). */
  companies?: ReadonlyArray<{ id: string; name: string; state: Pick<StateStore, 'get'> }>;
  queueDepth(queue: 'sync' | 'poison'): Promise<number>;
  clock?: Clock;
}

export async function readSyncStatus(deps: StatusDependencies): Promise<SyncStatus> {
  // A malformed row reads as absent here: the console reports, the timers own repair.
  const lenient =
    <T>(schema: z.ZodType<T>) =>
    (value: unknown): T | null => {
      const parsed = schema.safeParse(value);
      return parsed.success ? parsed.data : null;
    };
  const depth = (queue: 'sync' | 'poison'): Promise<number | null> => deps.queueDepth(queue).catch(() => null);
  const [subscription, mark, sync, poison] = await Promise.all([
    deps.state.get(SUBSCRIPTION_STATE_KEY, lenient(recordedSubscription)),
    deps.state.get(POLL_WATERMARK_KEY, lenient(watermark)),
    depth('sync'),
    depth('poison'),
  ]);
  const recorded = subscription?.value ?? null;
  const companies = await Promise.all(
    (deps.companies ?? []).map(async (company): Promise<CompanyStatus> => {
      const [own, ownMark, lastPoll, lastSubscriptionCheck] = await Promise.all([
        company.state.get(SUBSCRIPTION_STATE_KEY, lenient(recordedSubscription)),
        company.state.get(POLL_WATERMARK_KEY, lenient(watermark)),
        company.state.get(POLL_STATUS_KEY, parseRunStatus),
        company.state.get(SUBSCRIPTION_STATUS_KEY, parseRunStatus),
      ]);
      const value = own?.value ?? null;
      return {
        companyId: company.id,
        companyName: company.name,
        subscription: value && { subscriptionId: value.subscriptionId, expirationDateTime: value.expirationDateTime, lastRenewedAt: value.updatedAt },
        watermark: ownMark?.value?.lastModifiedDateTime ?? null,
        lastPoll: lastPoll?.value ?? null,
        lastSubscriptionCheck: lastSubscriptionCheck?.value ?? null,
      };
    }),
  );
  return {
    generatedAt: isoNow(deps.clock ?? systemClock),
    subscription: {
      managed: Boolean(deps.config.webhook.notificationUrl),
      schedule: deps.config.subscription.schedule,
      current: recorded && { subscriptionId: recorded.subscriptionId, expirationDateTime: recorded.expirationDateTime, lastRenewedAt: recorded.updatedAt },
    },
    poll: { schedule: deps.config.poll.schedule, watermark: mark?.value?.lastModifiedDateTime ?? null },
    queues: { sync, poison },
    features: { ...CONSOLE_FEATURES },
    ...(deps.companies ? { companies } : {}),
  };
}
