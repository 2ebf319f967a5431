import { getServices, resetServices } from '../../shared/services';
import type { BusinessCentralApi } from '../../shared/businessCentral/types';
import type { Logger } from '../../shared/log';
import { createQueueSender } from '../../shared/storage';
import { catchUpMessageSchema } from '../../shared/sync/catchUp';
import { ensureSubscription, SUBSCRIPTION_STATE_KEY, type RecordedSubscription, type SubscriptionDependencies } from '../../shared/sync/ensureSubscription';
import { type SyncMessage } from '../../shared/messages';
import { CLIENT_STATE, takeMessages, useHarness, WEBHOOK_PATH } from './harness';
import { CATCH_UP_QUEUE, SYNC_QUEUE } from '../../shared/queueNames';

// Business Central's clock (subscription expiry), moved by hand.
let now = Date.now();
const harness = useHarness({ now: () => new Date(now) });
const HOUR = 3_600_000;
let notificationUrl = '';
const silent: Logger = { info: () => {}, warn: () => {}, error: () => {} };

beforeAll(() => {
  notificationUrl = `${harness.host().url}${WEBHOOK_PATH}`;
  process.env.WEBHOOK_NOTIFICATION_URL = notificationUrl;
  resetServices();
});
afterAll(() => {
  delete process.env.WEBHOOK_NOTIFICATION_URL;
  resetServices();
});
beforeEach(() => {
  now = Date.now();
});

function deps(overrides: Partial<SubscriptionDependencies> = {}): SubscriptionDependencies {
  const { businessCentral, storage, config } = getServices();
  return {
    businessCentral,
    state: storage.state,
    catchUpQueue: createQueueSender(config.storage, CATCH_UP_QUEUE),
    logger: silent,
    notificationUrl,
    clientState: CLIENT_STATE,
    clock: { now: () => now, sleep: async () => {} },
    ...overrides,
  };
}

async function recorded(): Promise<RecordedSubscription | null> {
  return (await getServices().storage.state.get(SUBSCRIPTION_STATE_KEY, (value) => value as RecordedSubscription))?.value ?? null;
}

const catchUps = async () => (await takeMessages(CATCH_UP_QUEUE)).map((raw) => catchUpMessageSchema.parse(raw));

test('the timer creates the subscription; Business Central performs the real handshake against the webhook while the create is in flight', async () => {
  await harness.host().runTimer('subscriptionTimer');
  const [subscription, ...others] = harness.bc.subscriptions();
  expect(others).toEqual([]);
  expect(subscription).toMatchObject({ notificationUrl, clientState: CLIENT_STATE, resource: harness.bc.customersResource });
  expect(harness.bc.handshakes).toEqual([{ url: notificationUrl, ok: true }]);
  expect(await recorded()).toMatchObject({
    subscriptionId: subscription!.subscriptionId,
    etag: subscription!['@odata.etag'],
    expirationDateTime: subscription!.expirationDateTime,
    notificationUrl,
  });
  expect(await catchUps()).toEqual([expect.objectContaining({ kind: 'poll' })]);

  // An hour later nothing is due: no create, no renew, no handshake.
  harness.bc.resetRequests();
  await harness.host().runTimer('subscriptionTimer');
  expect(harness.bc.subscriptions().map((s) => s.subscriptionId)).toEqual([subscription!.subscriptionId]);
  expect(harness.bc.handshakes).toEqual([]);
  expect(harness.bc.requestLog.map((request) => request.method)).toEqual(['GET']);
  expect(await catchUps()).toEqual([]);
});

test('renews with If-Match when expiry is within 36 hours (with a new handshake), and records the new ETag', async () => {
  const created = await ensureSubscription(deps());
  expect(created.action).toBe('created');
  now += 40 * HOUR; // 32 hours left
  harness.bc.resetRequests();
  const result = await ensureSubscription(deps());
  expect(result).toMatchObject({ action: 'renewed', subscriptionId: created.subscriptionId, catchUpRequested: false });
  expect(Date.parse(result.expirationDateTime)).toBeGreaterThan(Date.parse(created.expirationDateTime));
  expect(harness.bc.requestLog.map((request) => request.method)).toEqual(['GET', 'PATCH']);
  expect(harness.bc.handshakes).toEqual([{ url: notificationUrl, ok: true }]);
  const [live] = harness.bc.subscriptions();
  expect(await recorded()).toMatchObject({ etag: live!['@odata.etag'], expirationDateTime: live!.expirationDateTime });
});

test('a stale ETag on renew: re-reads the subscription and retries once', async () => {
  const created = await ensureSubscription(deps());
  now += 40 * HOUR;
  const real = getServices().businessCentral;
  let interfered = false;
  // Someone renews it between our list and our PATCH, so the ETag we hold is stale.
  const racing: SubscriptionDependencies['businessCentral'] = {
    customersResource: real.customersResource,
    createSubscription: (input) => real.createSubscription(input),
    deleteSubscription: (subscription) => real.deleteSubscription(subscription),
    renewSubscription: (subscription) => real.renewSubscription(subscription),
    listSubscriptions: async () => {
      const list = await real.listSubscriptions();
      if (!interfered) {
        interfered = true;
        await real.renewSubscription(list[0]!);
      }
      return list;
    },
  };
  harness.bc.resetRequests();
  const result = await ensureSubscription(deps({ businessCentral: racing }));
  expect(result).toMatchObject({ action: 'renewed', subscriptionId: created.subscriptionId });
  const statuses = harness.bc.requestLog.map((request) => `${request.method} ${request.status}`);
  // Business Central answers a stale If-Match with 409 or 412 depending on the version.
  expect(statuses.map((line) => line.replace(/PATCH 4(09|12)/u, 'PATCH stale'))).toEqual(['GET 200', 'PATCH 200', 'PATCH stale', 'GET 200', 'PATCH 200']);
  expect(harness.bc.subscriptions()).toHaveLength(1);
});

