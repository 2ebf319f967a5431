import { app, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { ConfigError, loadConfig, loadStorageConfig } from '../shared/config';
import { SERVICE_LABELS, SyncError } from '../shared/errors';
import { getServices } from '../shared/services';
import { pingStorage } from '../shared/storage';

interface Failure {
  part: 'settings' | 'storage';
  message: string;
}

/**
 * Settings valid and storage answering; `degraded` (still 200: the app itself works and holds the work) when
 * Business Central or iPaaS.com is on hold, with which service, since when, until when and what to do.
 * Messages name settings and parts, never values.
 */
export async function health(_request: unknown, context: InvocationContext): Promise<HttpResponseInit> {
  const failing: Failure[] = [];
  let settingsOk = true;
  try {
    loadConfig(process.env);
  } catch (failure) {
    settingsOk = false;
    failing.push({ part: 'settings', message: settingsMessage(failure) });
  }
  try {
    // With broken settings, storage is still checked on its own setting so the report is complete.
    await (settingsOk ? getServices().storage.ping() : pingStorage(loadStorageConfig(process.env)));
  } catch (failure) {
    // A missing AzureWebJobsStorage is already reported under settings.
    if (!(failure instanceof ConfigError && !settingsOk)) failing.push({ part: 'storage', message: storageMessage(failure) });
  }
  if (failing.length === 0) {
    const outages = await getServices()
      .breakers.report()
      .catch(() => []);
    if (outages.length === 0) return { status: 200, jsonBody: { status: 'ok' }, headers: { 'Cache-Control': 'no-store' } };
    const onHold = outages.map((outage) => ({
      service: SERVICE_LABELS[outage.service],
      reason: outage.kind,
      since: outage.since,
      nextAttemptAt: outage.retryAt,
      lastError: outage.message,
      action: outage.action,
    }));
    context.warn(`health: degraded: ${onHold.map((outage) => `${outage.service} on hold since ${outage.since} (${outage.reason})`).join(' | ')}`);
    return { status: 200, jsonBody: { status: 'degraded', onHold }, headers: { 'Cache-Control': 'no-store' } };
  }
  context.warn(`health: unhealthy: ${failing.map((failure) => `${failure.part}: ${failure.message}`).join(' | ')}`);
  return { status: 503, jsonBody: { status: 'unhealthy', failing }, headers: { 'Cache-Control': 'no-store' } };
}

function settingsMessage(failure: unknown): string {
  if (failure instanceof ConfigError) return failure.problems.map((problem) => `${problem.setting} ${problem.problem}`).join('; ');
  return 'the settings could not be read';
}

function storageMessage(failure: unknown): string {
  if (failure instanceof ConfigError) return failure.problems.map((problem) => `${problem.setting} ${problem.problem}`).join('; ');
  // SyncError messages from the storage layer carry the part and HTTP status only, never the connection string.
  return failure instanceof SyncError ? failure.message : 'storage did not answer';
}

app.http('health', {
  methods: ['GET'],
  authLevel: 'anonymous',
  route: 'health',
  handler: health,
});
