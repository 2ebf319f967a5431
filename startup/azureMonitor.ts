/**
 * The Azure Monitor OpenTelemetry SDK, started only in Azure (startup/telemetry.ts decides and imports this
 * file dynamically, so it is a chunk of its own that a cold start without Application Insights never loads).
 */
import type * as AzureFunctions from '@azure/functions';
import { ManagedIdentityCredential } from '@azure/identity';
import { AzureFunctionsInstrumentationESM } from '@azure/functions-opentelemetry-instrumentation';
import { useAzureMonitor } from '@azure/monitor-opentelemetry';
import { logs } from '@opentelemetry/api-logs';
import { trace, metrics } from '@opentelemetry/api';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { setStructuredTelemetry } from '../shared/observability';
import { traceAzureSdk } from './azureSdkTracing';

export interface AzureMonitorStart {
  connectionString: string;
  /** APPLICATIONINSIGHTS_AUTHENTICATION_STRING: `Authorization=AAD;ClientId=...` means Entra ID ingestion (local authentication is off). */
  authenticationString: string | undefined;
  azureClientId: string | undefined;
  /** The bundled @azure/functions module: the worker's hooks are applied to it directly (no require hook can see a bundled module). */
  azureFunctions: typeof AzureFunctions;
}

export function startAzureMonitor(options: AzureMonitorStart): void {
  const authentication = options.authenticationString ?? '';
  const clientId = /ClientId=([^;]+)/iu.exec(authentication)?.[1] ?? options.azureClientId?.trim();
  // Ingestion with the app's managed identity, explicitly (no other credential is tried).
  const credential = /Authorization=AAD/iu.test(authentication) ? new ManagedIdentityCredential(clientId ? { clientId } : {}) : undefined;
  useAzureMonitor({
    azureMonitorExporterOptions: {
      connectionString: options.connectionString,
      ...(credential ? { credential } : {}),
    },
    // Every transfer record, dependency and timer run is kept: volumes are small and alerts count them.
    // tracesPerSecond 0 switches the default rate limit (5/s) off in favour of the ratio.
    samplingRatio: 1,
    tracesPerSecond: 0,
    enableLiveMetrics: true,
    instrumentationOptions: {
      // Table and queue calls of the Azure SDK become dependencies too.
      azureSdk: { enabled: true },
      // Outbound calls use fetch and are traced by the app's own client (emails redacted); nothing goes through node:http.
      http: { enabled: false },
      mongoDb: { enabled: false },
      mySql: { enabled: false },
      postgreSql: { enabled: false },
      redis: { enabled: false },
      redis4: { enabled: false },
      bunyan: { enabled: false },
      winston: { enabled: false },
    },
  });
  // Table, queue and blob calls as dependencies: the distro's own hook cannot reach the bundled SDK (azureSdkTracing.ts).
  if (!traceAzureSdk()) console.warn('Application Insights: Azure SDK calls will not be traced (no @azure/core-tracing patch found)');
  // The Functions hooks (trace context of the host, invocation logs) are registered here once: the distro's own
  // preInvocation hook is left out of the bundle (scripts/bundle.ts).
  const functionsInstrumentation = new AzureFunctionsInstrumentationESM();
  registerInstrumentations({
    tracerProvider: trace.getTracerProvider(),
    meterProvider: metrics.getMeterProvider(),
    loggerProvider: logs.getLoggerProvider(),
    instrumentations: [functionsInstrumentation],
  });
  // Invocation logs go out from the worker (the host does not duplicate them) and spans join the host's trace.
  try {
    functionsInstrumentation.registerAzFunc(options.azureFunctions);
  } catch {
    // The worker had already read the app's setup (capabilities): keep the hooks, without the capability
    // (the host then also forwards the invocation logs it sees).
    const { app } = options.azureFunctions;
    functionsInstrumentation.registerAzFunc({ ...options.azureFunctions, app: { ...app, setup: () => undefined } } as typeof AzureFunctions);
  }
  setStructuredTelemetry(true);
}
