import { app, type InvocationContext, type Timer } from '@azure/functions';
import { scheduleSetting } from '../shared/schedule';

/**
 * The polling fallback: enqueues customers changed since the watermark (webhooks can be missed or lost), for every
 * configured company at once, each from its own watermark. Reports each run as TimerRun.
 */
export async function pollCustomers(timer: Timer, context: InvocationContext): Promise<void> {
  // Modules beyond the registration load on the first invocation (docs/performance.md, cold start).
  const [{ getServices }, { combinedFailure, pollCompanies }, { runTimer }] = await Promise.all([
    import('../shared/services.js'),
    import('../shared/sync/companyRuns.js'),
    import('../shared/telemetry.js'),
  ]);
  await runTimer('pollCustomers', context, async () => {
    const services = getServices();
    if (timer.isPastDue) context.info('poll: running late (a scheduled run was missed)');
    const outcomes = await pollCompanies(
      services.companies.map((company) => company.work(context)),
      { syncQueue: services.storage.syncQueue, startFrom: services.config.poll.startFrom, overlapMs: services.config.poll.overlapMs, clock: services.clock },
    );
    for (const outcome of outcomes) {
      if (outcome.result?.outcome === 'leaseLost') context.warn(`poll${services.multiCompany ? ` of ${outcome.company.name}` : ''}: lost the poll lease midway; the next run repeats the window`);
    }
    // Each company polled on its own; the run fails (and says which) only after all of them are done.
    const failure = combinedFailure(outcomes, 'poll');
    if (failure !== undefined) throw failure;
  });
}

// The schedule is read at registration (not %POLL_SCHEDULE%) so the default applies when the setting is absent.
app.timer('pollCustomers', {
  schedule: scheduleSetting('POLL_SCHEDULE'),
  handler: pollCustomers,
});
