/**
 * The fault suite: 300+ customers created and then updated in Business Central, announced through webhooks,
 * transferred by the function app running in a separate worker process while the fakes inject faults
 * (iPaaS.com: 429 with Retry-After, 500 and hangs past the client timeout on a fifth of calls; Business
 * Central: 503 and 429 on a tenth) and the worker is SIGKILLed right after iPaaS.com stored a customer
 * and before the worker heard back (so before the link was saved). Then: every customer has a terminal
 * latest transfer, iPaaS.com holds exactly one customer per email with Business Central's latest data, and
 * every poison message became exactly one RetriesExhausted transfer.
 *
 * How the kill works: the worker (the local Functions host, queue listeners on) runs as a child process
 * (dev/host/child.ts, started by dev/host/childProcess.ts). Its settings point Business Central, Entra ID (https, self-signed certificate
 * trusted through NODE_EXTRA_CA_CERTS) and iPaaS.com at small servers in this process that answer with the
 * fakes' msw handlers (dev/fakes/serve.ts), so the fakes' state outlives the worker. The iPaaS.com server,
 * after the fake stored a customer, SIGKILLs the worker instead of answering, then starts a new one. The
 * message the dead worker held reappears after LOCAL_HOST_PROCESSING_VISIBILITY_SECONDS, when its
 * per-customer lease (SYNC_LEASE_SECONDS) has expired; the new worker finds the customer by email and links it.
 *
 * Part of `npm test`; alone: `npx jest test/faults/faultSuite.test.ts` (about 80 s here; needs the openssl CLI).
 */
import { freePort } from '../../dev/azurite';
import type { FakeBcCustomer } from '../../dev/fakes/businessCentral';
import { createFakeWorld, type FakeWorld } from '../../dev/fakes/world';
import { loadConfig, loadStorageConfig, type Config } from '../../shared/config';
import { ERROR_CODES, type ErrorCode } from '../../shared/errors';
import { emailKey } from '../../shared/mapping/email';
import { tableClient, TRANSFERS_TABLE } from '../../shared/storage';
import { CATCH_UP_QUEUE, POISON_QUEUE, SYNC_QUEUE } from '../../shared/queueNames';
import { createTlsMaterial, serveFakes, type Exchange, type ServedFake, type TlsMaterial } from '../../dev/fakes/serve';
import { HostChild } from '../../dev/host/childProcess';
import { countMessages, resetAllStorage } from './support/inProcess';
import { emailNeedles, findLeaks, LogCapture, secretNeedles, tokenNeedles } from './support/leaks';
import type { HostChildMessage } from '../../dev/host/childProtocol';

// Kept before the console is captured, so the summary reaches the terminal.
const print = console.log.bind(console);

const VALID_CUSTOMERS = 300;
const QUEUES = [SYNC_QUEUE, CATCH_UP_QUEUE, POISON_QUEUE, `${CATCH_UP_QUEUE}-poison`];
/** Codes that only say "try again": a latest transfer with one of them is not a final outcome. */
const TRANSIENT_CODES = new Set<ErrorCode>(['BusinessCentralUnavailable', 'IpaasUnavailable', 'ConcurrentSync', 'StorageUnavailable']);

/**
 * The worker's settings on top of the test settings: redeliveries after 1 s (host.json visibilityTimeout),
 * a message held by a killed worker visible again after 15 s, per-customer leases of 10 s (shorter, so a
 * dead worker's lease has expired when its message comes back), client timeout 1.5 s: hangs cost little, while
 * a slow but successful answer (a busy machine) is not mistaken for a lost one. One worker process holds 48 messages
 * (host.json holds 24, sized for many instances sharing the Business Central budget in Azure): this suite drives
 * hundreds of customers through one worker and a fake without that budget.
 */