test('re-creates a subscription that Business Central dropped, and triggers a catch-up poll that enqueues changes', async () => {
  const created = await ensureSubscription(deps());
  await catchUps();
  harness.bc.expireSubscription(created.subscriptionId);
  const customer = harness.bc.upsertCustomer({ type: 'Person', displayName: 'Changed While Deaf' });

  await harness.host().runTimer('subscriptionTimer');
  const [fresh, ...others] = harness.bc.subscriptions();
  expect(others).toEqual([]);
  expect(fresh!.subscriptionId).not.toBe(created.subscriptionId);
  expect((await recorded())?.subscriptionId).toBe(fresh!.subscriptionId);

  expect(await harness.host().drainQueue('catchUpWorker')).toBe(1);
  const messages = (await takeMessages(SYNC_QUEUE)) as SyncMessage[];
  expect(messages.map((message) => message.customerId)).toContain(customer.id);
  expect(messages.every((message) => message.source === 'poll')).toBe(true);
});

test('replaces a subscription of ours whose clientState is stale (the secret was rotated)', async () => {
  const stale = await getServices().businessCentral.createSubscription({
    notificationUrl,
    resource: harness.bc.customersResource,
    clientState: 'the-previous-client-state-value',
  });
  const result = await ensureSubscription(deps());
  expect(result).toMatchObject({ action: 'created', deleted: 1, catchUpRequested: true });
  const live = harness.bc.subscriptions();
  expect(live.map((s) => s.subscriptionId)).toEqual([result.subscriptionId]);
  expect(live[0]!.clientState).toBe(CLIENT_STATE);
  expect(result.subscriptionId).not.toBe(stale.subscriptionId);
});

test('removes ours at the notification URL we used before, and duplicates, keeping exactly one', async () => {
  const { businessCentral, storage } = getServices();
  const oldUrl = `${notificationUrl}?generation=1`;
  const old = await businessCentral.createSubscription({ notificationUrl: oldUrl, resource: businessCentral.customersResource, clientState: CLIENT_STATE });
  await storage.state.put(SUBSCRIPTION_STATE_KEY, {
    subscriptionId: old.subscriptionId,
    etag: old['@odata.etag'],
    expirationDateTime: old.expirationDateTime,
    notificationUrl: oldUrl,
    resource: businessCentral.customersResource,
    updatedAt: new Date().toISOString(),
  });
  const first = await businessCentral.createSubscription({ notificationUrl, resource: businessCentral.customersResource, clientState: CLIENT_STATE });
  now += 1000;
  const second = await businessCentral.createSubscription({ notificationUrl, resource: businessCentral.customersResource, clientState: CLIENT_STATE });

  const result = await ensureSubscription(deps());
  expect(result).toMatchObject({ action: 'unchanged', deleted: 2, catchUpRequested: false });
  expect(harness.bc.subscriptions().map((s) => s.subscriptionId)).toEqual([second.subscriptionId]);
  expect(first.subscriptionId).not.toBe(second.subscriptionId);
  expect(await recorded()).toMatchObject({ subscriptionId: second.subscriptionId, notificationUrl });
});

test('someone else’s subscriptions (another URL we never used) are left alone', async () => {
  const { businessCentral } = getServices();
  const foreign = await businessCentral.createSubscription({
    notificationUrl: `${harness.host().url}/api/webhooks/business-central?tool=other`,
    resource: businessCentral.customersResource,
    clientState: 'another-integration-secret',
  });
  await ensureSubscription(deps());
  expect(harness.bc.subscriptions().map((s) => s.subscriptionId)).toContain(foreign.subscriptionId);
  expect(harness.bc.subscriptions()).toHaveLength(2);
});

test('a renew that finds the subscription gone re-creates it', async () => {
  const created = await ensureSubscription(deps());
  now += 40 * HOUR;
  const real = getServices().businessCentral;
  const vanishing: Pick<BusinessCentralApi, 'listSubscriptions' | 'createSubscription' | 'renewSubscription' | 'deleteSubscription' | 'customersResource'> = {
    customersResource: real.customersResource,
    createSubscription: (input) => real.createSubscription(input),
    deleteSubscription: (subscription) => real.deleteSubscription(subscription),
    renewSubscription: (subscription) => {
      harness.bc.expireSubscription(subscription.subscriptionId);
      return real.renewSubscription(subscription);
    },
    listSubscriptions: () => real.listSubscriptions(),
  };
  const result = await ensureSubscription(deps({ businessCentral: vanishing }));
  expect(result).toMatchObject({ action: 'created', catchUpRequested: true });
  expect(result.subscriptionId).not.toBe(created.subscriptionId);
});

test('without WEBHOOK_NOTIFICATION_URL the timer does nothing', async () => {
  delete process.env.WEBHOOK_NOTIFICATION_URL;
  resetServices();
  try {
    await harness.host().runTimer('subscriptionTimer');
    await harness.host().runTimer('subscriptionTimer');
    expect(harness.bc.requests.subscription).toBe(0);
    expect(harness.bc.subscriptions()).toEqual([]);
  } finally {
    process.env.WEBHOOK_NOTIFICATION_URL = notificationUrl;
    resetServices();
  }
});
