/**
 * What Application Insights receives, read from in-memory OpenTelemetry exporters: dependencies for every
 * Business Central, Entra ID and iPaaS.com call (no email anywhere), one TransferCompleted record per
 * transfer with its fields as attributes (customDimensions), the transfer metrics, and TimerRun records.
 */
import { metrics, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { logs } from '@opentelemetry/api-logs';
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader, type HistogramMetricData, type SumMetricData } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan, type Span, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { createFakeWorld } from '../../dev/fakes/world';
import { loadConfig } from '../../shared/config';
import { SyncError } from '../../shared/errors';
import { silentLogger, type Logger } from '../../shared/log';
import { INSTRUMENTATION_NAME, operationName, setStructuredTelemetry, telemetryUrl, withDependencySpan } from '../../shared/observability';
import { createStorage } from '../../shared/storage';
import { handlePoisonMessage } from '../../shared/sync/queueWorkers';
import { syncCustomer } from '../../shared/sync/syncCustomer';
import { runTimer, TRANSFER_EVENT } from '../../shared/telemetry';
import { startTelemetry } from '../../startup/telemetry';
import { traceAzureSdk } from '../../startup/azureSdkTracing';
import { createQueueSender, peekCount, queueClient, tableClient } from '../../shared/storage';
import { SYNC_QUEUE } from '../../shared/queueNames';
import { startMockServer } from '../support/msw';
import { resetStorage } from '../support/storage';
import { syncDependencies } from '../support/sync';
import { fixedClock } from '../support/clock';

const spans = new InMemorySpanExporter();
/**
 * Spans started and not (yet) ended. A dependency's duration is the time between its start and its end, which the
 * SDK measures; what the code owns is ending each span exactly when its call is over, on success and on failure.
 */
const open = new Set<Span>();
const openSpans: SpanProcessor = {
  onStart: (span) => void open.add(span),
  onEnd: (span) => void open.delete(span as Span),
  forceFlush: async () => undefined,
  shutdown: async () => undefined,
};
const records = new InMemoryLogRecordExporter();
const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
const metricReader = new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: 3_600_000 });
trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [openSpans, new SimpleSpanProcessor(spans)] }));
logs.setGlobalLoggerProvider(new LoggerProvider({ processors: [new SimpleLogRecordProcessor(records)] }));
const meterProvider = new MeterProvider({ readers: [metricReader] });
metrics.setGlobalMeterProvider(meterProvider);

const config = loadConfig(process.env);
const world = createFakeWorld(config);
startMockServer(...world.handlers);
const storage = createStorage(config.storage);
const EMAIL = 'robert.townes@contoso.example';

beforeEach(async () => {
  await resetStorage();
  world.ipaas.reset();
  world.businessCentral.faults.clear();
  for (const customer of world.businessCentral.customers()) world.businessCentral.deleteCustomer(customer.id);
  spans.reset();
  open.clear();
  records.reset();
  setStructuredTelemetry(true);
});
afterEach(() => {
  // Every call is over when a use-case returns or throws: a span still open would never reach Application Insights.
  expect([...open].map((span) => span.name)).toEqual([]);
});
afterAll(async () => {
  setStructuredTelemetry(false);
  await meterProvider.shutdown();
});

const dependencies = (service: string): ReadableSpan[] => spans.getFinishedSpans().filter((span) => span.attributes['peer.service'] === service);

function person() {
  return world.businessCentral.upsertCustomer({ number: '10000', displayName: 'Robert Townes', type: 'Person', email: EMAIL });
}

async function metricPoints() {
  await metricReader.forceFlush();
  const scopes = metricExporter.getMetrics().at(-1)?.scopeMetrics ?? [];
  return scopes.filter((scope) => scope.scope.name === INSTRUMENTATION_NAME).flatMap((scope) => scope.metrics);
}

