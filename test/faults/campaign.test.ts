/**
 * The multi-instance fault campaign: the function app as THREE hosts, each a separate process with its own
 * caches, breakers and Business Central budget (the local Functions host, queues and timers on), on ONE Azurite
 * reached through a proxy (dev/storageProxy.ts) that can make Table, Queue or Blob Storage answer
 * `503 ServerBusy`, against the fakes of Business Central, Entra ID and iPaaS.com served over HTTP from this
 * process (each host through its own ports, so this process knows which host made a call). 500 customers
 * change all along (two changes a second, each notified through the webhook of a random live host, retried
 * like Business Central does and dropped after a few tries: the poll is the safety net). One host's clock runs
 * 30 s ahead of the others' for the whole run.
 *
 * Faults, first one at a time, then together: Table Storage 503, Queue Storage 503, the iPaaS.com key refused,
 * one `Retry-After: 86400`, iPaaS.com creates that answer after the per-customer lease expired (while a second
 * delivery of the same customer arrives), and a host SIGKILLed mid-transfer (right after iPaaS.com stored a
 * write, before the host heard back) every 20 s and started again.
 *
 * Time is compressed: the product's waits are shortened through its settings (CAMPAIGN_SCALE: one campaign
 * second stands for ten production seconds) and the faults' durations with them; the summary states both.
 *
 * At the end: every customer in iPaaS.com is what the mapping makes of Business Central's (0 lost, 0 stale), no
 * customer was created twice or merged with another, no message sits in a queue without a reader, no customer is
 * left in a waiting room and no service on hold, and the log lines and queue operations of the outages stay
 * within bounds. The test prints a summary table
 * (docs/reliability.md keeps a copy). Asserts outcomes and bounds, never timings: deadlines are generous and
 * convergence times are reported, not asserted.
 *
 * Not part of `npm test`: it runs alone, `npm run faults` (jest.faults.config.js; .ci/run runs it after the suite; a
 * few minutes; needs the openssl CLI). CAMPAIGN_PHASES=table,kills runs only some phases.
 */
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { QueueServiceClient } from '@azure/storage-queue';
import { freePort, type AzuritePorts } from '../../dev/azurite';
import type { FakeBcCustomer } from '../../dev/fakes/businessCentral';
import { createFakeWorld, type FakeWorld } from '../../dev/fakes/world';
import { loadFunctionApp } from '../../dev/host/loadApp';
import { loadConfig, type Config } from '../../shared/config';
import { parseTransferEventLine, TRANSFER_EVENT, type TransferEvent } from '../../shared/telemetry';
import { SWEPT_QUEUES, SYNC_QUEUE } from '../../shared/queueNames';
import { SERVICES } from '../../shared/errors';
import { buildServices } from '../../shared/services';
import { startStorageProxy, STORAGE_SERVICES, totalOf, type PutMessage, type StorageProxy, type StorageService } from '../../dev/storageProxy';
import { createTlsMaterial, serveFakes, type Exchange, type ServedFake, type TlsMaterial, type Verdict } from '../../dev/fakes/serve';
import { HostChild } from '../../dev/host/childProcess';
import { emailNeedles, findLeaks, LogCapture, secretNeedles } from './support/leaks';
import { ROOT, resetAllStorage } from './support/inProcess';
import { testStorageConnectionString } from '../support/storage';
import { seededRandom } from './support/simulation';

// Kept before anything captures the console, so the summary reaches the terminal.
const print = console.log.bind(console);

// ---- Scale ---------------------------------------------------------------------------------------------------

/** One campaign second stands for this many production seconds: the product's waits are divided by it. */
const CAMPAIGN_SCALE = 10;
const scaled = (productionMs: number): number => Math.round(productionMs / CAMPAIGN_SCALE);

const CUSTOMERS = 500;
const HOSTS = 3;
/** The host whose clock runs ahead (index into hosts), and by how much (not scaled: a real 30 s). */
const SKEWED_HOST = 2;
const CLOCK_OFFSET_MS = 30_000;
const CHANGES_PER_SECOND = 2;
const KILL_EVERY_MS = 20_000;
const LEASE_SECONDS = scaled(120_000) / 1000;
/** The client's timeout per request (30 s in production). */
const HTTP_TIMEOUT_MS = scaled(30_000);
/**
 * A slow create: its first SLOW_CREATE_HANGS attempts hang until the client gives up (iPaaS.com stores nothing),
 * the next reaches iPaaS.com after SLOW_CREATE_LAST_MS and is answered: the create's answer comes after the
 * per-customer lease's time (LEASE_SECONDS) has run out, while a second delivery of the customer arrives.
 */
const SLOW_CREATE_HANGS = 3;
const SLOW_CREATE_LAST_MS = Math.round(HTTP_TIMEOUT_MS * 0.8);

/** The hosts' settings on top of the test settings: production's waits divided by CAMPAIGN_SCALE. */
const HOST_SETTINGS: Record<string, string> = {
  SYNC_LEASE_SECONDS: String(LEASE_SECONDS),
  POLL_SCHEDULE: `*/${scaled(300_000) / 1000} * * * * *`,
  POLL_OVERLAP_SECONDS: String(scaled(120_000) / 1000),
  // A queue redelivery after a failed invocation (host.json visibilityTimeout, 30 s in production).
  AzureFunctionsJobHost__extensions__queues__visibilityTimeout: '00:00:03',
  AzureFunctionsJobHost__extensions__queues__maxPollingInterval: '00:00:01',
  // How long a received message stays hidden: longer than the longest invocation (the slow create), so only
  // a killed host's messages come back this way.
  LOCAL_HOST_PROCESSING_VISIBILITY_SECONDS: '30',
  HTTP_TIMEOUT_MS: String(HTTP_TIMEOUT_MS),
  HTTP_MAX_ATTEMPTS: '4',
  HTTP_RETRY_BASE_MS: '50',
  HTTP_RETRY_MAX_DELAY_MS: String(scaled(30_000)),
  // The Retry-After cap at its lowest (30 s: 5 production minutes here; 15 minutes by default), so the
  // `Retry-After: 86400` holds iPaaS.com for 30 s and the campaign stays within a few minutes.
  OUTAGE_MAX_RETRY_AFTER_SECONDS: '30',
  // Production's default in Azure: the instances share Business Central's budget through storage.
  BC_SHARED_BUDGET: 'on',
  // The fake iPaaS.com's Business Central subscription: customers are linked by external id.
  IPAAS_SYSTEM_ID: '1207',
};

