import { app, type InvocationContext, type Timer } from '@azure/functions';
import { scheduleSetting } from '../shared/schedule';

/** The polling fallback: enqueues customers changed since the watermark (webhooks can be missed or lost). Reports each run as TimerRun. */
export async function pollCustomers(timer: Timer, context: InvocationContext): Promise<void> {
  // Modules beyond the registration load on the first invocation (docs/performance.md, cold start).
  const [{ getServices }, { pollChanges }, { runTimer }] = await Promise.all([
    import('../shared/services.js'),
    import('../shared/sync/pollChanges.js'),
    import('../shared/telemetry.js'),
  ]);
  await runTimer('pollCustomers', context, async () => {
    const services = getServices();
    if (timer.isPastDue) context.info('poll: running late (a scheduled run was missed)');
    const result = await pollChanges({
      businessCentral: services.businessCentral,
      syncQueue: services.storage.syncQueue,
      leases: services.storage.leases,
      state: services.storage.state,
      logger: context,
      startFrom: services.config.poll.startFrom,
      overlapMs: services.config.poll.overlapMs,
    });
    if (result.outcome === 'leaseLost') context.warn('poll: lost the poll lease midway; the next run repeats the window');
  });
}

// The schedule is read at registration (not %POLL_SCHEDULE%) so the default applies when the setting is absent.
app.timer('pollCustomers', {
  schedule: scheduleSetting('POLL_SCHEDULE'),
  handler: pollCustomers,
});