describe('dependencies', () => {
  test('every Business Central, Entra ID and iPaaS.com call is a CLIENT span with its status, ended with its call, and no email anywhere', async () => {
    const customer = person();
    const transfer = await syncCustomer(syncDependencies(config, storage), { customerId: customer.id, source: 'manual', correlationId: 'c-1', attempt: 1 });
    expect(transfer.status).toBe('Succeeded');

    const bc = dependencies('Business Central');
    expect(bc.length).toBeGreaterThanOrEqual(1);
    expect(bc[0]).toMatchObject({
      kind: SpanKind.CLIENT,
      name: expect.stringMatching(/^GET \/.*\/companies\(\{id\}\)\/customers\(\{id\}\)/u),
      attributes: expect.objectContaining({
        'http.request.method': 'GET',
        'http.response.status_code': 200,
        'server.address': new URL(config.businessCentral.apiBaseUrl).hostname,
        'url.full': expect.stringContaining(customer.id),
      }),
    });
    const entra = dependencies('Entra ID');
    expect(entra).toHaveLength(1); // one token for all the calls of this client
    expect(entra[0]).toMatchObject({ kind: SpanKind.CLIENT, status: { code: SpanStatusCode.UNSET } });

    const ipaas = dependencies('iPaaS.com');
    expect(ipaas.map((span) => span.attributes['http.request.method'])).toEqual(expect.arrayContaining(['GET', 'POST']));
    for (const span of ipaas) expect(span.attributes['http.response.status_code']).toEqual(expect.any(Number));

    for (const span of spans.getFinishedSpans()) {
      const text = JSON.stringify({ name: span.name, attributes: span.attributes, status: span.status });
      for (const form of [EMAIL, encodeURIComponent(EMAIL), 'robert.townes']) expect(text).not.toContain(form);
    }
  });

  test('a failed call is a failed dependency with its status code', async () => {
    world.businessCentral.faults.add({ status: 400, times: 5 });
    const customer = person();
    await syncCustomer(syncDependencies(config, storage), { customerId: customer.id, source: 'manual', correlationId: 'c-2', attempt: 1 }).catch(() => undefined);
    const failed = dependencies('Business Central').filter((span) => span.status.code === SpanStatusCode.ERROR);
    expect(failed.length).toBeGreaterThanOrEqual(1);
    expect(failed[0]!.attributes).toMatchObject({ 'http.response.status_code': 400, 'error.type': '400' });
  });

  test('a call that throws (a reset connection, a timeout) still ends its span, as a failed dependency', async () => {
    const call = { service: 'iPaaS.com', name: 'GET /v2/Customers', server: { address: 'api.example' } };
    await expect(withDependencySpan(call, async () => Promise.reject(new Error('socket hang up')))).rejects.toThrow('socket hang up');
    const [span] = dependencies('iPaaS.com');
    expect(span).toMatchObject({ name: 'GET /v2/Customers', status: { code: SpanStatusCode.ERROR, message: 'socket hang up' }, attributes: expect.objectContaining({ 'error.type': 'Error' }) });
  });

  test('URLs and names for telemetry mask emails in queries and paths', () => {
    const url = `https://api.example/customers?filter=${encodeURIComponent(`EmailAddress eq '${EMAIL}'`)}&access_token=abc`;
    expect(telemetryUrl(url)).not.toMatch(/robert|townes|abc/u);
    expect(telemetryUrl(`https://api.example/customers/email/${EMAIL}`)).not.toContain('robert.townes');
    expect(operationName('GET', `https://api.example/customers/email/${encodeURIComponent(EMAIL)}`)).toBe('GET /customers/email/{id}');
    expect(operationName('GET', 'https://api.example/v2/Customer/4512')).toBe('GET /v2/Customer/{id}');
  });
});