// ---- Fault durations (production durations, scaled) ------------------------------------------------------------

const FAULTS = {
  tableDownMs: scaled(120_000),
  queueDownMs: scaled(60_000),
  keyRefusedMs: scaled(300_000),
};

// ---- Deterministic randomness ----------------------------------------------------------------------------------

const random = seededRandom(26);
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

// ---- State ----------------------------------------------------------------------------------------------------

const logs = new LogCapture();
interface LogEntry {
  at: number;
  host: string;
  level: string;
  kind: 'outage' | 'hold' | 'transfer' | 'queueUnreadable' | 'other';
}
const logEntries: LogEntry[] = [];
/** Every outage line: which process wrote it (host and start), its event and state. */
interface OutageLine {
  at: number;
  process: string;
  event: 'ServiceOutage' | 'StorageOutage';
  service: string;
  /** The company whose work a ServiceOutage holds (each company has its own hold). */
  company: string;
  state: string;
}
const outageLines: OutageLine[] = [];
const allEmails = new Set<string>();

let config: Config;
let world: FakeWorld;
let tls: TlsMaterial | undefined;
let servers: ServedFake[] = [];
let proxy: StorageProxy;
const hosts: HostChild[] = [];
/** Per host: its own ports onto the fakes (their front numbers in serveFakes). */
const fronts: Array<{ bc: string; ipaas: string; bcFront: number; ipaasFront: number }> = [];
const restarts = new Set<Promise<void>>();

/** Version of each Business Central customer (its number → how many times the campaign changed it). */
const versions = new Map<string, number>();
const customers: FakeBcCustomer[] = [];
const sharedEmailPairs: Array<[string, string]> = [];

const stats = {
  changes: 0,
  notifications: { delivered: 0, retried: 0, dropped: 0, refusedWith4xx: [] as number[] },
  /** Accepted creates (201) per customer number. */
  createsByNumber: new Map<string, number>(),
  /** Create requests per customer number (accepted or not). */
  createAttemptsByNumber: new Map<string, number>(),
  /** iPaaS.com id → the customer number it was created with. */
  numberById: new Map<string, string>(),
  /** iPaaS.com customers written with a number other than the one they were created with: a merge. */
  merges: [] as Array<{ ipaasId: string; from: string; to: string }>,
  kills: [] as Array<{ host: string; at: number; during: string }>,
  slowCreates: [] as string[],
  invocations: { failed: 0, total: 0, byFunction: new Map<string, number>() },
  /** The last transfer each host reported per customer number. */
  lastTransfer: new Map<string, TransferEvent>(),
};

/** When the campaign runs the kill loop, the next write of that host (by front) kills it. */
const killPlan: { armedFront: number | null; armedAt: number } = { armedFront: null, armedAt: 0 };
/** iPaaS.com answers every call with 401 while this is set. */
let keyRefused = false;
/** Customer numbers whose create answers late. */
const slowCreateNumbers = new Set<string>();

// ---- Phases -----------------------------------------------------------------------------------------------------

interface PhaseRecord {
  name: string;
  fault: string;
  startedAt: number;
  /** When the last fault of the phase ended. */
  faultEndedAt: number;
  /** When every change made before the fault ended was in iPaaS.com (null: not within the deadline). */
  caughtUpAt: number | null;
}
const phases: PhaseRecord[] = [];
const started = Date.now();

// ---- The fakes and the hosts -----------------------------------------------------------------------------------

function hostOfFront(front: number, kind: 'bc' | 'ipaas'): number {
  return fronts.findIndex((entry) => (kind === 'bc' ? entry.bcFront : entry.ipaasFront) === front);
}

