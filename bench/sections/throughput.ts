/**
 * Section "throughput": 600 new customers in one notification; completions per second between the 10th and the
 * 90th percentile of completion times, next to the bound the latency and the concurrency allow, and the CPU
 * each customer cost the product, Azurite and the fakes.
 */
import { cpus } from 'node:os';
import { findChildPid, processCpuMs } from '../lib/cpu';
import { cpuMsOfThisProcess, log } from '../lib/machine';
import type { ProductProcess } from '../lib/productProcess';
import { createPerson, notifiedScenario } from '../lib/scenario';
import type { BenchSection } from '../lib/sections';
import { count, info, judged, megabytes, ms, perSecond, ratio, type Figure } from '../lib/stats';
import type { BenchWorld } from '../lib/world';

async function measureThroughput(world: BenchWorld, product: ProductProcess, latencyMs: number): Promise<Figure[]> {
  const section = 'worker throughput';
  const total = 600;
  log(`throughput: ${total} new customers (no address) in one webhook notification`);
  const customers = Array.from({ length: total }, () => createPerson(world, false));
  const azuritePid = findChildPid('azurite');
  const cpuBefore = { product: (await product.stats()).cpuMs, bench: cpuMsOfThisProcess(), azurite: azuritePid ? processCpuMs(azuritePid) : undefined };
  const result = await notifiedScenario(world, product, customers, 'created', undefined, 5 * 60_000);
  const stats = await product.stats();
  const cpuPerCustomer = (stats.cpuMs - cpuBefore.product) / total;
  const benchCpuPerCustomer = (cpuMsOfThisProcess() - cpuBefore.bench) / total;
  const azuriteCpu = azuritePid ? processCpuMs(azuritePid) : undefined;
  const azuriteCpuPerCustomer = azuriteCpu !== undefined && cpuBefore.azurite !== undefined ? (azuriteCpu - cpuBefore.azurite) / total : undefined;
  const times = result.arrivals.map((arrival) => arrival.at).sort((a, b) => a - b);
  // Steady state: from the 10th to the 90th percentile of completions (no ramp-up, no tail).
  const first = Math.floor(total * 0.1);
  const last = Math.ceil(total * 0.9) - 1;
  const measured = (last - first) / ((times[last]! - times[first]!) / 1000);

  const bcPer = result.counts.bc / total;
  const ipaasPer = result.counts.ipaas / total;
  const latency = latencyMs / 1000;
  const { bcMaxConcurrent, ipaasMaxConcurrent } = world.config.http;
  const hostConcurrency = product.queues.batchSize + product.queues.newBatchThreshold;
  const bounds = {
    [`Business Central ${bcMaxConcurrent} concurrent / (${count(bcPer)} req × ${latencyMs} ms)`]: bcMaxConcurrent / (bcPer * latency),
    [`iPaaS.com ${ipaasMaxConcurrent} concurrent / (${count(ipaasPer)} req × ${latencyMs} ms)`]: ipaasMaxConcurrent / (ipaasPer * latency),
    [`host ${hostConcurrency} messages in flight (batchSize ${product.queues.batchSize} + newBatchThreshold ${product.queues.newBatchThreshold}) / (${count(bcPer + ipaasPer)} sequential req × ${latencyMs} ms)`]:
      hostConcurrency / ((bcPer + ipaasPer) * latency),
  };
  const [limiting, bound] = Object.entries(bounds).sort((a, b) => a[1] - b[1])[0]!;
  return [
    info(section, 'measured (10th–90th percentile of completions)', perSecond(measured), measured, `${total} customers: ${result.outcomes}`),
    info(section, 'bound from latency and concurrency', perSecond(bound), bound, `limited by ${limiting}; others: ${Object.entries(bounds)
      .filter(([name]) => name !== limiting)
      .map(([name, value]) => `${name.split(' ')[0]} ${perSecond(value)}`)
      .join(', ')}`),
    judged(section, 'measured / bound', measured / bound, ratio, { min: 0.9 }),
    info(
      section,
      'product CPU per customer → one-core ceiling',
      `${ms(cpuPerCustomer)} → ${perSecond(1000 / cpuPerCustomer)}`,
      cpuPerCustomer,
      `user+system CPU of the host process over the run; one Node worker process cannot go faster than this on one core. Peak RSS ${megabytes(stats.maxRssBytes)}`,
    ),
    ...(azuriteCpuPerCustomer === undefined
      ? []
      : [
          info(
            section,
            `machine CPU per customer → ceiling on ${cpus().length} cores`,
            `${ms(cpuPerCustomer + benchCpuPerCustomer + azuriteCpuPerCustomer)} → ${perSecond((cpus().length * 1000) / (cpuPerCustomer + benchCpuPerCustomer + azuriteCpuPerCustomer))}`,
            cpuPerCustomer + benchCpuPerCustomer + azuriteCpuPerCustomer,
            `product ${ms(cpuPerCustomer)} + fakes (bench process) ${ms(benchCpuPerCustomer)} + Azurite ${ms(azuriteCpuPerCustomer)}; everything shares this machine, other load included`,
          ),
        ]),
  ];
}

/** The latency target is stated at this simulated latency per Business Central / iPaaS.com call. */

export const throughputSection: BenchSection = {
  name: 'throughput',
  title: 'worker throughput',
  needs: 'product',
  run: (context) => measureThroughput(context.world!, context.product!, context.options.latencyMs),
};