const WORKER_SETTINGS = {
  AzureFunctionsJobHost__extensions__queues__batchSize: '32',
  AzureFunctionsJobHost__extensions__queues__newBatchThreshold: '16',
  AzureFunctionsJobHost__extensions__queues__visibilityTimeout: '00:00:01',
  AzureFunctionsJobHost__extensions__queues__maxPollingInterval: '00:00:01',
  LOCAL_HOST_PROCESSING_VISIBILITY_SECONDS: '15',
  SYNC_LEASE_SECONDS: '10',
  HTTP_TIMEOUT_MS: '1500',
  HTTP_MAX_ATTEMPTS: '4',
  HTTP_RETRY_BASE_MS: '20',
  HTTP_RETRY_MAX_DELAY_MS: '2000',
};

function percentile(values: readonly number[], fraction: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))] ?? 0;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

interface Stats {
  ipaasCalls: number;
  bcCalls: number;
  faults: { ipaas429: number; ipaas500: number; ipaasHang: number; bc503: number; bc429: number };
  /** Successful creates per email key: more than one would be a duplicate customer. */
  createsByEmail: Map<string, number>;
  kills: number;
  killedEmails: string[];
  killedNumbers: string[];
  unexpectedExits: number;
  invocations: { syncOk: number; syncFailed: number; poisonOk: number; poisonFailed: number; catchUp: number; http: number };
  webhookDeliveries: number;
  webhookRetries: number;
  /** Answers to genuine notifications that would make Business Central delete its subscription. */
  subscriptionKillers: number[];
  gatewayMs: number[];
  syncMs: number[];
}

const stats: Stats = {
  ipaasCalls: 0,
  bcCalls: 0,
  faults: { ipaas429: 0, ipaas500: 0, ipaasHang: 0, bc503: 0, bc429: 0 },
  createsByEmail: new Map(),
  kills: 0,
  killedEmails: [],
  killedNumbers: [],
  unexpectedExits: 0,
  invocations: { syncOk: 0, syncFailed: 0, poisonOk: 0, poisonFailed: 0, catchUp: 0, http: 0 },
  webhookDeliveries: 0,
  webhookRetries: 0,
  subscriptionKillers: [],
  gatewayMs: [],
  syncMs: [],
};

const logs = new LogCapture();
const baseConfig = loadConfig(process.env);
/** The fakes' configuration: the test settings with each service on its own local server (set in beforeAll). */
let config: Config;
let world: FakeWorld;
const issuedTokens = new Set<string>();

/** Kill the worker right after iPaaS.com stored a customer, before the worker hears back (so before the link is saved). */
const killPlan = { armed: false, afterCreates: 0 };

function count(event: Extract<HostChildMessage, { type: 'invocation' }>): void {
  const { invocations } = stats;
  if (event.functionName === 'syncWorker') {
    stats.syncMs.push(event.durationMs);
    if (event.succeeded) invocations.syncOk += 1;
    else invocations.syncFailed += 1;
  } else if (event.functionName === 'poisonWorker') {
    if (event.succeeded) invocations.poisonOk += 1;
    else invocations.poisonFailed += 1;
  } else if (event.functionName === 'catchUpWorker') invocations.catchUp += 1;
  else invocations.http += 1;
}

let servers: ServedFake[] = [];
let tls: TlsMaterial | undefined;
let worker: HostChild;
let restarting: Promise<void> = Promise.resolve();
let restoreConsole: () => void = () => {};

function observeIpaas({ request, response, body, durationMs }: Exchange): 'send' | 'drop' {
  stats.ipaasCalls += 1;
  if (!response || response.type === 'error') {
    stats.faults.ipaasHang += 1;
    return 'send';
  }
  stats.gatewayMs.push(durationMs);
  if (response.status === 429) stats.faults.ipaas429 += 1;
  else if (response.status === 500) stats.faults.ipaas500 += 1;
  if (response.status === 201 && world.ipaas.operationOf(request) === 'create') {
    const created = JSON.parse(body.toString('utf8')) as { email_address?: unknown; customer_number?: unknown };
    const email = emailKey(String(created.email_address ?? ''));
    stats.createsByEmail.set(email, (stats.createsByEmail.get(email) ?? 0) + 1);
    const creates = [...stats.createsByEmail.values()].reduce((sum, value) => sum + value, 0);
    if (killPlan.armed && creates > killPlan.afterCreates) {
      // iPaaS.com has stored the customer; the worker dies before it hears back, so before it links it.
      killPlan.armed = false;
      stats.kills += 1;
      stats.killedEmails.push(email);
      stats.killedNumbers.push(String(created.customer_number ?? ''));
      worker.kill();
      restarting = worker.restart();
      return 'drop';
    }
  }
  return 'send';
}

