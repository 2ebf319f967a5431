import { app, type InvocationContext, type Timer } from '@azure/functions';
import { scheduleSetting } from '../shared/schedule';

/**
 * Creates, renews or re-creates the Business Central webhook subscription of every configured company (one per
 * company, same URL and clientState; hourly by default); reports one SubscriptionState per company and one TimerRun.
 */
export async function subscriptionTimer(_timer: Timer, context: InvocationContext): Promise<void> {
  // Modules beyond the registration load on the first invocation (docs/performance.md, cold start).
  const [{ getServices }, { combinedFailure, ensureSubscriptions }, { reportSubscriptionState, runTimer }, { describeError }] = await Promise.all([
    import('../shared/services.js'),
    import('../shared/sync/companyRuns.js'),
    import('../shared/telemetry.js'),
    import('../shared/errors.js'),
  ]);
  await runTimer('subscriptionTimer', context, async () => {
    const services = getServices();
    const { config, storage } = services;
    // Every event names its company (one subscription per company).
    const companyOf = (ref: { id: string; name: string }) => ({ companyId: ref.id, companyName: ref.name });
    const notificationUrl = config.webhook.notificationUrl;
    if (!notificationUrl) {
      for (const company of services.companies) reportSubscriptionState(context, { action: 'Disabled', subscriptionId: null, expirationDateTime: null, ...companyOf(company.ref) });
      return;
    }
    const outcomes = await ensureSubscriptions(
      services.companies.map((company) => company.work(context)),
      { catchUpQueue: storage.catchUpQueue, notificationUrl, clientState: config.webhook.clientState, clock: services.clock },
    );
    for (const { company, result, error } of outcomes) {
      if (!result) {
        if (services.multiCompany) {
          context.error(`subscription of ${company.name}: ${describeError(error)}`);
          reportSubscriptionState(context, { action: 'Failed', subscriptionId: null, expirationDateTime: null, ...companyOf(company) });
        }
        continue;
      }
      const action = result.replaced ? 'Recreated' : result.action === 'created' ? 'Created' : result.action === 'renewed' ? 'Renewed' : 'Unchanged';
      reportSubscriptionState(context, { action, subscriptionId: result.subscriptionId, expirationDateTime: result.expirationDateTime, ...companyOf(company) });
    }
    const failure = combinedFailure(outcomes, 'subscription check');
    if (failure !== undefined) throw failure;
  });
}

app.timer('subscriptionTimer', {
  schedule: scheduleSetting('SUBSCRIPTION_SCHEDULE'),
  handler: subscriptionTimer,
});
