import { app, type InvocationContext, type Timer } from '@azure/functions';
import { scheduleSetting } from '../shared/schedule';

/** Creates, renews or re-creates the Business Central webhook subscription (hourly by default); reports one SubscriptionState and one TimerRun. */
export async function subscriptionTimer(_timer: Timer, context: InvocationContext): Promise<void> {
  // Modules beyond the registration load on the first invocation (docs/performance.md, cold start).
  const [{ getServices }, { ensureSubscription }, { reportSubscriptionState, runTimer }] = await Promise.all([
    import('../shared/services.js'),
    import('../shared/sync/ensureSubscription.js'),
    import('../shared/telemetry.js'),
  ]);
  await runTimer('subscriptionTimer', context, async () => {
    const { config, businessCentral, storage, clock } = getServices();
    const notificationUrl = config.webhook.notificationUrl;
    if (!notificationUrl) {
      reportSubscriptionState(context, { action: 'Disabled', subscriptionId: null, expirationDateTime: null });
      return;
    }
    const result = await ensureSubscription({
      businessCentral,
      state: storage.state,
      catchUpQueue: storage.catchUpQueue,
      logger: context,
      notificationUrl,
      clientState: config.webhook.clientState,
      clock,
    });
    const action = result.replaced ? 'Recreated' : result.action === 'created' ? 'Created' : result.action === 'renewed' ? 'Renewed' : 'Unchanged';
    reportSubscriptionState(context, { action, subscriptionId: result.subscriptionId, expirationDateTime: result.expirationDateTime });
  });
}

app.timer('subscriptionTimer', {
  schedule: scheduleSetting('SUBSCRIPTION_SCHEDULE'),
  handler: subscriptionTimer,
});
