/**
 * Section "load": the initial load. 100,000 customers in a fake Business Central; the production pollChanges,
 * bundled like the app (bench/initialLoad.ts) and run with plain node in its own process, so its peak RSS is the
 * poller's alone. It enqueues into an Azurite of its own, stopped afterwards.
 */
import { randomBytes } from 'node:crypto';
import type { RunningAzurite } from '../../dev/azurite';
import { bundleBenchEntry } from '../lib/bundle';
import type { TlsMaterial } from '../../dev/fakes/serve';
import { log } from '../lib/machine';
import { withOwnAzurite } from '../lib/ownAzurite';
import { runInitialLoad } from '../lib/productProcess';
import { createPerson } from '../lib/scenario';
import type { BenchOptions, BenchSection } from '../lib/sections';
import { count, elapsed, failedFigure, info, judged, megabytes, seconds, type Figure } from '../lib/stats';
import { childEnvironment, startBenchWorld } from '../lib/world';

async function measureLoad(options: BenchOptions, tls: TlsMaterial, azurite: RunningAzurite, signal: AbortSignal): Promise<Figure[]> {
  const section = `initial load ${options.loadCustomers.toLocaleString('en-US')}`;
  const world = await startBenchWorld({
    tls,
    storageConnectionString: azurite.connectionString(),
    latencyMs: options.loadLatencyMs,
    clientState: randomBytes(24).toString('base64url'),
  });
  try {
    log(`initial load: seeding ${options.loadCustomers} customers in the fake Business Central`);
    const seedStarted = performance.now();
    for (let index = 0; index < options.loadCustomers; index += 1) createPerson(world, index % 4 !== 0);
    log(`initial load: seeded in ${seconds(elapsed(seedStarted))}; running pollChanges in a child process`);
    const benchRss = process.memoryUsage().rss;
    // Bundled and run with plain node, as deployed: tsx's transpiler would add its own memory to the figure.
    const script = await bundleBenchEntry('bench/initialLoad.ts');
    const report = await runInitialLoad(script, childEnvironment(world, tls), 10 * 60_000, signal);
    const requests = world.world.businessCentral.requests;
    const polled = report.result.outcome === 'skipped' ? null : report.result;
    const figures: Figure[] = [
      info(section, 'duration', seconds(report.durationMs), report.durationMs, `latency ${options.loadLatencyMs} ms per Business Central call`),
      judged(section, 'poller peak RSS', report.maxRssBytes, megabytes, { max: 256 * 1024 * 1024 }, `baseline before polling ${megabytes(report.baselineRssBytes)}, peak heap used ${megabytes(report.peakHeapUsedBytes)}, live heap after full collections at most ${megabytes(report.peakLiveHeapBytes)}`),
      judged(section, 'Business Central requests', requests.total, count, { max: 10 }, `${requests.list} list pages, ${requests.get} single reads`),
      info(
        section,
        'enqueued / queued',
        `${polled ? polled.enqueued : 'n/a'} / ${report.queued}`,
        report.queued,
        `message size mean ${report.sampleMessageBytes.mean} B, max ${report.sampleMessageBytes.max} B (limit 65,536)`,
      ),
      info(section, 'fake Business Central holding the customers (bench process RSS)', megabytes(benchRss), benchRss),
    ];
    if (!polled || polled.enqueued !== options.loadCustomers) figures.push(failedFigure(section, 'completeness', 'all enqueued', `poll result ${JSON.stringify(report.result)}`));
    return figures;
  } finally {
    await world.close();
  }
}

export const loadSection: BenchSection = {
  name: 'load',
  title: 'initial load',
  needs: 'world',
  deadlineMs: 15 * 60_000,
  run: (context) => withOwnAzurite('initial load', (azurite) => measureLoad(context.options, context.tls!, azurite, context.signal)),
};
