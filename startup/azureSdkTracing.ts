/**
 * Azure SDK calls (tables, queues, blobs, the managed identity) as dependencies in Application Insights.
 *
 * The Azure SDK creates spans through `@azure/core-tracing`, which does nothing until an OpenTelemetry instrumenter is
 * set on it. `@azure/monitor-opentelemetry` sets one from a module hook that fires when `@azure/core-tracing` is
 * `require`d or `import`ed after it started (require-in-the-middle / import-in-the-middle). In this app that never
 * happens: the SDK is bundled into ES modules (no `require` of a package at run time, and the ESM hook would need
 * `node --import`, which the Functions host does not allow), so Azure SDK spans went missing. The distro fixed this
 * after 1.18.1 (Azure/azure-sdk-for-js#39070, PR #39093) by applying the instrumentation's own patch to the loaded
 * `@azure/core-tracing` directly; this is the same, for the version the app uses (1.18.1, the last that declares
 * Node 20 support). `@azure/core-tracing` reads its instrumenter when a span starts, so setting it once is enough,
 * and the bundle holds exactly one copy of it (scripts/bundle.ts), the one the SDK clients use.
 */
import * as coreTracing from '@azure/core-tracing';
import { AzureSdkInstrumentation } from '@azure/opentelemetry-instrumentation-azure-sdk';

/** Sets the OpenTelemetry instrumenter on the app's `@azure/core-tracing`; true when the patch was found and applied. */
export function traceAzureSdk(): boolean {
  // Disabled: no require hook is installed (it could never fire in the bundle); only its patch is used.
  const instrumentation = new AzureSdkInstrumentation({ enabled: false });
  let applied = false;
  for (const definition of instrumentation.getModuleDefinitions()) {
    if (definition.name === '@azure/core-tracing' && definition.patch) {
      definition.patch(coreTracing);
      applied = true;
    }
  }
  return applied;
}
