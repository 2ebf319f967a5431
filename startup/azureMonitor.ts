/**
 * The Azure Monitor OpenTelemetry SDK, started only in Azure (startup/telemetry.ts decides). `npm run build`
 * bundles this file on its own (dist/azureMonitor.js) so the app's bundle stays small and a cold start
 * without Application Insights never loads it.
 */
import type * as AzureFunctions from '@azure/functions';
import type { TokenCredential } from '@azure/identity';
import { AzureFunctionsInstrumentationESM } from '@azure/functions-opentelemetry-instrumentation';
import { useAzureMonitor } from '@azure/monitor-opentelemetry';
import { logs } from '@opentelemetry/api-logs';
import { trace, metrics } from '@opentelemetry/api';
import { registerInstrumentations } from '@opentelemetry/instrumentation';

export interface AzureMonitorStart {
  connectionString: string;
  /** Entra ID ingestion (the resource has local authentication off): the app's managed identity. */
  credential?: TokenCredential;
  /** The bundled @azure/functions module: the worker's hooks are applied to it directly (no require hook can see a bundled module). */
  azureFunctions: typeof AzureFunctions;
}

export function startAzureMonitor(options: AzureMonitorStart): void {
  useAzureMonitor({
    azureMonitorExporterOptions: {
      connectionString: options.connectionString,
      ...(options.credential ? { credential: options.credential } : {}),
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
  const functionsInstrumentation = new AzureFunctionsInstrumentationESM();
  registerInstrumentations({
    tracerProvider: trace.getTracerProvider(),
    meterProvider: metrics.getMeterProvider(),
    loggerProvider: logs.getLoggerProvider(),
    instrumentations: [functionsInstrumentation],
  });
  // Invocation logs go out from the worker (the host does not duplicate them) and spans join the host's trace.
  functionsInstrumentation.registerAzFunc(options.azureFunctions);
}