function observeBusinessCentral({ response, durationMs }: Exchange): 'send' {
  stats.gatewayMs.push(durationMs);
  stats.bcCalls += 1;
  if (response?.status === 503) stats.faults.bc503 += 1;
  if (response?.status === 429) stats.faults.bc429 += 1;
  return 'send';
}

function observeEntra({ request, response }: Exchange): 'send' {
  if (response && response.type !== 'error' && request.url.includes('/oauth2/v2.0/token')) {
    void response
      .clone()
      .json()
      .then((body: unknown) => {
        const token = typeof body === 'object' && body !== null ? (body as { access_token?: unknown }).access_token : undefined;
        if (typeof token === 'string') issuedTokens.add(token);
      })
      .catch(() => undefined);
  }
  return 'send';
}

function injectRandomFaults(): void {
  // A fifth of iPaaS.com calls fail, a third of those each way: P(429) = P(500) = P(hang) = 1/15.
  const share = 0.2 / 3;
  world.ipaas.faults
    .add({ status: 429, retryAfterSeconds: 1, probability: share })
    .add({ status: 500, probability: share / (1 - share) })
    .add({ status: 'hang', probability: share / (1 - 2 * share) });
  // A tenth of Business Central calls: 503 (Retry-After as documented) and 429, half each.
  const half = 0.1 / 2;
  world.businessCentral.faults.add({ status: 503, retryAfterSeconds: 1, probability: half }).add({ status: 429, retryAfterSeconds: 1, probability: half / (1 - half) });
}

/** Delivers notifications the way Business Central does: POST, retried on no answer, 408, 429 and 5xx. */
async function notify(changes: Array<{ id: string; changeType: 'created' | 'updated' }>): Promise<void> {
  const bodies: unknown[] = [];
  // Alternating sizes: some handled directly by the webhook, some fanned out through the catch-up queue.
  for (let index = 0, size = 20; index < changes.length; index += size, size = size === 20 ? 45 : 20) {
    bodies.push({
      value: changes.slice(index, index + size).map((change) => ({
        subscriptionId: 'fault-suite',
        clientState: config.webhook.clientState,
        expirationDateTime: new Date(Date.now() + 86_400_000).toISOString(),
        resource: `api/v2.0/companies(${config.businessCentral.companyId})/customers(${change.id})`,
        changeType: change.changeType,
        lastModifiedDateTime: new Date().toISOString(),
      })),
    });
  }
  let next = 0;
  const deliverAll = async () => {
    while (next < bodies.length) await deliver(bodies[next++]);
  };
  await Promise.all([deliverAll(), deliverAll(), deliverAll()]);
}

async function deliver(body: unknown): Promise<void> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    stats.webhookDeliveries += 1;
    try {
      const response = await fetch(`${worker.url}/api/webhooks/business-central`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'x-ms-correlation-id': crypto.randomUUID() },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(15_000),
      });
      await response.arrayBuffer();
      if (response.status >= 200 && response.status < 300) return;
      if (!(response.status === 408 || response.status === 429 || response.status >= 500)) {
        stats.subscriptionKillers.push(response.status);
        return;
      }
    } catch {
      // No answer (the worker is down): Business Central tries again later.
    }
    if (Date.now() > deadline) throw new Error('a notification could not be delivered within 120 s');
    stats.webhookRetries += 1;
    await sleep(300);
  }
}

