import { app, type InvocationContext, type Timer } from '@azure/functions';
import { scheduleSetting } from '../shared/schedule';
import { subscriptionEventLine } from '../shared/telemetry';

/** Creates, renews or re-creates the Business Central webhook subscription (hourly by default); logs one SubscriptionState line. */
export async function subscriptionTimer(_timer: Timer, context: InvocationContext): Promise<void> {
  // Modules beyond the registration load on the first invocation (docs/performance.md, cold start).
  const [{ getServices }, { ensureSubscription }] = await Promise.all([
    import('../shared/services.js'),
    import('../shared/sync/ensureSubscription.js'),
  ]);
  const { config, businessCentral, storage } = getServices();
  const notificationUrl = config.webhook.notificationUrl;
  if (!notificationUrl) {
    context.info(subscriptionEventLine({ action: 'Disabled', subscriptionId: null, expirationDateTime: null }));
    return;
  }
  const result = await ensureSubscription({
    businessCentral,
    state: storage.state,
    catchUpQueue: storage.catchUpQueue,
    logger: context,
    notificationUrl,
    clientState: config.webhook.clientState,
  });
  const action = result.replaced ? 'Recreated' : result.action === 'created' ? 'Created' : result.action === 'renewed' ? 'Renewed' : 'Unchanged';
  context.info(subscriptionEventLine({ action, subscriptionId: result.subscriptionId, expirationDateTime: result.expirationDateTime }));
}

app.timer('subscriptionTimer', {
  schedule: scheduleSetting('SUBSCRIPTION_SCHEDULE'),
  handler: subscriptionTimer,
});
