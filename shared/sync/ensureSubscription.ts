import { isoNow, systemClock, type Clock } from '../clock';
import { z } from 'zod';
import type { BcSubscription, BusinessCentralApi } from '../businessCentral/types';
import { SyncError } from '../errors';
import type { Logger } from '../log';
import type { QueueSender, StateStore } from '../storage/types';
import { newPollCatchUp } from './catchUp';
import { clientStateMatches } from './notifications';

export const SUBSCRIPTION_STATE_KEY = 'webhookSubscription';
/** Subscriptions live 3 days and the timer runs hourly: renew well before the end, with many chances left. */
export const DEFAULT_RENEW_WITHIN_MS = 36 * 60 * 60 * 1000;

const recordedSchema = z.object({
  subscriptionId: z.string().min(1),
  etag: z.string(),
  expirationDateTime: z.string(),
  notificationUrl: z.string(),
  resource: z.string(),
  updatedAt: z.string(),
});
export type RecordedSubscription = z.infer<typeof recordedSchema>;
const parseRecorded = (value: unknown): RecordedSubscription | null => {
  const parsed = recordedSchema.safeParse(value);
  return parsed.success ? parsed.data : null;
};

export interface SubscriptionDependencies {
  businessCentral: Pick<BusinessCentralApi, 'listSubscriptions' | 'createSubscription' | 'renewSubscription' | 'deleteSubscription' | 'customersResource'>;
  state: StateStore;
  /** The customer-catchup queue: a poll is requested there after a (re-)create. */
  catchUpQueue: QueueSender;
  logger: Logger;
  notificationUrl: string;
  clientState: string;
  renewWithinMs?: number;
  clock?: Clock;
  /** The company whose subscription this is (one per company): the catch-up poll after a create polls it alone. */
  companyId?: string;
}

export interface EnsureSubscriptionResult {
  action: 'created' | 'renewed' | 'unchanged';
  subscriptionId: string;
  expirationDateTime: string;
  /** Subscriptions of ours removed because they were stale or duplicates. */
  deleted: number;
  /** A catch-up poll was requested (after a create: changes may have gone unnoticed). */
  catchUpRequested: boolean;
  /** The create replaced a subscription that was gone or stale (rather than being the first one). */
  replaced: boolean;
}

const sameResource = (a: string, b: string): boolean => a.replace(/^\/+/u, '').toLowerCase() === b.replace(/^\/+/u, '').toLowerCase();
const sameUrl = (a: string, b: string): boolean => a.replace(/\/+$/u, '').toLowerCase() === b.replace(/\/+$/u, '').toLowerCase();
const isStaleEtag = (error: unknown): boolean => error instanceof SyncError && (error.status === 409 || error.status === 412);
const isNotFound = (error: unknown): boolean => error instanceof SyncError && error.status === 404;

/**
 * Keeps exactly one Business Central subscription for our customers resource, URL and clientState:
 * removes stale ones of ours, creates one when missing (and asks for a catch-up poll), renews it
 * when it nears expiry, and records it in SyncState. Business Central calls the webhook handshake
 * while create and renew are in flight; the webhook answers that without waiting on anything here.
 */
