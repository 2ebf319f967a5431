/**
 * `npm start`: the whole system locally. Azurite in memory, the local Functions host on
 * http://localhost:7071 and, without Business Central / iPaaS.com settings, the sandbox.
 */
import type { LogLevel } from '@azure/functions';
import { SERVICE_LABELS } from '../shared/errors';
import { companyRefsOf } from '../shared/config';
import { parseTransferEventLine, parseServiceOutageLine, type TransferEvent } from '../shared/telemetry';
import type { AzuritePorts } from './azurite';
import { applyDemoDrift, CANADA_SCENARIOS, COPIED_ID, DEMO_SCENARIOS } from './sandbox/demoData';
import type { FakeBcCompanyInfo } from './fakes/businessCentral';
import { startSystem, type RunningSystem } from './system';

const port = Number(process.env.LOCAL_HOST_PORT ?? 7071);

/** LOCAL_AZURITE_PORTS=blob,queue,table runs Azurite elsewhere than 10000-10002 (when those are taken). */
function azuritePorts(value: string | undefined): AzuritePorts | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const ports = value.split(',').map((part) => Number(part.trim()));
  if (ports.length !== 3 || ports.some((candidate) => !Number.isInteger(candidate) || candidate < 1 || candidate > 65535)) {
    throw new Error(`LOCAL_AZURITE_PORTS must be three ports "blob,queue,table" such as "20000,20001,20002" (got "${value}")`);
  }
  const [blob, queue, table] = ports as [number, number, number];
  return { blob, queue, table };
}
const verbose = process.env.LOCAL_HOST_VERBOSE === 'true';

function transferLine(event: TransferEvent): string {
  const time = new Date().toISOString().slice(11, 19);
  const outcome = event.errorCode ?? event.action ?? '-';
  const addresses = event.addressesAdded > 0 ? ` +${event.addressesAdded} address${event.addressesAdded > 1 ? 'es' : ''}` : '';
  const latency = event.latencyMs === null ? '' : `, ${event.latencyMs} ms since enqueued`;
  // Older lines (or other writers) may lack warnings.
  const warnings = (event.warnings ?? []).map((warning) => `\n          warning   ${warning}`).join('');
  // With several companies each line ends with its company (the id when no name is configured).
  const company = severalCompanies && event.companyName ? `  ${event.companyName}` : '';
  return `${time}  transfer  ${(event.customerNumber ?? '(no number)').padEnd(10)} ${event.status.padEnd(9)} ${outcome}${addresses}  (${event.durationMs} ms${latency}, ${event.source}, attempt ${event.attempt})${company}${warnings}`;
}

let severalCompanies = false;
let firstCompanyId: string | undefined;

/** Demo customers whose first transfer is still to come; once none is left the sandbox applies its drift. */
const awaitingFirstTransfer = new Set<string>(DEMO_SCENARIOS.map((scenario) => scenario.number));
let onDemoTransfersDone: (() => void) | undefined;

function log(level: LogLevel, message: string): void {
  const transfer = parseTransferEventLine(message);
  if (transfer) {
    console.log(transferLine(transfer));
    // The seed scenarios are the first company's (CRONUS USA).
    const ofFirstCompany = !transfer.companyId || transfer.companyId === firstCompanyId;
    if (ofFirstCompany && transfer.customerNumber && awaitingFirstTransfer.delete(transfer.customerNumber) && awaitingFirstTransfer.size === 0) onDemoTransfersDone?.();
    return;
  }
  const outage = parseServiceOutageLine(message);
  if (outage) {
    const time = new Date().toISOString().slice(11, 19);
    const service = SERVICE_LABELS[outage.service];
    const company = severalCompanies && outage.companyName ? `  ${outage.companyName}` : '';
    const text =
      outage.state === 'resumed'
        ? `${service} answers again after ${Math.round(outage.downMs / 1000)} s; ${outage.waiting ?? 0} waiting customers resumed`
        : `${service} on hold (${outage.kind})${outage.state === 'stillOnHold' ? `, still, ${outage.waiting ?? '?'} customers waiting` : ''}; next try ${outage.retryAt?.slice(11, 19) ?? '-'}`;
    console.log(`${time}  outage    ${text}${company}`);
    return;
  }
  if (level === 'error' || level === 'critical' || level === 'warning' || verbose) {
    console.log(`${new Date().toISOString().slice(11, 19)}  ${level.padEnd(8)} ${message}`);
  }
}

