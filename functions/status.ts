import { app, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { describeError } from '../shared/errors';
import { loadOrNotConfigured, unavailable } from '../shared/http/apiErrors';
import { POISON_QUEUE, SYNC_QUEUE } from '../shared/queueNames';

/** GET /api/status: the webhook subscription and polling watermark of every company, and queue depths (read-only, function key). */
export async function statusHttp(_request: unknown, context: InvocationContext): Promise<HttpResponseInit> {
  // Modules beyond the registration load on the first invocation (docs/performance.md, cold start).
  const [{ readSyncStatus }, { getServices }, { peekCount }] = await Promise.all([
    import('../shared/console/status.js'),
    import('../shared/services.js'),
    import('../shared/storage/index.js'),
  ]);
  const loaded = loadOrNotConfigured(getServices, context, 'status', 'The service is not configured; GET /api/health/details names what is missing');
  if (!loaded.ok) return loaded.response;
  const services = loaded.value;
  try {
    const { config, storage } = services;
    const status = await readSyncStatus({
      config,
      state: services.companies[0]!.storage.state,
      companies: services.companies.map((company) => ({ id: company.ref.id, name: company.ref.name, state: company.storage.state })),
      queueDepth: (queue) => peekCount(config.storage, queue === 'sync' ? SYNC_QUEUE : POISON_QUEUE),
    });
    return { status: 200, jsonBody: status, headers: { 'Cache-Control': 'no-store' } };
  } catch (failure) {
    context.error(`status: ${describeError(failure)}`);
    return unavailable('StorageUnavailable', 'The status is unavailable: storage did not answer; try again later');
  }
}

app.http('status', {
  methods: ['GET'],
  authLevel: 'function',
  route: 'status',
  handler: statusHttp,
});
