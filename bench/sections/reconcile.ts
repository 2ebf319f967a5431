/**
 * Section "reconcile": the production reconciliation, in a child process (bench/reconcile.ts, bundled), against
 * fakes seeded with the same customers on both sides and a few hundred differences of every kind.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { RunningAzurite } from '../../dev/azurite';
import type { FakeBcCustomer } from '../../dev/fakes/businessCentral';
import { createStorage } from '../../shared/storage';
import { bundleBenchEntry } from '../lib/bundle';
import type { TlsMaterial } from '../../dev/fakes/serve';
import { log } from '../lib/machine';
import { withOwnAzurite } from '../lib/ownAzurite';
import { runReportingChild } from '../lib/productProcess';
import type { ReconcileBenchMessage } from '../lib/protocol';
import { counts, countsSince, createPerson, describeOperations } from '../lib/scenario';
import type { BenchOptions, BenchSection } from '../lib/sections';
import { count, elapsed, failedFigure, info, judged, megabytes, seconds, type Figure } from '../lib/stats';
import { childEnvironment, startBenchWorld } from '../lib/world';

/**
 * 100,000 customers on each side with a few hundred differences of every kind; the production reconciliation in
 * a child process. Counts must come out exactly as seeded.
 */
async function measureReconcile(options: BenchOptions, tls: TlsMaterial, azurite: RunningAzurite, signal: AbortSignal): Promise<Figure[]> {
  const total = options.reconcileCustomers;
  const section = `reconcile ${total.toLocaleString('en-US')} vs ${total.toLocaleString('en-US')}`;
  const world = await startBenchWorld({
    tls,
    storageConnectionString: azurite.connectionString(),
    latencyMs: options.latencyMs,
    clientState: randomBytes(24).toString('base64url'),
  });
  try {
    const { businessCentral: bc, ipaas } = world.world;
    const differences = { Missing: 100, Drifted: 100, Unlinked: 50, DuplicateEmail: 20, Invalid: 20, Filtered: 30, Orphaned: 20 };
    const inSync = total - (differences.Missing + differences.Drifted + differences.Unlinked + differences.DuplicateEmail + differences.Invalid + differences.Filtered);
    log(`reconcile: seeding ${total} Business Central customers, the iPaaS.com side and the links`);
    const seedStarted = performance.now();
    const links: Array<{ customerId: string; ipaasCustomerId: string; customerNumber: string }> = [];
    const person = () => createPerson(world, false);
    const seedIpaas = (customer: FakeBcCustomer, firstName = customer.displayName) =>
      ipaas.seedCustomer({ customerNumber: customer.number, firstName, emailAddress: customer.email });
    for (let index = 0; index < inSync; index += 1) {
      const customer = person();
      links.push({ customerId: customer.id, ipaasCustomerId: seedIpaas(customer).id, customerNumber: customer.number });
    }
    for (let index = 0; index < differences.Drifted; index += 1) {
      const customer = person();
      links.push({ customerId: customer.id, ipaasCustomerId: seedIpaas(customer, `${customer.displayName} (edited)`).id, customerNumber: customer.number });
    }
    for (let index = 0; index < differences.Missing; index += 1) person();
    for (let index = 0; index < differences.Unlinked; index += 1) seedIpaas(person());
    for (let index = 0; index < differences.DuplicateEmail; index += 1) {
      const customer = person();
      ipaas.seedCustomer({ customerNumber: `D1-${customer.number}`, firstName: customer.displayName, emailAddress: customer.email });
      ipaas.seedCustomer({ customerNumber: `D2-${customer.number}`, firstName: customer.displayName, emailAddress: customer.email });
    }
    for (let index = 0; index < differences.Invalid; index += 1) bc.updateCustomer(person().id, { email: '' });
    for (let index = 0; index < differences.Filtered; index += 1) bc.updateCustomer(person().id, { type: 'Company' });
    for (let index = 0; index < differences.Orphaned; index += 1) {
      const gone = ipaas.seedCustomer({ customerNumber: `O-${index}`, firstName: 'Deleted in Business Central', emailAddress: `gone.${index}@contoso.example` });
      links.push({ customerId: randomUUID(), ipaasCustomerId: gone.id, customerNumber: `O-${index}` });
    }
    const storage = createStorage({ connectionString: azurite.connectionString() });
    let next = 0;
    const now = new Date().toISOString();
    // Seeding only: a save that times out on a loaded machine is tried again.
    const save = async (link: (typeof links)[number]): Promise<void> => {
      for (let attempt = 1; ; attempt += 1) {
        try {
          return await storage.links.save({ ...link, payloadHash: 'bench', lastSyncedAt: now });
        } catch (error) {
          if (attempt >= 5) throw error;
        }
      }
    };
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        while (next < links.length) await save(links[next++]!);
      }),
    );
    log(`reconcile: seeded ${bc.customers().length} + ${ipaas.customers().length} customers and ${links.length} links in ${seconds(elapsed(seedStarted))}`);
    const before = counts(world);
    const script = await bundleBenchEntry('bench/reconcile.ts');
    const report = await runReportingChild<ReconcileBenchMessage>(script, childEnvironment(world, tls), 20 * 60_000, signal);
    const used = countsSince(world, before);
    const ipaasPages = Math.ceil(ipaas.customers().length / 50);
    const expected = { InSync: inSync, ...differences };
    const figures: Figure[] = [
      judged(section, 'duration', report.durationMs, seconds, { max: 60_000 }, `latency ${options.latencyMs} ms per call; ${report.items} items in the report`),
      judged(section, 'peak RSS', report.maxRssBytes, megabytes, { max: 256 * 1024 * 1024 }, `baseline ${megabytes(report.baselineRssBytes)}, peak heap used ${megabytes(report.peakHeapUsedBytes)}, live heap after full collections at most ${megabytes(report.peakLiveHeapBytes)}`),
      judged(section, 'Business Central requests', used.bc, count, { max: 10 }, `${used.bcList} list pages, ${used.bcGet} single reads`),
      judged(section, 'iPaaS.com requests', used.ipaas, count, { max: ipaasPages }, `${describeOperations(used.ipaasByOperation, 1)}; ${ipaasPages} pages of 50 hold every customer`),
    ];
    const mismatched = Object.entries(expected).filter(([name, value]) => report.counts[name] !== value);
    if (report.outcome !== 'completed' || mismatched.length > 0) {
      figures.push(failedFigure(section, 'counts', JSON.stringify(expected), `run ${report.outcome}, counts ${JSON.stringify(report.counts)}`));
    } else {
      figures.push(info(section, 'counts as seeded', 'yes', null, Object.entries(report.counts).map(([name, value]) => `${name} ${value}`).join(', ')));
    }
    return figures;
  } finally {
    await world.close();
  }
}

export const reconcileSection: BenchSection = {
  name: 'reconcile',
  title: 'reconcile',
  needs: 'world',
  deadlineMs: 30 * 60_000,
  run: (context) => withOwnAzurite('reconcile', (azurite) => measureReconcile(context.options, context.tls!, azurite, context.signal)),
};