function banner(system: RunningSystem): string {
  const api = `http://localhost:${system.host.port}/api`;
  const lines = [
    '',
    `Customer sync is running (${system.mode === 'sandbox' ? 'SANDBOX: fake Business Central, Entra ID and iPaaS.com in this process' : 'REAL services from your settings'})`,
    `  Functions host   http://localhost:${system.host.port}  (${system.host.registrations.map((r) => r.metadata.name).join(', ')})`,
    `  Storage          ${system.azurite ? `Azurite in memory on 127.0.0.1 ports ${Object.values(system.azurite.ports).join(', ')}` : 'AzureWebJobsStorage from your settings'}`,
    `  Console          http://localhost:${system.host.port}/api/console  (open it in a browser: health, transfers, failures, replay)`,
    '',
    'Try:',
    `  curl ${api}/health`,
    `  curl ${api}/transfers?limit=20`,
  ];
  if (system.sandbox) {
    const robert = system.sandbox.world.businessCentral.customers().find((customer) => customer.number === '10000');
    const companies = system.sandbox.world.businessCentral.companies();
    if (companies.length > 1) {
      // Several companies: routes by number name the company (numbers repeat across companies).
      const [usa, canada] = companies as [FakeBcCompanyInfo, FakeBcCompanyInfo];
      const us = `${api}/companies/${encodeURIComponent(usa.name)}`;
      const ca = `${api}/companies/${encodeURIComponent(canada.name)}`;
      lines.push(
        `  curl -X POST "${us}/customers/by-number/10000/sync"`,
        `  curl -X POST "${ca}/customers/by-number/10000/sync?dryRun=true"   (the plan only; CRONUS Canada's 10000 becomes CA-10000)`,
        `  curl "${api}/transfers?company=${encodeURIComponent(canada.name)}"`,
        `  curl -X POST ${api}/customers/${robert?.id ?? '<customer-id>'}/sync   (by id: looked up in every company)`,
        `  curl -X POST ${api}/customers/${COPIED_ID}/sync   (409 AmbiguousCustomer: copied into both companies)`,
      );
    } else {
      lines.push(`  curl -X POST ${api}/customers/${robert?.id ?? '<customer-id>'}/sync`, `  curl -X POST ${api}/customers/by-number/10000/sync`);
    }
    if (companies.length === 1) lines.push(`  curl -X POST "${api}/customers/by-number/10000/sync?dryRun=true"   (the plan only; nothing is written)`);
    lines.push(
      `  npm run doctor -- --sandbox         (in another terminal: the go-live checks, here against this sandbox)`,
      `  curl http://localhost:${system.host.port}/sandbox                  (the fakes; README shows how to create and change customers)`,
      `  curl http://localhost:${system.host.port}/sandbox/ipaas/customers`,
      '',
      `Demo customers${companies.length > 1 ? ` of ${companies[0]!.name}` : ''} (the first poll transfers them now):`,
      ...DEMO_SCENARIOS.map((scenario) => `  ${scenario.number}  ${scenario.expect.padEnd(44)} ${scenario.shows}`),
    );
    if (companies.length > 1) {
      lines.push('', `Demo customers of ${companies[1]!.name} (its own mapping file, system id and iPaaS.com token):`, ...CANADA_SCENARIOS.map((scenario) => `  ${scenario.number}  ${scenario.expect.padEnd(44)} ${scenario.shows}`));
    }
  }
  lines.push('', 'One line per transfer follows (no personal data). Ctrl-C stops everything.', '');
  return lines.join('\n');
}

async function main(): Promise<void> {
  const ports = azuritePorts(process.env.LOCAL_AZURITE_PORTS);
  // The sandbox has two companies (CRONUS USA and CRONUS Canada); real settings decide for themselves.
  const system = await startSystem({ port, log, sandboxCompanies: 2, ...(ports ? { azuritePorts: ports } : {}) });
  severalCompanies = companyRefsOf(process.env).length > 1;
  firstCompanyId = system.sandbox?.world.businessCentral.companies()[0]?.id;
  const sandbox = system.sandbox;
  if (sandbox) {
    onDemoTransfersDone = () => {
      const applied = applyDemoDrift(sandbox.world.businessCentral, sandbox.world.ipaas);
      console.log(`${new Date().toISOString().slice(11, 19)}  sandbox   drift for the reconciliation demo: ${applied.join(', ')}; try npm run reconcile`);
    };
  }
  console.log(banner(system));
  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping the host${system.azurite ? ', Azurite' : ''}${system.sandbox ? ' and the sandbox' : ''}...`);
    const force = setTimeout(() => process.exit(1), 15_000);
    force.unref();
    system
      .stop()
      .then(() => process.exit(0))
      .catch((error: unknown) => {
        console.error(error instanceof Error ? error.message : error);
        process.exit(1);
      });
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  if (system.sandbox || process.env.WEBHOOK_NOTIFICATION_URL) await system.host.runTimer('subscriptionTimer');
  // The first poll is the initial load (sandbox: the demo customers), as the timer's first run would be.
  if (system.sandbox) await system.host.runTimer('pollCustomers');
}

main().catch((error: unknown) => {
  console.error(`\nnpm start failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