/** Idle: the worker is up, every queue (visible or not) is empty, three looks in a row. */
async function waitForIdle(what: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let quiet = 0;
  let counts: number[] = [];
  while (Date.now() < deadline) {
    await restarting;
    counts = await Promise.all(QUEUES.map((name) => countMessages(name)));
    quiet = worker.running && counts.every((value) => value === 0) ? quiet + 1 : 0;
    if (quiet >= 3) return;
    await sleep(400);
  }
  const outageLines = logs.lines.filter((line) => line.includes('ServiceOutage ')).slice(-3);
  throw new Error(
    `${what}: still busy after ${timeoutMs} ms (queues ${QUEUES.map((name, index) => `${name}=${counts[index]}`).join(', ')}; ` +
      `last outage lines: ${outageLines.join(' | ') || 'none'})`,
  );
}

interface TransferRow {
  customerId: string;
  status: string;
  action: string | null;
  errorCode: string | null;
  source: string;
  attempt: number;
}

/** Every transfer row, newest first per customer (Table storage lists a partition in RowKey order). */
async function allTransfers(): Promise<Map<string, TransferRow[]>> {
  const table = tableClient(loadStorageConfig(process.env), TRANSFERS_TABLE);
  const byCustomer = new Map<string, TransferRow[]>();
  for await (const entity of table.listEntities<Record<string, unknown>>()) {
    const row: TransferRow = {
      customerId: String(entity.CustomerId),
      status: String(entity.Status),
      action: typeof entity.Action === 'string' ? entity.Action : null,
      errorCode: typeof entity.ErrorCode === 'string' ? entity.ErrorCode : null,
      source: String(entity.Source),
      attempt: Number(entity.Attempt),
    };
    const rows = byCustomer.get(row.customerId) ?? [];
    rows.push(row);
    byCustomer.set(row.customerId, rows);
  }
  return byCustomer;
}

