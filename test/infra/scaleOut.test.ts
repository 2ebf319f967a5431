/**
 * Scale-out sized by the Business Central budget (docs/performance.md, "Scale-out"): a calculation from the
 * deployed values (host.json, the Bicep default of FUNCTION_MAX_INSTANCES) and the app's defaults (shared/config.ts),
 * not a measurement. Change one of them and this says whether the others still fit.
 *
 * - Business Central allows 6,000 requests per 5 minutes per app registration, and every instance shares
 *   BC_MAX_CONCURRENT_REQUESTS slots (BC_SHARED_BUDGET): at most 20 requests per second for the whole app. A transfer
 *   from a webhook, a manual sync or a replay reads its customer once, so at most 20 such transfers per second.
 * - One instance transfers at most IPAAS_MAX_CONCURRENT_REQUESTS / (3 × iPaaS.com latency) customers per second
 *   (three iPaaS.com requests per transfer, one after the other). Instances beyond what keeps Business Central's
 *   budget busy only wait for a slot (and are paid for while they wait).
 * - An instance holds batchSize + newBatchThreshold messages at once. Every message of every instance may be waiting
 *   for a slot at the same moment; served at 20 per second, the last of them waits (in flight) / 20 seconds.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { loadConfig } from '../../shared/config';
import { registrations } from '../../dev/host/functionsCoreStub';
import { loadFunctionApp } from '../../dev/host/loadApp';

const ROOT = path.resolve(__dirname, '..', '..');
const read = (relative: string): string => readFileSync(path.join(ROOT, relative), 'utf8');

/** Business Central's documented limit per app registration (docs/external-apis.md). */
const BC_REQUESTS_PER_5_MINUTES = 6_000;
/** Planning figures (docs/performance.md): iPaaS.com answers in about 300 ms, a whole transfer takes about 1.3 s. */
const IPAAS_LATENCY_S = 0.3;
const IPAAS_REQUESTS_PER_TRANSFER = 3;
const TRANSFER_S = 1.3;

const hostJson = z
  .object({
    functionTimeout: z.string().regex(/^\d{2}:\d{2}:\d{2}$/u),
    extensions: z.object({ queues: z.object({ batchSize: z.number().int(), newBatchThreshold: z.number().int() }) }),
  })
  .parse(JSON.parse(read('host.json')));
const seconds = (timespan: string): number => timespan.split(':').reduce((total, part) => total * 60 + Number(part), 0);
const functionTimeoutS = seconds(hostJson.functionTimeout);
const { batchSize, newBatchThreshold } = hostJson.extensions.queues;
const inFlightPerInstance = batchSize + newBatchThreshold;

const maxInstances = Number(/^param maximumInstanceCount int = (\d+)$/mu.exec(read('infra/main.bicep'))?.[1]);

// The app's defaults, from the schema itself (any valid settings; only the HTTP defaults are read).
const defaults = loadConfig({
  AzureWebJobsStorage: 'UseDevelopmentStorage=true',
  BC_TENANT_ID: 't',
  BC_CLIENT_ID: 'c',
  BC_CLIENT_SECRET: 's',
  BC_ENVIRONMENT: 'production',
  BC_COMPANY_ID: '3f2504e0-4f89-11d3-9a0c-0305e82c3301',
  IPAAS_API_BASE_URL: 'https://api.ipaas.example',
  IPAAS_API_TOKEN: 'token',
  WEBHOOK_CLIENT_STATE: 'sixteen-characters!',
}).http;

/** Business Central requests per second for the whole app: the rate limit, or the slots at the request latency. */
const bcPerSecond = BC_REQUESTS_PER_5_MINUTES / 300;
const perInstancePerSecond = defaults.ipaasMaxConcurrent / (IPAAS_REQUESTS_PER_TRANSFER * IPAAS_LATENCY_S);

describe('FUNCTION_MAX_INSTANCES and host.json queues, from the Business Central budget', () => {
  it('reads the deployed values', () => {
    expect(maxInstances).toBeGreaterThanOrEqual(1);
    expect(functionTimeoutS).toBe(600);
    expect(defaults.bcMaxConcurrent).toBe(5);
    expect(bcPerSecond).toBe(20);
  });

  it('gives each function group as many instances as keep the budget busy, and no more', () => {
    // 20 per second / about 11 per instance: 2 instances.
    expect(maxInstances).toBe(Math.ceil(bcPerSecond / perInstancePerSecond));
  });

  it('gives each instance enough messages in flight for its share, with margin, but not several times that', () => {
    const needed = (bcPerSecond / maxInstances) * TRANSFER_S;
    expect(inFlightPerInstance).toBeGreaterThanOrEqual(needed);
    expect(inFlightPerInstance).toBeLessThanOrEqual(2 * needed);
    // The host's own rule for the threshold: half the batch.
    expect(newBatchThreshold).toBe(batchSize / 2);
  });

  it('keeps the longest wait for a slot far below functionTimeout even when every message of every group waits at once', () => {
    // Each queue-triggered function scales as its own group on Flex Consumption; all of them may call Business Central.
    loadFunctionApp(ROOT);
    const queueGroups = registrations.filter((registration) => Object.values(registration.metadata.bindings).some((binding) => binding.type === 'queueTrigger')).length;
    expect(queueGroups).toBeGreaterThanOrEqual(3);
    const inFlight = queueGroups * maxInstances * inFlightPerInstance;
    const longestWaitS = inFlight / bcPerSecond;
    expect(longestWaitS).toBeLessThanOrEqual(functionTimeoutS / 10);
    // What the former defaults (40 instances, 32 + 16 in flight) allowed: minutes of waiting, most of functionTimeout.
    expect((queueGroups * 40 * 48) / bcPerSecond).toBeGreaterThan(functionTimeoutS / 2);
    // One request's own worst case on top (every attempt timing out, the longest back-off between): still within it.
    const ownRequestS = (defaults.maxAttempts * defaults.timeoutMs + (defaults.maxAttempts - 1) * defaults.retryMaxDelayMs) / 1000;
    expect(longestWaitS + ownRequestS).toBeLessThan(functionTimeoutS / 2);
  });
});
