/**
 * Section "floor": what the product's CPU per new customer is worth next to the least work such a customer needs.
 * The product's sync worker and bench/floor.ts (one Business Central read, the iPaaS.com search, create and external
 * id link, one queue receive share and delete, one link and one history row; the same SDKs, Node fetch, Azurite and
 * concurrency) each transfer new customers put straight on their queue (no webhook: its work is in neither figure),
 * in rounds alternated so the machine's other load falls on all alike. A third variant, the floor making every
 * storage and API request the product makes for a new customer, splits the difference: what the requests (the
 * guarantees: leases, the create record, the reverse link, the second history table, the search by number) cost,
 * and what the product's code costs on top. Every figure is CPU time (user + system) of the process doing the work,
 * which a loaded machine stretches far less than wall time; the product ÷ floor ratio is the figure judged.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createStorage } from '../../shared/storage';
import { newSyncMessage } from '../../shared/messages';
import { bundleBenchEntry } from '../lib/bundle';
import { findChildPid, processCpuMs } from '../lib/cpu';
import type { TlsMaterial } from '../../dev/fakes/serve';
import { cpuMsOfThisProcess, log } from '../lib/machine';
import { runReportingChild, type ProductProcess } from '../lib/productProcess';
import type { FloorMessage } from '../lib/protocol';
import { createPerson, outcomesOf } from '../lib/scenario';
import type { BenchSection } from '../lib/sections';
import { info, judged, megabytes, ms, percentile, perSecond, ratio, type Figure } from '../lib/stats';
import { childEnvironment, type BenchWorld } from '../lib/world';

const ROOT = path.resolve(__dirname, '..', '..');
const SECTION = 'CPU per new customer';
/** Customers per round; three rounds of each variant, the median round judged (a busy moment on the machine inflates one). */
const PER_ROUND = 200;
const WARM_UP = 30;
/** The product's first transfers after its start run colder code than the floor's warm-up can match: more of them. */
const PRODUCT_WARM_UP = 100;
const ROUNDS = 3;

interface Round {
  customers: number;
  cpuMs: number;
  /** CPU of the fakes (this process) and of Azurite over the round. */
  fakesCpuMs: number;
  azuriteCpuMs: number;
  durationMs: number;
}

/** The CPU the fakes (this process) and Azurite spend while `act` runs. */
async function withMachineCpu<T>(act: () => Promise<T>): Promise<{ value: T; fakesCpuMs: number; azuriteCpuMs: number }> {
  const azuritePid = findChildPid('azurite');
  const before = { fakes: cpuMsOfThisProcess(), azurite: azuritePid ? (processCpuMs(azuritePid) ?? 0) : 0 };
  const value = await act();
  return { value, fakesCpuMs: cpuMsOfThisProcess() - before.fakes, azuriteCpuMs: (azuritePid ? (processCpuMs(azuritePid) ?? 0) : 0) - before.azurite };
}

/** New customers put on the product's sync queue as the webhook would, and their transfers awaited. */
async function productRound(world: BenchWorld, product: ProductProcess, count: number): Promise<Round & { outcomes: string }> {
  const queue = createStorage(world.config.storage).syncQueue;
  const customers = Array.from({ length: count }, () => createPerson(world, false));
  const ids = new Set(customers.map((customer) => customer.id));
  const since = product.transfers.length;
  const statsBefore = await product.stats();
  const started = performance.now();
  const { value: arrivals, fakesCpuMs, azuriteCpuMs } = await withMachineCpu(async () => {
    await queue.send(customers.map((customer) => newSyncMessage(customer.id, 'webhook', { changeType: 'created' })));
    return product.waitForTransfers((event) => ids.has(event.customerId), count, { since, timeoutMs: 5 * 60_000, what: `the product's transfers of ${count} new customers` });
  });
  const durationMs = performance.now() - started;
  const statsAfter = await product.stats();
  return { customers: count, cpuMs: statsAfter.cpuMs - statsBefore.cpuMs, fakesCpuMs, azuriteCpuMs, durationMs, outcomes: outcomesOf(arrivals.map((arrival) => arrival.event)) };
}

async function floorRound(
  world: BenchWorld,
  tls: TlsMaterial,
  script: string,
  count: number,
  mode: 'minimal' | 'requests',
  signal: AbortSignal,
): Promise<Round & { failures: number; maxRssBytes: number }> {
  const ids = (n: number) => Array.from({ length: n }, () => createPerson(world, false).id);
  const input = path.join(ROOT, '.bench', 'floor-input.json');
  mkdirSync(path.dirname(input), { recursive: true });
  writeFileSync(input, JSON.stringify({ warmup: ids(WARM_UP), measured: ids(count) }));
  const { value: report, fakesCpuMs, azuriteCpuMs } = await withMachineCpu(() =>
    runReportingChild<FloorMessage>(script, childEnvironment(world, tls, { BENCH_FLOOR_INPUT: input, BENCH_FLOOR_MODE: mode }), 5 * 60_000, signal),
  );
  // The warm-up's share of the fakes' and Azurite's CPU is left in: the product's rounds pay their share of polling too.
  return { customers: count, cpuMs: report.cpuMs, fakesCpuMs, azuriteCpuMs, durationMs: report.durationMs, failures: report.failures, maxRssBytes: report.maxRssBytes };
}

