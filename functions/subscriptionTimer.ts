import { app, type InvocationContext, type Timer } from '@azure/functions';
import { scheduleSetting } from '../shared/config';
import { getServices } from '../shared/services';
import { createQueueSender } from '../shared/storage';
import { CATCH_UP_QUEUE } from '../shared/sync/catchUp';
import { ensureSubscription } from '../shared/sync/ensureSubscription';

let reportedDisabled = false;

/** Creates, renews or re-creates the Business Central webhook subscription (hourly by default). */
export async function subscriptionTimer(_timer: Timer, context: InvocationContext): Promise<void> {
  const { config, businessCentral, storage } = getServices();
  const notificationUrl = config.webhook.notificationUrl;
  if (!notificationUrl) {
    if (!reportedDisabled) context.info('subscription: WEBHOOK_NOTIFICATION_URL is not set; webhooks are off and polling alone finds changes');
    reportedDisabled = true;
    return;
  }
  reportedDisabled = false;
  const result = await ensureSubscription({
    businessCentral,
    state: storage.state,
    catchUpQueue: createQueueSender(config.storage, CATCH_UP_QUEUE),
    logger: context,
    notificationUrl,
    clientState: config.webhook.clientState,
  });
  context.info(`subscription ${result.subscriptionId}: ${result.action}, expires ${result.expirationDateTime}${result.deleted ? `, ${result.deleted} stale removed` : ''}`);
}

app.timer('subscriptionTimer', {
  schedule: scheduleSetting('SUBSCRIPTION_SCHEDULE'),
  handler: subscriptionTimer,
});