describe('transfers', () => {
  test('one TransferCompleted record per transfer, its fields as attributes, and the transfer metrics', async () => {
    const customer = person();
    // Enqueued two seconds before the transfer's clock reads (a clock of the test's own, never the machine's).
    const clock = fixedClock('2026-04-01T12:00:02.000Z');
    const enqueuedAt = '2026-04-01T12:00:00.000Z';
    const logger: Logger & { lines: string[] } = { lines: [], info: (m) => logger.lines.push(m), warn: (m) => logger.lines.push(m), error: (m) => logger.lines.push(m) };
    const transfer = await syncCustomer(syncDependencies(config, storage, { logger, clock }), {
      customerId: customer.id,
      source: 'webhook',
      correlationId: 'corr-42',
      enqueuedAt,
      attempt: 2,
    });
    const events = records.getFinishedLogRecords().filter((record) => record.body === TRANSFER_EVENT);
    expect(events).toHaveLength(1);
    expect(events[0]!.attributes).toEqual({
      transferId: transfer.transferId,
      customerId: customer.id,
      customerNumber: '10000',
      source: 'webhook',
      status: 'Succeeded',
      action: 'Created',
      attempt: 2,
      durationMs: transfer.durationMs,
      ipaasCustomerId: transfer.ipaasCustomerId,
      addressesAdded: transfer.addressesAdded,
      correlationId: 'corr-42',
      enqueuedAt,
      latencyMs: expect.any(Number),
      warnings: [],
    });
    expect(events[0]!.attributes.latencyMs).toBe(Date.parse(transfer.finishedAt) - Date.parse(enqueuedAt));
    expect(transfer.finishedAt).toBe('2026-04-01T12:00:02.000Z');
    // In Azure the record replaces the JSON log line: one trace per transfer, not two.
    expect(logger.lines.filter((line) => line.includes(TRANSFER_EVENT))).toEqual([]);
    expect(JSON.stringify(events[0]!.attributes)).not.toContain(EMAIL);

    const points = await metricPoints();
    const counter = points.find((metric) => metric.descriptor.name === 'transfers') as SumMetricData | undefined;
    expect(counter?.dataPoints).toEqual(
      expect.arrayContaining([expect.objectContaining({ attributes: { status: 'Succeeded', source: 'webhook', action: 'Created', errorCode: 'None' }, value: 1 })]),
    );
    const latency = points.find((metric) => metric.descriptor.name === 'transfer.latency') as HistogramMetricData | undefined;
    expect(latency?.descriptor.unit).toBe('ms');
    expect(latency?.dataPoints).toEqual(expect.arrayContaining([expect.objectContaining({ attributes: { status: 'Succeeded', source: 'webhook' } })]));
  });

  test('a final failure carries its error code; a poison message is an error-level record', async () => {
    const customer = world.businessCentral.upsertCustomer({ number: '10001', displayName: 'No Mail', type: 'Person', email: '' });
    await syncCustomer(syncDependencies(config, storage), { customerId: customer.id, source: 'poll', correlationId: 'c-3', attempt: 1 });
    await handlePoisonMessage({ transfers: storage.transfers, logger: silentLogger }, { customerId: customer.id, source: 'poll', correlationId: 'c-4', enqueuedAt: new Date().toISOString() }, 5);
    const events = records.getFinishedLogRecords().filter((record) => record.body === TRANSFER_EVENT);
    expect(events.map((record) => [record.attributes.status, record.attributes.errorCode, record.severityText])).toEqual([
      ['Failed', 'MissingEmail', 'Warning'],
      ['Failed', 'RetriesExhausted', 'Error'],
    ]);
    const counter = (await metricPoints()).find((metric) => metric.descriptor.name === 'transfers') as SumMetricData | undefined;
    expect(counter?.dataPoints).toEqual(expect.arrayContaining([expect.objectContaining({ attributes: expect.objectContaining({ status: 'Failed', errorCode: 'RetriesExhausted' }) })]));
  });

  test('without the SDK (locally) the transfer is the TransferCompleted {json} line the local host prints', async () => {
    setStructuredTelemetry(false);
    const customer = person();
    const lines: string[] = [];
    await syncCustomer(syncDependencies(config, storage, { logger: { info: (m) => lines.push(m), warn: (m) => lines.push(m), error: (m) => lines.push(m) } }), {
      customerId: customer.id,
      source: 'manual',
      correlationId: 'c-5',
      attempt: 1,
    });
    expect(lines.filter((line) => line.startsWith(`${TRANSFER_EVENT} {`))).toHaveLength(1);
    expect(records.getFinishedLogRecords().filter((record) => record.body === TRANSFER_EVENT)).toEqual([]);
  });
});