async function measureFloor(world: BenchWorld, tls: TlsMaterial, product: ProductProcess, signal: AbortSignal): Promise<Figure[]> {
  log(`floor: warming the product with ${PRODUCT_WARM_UP} new customers`);
  await productRound(world, product, PRODUCT_WARM_UP);
  // Bundled and run with plain node, as the product's code is: tsx would add its transpiler's work to the figure.
  const script = await bundleBenchEntry('bench/floor.ts');
  const productRounds: Array<Awaited<ReturnType<typeof productRound>>> = [];
  const floorRounds: Array<Awaited<ReturnType<typeof floorRound>>> = [];
  const requestRounds: Array<Awaited<ReturnType<typeof floorRound>>> = [];
  for (let round = 1; round <= ROUNDS; round += 1) {
    log(`floor: round ${round} of ${ROUNDS}: the product transfers ${PER_ROUND} new customers`);
    productRounds.push(await productRound(world, product, PER_ROUND));
    log(`floor: round ${round} of ${ROUNDS}: the floor transfers ${PER_ROUND} new customers`);
    floorRounds.push(await floorRound(world, tls, script, PER_ROUND, 'minimal', signal));
    log(`floor: round ${round} of ${ROUNDS}: the floor with the product's requests transfers ${PER_ROUND} new customers`);
    requestRounds.push(await floorRound(world, tls, script, PER_ROUND, 'requests', signal));
  }
  const total = (rounds: readonly Round[], pick: (round: Round) => number): number => rounds.reduce((sum, round) => sum + pick(round), 0);
  const customers = ROUNDS * PER_ROUND;
  const cpuOf = (rounds: readonly Round[]): number => percentile(rounds.map((round) => round.cpuMs / round.customers), 50);
  const [productCpu, floorCpu, requestsCpu] = [cpuOf(productRounds), cpuOf(floorRounds), cpuOf(requestRounds)];
  const perRound = (rounds: readonly Round[]): string => `rounds ${rounds.map((round) => ms(round.cpuMs / round.customers)).join(', ')}`;
  const machineNote = (rounds: readonly Round[]): string =>
    `fakes ${ms(total(rounds, (round) => round.fakesCpuMs) / customers)}, Azurite ${ms(total(rounds, (round) => round.azuriteCpuMs) / customers)} per customer; ` +
    `${perSecond(customers / (total(rounds, (round) => round.durationMs) / 1000))} wall-clock (moves with the machine's load)`;
  const floorNote = (rounds: ReadonlyArray<Awaited<ReturnType<typeof floorRound>>>): string =>
    `${perRound(rounds)}; ${rounds.reduce((sum, round) => sum + round.failures, 0)} failed; peak RSS ${megabytes(Math.max(...rounds.map((round) => round.maxRssBytes)))}; ${machineNote(rounds)}`;
  return [
    info(SECTION, 'product (sync worker and local host), median round', ms(productCpu), productCpu, `${perRound(productRounds)}; ${productRounds.map((round) => round.outcomes).join(' | ')}; ${machineNote(productRounds)}`),
    info(SECTION, 'floor (bench/floor.ts), median round', ms(floorCpu), floorCpu, floorNote(floorRounds)),
    info(SECTION, "floor making the product's requests, median round", ms(requestsCpu), requestsCpu, floorNote(requestRounds)),
    judged(SECTION, 'product / floor', productCpu / floorCpu, ratio, { max: 1.5 }, 'CPU time per customer of each process, not wall time: a loaded machine stretches both alike'),
    info(SECTION, "of which the requests: floor with the product's requests / floor", ratio(requestsCpu / floorCpu), requestsCpu / floorCpu, 'leases, link read, create record, reverse link, second history table, search by number'),
    info(SECTION, "of which the code: product / floor with the product's requests", ratio(productCpu / requestsCpu), productCpu / requestsCpu, 'validation, mapping, planning, telemetry and log lines, retries and timeouts, the local host'),
  ];
}

export const floorSection: BenchSection = {
  name: 'floor',
  title: SECTION,
  needs: 'product',
  run: (context) => measureFloor(context.world!, context.tls!, context.product!, context.signal),
};
