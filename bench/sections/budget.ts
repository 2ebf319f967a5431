/**
 * Section "budget": the Business Central request budget shared through blob leases, as production builds
 * it (createBusinessCentralBudget: 5 slots, each spacing its calls 250 ms apart for 6,000 per 5 minutes).
 * Three "hosts" (three independent budgets and slot leases, as three instances have; in this one process) on
 * one Azurite call one stand-in service that serves 5 requests at once and answers 429 beyond, each call taking
 * BENCH_BC_LATENCY_MS (default 300 ms, so the 250 ms spacing does not bind). What 5 concurrent requests allow
 * is 5 / latency; the figures are the share of it the three hosts reach together (target ≥ 0.9) and the
 * 429 count (target 0).
 */
import { randomUUID } from 'node:crypto';
import { freePort, startAzurite } from '../../dev/azurite';
import { BUDGET_LEASE_SECONDS, createBusinessCentralBudget } from '../../shared/businessCentral/budget';
import { loadStorageConfig, type Config } from '../../shared/config';
import { BlobSlotLeases } from '../../shared/storage/blobLeases';
import type { BenchSection } from '../lib/sections';
import { count, info, judged, type Figure } from '../lib/stats';

const SECTION = 'shared BC budget';
const LIMIT = 5;

async function measureSharedBudget(log: (message: string) => void): Promise<Figure[]> {
  const latencyMs = Number(process.env.BENCH_BC_LATENCY_MS ?? 300);
  const callsPerHost = Number(process.env.BENCH_CALLS_PER_HOST ?? 100);
  const ports = { blob: await freePort(), queue: await freePort(), table: await freePort() };
  const azurite = await startAzurite({ ports });
  try {
    const storage = loadStorageConfig({ AzureWebJobsStorage: azurite.connectionString() });
    let inFlight = 0;
    let throttled = 0;
    let maxInFlight = 0;
    const service = async (): Promise<void> => {
      inFlight += 1;
      maxInFlight = Math.max(maxInFlight, inFlight);
      try {
        if (inFlight > LIMIT) {
          throttled += 1;
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, latencyMs));
      } finally {
        inFlight -= 1;
      }
    };
    const http: Config['http'] = {
      timeoutMs: 30_000, maxAttempts: 4, retryBaseMs: 500, retryMaxDelayMs: 30_000,
      bcMaxConcurrent: LIMIT, ipaasMaxConcurrent: 10, bcSharedBudget: true,
    };
    const name = `bench-bc-budget-${randomUUID()}`;
    const hosts = [0, 1, 2].map(() => createBusinessCentralBudget(http, new BlobSlotLeases(storage, name, BUDGET_LEASE_SECONDS)));
    // Each host takes a slot once first, so table creation is not timed.
    await Promise.all(hosts.map((host) => host.run(async () => undefined)));
    await new Promise((resolve) => setTimeout(resolve, 400));
    log(`${SECTION}: 3 hosts × ${callsPerHost} calls of ${latencyMs} ms against a service serving ${LIMIT} at once`);
    const started = performance.now();
    await Promise.all(hosts.flatMap((host) => Array.from({ length: callsPerHost }, () => host.run(service))));
    const seconds = (performance.now() - started) / 1000;
    await Promise.all(hosts.map((host) => host.releaseAll()));
    const calls = hosts.length * callsPerHost;
    const throughput = calls / seconds;
    const capacity = LIMIT / (latencyMs / 1000);
    return [
      judged(SECTION, 'throughput / what 5 concurrent allow', throughput / capacity, (value) => value.toFixed(2), { min: 0.9 },
        `${throughput.toFixed(1)}/s of ${capacity.toFixed(1)}/s; 3 hosts, ${calls} calls of ${latencyMs} ms`),
      judged(SECTION, '429 answers', throttled, count, { max: 0 }),
      info(SECTION, 'most in flight', `${maxInFlight} (limit ${LIMIT})`, maxInFlight),
    ];
  } finally {
    await azurite.stop();
  }
}

export const budgetSection: BenchSection = {
  name: 'budget',
  title: 'shared BC budget',
  needs: 'none',
  deadlineMs: 5 * 60_000,
  run: (context) => measureSharedBudget(context.log),
};
