import { app, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { readSyncStatus } from '../shared/console/status';
import { describeError } from '../shared/errors';
import { POISON_QUEUE, SYNC_QUEUE } from '../shared/messages';
import { getServices } from '../shared/services';
import { peekCount } from '../shared/storage';

/** GET /api/status: the webhook subscription, the polling watermark and queue depths (read-only, function key). */
export async function statusHttp(_request: unknown, context: InvocationContext): Promise<HttpResponseInit> {
  try {
    const { config, storage } = getServices();
    const status = await readSyncStatus({
      config,
      state: storage.state,
      queueDepth: (queue) => peekCount(config.storage, queue === 'sync' ? SYNC_QUEUE : POISON_QUEUE),
    });
    return { status: 200, jsonBody: status, headers: { 'Cache-Control': 'no-store' } };
  } catch (failure) {
    context.error(`status: ${describeError(failure)}`);
    return { status: 503, jsonBody: { error: 'The status is unavailable; see /api/health' }, headers: { 'Retry-After': '30', 'Cache-Control': 'no-store' } };
  }
}

app.http('status', {
  methods: ['GET'],
  authLevel: 'function',
  route: 'status',
  handler: statusHttp,
});
