import { app, type InvocationContext, type Timer } from '@azure/functions';
import { scheduleSetting } from '../shared/config';
import { getServices } from '../shared/services';
import { createQueueSender } from '../shared/storage';
import { CATCH_UP_QUEUE } from '../shared/sync/catchUp';
import { ensureSubscription } from '../shared/sync/ensureSubscription';
import { reportSubscriptionState, runTimer } from '../shared/telemetry';

/** Creates, renews or re-creates the Business Central webhook subscription (hourly by default); reports one SubscriptionState. */
export async function subscriptionTimer(_timer: Timer, context: InvocationContext): Promise<void> {
  await runTimer('subscriptionTimer', context, async () => {
    const { config, businessCentral, storage } = getServices();
    const notificationUrl = config.webhook.notificationUrl;
    if (!notificationUrl) {
      reportSubscriptionState(context, { action: 'Disabled', subscriptionId: null, expirationDateTime: null });
      return;
    }
    const result = await ensureSubscription({
      businessCentral,
      state: storage.state,
      catchUpQueue: createQueueSender(config.storage, CATCH_UP_QUEUE),
      logger: context,
      notificationUrl,
      clientState: config.webhook.clientState,
    });
    const action = result.replaced ? 'Recreated' : result.action === 'created' ? 'Created' : result.action === 'renewed' ? 'Renewed' : 'Unchanged';
    reportSubscriptionState(context, { action, subscriptionId: result.subscriptionId, expirationDateTime: result.expirationDateTime });
  });
}

app.timer('subscriptionTimer', {
  schedule: scheduleSetting('SUBSCRIPTION_SCHEDULE'),
  handler: subscriptionTimer,
});
