import { app, type InvocationContext, type Timer } from '@azure/functions';

/**
 * Every 15 minutes: moves messages from the poison queues of the poison queues (`*-poison-poison`, where nothing
 * triggers) back to the poison queue they came from, and reports any it found (StrandedMessages; an alert counts
 * them). Reports each run as TimerRun. Needs only the storage setting, so it works while others are broken.
 */
export async function sweepPoisonQueues(_timer: Timer, context: InvocationContext): Promise<void> {
  // Modules beyond the registration load on the first invocation (docs/performance.md, cold start).
  const [{ loadStorageConfig }, { sweepPoisonQueues: sweep }, { storageQueueMover }, { runTimer }] = await Promise.all([
    import('../shared/config.js'),
    import('../shared/sync/poisonSweep.js'),
    import('../shared/storage/poisonQueue.js'),
    import('../shared/telemetry.js'),
  ]);
  await runTimer('sweepPoisonQueues', context, async () => {
    await sweep({ queues: storageQueueMover(loadStorageConfig(process.env)), logger: context });
  });
}

app.timer('sweepPoisonQueues', {
  schedule: '0 */15 * * * *',
  handler: sweepPoisonQueues,
});
