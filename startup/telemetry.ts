import path from 'node:path';
import type * as AzureFunctions from '@azure/functions';
import { ManagedIdentityCredential } from '@azure/identity';
import { setStructuredTelemetry } from '../shared/observability';
import type { AzureMonitorStart } from './azureMonitor';

/**
 * Starts Azure Monitor when APPLICATIONINSIGHTS_CONNECTION_STRING is set (in Azure), nothing otherwise.
 * The SDK is required only then, from its own file: `azureMonitor` next to this one, which is
 * startup/azureMonitor.ts in the sources and dist/azureMonitor.js next to the bundle.
 */
export function startTelemetry(azureFunctions: typeof AzureFunctions, env: Record<string, string | undefined> = process.env): boolean {
  const connectionString = env.APPLICATIONINSIGHTS_CONNECTION_STRING?.trim();
  if (!connectionString) return false;
  // Local authentication is off on the Application Insights resource: ingestion uses the app's identity.
  const authentication = env.APPLICATIONINSIGHTS_AUTHENTICATION_STRING ?? '';
  const clientId = /ClientId=([^;]+)/iu.exec(authentication)?.[1] ?? env.AZURE_CLIENT_ID?.trim();
  const credential = /Authorization=AAD/iu.test(authentication) ? new ManagedIdentityCredential(clientId ? { clientId } : {}) : undefined;
  try {
    const load = require as (id: string) => { startAzureMonitor(options: AzureMonitorStart): void };
    load(path.join(__dirname, 'azureMonitor')).startAzureMonitor({ connectionString, azureFunctions, ...(credential ? { credential } : {}) });
  } catch (failure) {
    // Telemetry must never keep the app from starting; the host log still shows why.
    console.error(`Application Insights could not be started: ${failure instanceof Error ? failure.message : String(failure)}`);
    return false;
  }
  setStructuredTelemetry(true);
  return true;
}