export async function ensureSubscription(deps: SubscriptionDependencies): Promise<EnsureSubscriptionResult> {
  const clock = deps.clock ?? systemClock;
  const resource = deps.businessCentral.customersResource;
  const recordedState = await deps.state.get(SUBSCRIPTION_STATE_KEY, parseRecorded);
  const recorded = recordedState?.value ?? null;

  const subscriptions = await deps.businessCentral.listSubscriptions();
  const forResource = subscriptions.filter((subscription) => sameResource(subscription.resource, resource));
  const current: BcSubscription[] = [];
  const stale: BcSubscription[] = [];
  for (const subscription of forResource) {
    if (sameUrl(subscription.notificationUrl, deps.notificationUrl)) {
      // Business Central may not echo clientState; then only the id we recorded proves it is ours and current.
      const provenCurrent = subscription.clientState
        ? clientStateMatches(subscription.clientState, deps.clientState)
        : recorded?.subscriptionId === subscription.subscriptionId;
      (provenCurrent ? current : stale).push(subscription);
    } else if (recorded && sameUrl(subscription.notificationUrl, recorded.notificationUrl)) {
      stale.push(subscription); // ours, at the URL we used before it was changed
    }
  }
  // Exactly one: keep the one we recorded, else the one that lives longest.
  const isRecorded = (subscription: BcSubscription): number => Number(subscription.subscriptionId === recorded?.subscriptionId);
  current.sort((a, b) => isRecorded(b) - isRecorded(a) || expiryOf(b) - expiryOf(a));
  const [keep, ...duplicates] = current;
  stale.push(...duplicates);

  let deleted = 0;
  for (const subscription of stale) {
    try {
      await deps.businessCentral.deleteSubscription(subscription);
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    deleted += 1;
    deps.logger.info(`subscription ${subscription.subscriptionId} removed (stale or duplicate)`);
  }

  let action: EnsureSubscriptionResult['action'];
  let active: BcSubscription;
  if (!keep) {
    active = await deps.businessCentral.createSubscription({ notificationUrl: deps.notificationUrl, resource, clientState: deps.clientState });
    action = 'created';
    deps.logger.info(
      recorded
        ? `subscription ${recorded.subscriptionId} was gone (expired or deleted by Business Central); created ${active.subscriptionId}`
        : `subscription ${active.subscriptionId} created`,
    );
  } else if (expiryOf(keep) - clock.now() <= (deps.renewWithinMs ?? DEFAULT_RENEW_WITHIN_MS)) {
    const renewed = await renewWithRetry(deps, keep);
    active = renewed.subscription;
    action = renewed.recreated ? 'created' : 'renewed';
    deps.logger.info(`subscription ${active.subscriptionId} ${action}, expires ${active.expirationDateTime}`);
  } else {
    active = keep;
    action = 'unchanged';
  }

  const value: RecordedSubscription = {
    subscriptionId: active.subscriptionId,
    etag: active['@odata.etag'],
    expirationDateTime: active.expirationDateTime,
    notificationUrl: deps.notificationUrl,
    resource,
    updatedAt: isoNow(clock),
  };
  // Last writer wins: the timer is a singleton, and what we just read from Business Central is the truth.
  await deps.state.put(SUBSCRIPTION_STATE_KEY, value);

  let catchUpRequested = false;
  if (action === 'created') {
    await deps.catchUpQueue.send([newPollCatchUp(`subscription ${active.subscriptionId} created`, undefined, deps.companyId, clock)]);
    catchUpRequested = true;
  }
  const replaced = action === 'created' && (recorded !== null || deleted > 0);
  return { action, subscriptionId: active.subscriptionId, expirationDateTime: active.expirationDateTime, deleted, catchUpRequested, replaced };
}

function expiryOf(subscription: BcSubscription): number {
  const expiry = Date.parse(subscription.expirationDateTime);
  return Number.isNaN(expiry) ? 0 : expiry;
}

/** Renews with If-Match; a stale ETag means someone touched it: re-read it and try once more. */
async function renewWithRetry(deps: SubscriptionDependencies, subscription: BcSubscription): Promise<{ subscription: BcSubscription; recreated: boolean }> {
  try {
    return { subscription: await deps.businessCentral.renewSubscription(subscription), recreated: false };
  } catch (error) {
    if (isNotFound(error)) return { subscription: await recreate(deps), recreated: true };
    if (!isStaleEtag(error)) throw error;
  }
  deps.logger.info(`subscription ${subscription.subscriptionId}: stale ETag on renew; re-reading it and retrying once`);
  const fresh = (await deps.businessCentral.listSubscriptions()).find((candidate) => candidate.subscriptionId === subscription.subscriptionId);
  if (!fresh) return { subscription: await recreate(deps), recreated: true };
  return { subscription: await deps.businessCentral.renewSubscription(fresh), recreated: false };
}

function recreate(deps: SubscriptionDependencies): Promise<BcSubscription> {
  return deps.businessCentral.createSubscription({
    notificationUrl: deps.notificationUrl,
    resource: deps.businessCentral.customersResource,
    clientState: deps.clientState,
  });
}
