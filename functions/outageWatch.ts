import { app, type InvocationContext, type Timer } from '@azure/functions';

/**
 * Every 15 seconds: probes Business Central or iPaaS.com once its hold has ended (a request of no customer), so a
 * breaker closes by itself when the service recovers, with or without traffic; resumes the customers that waited;
 * writes the "still on hold" line every few minutes. Reports only failed runs (TimerRun), not each success.
 */
export async function outageWatch(_timer: Timer, context: InvocationContext): Promise<void> {
  // Modules beyond the registration load on the first invocation (docs/performance.md, cold start).
  const [{ getServices }, { runTimer }] = await Promise.all([import('../shared/services.js'), import('../shared/telemetry.js')]);
  await runTimer('outageWatch', context, async () => {
    // Each company has its own holds (and its own waiting room); one company's round never waits for another's.
    const services = getServices();
    await Promise.all(services.companies.map((company) => company.breakers.watch(company.logger(context))));
  }, { quietSuccess: true });
}

app.timer('outageWatch', {
  schedule: '*/15 * * * * *',
  handler: outageWatch,
});
