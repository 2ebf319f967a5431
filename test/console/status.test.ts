import { readSyncStatus, type StatusDependencies } from '../../shared/console/status';
import { SUBSCRIPTION_STATE_KEY } from '../../shared/sync/ensureSubscription';
import { POLL_WATERMARK_KEY } from '../../shared/sync/pollChanges';
import { fixedClock } from '../support/clock';

/** The status the console shows, from state rows as the timers write them, and when they are absent or broken. */
const config: StatusDependencies['config'] = {
  webhook: { clientState: 'a-client-state-of-16+', notificationUrl: 'https://app.example/api/webhooks/business-central' },
  poll: { schedule: '0 */5 * * * *', startFrom: undefined, overlapMs: 120_000 },
  subscription: { schedule: '0 0 * * * *' },
};

function stateOf(rows: Record<string, unknown>): StatusDependencies['state'] {
  return {
    async get<T>(key: string, parse: (value: unknown) => T) {
      return key in rows ? { value: parse(rows[key]), etag: 'W/"1"' } : null;
    },
  };
}

const clock = fixedClock('2026-11-27T10:00:00Z');

test('reads the recorded subscription (expiry, last renewal) and the watermark; names no secret', async () => {
  const status = await readSyncStatus({
    config,
    clock,
    state: stateOf({
      [SUBSCRIPTION_STATE_KEY]: { subscriptionId: 'sub-1', etag: 'W/"x"', expirationDateTime: '2026-11-30T09:00:00Z', notificationUrl: 'https://app.example/api/webhooks/business-central', resource: 'r', updatedAt: '2026-11-27T09:00:00Z' },
      [POLL_WATERMARK_KEY]: { lastModifiedDateTime: '2026-11-27T09:55:00Z' },
    }),
    queueDepth: async (queue) => (queue === 'sync' ? 12 : 3),
  });
  expect(status).toEqual({
    generatedAt: '2026-11-27T10:00:00.000Z',
    subscription: { managed: true, schedule: '0 0 * * * *', current: { subscriptionId: 'sub-1', expirationDateTime: '2026-11-30T09:00:00Z', lastRenewedAt: '2026-11-27T09:00:00Z' } },
    poll: { schedule: '0 */5 * * * *', watermark: '2026-11-27T09:55:00Z' },
    queues: { sync: 12, poison: 3 },
    features: { dryRun: expect.any(Boolean), reconciliation: expect.any(Boolean) },
  });
  expect(JSON.stringify(status)).not.toContain('webhooks');
  expect(JSON.stringify(status)).not.toContain(config.webhook.clientState);
});

test('nothing recorded yet, a malformed row, an unreadable queue: reported as absent, not as a failure', async () => {
  const status = await readSyncStatus({
    config: { ...config, webhook: { ...config.webhook, notificationUrl: undefined } },
    clock,
    state: stateOf({ [POLL_WATERMARK_KEY]: { lastModifiedDateTime: 42 } }),
    queueDepth: async (queue) => {
      if (queue === 'poison') throw new Error('queue unreadable');
      return 0;
    },
  });
  expect(status.subscription).toEqual({ managed: false, schedule: '0 0 * * * *', current: null });
  expect(status.poll.watermark).toBeNull();
  expect(status.queues).toEqual({ sync: 0, poison: null });
});

test('a state store that fails makes the whole status fail (the route answers 503)', async () => {
  await expect(
    readSyncStatus({
      config,
      state: { get: async () => Promise.reject(new Error('storage down')) },
      queueDepth: async () => 0,
    }),
  ).rejects.toThrow('storage down');
});
