import { app, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import type { ConfigError } from '../shared/config';
import { SyncError } from '../shared/errors';

interface Failure {
  part: 'settings' | 'storage';
  message: string;
}

/** Settings valid and storage answering. Messages name settings and parts, never values. */
export async function health(_request: unknown, context: InvocationContext): Promise<HttpResponseInit> {
  // Modules beyond the registration load on the first invocation (docs/performance.md, cold start).
  const [{ loadConfig, loadStorageConfig }, { getServices }, { pingStorage }] = await Promise.all([
    import('../shared/config.js'),
    import('../shared/services.js'),
    import('../shared/storage/index.js'),
  ]);
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
    if (!(isConfigError(failure) && !settingsOk)) failing.push({ part: 'storage', message: storageMessage(failure) });
  }
  if (failing.length === 0) return { status: 200, jsonBody: { status: 'ok' }, headers: { 'Cache-Control': 'no-store' } };
  context.warn(`health: unhealthy: ${failing.map((failure) => `${failure.part}: ${failure.message}`).join(' | ')}`);
  return { status: 503, jsonBody: { status: 'unhealthy', failing }, headers: { 'Cache-Control': 'no-store' } };
}

/** The settings module loads on first use, so its error class is recognised by name. */
function isConfigError(failure: unknown): failure is ConfigError {
  return failure instanceof Error && failure.name === 'ConfigError' && 'problems' in failure;
}

function settingsMessage(failure: unknown): string {
  if (isConfigError(failure)) return failure.problems.map((problem) => `${problem.setting} ${problem.problem}`).join('; ');
  return 'the settings could not be read';
}

function storageMessage(failure: unknown): string {
  if (isConfigError(failure)) return failure.problems.map((problem) => `${problem.setting} ${problem.problem}`).join('; ');
  // SyncError messages from the storage layer carry the part and HTTP status only, never the connection string.
  return failure instanceof SyncError ? failure.message : 'storage did not answer';
}

app.http('health', {
  methods: ['GET'],
  authLevel: 'anonymous',
  route: 'health',
  handler: health,
});
