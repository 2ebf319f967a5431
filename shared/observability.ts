import { metrics, SpanKind, SpanStatusCode, trace, type Attributes, type Counter, type Histogram, type MeterProvider, type Span } from '@opentelemetry/api';
import { logs, SeverityNumber, type AnyValueMap } from '@opentelemetry/api-logs';
import { redact } from './log';

/**
 * OpenTelemetry through its API only: without a registered SDK (locally, in tests that do not install
 * one) every call here is a no-op. In Azure, startup/azureMonitor.ts registers the Azure Monitor SDK and
 * the same calls become dependencies, traces with customDimensions, and customMetrics.
 */
export const INSTRUMENTATION_NAME = 'bc-ipaas-customer-sync';

let structured = false;

/** Set once the SDK is registered: events then go out as structured records instead of `Name {json}` log lines. */
export function setStructuredTelemetry(enabled: boolean): void {
  structured = enabled;
}

export function structuredTelemetryEnabled(): boolean {
  return structured;
}

/**
 * A URL fit for telemetry: emails (plain or percent-encoded) masked and secret-looking parameters removed,
 * wherever they are, so `$filter=email eq '...'` or `/customers/email/...` never reach a span.
 */
export function telemetryUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.username = '';
    parsed.password = '';
    return redact(parsed.toString());
  } catch {
    return '(invalid url)';
  }
}

/** `GET /…/companies({id})/customers({id})`: ids out of the name so dependencies group by operation. */
export function operationName(method: string, url: string): string {
  let path: string;
  try {
    path = new URL(url).pathname;
  } catch {
    path = '(invalid url)';
  }
  const template = path
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/giu, '{id}')
    .split('/')
    .map((segment) => (/^\d+$/u.test(segment) || segment.includes('@') || segment.includes('%40') ? '{id}' : segment))
    .join('/');
  return `${method} ${template}`;
}

export interface DependencyCall {
  /** The remote service as people name it: `Business Central`, `Entra ID`, `iPaaS.com`. */
  service: string;
  name: string;
  /** Where the call goes (host[:port]). */
  server: { address: string; port?: number };
  attributes?: Attributes;
}

/** Runs `call` inside a CLIENT span (an Application Insights dependency); the span fails when `call` throws. */
export async function withDependencySpan<T>(dependency: DependencyCall, call: (span: Span) => Promise<T>): Promise<T> {
  const attributes: Attributes = {
    'peer.service': dependency.service,
    'server.address': dependency.server.address,
    ...(dependency.server.port === undefined ? {} : { 'server.port': dependency.server.port }),
    ...dependency.attributes,
  };
  return trace.getTracer(INSTRUMENTATION_NAME).startActiveSpan(dependency.name, { kind: SpanKind.CLIENT, attributes }, async (span) => {
    try {
      return await call(span);
    } catch (failure) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: failure instanceof Error ? redact(failure.message).slice(0, 500) : 'failed' });
      if (span.isRecording() && !('error.type' in attributes)) span.setAttribute('error.type', failure instanceof Error ? failure.name : 'Error');
      throw failure;
    } finally {
      span.end();
    }
  });
}

export function serverOf(url: string): { address: string; port?: number } {
  try {
    const parsed = new URL(url);
    return { address: parsed.hostname, ...(parsed.port ? { port: Number(parsed.port) } : {}) };
  } catch {
    return { address: '(invalid url)' };
  }
}

/** One structured log record: `name` is the message (traces.message), `attributes` land in customDimensions. */
export function emitEvent(name: string, attributes: AnyValueMap, severity: 'info' | 'warn' | 'error' = 'info'): void {
  logs.getLogger(INSTRUMENTATION_NAME).emit({
    body: name,
    severityNumber: severity === 'error' ? SeverityNumber.ERROR : severity === 'warn' ? SeverityNumber.WARN : SeverityNumber.INFO,
    severityText: severity === 'error' ? 'Error' : severity === 'warn' ? 'Warning' : 'Information',
    attributes,
  });
}

interface Instruments {
  provider: MeterProvider;
  transfers: Counter;
  latency: Histogram;
  duration: Histogram;
}

let instruments: Instruments | undefined;

/**
 * The meters, created for the provider registered now (the metrics API has no proxy, so instruments
 * made before the SDK started would stay no-ops forever).
 */
export function transferInstruments(): Omit<Instruments, 'provider'> {
  const provider = metrics.getMeterProvider();
  if (instruments?.provider !== provider) {
    const meter = provider.getMeter(INSTRUMENTATION_NAME);
    instruments = {
      provider,
      transfers: meter.createCounter('transfers', { description: 'Transfers by status, action, error code and source', unit: '{transfer}' }),
      latency: meter.createHistogram('transfer.latency', { description: 'From enqueue to recorded outcome (end to end)', unit: 'ms' }),
      duration: meter.createHistogram('transfer.duration', { description: 'Time spent in the sync for one transfer', unit: 'ms' }),
    };
  }
  return instruments;
}