function json(body: Buffer): Record<string, unknown> | null {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as unknown;
    return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

async function observeIpaas(exchange: Exchange): Promise<Verdict> {
  const { request, response, body, front } = exchange;
  if (!response || response.type === 'error') return 'send';
  const operation = world.ipaas.operationOf(request);
  const sent = json(body);
  if (operation === 'create') {
    const number = String(sent?.customer_number ?? '');
    stats.createAttemptsByNumber.set(number, (stats.createAttemptsByNumber.get(number) ?? 0) + 1);
    if (response.status === 201) {
      stats.createsByNumber.set(number, (stats.createsByNumber.get(number) ?? 0) + 1);
      const created = (await response.clone().json()) as { id?: unknown };
      if (created.id !== undefined) stats.numberById.set(String(created.id), number);
    }
  }
  if (operation === 'update' && response.status >= 200 && response.status < 300 && sent?.customer_number !== undefined) {
    const id = new URL(request.url).pathname.split('/').filter(Boolean).at(-1) ?? '';
    const original = stats.numberById.get(id);
    const now = String(sent.customer_number);
    if (original !== undefined && original !== now) stats.merges.push({ ipaasId: id, from: original, to: now });
  }
  const host = hostOfFront(front, 'ipaas');
  const isWrite = (operation === 'create' && response.status === 201) || (operation === 'update' && response.status === 200);
  if (isWrite && killPlan.armedFront === front && host >= 0) {
    // iPaaS.com has stored the write; the host dies before it hears back (so before it saves the link).
    killPlan.armedFront = null;
    killHost(host, `iPaaS.com ${operation}`);
    return 'drop';
  }
  return 'send';
}

/** Create attempts per slow customer number. */
const slowAttempts = new Map<string, number>();

/**
 * A slow iPaaS.com for the targeted creates: the first attempts hang until the caller gives up (nothing is stored),
 * the last reaches the service late; meanwhile, once the lease's time has run out, a second delivery of the
 * customer arrives at another host.
 */
async function slowIpaas(request: Request, body: Buffer, front: number): Promise<void | 'drop'> {
  if (world.ipaas.operationOf(request) !== 'create') return;
  const number = String(json(body)?.customer_number ?? '');
  if (!slowCreateNumbers.has(number)) return;
  const attempt = (slowAttempts.get(number) ?? 0) + 1;
  slowAttempts.set(number, attempt);
  if (attempt === 1) {
    stats.slowCreates.push(number);
    const customer = customers.find((candidate) => candidate.number === number);
    const other = hosts.findIndex((candidate, index) => index !== hostOfFront(front, 'ipaas') && candidate.running);
    setTimeout(() => {
      if (customer) void notify([{ id: customer.id, changeType: 'updated' }], other >= 0 ? other : undefined);
    }, LEASE_SECONDS * 1000 + 500);
  }
  if (attempt <= SLOW_CREATE_HANGS) {
    await new Promise<void>((resolve) => {
      if (request.signal.aborted) return resolve();
      const timer = setTimeout(resolve, 60_000);
      request.signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
    });
    return 'drop';
  }
  slowCreateNumbers.delete(number);
  await sleep(SLOW_CREATE_LAST_MS);
}

function killHost(index: number, during: string): void {
  const host = hosts[index]!;
  if (!host.running) return;
  stats.kills.push({ host: host.name, at: Date.now(), during });
  host.kill();
  const restart = host.restart().catch((error: unknown) => logs.add(`[campaign] ${host.name} did not restart: ${String(error)}`));
  restarts.add(restart);
  void restart.finally(() => restarts.delete(restart));
}

/** An outage's state lines (`ServiceOutage`, `StorageOutage`) and per-message hold lines (`TransferOnHold`). */
const OUTAGE_LINE = /\b(?:Service|Storage)Outage \{/u;
const HOLD_LINE = /\bTransferOnHold \{/u;

function classify(line: string): LogEntry['kind'] {
  if (OUTAGE_LINE.test(line)) return 'outage';
  if (HOLD_LINE.test(line)) return 'hold';
  if (line.includes(`${TRANSFER_EVENT} {`)) return 'transfer';
  if (line.includes('could not be read')) return 'queueUnreadable';
  return 'other';
}

function parseOutageLine(line: string, process: string): OutageLine | null {
  const match = /\b(ServiceOutage|StorageOutage) (\{.*\})\s*$/u.exec(line);
  if (!match) return null;
  try {
    const fields = JSON.parse(match[2]!) as { service?: unknown; state?: unknown; companyId?: unknown };
    return {
      at: Date.now(),
      process,
      event: match[1] as OutageLine['event'],
      service: typeof fields.service === 'string' ? fields.service : 'storage',
      company: typeof fields.companyId === 'string' ? fields.companyId : '',
      state: String(fields.state),
    };
  } catch {
    return null;
  }
}

function newHost(index: number, env: NodeJS.ProcessEnv): HostChild {
  const name = `host${index + 1}`;
  const host: HostChild = new HostChild(env, {
    name,
    onLog: (line, level) => {
      logs.add(line);
      const kind = classify(line);
      logEntries.push({ at: Date.now(), host: name, level, kind });
      const outage = kind === 'outage' ? parseOutageLine(line, `${name}#${host.starts}`) : null;
      if (outage) outageLines.push(outage);
      const transfer = kind === 'transfer' ? parseTransferEventLine(line) : null;
      if (transfer?.customerNumber) stats.lastTransfer.set(transfer.customerNumber, transfer);
    },
    onInvocation: (event) => {
      stats.invocations.total += 1;
      if (!event.succeeded) stats.invocations.failed += 1;
      stats.invocations.byFunction.set(event.functionName, (stats.invocations.byFunction.get(event.functionName) ?? 0) + 1);
    },
  });
  return host;
}

// ---- Business Central's side: changes and their notifications ------------------------------------------------------

const nameOf = (index: number, version: number) => `Campaign Customer ${index} v${version}`;

function seed(): void {
  const bc = world.businessCentral;
  for (let index = 0; index < CUSTOMERS; index += 1) {
    // Two pairs share an email (the second of each pair is the newer customer): they must never merge.
    const email = index >= CUSTOMERS - 2 ? `campaign.${index - (CUSTOMERS - 2)}@example.com` : `campaign.${index}@example.com`;
    allEmails.add(email);
    const customer = bc.upsertCustomer({
      type: 'Person',
      displayName: nameOf(index, 0),
      email,
      ...(index % 2 === 0 ? { addressLine1: `${index} Campaign Street`, city: 'Bergen', country: 'NO', postalCode: String(5000 + index) } : {}),
    });
    customers.push(customer);
    versions.set(customer.number, 0);
    if (seedTime !== null) seedTime += 6_000;
  }
  sharedEmailPairs.push([customers[0]!.number, customers[CUSTOMERS - 2]!.number], [customers[1]!.number, customers[CUSTOMERS - 1]!.number]);
}

function indexOf(customer: FakeBcCustomer): number {
  return customers.findIndex((candidate) => candidate.id === customer.id);
}

/** One change of a random customer: a new name; one in ten also a new (unique) email. */
function changeOne(): void {
  const customer = pick(customers);
  const index = indexOf(customer);
  const version = (versions.get(customer.number) ?? 0) + 1;
  const shared = sharedEmailPairs.some((pair) => pair.includes(customer.number));
  const email = !shared && random() < 0.1 ? `campaign.${index}.v${version}@example.com` : customer.email;
  allEmails.add(email);
  customers[index] = world.businessCentral.updateCustomer(customer.id, { displayName: nameOf(index, version), email });
  versions.set(customer.number, version);
  stats.changes += 1;
  void notify([{ id: customer.id, changeType: 'updated' }]);
}

/** Creates a customer in Business Central now (the slow-create faults), notified like any change. */
function createOne(slow: boolean): FakeBcCustomer {
  const index = customers.length;
  const email = `campaign.${index}@example.com`;
  allEmails.add(email);
  const customer = world.businessCentral.upsertCustomer({ type: 'Person', displayName: nameOf(index, 0), email });
  customers.push(customer);
  versions.set(customer.number, 0);
  if (slow) slowCreateNumbers.add(customer.number);
  void notify([{ id: customer.id, changeType: 'created' }]);
  return customer;
}

/** Notifications on their way (the campaign's end waits for them). */
const deliveries = new Set<Promise<void>>();

/**
 * Delivers a notification as Business Central does: POST to the webhook (here: of a random live host, as a load
 * balancer would), tried again on no answer, 408, 429 and 5xx, a few times; then dropped (the poll covers it).
 */
function notify(changes: Array<{ id: string; changeType: 'created' | 'updated' }>, toHost?: number): Promise<void> {
  const delivery = deliver(changes, toHost).finally(() => deliveries.delete(delivery));
  deliveries.add(delivery);
  return delivery;
}

async function deliver(changes: Array<{ id: string; changeType: 'created' | 'updated' }>, toHost?: number): Promise<void> {
  const body = JSON.stringify({
    value: changes.map((change) => ({
      subscriptionId: 'fault-campaign',
      clientState: config.webhook.clientState,
      expirationDateTime: new Date(Date.now() + 86_400_000).toISOString(),
      resource: `api/v2.0/companies(${config.businessCentral.companyId})/customers(${change.id})`,
      changeType: change.changeType,
      lastModifiedDateTime: new Date().toISOString(),
    })),
  });
  for (let attempt = 0; attempt < 5; attempt += 1) {
    const live = hosts.filter((host) => host.running);
    const host = toHost !== undefined && attempt === 0 && hosts[toHost]?.running ? hosts[toHost] : live.length > 0 ? pick(live) : undefined;
    if (host) {
      try {
        const response = await fetch(`${host.url}/api/webhooks/business-central`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body,
          signal: AbortSignal.timeout(10_000),
        });
        await response.arrayBuffer();
        if (response.status >= 200 && response.status < 300) {
          stats.notifications.delivered += 1;
          return;
        }
        if (!(response.status === 408 || response.status === 429 || response.status >= 500)) {
          stats.notifications.refusedWith4xx.push(response.status);
          return;
        }
      } catch {
        // No answer (the host died): Business Central tries again later.
      }
    }
    stats.notifications.retried += 1;
    await sleep(1_000 * (attempt + 1));
  }
  stats.notifications.dropped += 1;
}


// ---- What iPaaS.com holds against what Business Central says ---------------------------------------------------------

interface Comparison {
  /** Customers with no iPaaS.com customer of their number. */
  missing: string[];
  /** Customers whose iPaaS.com customer holds other data than the mapping of their latest version. */
  stale: string[];
  /** Customers whose iPaaS.com customer reflects a version older than `atLeast` asks. */
  behind: string[];
  /** Emails held by more than one iPaaS.com customer. */
  duplicateEmails: string[];
  /** iPaaS.com customers with more addresses than their Business Central customer has. */
  duplicateAddresses: string[];
}

const versionOfName = (name: string): number => Number(/ v(\d+)$/u.exec(name)?.[1] ?? -1);

/**
 * Each Business Central customer against iPaaS.com, by the default mapping (No → CustomerNumber, Name → FirstName,
 * EMail → EmailAddress, one address when it has one). Of a shared-email pair, the customer that iPaaS.com holds
 * (the one linked first) is compared; the other must be refused (EmailInUse), which the merge check judges.
 */
function compare(atLeast?: Map<string, number>): Comparison {
  const byNumber = new Map(world.ipaas.customers().map((customer) => [customer.customerNumber, customer]));
  const emails = new Map<string, number>();
  for (const customer of world.ipaas.customers()) emails.set(customer.emailAddress.toLowerCase(), (emails.get(customer.emailAddress.toLowerCase()) ?? 0) + 1);
  // Of each pair, the one iPaaS.com does not hold (the first of the pair when it holds neither).
  const refused = new Set(sharedEmailPairs.map(([first, second]) => (byNumber.has(second) && !byNumber.has(first) ? first : second)));
  const result: Comparison = { missing: [], stale: [], behind: [], duplicateEmails: [], duplicateAddresses: [] };
  for (const customer of customers) {
    if (refused.has(customer.number)) continue;
    const held = byNumber.get(customer.number);
    if (!held) {
      result.missing.push(customer.number);
      continue;
    }
    if (held.firstName !== customer.displayName || held.emailAddress.toLowerCase() !== customer.email.toLowerCase()) result.stale.push(customer.number);
    const floor = atLeast?.get(customer.number);
    if (floor !== undefined && versionOfName(held.firstName) < floor) result.behind.push(customer.number);
    const expectedAddresses = customer.addressLine1 ? 1 : 0;
    if (world.ipaas.addresses(held.id).length > expectedAddresses) result.duplicateAddresses.push(customer.number);
  }
  for (const [email, count] of emails) if (count > 1) result.duplicateEmails.push(email);
  return result;
}

/** Waits until every customer reflects at least the versions of `snapshot` (null on the deadline). */
async function waitCaughtUp(snapshot: Map<string, number>, deadlineMs: number): Promise<number | null> {
  const until = Date.now() + deadlineMs;
  while (Date.now() < until) {
    // The shared-email pairs are judged by the merge check alone: a merge must not also stall every phase.
    const paired = new Set(sharedEmailPairs.flat());
    const { missing, behind } = compare(snapshot);
    if ([...missing, ...behind].every((number) => paired.has(number))) return Date.now();
    await sleep(500);
  }
  return null;
}

// ---- The campaign's driver ------------------------------------------------------------------------------------------

let changing = false;
let changeLoop: Promise<void> = Promise.resolve();
function startChanges(): void {
  changing = true;
  changeLoop = (async () => {
    while (changing) {
      changeOne();
      await sleep(1000 / CHANGES_PER_SECOND);
    }
  })();
}
async function stopChanges(): Promise<void> {
  changing = false;
  await changeLoop;
}

let killing = false;
let killLoop: Promise<void> = Promise.resolve();
/** Every KILL_EVERY_MS: the next iPaaS.com write of a random live host kills it (or, with no write within 5 s, it dies anyway). */
function startKills(): void {
  killing = true;
  killLoop = (async () => {
    while (killing) {
      await sleep(KILL_EVERY_MS);
      if (!killing) break;
      const live = hosts.map((host, index) => ({ host, index })).filter((entry) => entry.host.running);
      if (live.length < 2) continue;
      const target = pick(live);
      killPlan.armedFront = fronts[target.index]!.ipaasFront;
      killPlan.armedAt = Date.now();
      await sleep(5_000);
      if (killPlan.armedFront === fronts[target.index]!.ipaasFront) {
        killPlan.armedFront = null;
        killHost(target.index, 'no write within 5 s');
      }
    }
  })();
}
async function stopKills(): Promise<void> {
  killing = false;
  await killLoop;
  killPlan.armedFront = null;
}

function storageDown(service: StorageService, forMs: number): void {
  proxy.down(service, forMs);
}

function refuseKey(forMs: number): void {
  keyRefused = true;
  setTimeout(() => (keyRefused = false), forMs);
}

function retryAfterOnce(): void {
  world.ipaas.faults.add({ status: 429, retryAfterSeconds: 86_400, times: 1 });
}

/** CAMPAIGN_PHASES=table,kills runs only those (with the initial load and the final wait), while working on one. */
const onlyPhases = process.env.CAMPAIGN_PHASES?.split(',').map((name) => name.trim());

/**
 * The whole run's budget: a phase waits for convergence at most until it is spent (and a phase that would start
 * later is skipped), so a product that never converges fails the campaign in bounded CI time.
 */
const CAMPAIGN_BUDGET_MS = 12 * 60_000;
let campaignStarted = 0;
const skippedPhases: string[] = [];

/** Runs one phase: its faults, then waits until every change made before they ended is in iPaaS.com. */
async function phase(name: string, fault: string, run: () => Promise<void>, deadlineMs = 150_000): Promise<PhaseRecord | undefined> {
  if (onlyPhases && !['initial load', 'final'].includes(name) && !onlyPhases.includes(name)) return undefined;
  campaignStarted ||= Date.now();
  const left = campaignStarted + CAMPAIGN_BUDGET_MS - Date.now();
  if (left <= 0) {
    skippedPhases.push(name);
    return undefined;
  }
  const record: PhaseRecord = { name, fault, startedAt: Date.now(), faultEndedAt: 0, caughtUpAt: null };
  phases.push(record);
  await run();
  record.faultEndedAt = Date.now();
  record.caughtUpAt = await waitCaughtUp(new Map(versions), Math.max(10_000, Math.min(deadlineMs, campaignStarted + CAMPAIGN_BUDGET_MS - Date.now())));
  logs.add(`[campaign] phase ${name}: ${record.caughtUpAt === null ? 'NOT caught up' : `caught up ${((record.caughtUpAt - record.faultEndedAt) / 1000).toFixed(1)} s after the fault ended`}`);
  return record;
}

// ---- Setup ------------------------------------------------------------------------------------------------------------

let restoreConsole: () => void = () => {};
/** While seeding: the time Business Central stamps on the next customer (null afterwards: the real time). */
let seedTime: number | null = null;

beforeAll(async () => {
  restoreConsole = logs.captureConsole();
  await resetAllStorage();
  const azurite = JSON.parse(process.env.TEST_AZURITE_PORTS ?? '{"blob":10000,"queue":10001,"table":10002}') as AzuritePorts;
  proxy = await startStorageProxy(azurite);
  const account = `worker${process.env.JEST_WORKER_ID ?? '1'}`;

  const baseConfig = loadConfig(process.env);
  const [bcPort, ipaasPort, entraPort] = [await freePort(), await freePort(), await freePort()];
  config = {
    ...baseConfig,
    businessCentral: { ...baseConfig.businessCentral, apiBaseUrl: `http://127.0.0.1:${bcPort}/v2.0`, authorityHost: `https://127.0.0.1:${entraPort}` },
    ipaas: { ...baseConfig.ipaas, apiBaseUrl: `http://127.0.0.1:${ipaasPort}` },
  };
  // The seeded customers were last changed over the past hour, a few seconds apart (as an existing customer base
  // is): the first poll's full load meets them once, and later polls only what the campaign changes.
  world = createFakeWorld(config, { now: () => new Date(seedTime ?? Date.now()) });
  world.ipaas.faults.add({ match: () => keyRefused, status: 401 });
  seedTime = Date.now() - 3_600_000;
  seed();
  seedTime = null;
  tls = createTlsMaterial();
  const bc = await serveFakes({ handlers: world.businessCentral.handlers, port: bcPort });
  const ipaas = await serveFakes({ handlers: world.ipaas.handlers, port: ipaasPort, before: slowIpaas, decide: observeIpaas });
  const entra = await serveFakes({ handlers: world.entra.handlers, port: entraPort, tls });
  servers = [bc, ipaas, entra];

  for (let index = 0; index < HOSTS; index += 1) {
    const bcFront = await bc.addFront();
    const ipaasFront = await ipaas.addFront();
    fronts.push({ bc: bcFront, ipaas: ipaasFront, bcFront: index + 1, ipaasFront: index + 1 });
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ...HOST_SETTINGS,
      AzureWebJobsStorage: proxy.connectionString(account),
      BC_API_BASE_URL: `${bcFront}/v2.0`,
      AZURE_AUTHORITY_HOST: config.businessCentral.authorityHost,
      IPAAS_API_BASE_URL: ipaasFront,
      NODE_EXTRA_CA_CERTS: tls.certFile,
      HOST_CHILD_TIMERS: 'true',
      HOST_CHILD_LOGS: 'all',
      // The whole process's wall clock (the app's clock, the storage SDK's request dates), as on a machine whose clock is off.
      ...(index === SKEWED_HOST ? { LOCAL_HOST_CLOCK_OFFSET_MS: String(CLOCK_OFFSET_MS) } : {}),
    };
    hosts.push(newHost(index, env));
  }
  await Promise.all(hosts.map((host) => host.start()));
}, 120_000);

afterAll(async () => {
  changing = false;
  killing = false;
  await Promise.all([...deliveries, ...restarts]);
  await Promise.all(hosts.map((host) => host.stop()));
  for (const server of servers) await server.close();
  await proxy?.close();
  tls?.dispose();
  restoreConsole();
}, 60_000);

// ---- The campaign -------------------------------------------------------------------------------------------------------

it('runs the campaign: the initial load, each fault alone, then all of them together, while customers keep changing', async () => {
  // The first poll is the initial load, as in production: it pages through every customer and enqueues each with the
  // version it read (the timers of the hosts would start it within one schedule; it is started at once here).
  await phase('initial load', `${CUSTOMERS} customers, the first poll's full pass`, () => hosts[0]!.runTimer('pollCustomers'), 180_000);
  startChanges();
  await phase('baseline', 'none (changes only)', () => sleep(15_000));
  await phase('table', `Table Storage 503 for ${FAULTS.tableDownMs / 1000} s`, async () => {
    storageDown('table', FAULTS.tableDownMs);
    await sleep(FAULTS.tableDownMs);
  });
  await phase('queue', `Queue Storage 503 for ${FAULTS.queueDownMs / 1000} s`, async () => {
    storageDown('queue', FAULTS.queueDownMs);
    await sleep(FAULTS.queueDownMs);
  });
  await phase('key', `iPaaS.com key refused for ${FAULTS.keyRefusedMs / 1000} s`, async () => {
    refuseKey(FAULTS.keyRefusedMs);
    await sleep(FAULTS.keyRefusedMs);
  });
  await phase('retryAfter', 'one iPaaS.com answer 429 Retry-After: 86400', async () => {
    retryAfterOnce();
    await sleep(2_000);
  });
  await phase('slowCreate', `3 new customers whose iPaaS.com create hangs ${SLOW_CREATE_HANGS} times, then answers after the lease's ${LEASE_SECONDS} s; a second delivery meanwhile`, async () => {
    for (let count = 0; count < 3; count += 1) createOne(true);
    await sleep(LEASE_SECONDS * 1000 + SLOW_CREATE_LAST_MS + 2_000);
  });
  await phase('kills', `a host SIGKILLed mid-transfer every ${KILL_EVERY_MS / 1000} s (2 kills)`, async () => {
    startKills();
    await sleep(2 * KILL_EVERY_MS + 6_000);
    await stopKills();
  });
  await phase('together', 'all of the above at once (kills every 20 s throughout)', async () => {
    startKills();
    refuseKey(FAULTS.keyRefusedMs);
    await sleep(5_000);
    storageDown('table', FAULTS.tableDownMs);
    await sleep(5_000);
    storageDown('queue', FAULTS.queueDownMs);
    createOne(true);
    await sleep(5_000);
    retryAfterOnce();
    await sleep(Math.max(FAULTS.keyRefusedMs - 15_000, 0) + 10_000);
    await stopKills();
  });
  await stopChanges();
  await phase('final', 'none: changes stopped, waiting for the last ones', () => Promise.resolve());
  await Promise.all([...restarts]);
  // Every phase ran (none skipped because the budget was spent), and after each, every change made before its
  // faults ended reached iPaaS.com within the (generous) deadline: changes flow again by themselves.
  expect({ skipped: skippedPhases, notCaughtUp: phases.filter((record) => record.caughtUpAt === null).map((record) => record.name) }).toEqual({ skipped: [], notCaughtUp: [] });
}, CAMPAIGN_BUDGET_MS + 5 * 60_000);

// ---- The checks ---------------------------------------------------------------------------------------------------------

it('0 lost: every customer in iPaaS.com is what the mapping makes of its latest Business Central version', () => {
  const { missing, stale } = compare();
  expect({ missing, stale }).toEqual({ missing: [], stale: [] });
});

it('0 duplicated: no customer was created twice, no email is held twice, no address was added twice', () => {
  const createdTwice = [...stats.createsByNumber].filter(([, count]) => count > 1).map(([number]) => number);
  const { duplicateEmails, duplicateAddresses } = compare();
  expect({ createdTwice, duplicateEmails, duplicateAddresses }).toEqual({ createdTwice: [], duplicateEmails: [], duplicateAddresses: [] });
});

it('0 merged: no iPaaS.com customer was written with the data of a second Business Central customer; of two with one email, the second ends EmailInUse', () => {
  expect(stats.merges).toEqual([]);
  const held = new Set(world.ipaas.customers().map((customer) => customer.customerNumber));
  const refused = sharedEmailPairs.map(([first, second]) => (held.has(first) ? second : first));
  expect(refused.map((number) => [number, held.has(number), stats.lastTransfer.get(number)?.errorCode])).toEqual(refused.map((number) => [number, false, 'EmailInUse']));
});

/**
 * The queues something reads: those of a queue trigger, and the last-line poison queues, which the
 * sweepPoisonQueues timer empties back into the poison queue they came from (and an alert counts).
 */
function queuesWithReader(): Map<string, string> {
  const readers = new Map<string, string>();
  for (const registration of loadFunctionApp(ROOT)) {
    for (const binding of Object.values(registration.metadata.bindings)) {
      if (binding.direction === 'in' && binding.type === 'queueTrigger' && typeof binding.queueName === 'string') readers.set(String(binding.queueName), registration.metadata.name);
    }
  }
  for (const { from } of SWEPT_QUEUES) if (!readers.has(from)) readers.set(from, 'sweepPoisonQueues (timer)');
  return readers;
}

let queueReport: Array<{ name: string; messages: number; reader: string | null }> = [];
/** Work parked or held at the end: customers in a waiting room, services still on hold (per company). */
let heldReport: { waiting: Array<{ company: string; service: string; customers: number }>; onHold: string[] } = { waiting: [], onHold: [] };

it('0 stranded: every queue of the account that holds a message has a reader; no customer is left in a waiting room, no service on hold', async () => {
  const service = QueueServiceClient.fromConnectionString(testStorageConnectionString());
  const readers = queuesWithReader();
  queueReport = [];
  for await (const queue of service.listQueues()) {
    const properties = await service.getQueueClient(queue.name).getProperties();
    queueReport.push({ name: queue.name, messages: properties.approximateMessagesCount ?? 0, reader: readers.get(queue.name) ?? null });
  }
  // The app's own view of its storage (the same account, read directly): each company's waiting room and holds.
  const app = buildServices(config);
  heldReport = { waiting: [], onHold: [] };
  for (const company of app.companies) {
    for (const name of SERVICES) {
      const customers = await company.storage.waiting.count(name);
      if (customers > 0) heldReport.waiting.push({ company: company.ref.name, service: name, customers });
    }
    for (const outage of await company.breakers.report()) heldReport.onHold.push(`${company.ref.name}: ${outage.service} since ${outage.since}`);
  }
  expect({ withoutReader: queueReport.filter((queue) => queue.messages > 0 && !queue.reader), ...heldReport }).toEqual({ withoutReader: [], waiting: [], onHold: [] });
});

/** Where the outage lines break "one line per change of state": an `onHold` while already on hold, a `resumed` or `stillOnHold` while not. */
function outageLineProblems(): string[] {
  const problems: string[] = [];
  // A service's state is shared by every instance (one row per company); storage's is each process's own.
  const onHold = new Map<string, boolean>();
  for (const line of outageLines) {
    const key = line.event === 'ServiceOutage' ? `ServiceOutage ${line.service}${line.company ? ` of ${line.company}` : ''}` : `StorageOutage ${line.process}`;
    const held = onHold.get(key) ?? false;
    if (line.state === 'onHold' && held) problems.push(`${key}: onHold again without resumed (${line.process})`);
    if ((line.state === 'resumed' || line.state === 'stillOnHold') && !held) problems.push(`${key}: ${line.state} while not on hold (${line.process})`);
    onHold.set(key, line.state !== 'resumed');
  }
  return problems;
}

it('outage log lines: one per change of state (a service: once for all instances; storage: per instance), none per held message', () => {
  expect({ problems: outageLineProblems(), heldMessageLines: logEntries.filter((entry) => entry.kind === 'hold').length }).toEqual({ problems: [], heldMessageLines: 0 });
});

/** Puts on customer-sync per changed customer in a phase (customers with at least one put). */
function putsPerCustomer(record: PhaseRecord): { puts: number; customers: number; perCustomer: number } {
  const [from, to] = windowOf(record);
  const puts = sendsIn(from, to);
  const customers = new Set(puts.map((message) => String(message.body?.customerId ?? '?'))).size;
  return { puts: puts.length, customers, perCustomer: customers === 0 ? 0 : puts.length / customers };
}

/** Production minutes a phase's fault lasted (the campaign's seconds times the scale). */
const productionMinutes = (record: PhaseRecord): number => ((record.faultEndedAt - record.startedAt) * CAMPAIGN_SCALE) / 60_000;

/**
 * The most puts per changed customer a phase may take: the baseline's, plus 2 (the put that holds a change and the
 * one that resumes it), plus one per 5 production minutes of outage. null for the phases without a fault.
 */
function putsBound(record: PhaseRecord): number | null {
  const baseline = phases.find((candidate) => candidate.name === 'baseline');
  if (!baseline || ['initial load', 'baseline', 'final'].includes(record.name)) return null;
  return putsPerCustomer(baseline).perCustomer + 2 + productionMinutes(record) / 5;
}

it('queue operations: during an outage, puts per changed customer exceed the baseline by at most 2 plus one per 5 minutes of outage', () => {
  const over = phases
    .map((record) => ({ phase: record.name, perCustomer: putsPerCustomer(record).perCustomer, bound: putsBound(record) }))
    .filter((row) => row.bound !== null && row.perCustomer > row.bound);
  expect(over).toEqual([]);
});

it('the logs of every host hold no secret and no raw email', () => {
  expect(findLeaks(logs.lines, [...secretNeedles(), ...emailNeedles(allEmails)])).toEqual([]);
});

// ---- The summary ------------------------------------------------------------------------------------------------------------

/** A few of the items, for the summary: " (a, b, c, …)". */
function listed(items: readonly string[]): string {
  const unique = [...new Set(items)];
  return unique.length === 0 ? '' : ` (${unique.slice(0, 5).join(', ')}${unique.length > 5 ? ', …' : ''})`;
}

function windowOf(record: PhaseRecord): [number, number] {
  return [record.startedAt, record.caughtUpAt ?? record.faultEndedAt];
}

/** The customer-sync messages the queue stored between `from` and `to` (a put refused during a queue outage stored nothing). */
function sendsIn(from: number, to: number): PutMessage[] {
  return proxy.puts.filter((message) => message.at >= from && message.at < to && message.queue === SYNC_QUEUE && !message.refused);
}

/** What the sends of a phase were: by source, put back after a hold, delayed. */
function sendKinds(sends: readonly PutMessage[]): string {
  const kinds = new Map<string, number>();
  for (const message of sends) {
    const kind = `${String(message.body?.source ?? '?')}${message.body?.holds !== undefined ? ' held' : ''}${message.delaySeconds > 0 ? ' delayed' : ''}`;
    kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
  }
  return [...kinds].sort((a, b) => b[1] - a[1]).map(([kind, count]) => `${kind} ${count}`).join(', ');
}

afterAll(() => {
  // CAMPAIGN_LOG=<file>: every line the hosts logged, with the campaign's own notes, for a closer look.
  if (process.env.CAMPAIGN_LOG) writeFileSync(process.env.CAMPAIGN_LOG, `${logs.lines.join('\n')}\n`);
  const rows = phases.map((record) => {
    const [from, to] = windowOf(record);
    const lines = logEntries.filter((entry) => entry.at >= from && entry.at < to);
    const sends = sendsIn(from, to);
    const perCustomer = new Map<string, number>();
    for (const message of sends) {
      const id = typeof message.body?.customerId === 'string' ? message.body.customerId : '?';
      perCustomer.set(id, (perCustomer.get(id) ?? 0) + 1);
    }
    const opsPerCustomer = perCustomer.size === 0 ? 0 : sends.length / perCustomer.size;
    return {
      phase: record.name,
      fault: record.fault,
      caughtUp: record.caughtUpAt === null ? 'not within the deadline' : `${((record.caughtUpAt - record.faultEndedAt) / 1000).toFixed(1)} s`,
      outageLines: lines.filter((entry) => entry.kind === 'outage').length,
      holdLines: lines.filter((entry) => entry.kind === 'hold').length,
      warnings: lines.filter((entry) => entry.level === 'warning' || entry.level === 'error').length,
      sends: sends.length,
      customers: perCustomer.size,
      sendsPerCustomer: opsPerCustomer.toFixed(2),
      bound: putsBound(record)?.toFixed(2) ?? '',
    };
  });
  const comparison = compare();
  const createdTwice = [...stats.createsByNumber].filter(([, count]) => count > 1).length;
  const triedTwice = [...stats.createAttemptsByNumber].filter(([, count]) => count > 1).length;
  const [load1] = os.loadavg();
  const storage = proxy.snapshot();
  print(
    [
      `Fault campaign (${new Date().toISOString().slice(0, 10)}, ${os.cpus().length} cores, load ${load1?.toFixed(2)}; scale 1:${CAMPAIGN_SCALE}: one campaign second = ${CAMPAIGN_SCALE} production seconds)`,
      `  ${HOSTS} hosts (separate processes; ${hosts[SKEWED_HOST]?.name} ${CLOCK_OFFSET_MS / 1000} s ahead), one Azurite behind a fault proxy, ${customers.length} customers, ${stats.changes} changes`,
      '  | phase | fault | caught up after | outage lines | hold lines | warnings | customer-sync sends | customers | sends per customer | bound |',
      '  | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
      ...rows.map((row) => `  | ${row.phase} | ${row.fault} | ${row.caughtUp} | ${row.outageLines} | ${row.holdLines} | ${row.warnings} | ${row.sends} | ${row.customers} | ${row.sendsPerCustomer} | ${row.bound} |`),
      `  sends by kind: ${phases.map((record) => `${record.name}: ${sendKinds(sendsIn(...windowOf(record)))}`).join('; ')}`,
      `  lost ${comparison.missing.length + comparison.stale.length} (missing ${comparison.missing.length}${listed(comparison.missing)}, stale ${comparison.stale.length}${listed(comparison.stale)}); ` +
        `duplicated ${createdTwice} (created twice; ${triedTwice} numbers with more than one create request), emails held twice ${comparison.duplicateEmails.length}, ` +
        `addresses twice ${comparison.duplicateAddresses.length}${listed(comparison.duplicateAddresses)}; merged ${stats.merges.length}${listed(stats.merges.map((merge) => `${merge.from}→${merge.to}`))}`,
      `  stranded: ${queueReport.filter((queue) => queue.messages > 0 && !queue.reader).map((queue) => `${queue.name} (${queue.messages})`).join(', ') || '0'} in queues without a reader, ` +
        `${heldReport.waiting.reduce((sum, entry) => sum + entry.customers, 0)} customers in waiting rooms, ${heldReport.onHold.length} services on hold${listed(heldReport.onHold)}; ` +
        `queues: ${queueReport.map((queue) => `${queue.name}${queue.reader ? '' : ' (no reader)'} ${queue.messages}`).join(', ')}`,
      `  kills ${stats.kills.length} (${stats.kills.map((kill) => `${kill.host}: ${kill.during}`).join('; ')}), unexpected exits ${hosts.reduce((sum, host) => sum + host.unexpectedExits, 0)}`,
      `  slow creates ${stats.slowCreates.length}; notifications: ${stats.notifications.delivered} delivered, ${stats.notifications.retried} retries, ${stats.notifications.dropped} dropped, 4xx ${stats.notifications.refusedWith4xx.length}`,
      `  storage: ${STORAGE_SERVICES.map((service) => `${service} ${totalOf(storage.byOperation, (key) => key.startsWith(`${service} `))} requests (${storage.refused[service] ?? 0} refused)`).join(', ')}`,
      `  busiest storage operations: ${Object.entries(storage.byOperation).sort((a, b) => b[1] - a[1]).slice(0, 12).map(([key, count]) => `${key} ${count}`).join(', ')}`,
      `  queue operations: ${['put', 'receive', 'update', 'delete'].map((operation) => `${operation} ${totalOf(storage.byOperation, (key) => key.startsWith('queue ') && key.endsWith(` ${operation}`))}`).join(', ')}, empty receives ${totalOf(storage.emptyReceives)}`,
      `  invocations ${stats.invocations.total} (${stats.invocations.failed} failed): ${[...stats.invocations.byFunction].map(([name, count]) => `${name} ${count}`).join(', ')}`,
      `  CPU: hosts ${hosts.map((host) => `${host.name} ${host.cpuSeconds().toFixed(0)} s`).join(', ')}; this process (fakes, proxy, checks) ${(process.cpuUsage().user / 1e6 + process.cpuUsage().system / 1e6).toFixed(0)} s`,
      `  time ${((Date.now() - started) / 1000).toFixed(0)} s`,
    ].join('\n'),
  );
});
