import type * as AzureFunctions from '@azure/functions';

/**
 * Starts Azure Monitor when APPLICATIONINSIGHTS_CONNECTION_STRING is set (in Azure), nothing otherwise.
 * The SDK is imported only then (`npm run build` makes it a chunk of its own), so a cold start without
 * Application Insights never loads it. The import runs in an appStart hook, which the Functions worker
 * awaits after loading the entry and before the first invocation (the entry itself cannot await: it is
 * also loaded as CommonJS by the local host).
 */
export function startTelemetry(azureFunctions: typeof AzureFunctions, env: Record<string, string | undefined> = process.env): boolean {
  const connectionString = env.APPLICATIONINSIGHTS_CONNECTION_STRING?.trim();
  if (!connectionString) return false;
  azureFunctions.app.hook.appStart(async () => {
    try {
      const { startAzureMonitor } = await import('./azureMonitor.js');
      startAzureMonitor({ connectionString, authenticationString: env.APPLICATIONINSIGHTS_AUTHENTICATION_STRING, azureClientId: env.AZURE_CLIENT_ID, azureFunctions });
    } catch (failure) {
      // Telemetry must never keep the app from starting; the host log still shows why.
      console.error(`Application Insights could not be started: ${failure instanceof Error ? failure.message : String(failure)}`);
    }
  });
  return true;
}