async function replay(body: unknown): Promise<{ replayed: number; customerIds: string[] }> {
  const response = await fetch(`${worker.url}/api/transfers/replay`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  expect(response.status).toBe(202);
  return (await response.json()) as { replayed: number; customerIds: string[] };
}

// ---- Test data ----------------------------------------------------------------------------------------------

const valid: FakeBcCustomer[] = [];
const special: Array<{ customer: FakeBcCustomer; expect: { status: string; action?: string; errorCode?: string } }> = [];
/** Business Central reads of these always fail during the first round: they must end in the poison queue. */
let poisoned: string[] = [];
const allEmails = new Set<string>();

function seedBusinessCentral(): void {
  const bc = world.businessCentral;
  for (let index = 0; index < VALID_CUSTOMERS; index += 1) {
    const email = `fault.${index}+tag@sub${index % 7}.example.com`;
    allEmails.add(email);
    valid.push(
      bc.upsertCustomer({
        type: 'Person',
        displayName: `Fault Customer ${index}`,
        email,
        ...(index % 2 === 0 ? { addressLine1: `${index} Fault Street`, city: 'Bergen', country: 'NO', postalCode: String(5000 + index) } : {}),
      }),
    );
  }
  const add = (input: Parameters<typeof bc.upsertCustomer>[0], expectation: (typeof special)[number]['expect']) => {
    if (input.email) allEmails.add(input.email);
    special.push({ customer: bc.upsertCustomer(input), expect: expectation });
  };
  for (let index = 0; index < 6; index += 1) add({ type: 'Person', displayName: `Bad Email ${index}`, email: `bad.email.${index}@nowhere` }, { status: 'Failed', errorCode: 'InvalidEmail' });
  for (let index = 0; index < 6; index += 1) add({ type: 'Person', displayName: `No Email ${index}`, email: '' }, { status: 'Failed', errorCode: 'MissingEmail' });
  for (let index = 0; index < 6; index += 1) add({ type: 'Company', displayName: `Company ${index}`, email: `company.${index}@example.com` }, { status: 'Skipped', action: 'Filtered' });
  poisoned = [valid[7]!.id, valid[150]!.id, valid[299]!.id];
}

// ---- The suite ---------------------------------------------------------------------------------------------

const started = Date.now();

beforeAll(async () => {
  restoreConsole = logs.captureConsole();
  await resetAllStorage();
  // Each fake on a server of its own in this process; Entra ID over https, as the identity library requires.
  const [bcPort, ipaasPort, entraPort] = [await freePort(), await freePort(), await freePort()];
  config = {
    ...baseConfig,
    businessCentral: { ...baseConfig.businessCentral, apiBaseUrl: `http://127.0.0.1:${bcPort}/v2.0`, authorityHost: `https://127.0.0.1:${entraPort}` },
    ipaas: { ...baseConfig.ipaas, apiBaseUrl: `http://127.0.0.1:${ipaasPort}` },
  };
  world = createFakeWorld(config);
  seedBusinessCentral();
  tls = createTlsMaterial();
  servers = [
    await serveFakes({ handlers: world.businessCentral.handlers, port: bcPort, decide: observeBusinessCentral }),
    await serveFakes({ handlers: world.ipaas.handlers, port: ipaasPort, decide: observeIpaas }),
    await serveFakes({ handlers: world.entra.handlers, port: entraPort, tls, decide: observeEntra }),
  ];
  worker = new HostChild(
    {
      ...process.env,
      ...WORKER_SETTINGS,
      BC_API_BASE_URL: config.businessCentral.apiBaseUrl,
      AZURE_AUTHORITY_HOST: config.businessCentral.authorityHost,
      IPAAS_API_BASE_URL: config.ipaas.apiBaseUrl,
      // The fake iPaaS.com's Business Central subscription: customers are linked by external id (their number).
      IPAAS_SYSTEM_ID: '1207',
      NODE_EXTRA_CA_CERTS: tls.certFile,
      HOST_CHILD_LOGS: 'all',
    },
    { name: 'worker', onLog: (line) => logs.add(line), onInvocation: count, onUnexpectedExit: () => (stats.unexpectedExits += 1) },
  );
  await worker.start();
}, 90_000);

afterAll(async () => {
  await worker?.stop();
  for (const server of servers) await server.close();
  tls?.dispose();
  restoreConsole();
}, 30_000);

it('round 1: every customer created through webhooks under faults, with the worker killed between the iPaaS.com create and the link', async () => {
  // The forced failures come first: the first matching rule decides.
  world.businessCentral.faults.add({ match: (request) => poisoned.some((id) => request.url.includes(id)), status: 503 });
  injectRandomFaults();
  killPlan.armed = true;
  killPlan.afterCreates = 40;

  await notify([...valid, ...special.map((entry) => entry.customer)].map((customer) => ({ id: customer.id, changeType: 'created' })));
  await waitForIdle('round 1', 150_000);

  expect(stats.kills).toBe(1);
  const transfers = await allTransfers();
  for (const id of poisoned) expect(transfers.get(id)?.[0]).toMatchObject({ status: 'Failed', errorCode: 'RetriesExhausted' });
}, 200_000);

it('the dead letters are replayed (twice, harmlessly) once Business Central answers again', async () => {
  world.businessCentral.faults.clear();
  world.ipaas.faults.clear();
  injectRandomFaults();
  const first = await replay({ errorCode: 'RetriesExhausted' });
  // The worker is live: the second call finds whichever of them it has not transferred yet.
  const second = await replay({ errorCode: 'RetriesExhausted' });
  expect(first.customerIds).toEqual(expect.arrayContaining(poisoned));
  // Random faults may have exhausted a few more customers than the forced ones; either way the second
  // call only finds what the first one re-sent and the worker has not transferred yet.
  expect(first.customerIds).toEqual(expect.arrayContaining(second.customerIds));
  await waitForIdle('replay');
  const transfers = await allTransfers();
  for (const id of poisoned) {
    expect(transfers.get(id)?.[0]).toMatchObject({ source: 'replay' });
    expect(transfers.get(id)?.[0]?.status).toMatch(/^(Succeeded|Skipped)$/u);
  }
}, 120_000);

it('round 2: every customer updated in Business Central (a tenth with a new email) and notified again, under the same faults', async () => {
  const bc = world.businessCentral;
  valid.forEach((customer, index) => {
    const email = index % 10 === 3 ? `moved.${index}@new-domain.example.org` : customer.email;
    allEmails.add(email);
    valid[index] = bc.updateCustomer(customer.id, { displayName: `Fault Customer ${index} (updated)`, email });
  });
  for (const entry of special) entry.customer = bc.updateCustomer(entry.customer.id, { displayName: `${entry.customer.displayName} (updated)` });

  await notify([...valid, ...special.map((entry) => entry.customer)].map((customer) => ({ id: customer.id, changeType: 'updated' })));
  await waitForIdle('round 2', 150_000);

  // Bad luck under random faults can exhaust a message's deliveries; the operator's answer is a replay.
  const transfers = await allTransfers();
  const exhausted = [...transfers.values()].filter((rows) => rows[0]?.errorCode === 'RetriesExhausted').length;
  if (exhausted > 0) {
    await replay({ errorCode: 'RetriesExhausted' });
    await waitForIdle('round 2 replay');
  }
}, 200_000);

it('every customer ends with a terminal transfer, iPaaS.com holds exactly one customer per email with the latest data, every poison message is accounted for', async () => {
  await worker.stop();
  const transfers = await allTransfers();
  const notified = [...valid, ...special.map((entry) => entry.customer)];

  // Terminal: Succeeded, Skipped, or Failed with a final code.
  const notTerminal = notified.filter((customer) => {
    const latest = transfers.get(customer.id)?.[0];
    if (!latest) return true;
    if (latest.status === 'Succeeded' || latest.status === 'Skipped') return false;
    return latest.status !== 'Failed' || latest.errorCode === null || !(ERROR_CODES as readonly string[]).includes(latest.errorCode) || TRANSIENT_CODES.has(latest.errorCode as ErrorCode);
  });
  expect(notTerminal.map((customer) => customer.number)).toEqual([]);
  // A duplicate delivery after the transfer that did the work ends Unchanged.
  for (const customer of valid) {
    const latest = transfers.get(customer.id)?.[0];
    expect([latest?.status, latest?.action]).toEqual(latest?.status === 'Skipped' ? ['Skipped', 'Unchanged'] : ['Succeeded', expect.stringMatching(/^(Created|Updated)$/u)]);
  }
  for (const entry of special) expect(transfers.get(entry.customer.id)?.[0]).toMatchObject(entry.expect);

  // iPaaS.com: one customer per email, none lost, each with Business Central's latest data.
  const ipaasByEmail = new Map<string, Array<ReturnType<FakeWorld['ipaas']['customers']>[number]>>();
  for (const customer of world.ipaas.customers()) {
    const key = emailKey(customer.emailAddress);
    ipaasByEmail.set(key, [...(ipaasByEmail.get(key) ?? []), customer]);
  }
  const duplicates = [...ipaasByEmail.values()].filter((group) => group.length > 1).length;
  const lost = valid.filter((customer) => !ipaasByEmail.has(emailKey(customer.email))).length;
  const stale = valid.filter((customer) => {
    const [match] = ipaasByEmail.get(emailKey(customer.email)) ?? [];
    return match && (match.firstName !== customer.displayName || match.customerNumber !== customer.number);
  }).length;
  expect({ duplicates, lost, stale }).toEqual({ duplicates: 0, lost: 0, stale: 0 });
  expect(world.ipaas.customers()).toHaveLength(VALID_CUSTOMERS);
  const duplicateCreates = [...stats.createsByEmail.values()].filter((creates) => creates > 1).length;
  expect(duplicateCreates).toBe(0);
  // Every address arrived once (PreventDuplicate held through retries and the kill).
  for (const [index, customer] of valid.entries()) {
    const [match] = ipaasByEmail.get(emailKey(customer.email)) ?? [];
    expect(match && world.ipaas.addresses(match.id).length).toBe(index % 2 === 0 ? 1 : 0);
  }

  // The kill: the customer whose create was cut off exists once and is linked.
  expect(stats.kills).toBeGreaterThanOrEqual(1);
  expect(stats.killedNumbers).toHaveLength(stats.kills);
  for (const email of stats.killedEmails) expect(stats.createsByEmail.get(email)).toBe(1);
  // ...and ended linked: the iPaaS.com customer carries the Business Central number as its external id.
  for (const number of stats.killedNumbers) {
    const ipaasCustomer = world.ipaas.customers().find((candidate) => candidate.customerNumber === number);
    expect(world.ipaas.externalIds().filter((link) => link.internalId === ipaasCustomer?.id).map((link) => link.externalId)).toEqual([number]);
  }

  // Poison: each message that reached customer-sync-poison became exactly one RetriesExhausted transfer.
  const rows = [...transfers.values()].flat();
  const retriesExhausted = rows.filter((row) => row.errorCode === 'RetriesExhausted').length;
  expect(retriesExhausted).toBe(stats.invocations.poisonOk);
  expect(retriesExhausted).toBeGreaterThanOrEqual(poisoned.length);
  expect(stats.invocations.poisonFailed).toBe(0);
  expect(await countMessages(POISON_QUEUE)).toBe(0);

  // Genuine notifications never got an answer that deletes the subscription; the worker died only when killed.
  expect(stats.subscriptionKillers).toEqual([]);
  expect(stats.unexpectedExits).toBe(0);

  const byStatus: Record<string, number> = {};
  for (const row of rows) byStatus[row.status] = (byStatus[row.status] ?? 0) + 1;
  const faultsInjected = world.ipaas.faults.injected + world.businessCentral.faults.injected;
  const faults = stats.faults;
  print(
    [
      'Fault suite summary',
      `  customers: ${notified.length} notified (${VALID_CUSTOMERS} valid, ${special.length} invalid or filtered), iPaaS.com customers ${world.ipaas.customers().length}`,
      `  transfers: ${rows.length} recorded: ${Object.entries(byStatus).map(([status, value]) => `${status} ${value}`).join(', ')}; RetriesExhausted ${retriesExhausted}`,
      `  faults injected: ${faultsInjected} (iPaaS.com ${stats.ipaasCalls} calls: 429 ${faults.ipaas429}, 500 ${faults.ipaas500}, hang ${faults.ipaasHang}; ` +
        `Business Central ${stats.bcCalls} calls: 503 ${faults.bc503}, 429 ${faults.bc429})`,
      `  retries: every faulted call was tried again, in the process or through one of ${stats.invocations.syncFailed} queue redeliveries ` +
        `(sync invocations that threw); ${stats.webhookRetries} webhook deliveries repeated`,
      `  kills: ${stats.kills} (worker started ${worker.starts} times, unexpected exits ${stats.unexpectedExits})`,
      `  poison: ${stats.invocations.poisonOk} messages, ${retriesExhausted} RetriesExhausted transfers`,
      `  on hold: ${logs.lines.filter((line) => line.includes('ServiceOutage ')).length} outage lines (held messages write none of their own)`,
      `  duplicates=${duplicates} lost=${lost} stale=${stale}`,
      `  latency: sync invocation median ${percentile(stats.syncMs, 0.5)} ms, p95 ${percentile(stats.syncMs, 0.95)} ms; ` +
        `fakes' answer (hangs aside) median ${percentile(stats.gatewayMs, 0.5)} ms, p95 ${percentile(stats.gatewayMs, 0.95)} ms`,
      `  time: ${((Date.now() - started) / 1000).toFixed(1)} s`,
    ].join('\n'),
  );
}, 60_000);

it('the logs of the worker and of this process hold no secret, no issued token and no raw email', () => {
  expect(logs.lines.length).toBeGreaterThan(VALID_CUSTOMERS);
  expect(issuedTokens.size).toBeGreaterThan(0);
  const needles = [
    ...secretNeedles(),
    ...tokenNeedles(issuedTokens),
    ...emailNeedles(allEmails),
  ];
  expect(findLeaks(logs.lines, needles)).toEqual([]);
});
