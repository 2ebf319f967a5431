import { app, type InvocationContext, type Timer } from '@azure/functions';

/** Daily: deletes transfer history older than TRANSFER_RETENTION_DAYS (default 90) from both history tables. */
export async function transferRetention(_timer: Timer, context: InvocationContext): Promise<void> {
  // Modules beyond the registration load on the first invocation (docs/performance.md, cold start).
  const [{ getServices }, { purgeTransfersBefore }, { runTimer }] = await Promise.all([
    import('../shared/services.js'),
    import('../shared/storage/retention.js'),
    import('../shared/telemetry.js'),
  ]);
  await runTimer('transferRetention', context, async () => {
    const { config, clock } = getServices();
    const cutoff = new Date(clock.now() - config.retention.transferDays * 86_400_000);
    const result = await purgeTransfersBefore(config.storage, cutoff);
    context.info(
      `retention: deleted ${result.transfers} transfers and ${result.index} index rows finished before ${result.cutoff}` +
        (result.more ? '; more remain, the next run continues' : ''),
    );
  });
}

app.timer('transferRetention', {
  // 03:17 UTC daily, away from the hour when the subscription check and polls run.
  schedule: '0 17 3 * * *',
  handler: transferRetention,
});