describe('timers', () => {
  test('a timer run is one TimerRun record; a failing one is reported as Failed with its code and rethrown', async () => {
    await runTimer('pollCustomers', silentLogger, async () => undefined);
    const failure = new SyncError('BusinessCentralUnavailable', 'Business Central GET /x answered 503', { transient: true });
    await expect(runTimer('subscriptionTimer', silentLogger, async () => Promise.reject(failure))).rejects.toBe(failure);
    const runs = records.getFinishedLogRecords().filter((record) => record.body === 'TimerRun');
    expect(runs.map((record) => record.attributes)).toEqual([
      expect.objectContaining({ timer: 'pollCustomers', outcome: 'Succeeded', durationMs: expect.any(Number) }),
      expect.objectContaining({ timer: 'subscriptionTimer', outcome: 'Failed', errorCode: 'BusinessCentralUnavailable', message: expect.stringContaining('503') }),
    ]);
  });
});

describe('startTelemetry', () => {
  test('does nothing without APPLICATIONINSIGHTS_CONNECTION_STRING (locally, in tests)', () => {
    setStructuredTelemetry(false);
    const azureFunctions = {} as Parameters<typeof startTelemetry>[0];
    expect(startTelemetry(azureFunctions, {})).toBe(false);
    expect(startTelemetry(azureFunctions, { APPLICATIONINSIGHTS_CONNECTION_STRING: '  ' })).toBe(false);
  });
});

describe('Azure SDK calls (storage)', () => {
  // Last in this file: from here on every Azure SDK call of this process makes spans.
  test('a table read and a queue send through the app\'s storage code become dependency spans once the Azure SDK is wired', async () => {
    const customerId = '3f2504e0-4f89-11d3-9a0c-0305e82c3301';
    await storage.links.get(customerId);
    await createQueueSender(config.storage, SYNC_QUEUE).send([{ customerId }]);
    const azureSpans = () => spans.getFinishedSpans().filter((span) => span.attributes['az.namespace'] !== undefined || /^(TableClient|QueueClient|HTTP |GET|PUT|POST)/u.test(span.name));
    // Without the wiring the SDK's tracing is a no-op: nothing is recorded (what the bundle did before).
    expect(azureSpans()).toEqual([]);

    expect(traceAzureSdk()).toBe(true);
    spans.reset();
    await storage.links.get(customerId);
    await createQueueSender(config.storage, SYNC_QUEUE).send([{ customerId }]);
    expect(await peekCount(config.storage, SYNC_QUEUE)).toBeGreaterThanOrEqual(1);

    const finished = spans.getFinishedSpans();
    // The SDK operation (an in-process dependency in Application Insights) ...
    const tableRead = finished.find((span) => span.name.startsWith('TableClient.'));
    const queueSend = finished.find((span) => span.name === 'QueueClient-sendMessage' || span.name.startsWith('QueueClient.sendMessage'));
    expect(tableRead).toBeDefined();
    expect(queueSend).toBeDefined();
    // ... and its HTTP request (a remote dependency: CLIENT kind, method, status, the storage endpoint).
    const requests = finished.filter((span) => span.kind === SpanKind.CLIENT);
    const tableEndpoint = new URL(tableClient(config.storage, 'CustomerLinks').url).host;
    const queueEndpoint = new URL(queueClient(config.storage, SYNC_QUEUE).url).host;
    const to = (host: string) => requests.filter((span) => String(span.attributes['url.full'] ?? span.attributes['http.url'] ?? '').includes(host));
    expect(to(tableEndpoint).map((span) => span.attributes['http.request.method'] ?? span.attributes['http.method'])).toContain('GET');
    expect(to(queueEndpoint).map((span) => span.attributes['http.request.method'] ?? span.attributes['http.method'])).toContain('POST');
    for (const span of [...to(tableEndpoint), ...to(queueEndpoint)]) expect(span.attributes['http.response.status_code'] ?? span.attributes['http.status_code']).toEqual(expect.any(Number));
  });
});
