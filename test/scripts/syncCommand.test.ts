import { loadConfig } from '../../shared/config';
import { SYNC_QUEUE } from '../../shared/queueNames';
import { buildServices } from '../../shared/services';
import { createFakeWorld } from '../../dev/fakes/world';
import { main, parseCommandLine } from '../../scripts/sync';
import { startMockServer } from '../support/msw';
import { countMessages, resetAllStorage } from '../support/storage';

const config = loadConfig({ ...process.env, HTTP_RETRY_BASE_MS: '1', HTTP_MAX_ATTEMPTS: '2' });
const world = createFakeWorld(config);
startMockServer(...world.handlers);
const { businessCentral: bc, ipaas } = world;
const services = buildServices(config);

function io() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { env: process.env, out: (text: string) => out.push(text), err: (text: string) => err.push(text), services } };
}

beforeEach(async () => {
  await resetAllStorage();
  ipaas.reset();
  for (const customer of bc.customers()) bc.deleteCustomer(customer.id);
});

test('the command line: one id or number, --dry-run, --json', () => {
  expect(parseCommandLine(['10000', '--dry-run'])).toEqual({ kind: 'run', target: '10000', dryRun: true, json: false });
  expect(parseCommandLine([])).toMatchObject({ kind: 'usageError' });
  expect(parseCommandLine(['a', 'b'])).toMatchObject({ kind: 'usageError' });
  expect(parseCommandLine(['--nope', 'a'])).toMatchObject({ kind: 'usageError' });
  expect(parseCommandLine(['-h'])).toEqual({ kind: 'help' });
});

test('--dry-run by number prints the plan and writes nothing', async () => {
  const customer = bc.upsertCustomer({ number: '10000', type: 'Person', displayName: 'Robert Townes', email: 'robert@contoso.example' });
  const run = io();
  expect(await main(['10000', '--dry-run', '--json'], run.io)).toBe(0);
  expect(JSON.parse(run.out.join(''))).toMatchObject({ customerId: customer.id, outcome: 'Create', customerNumber: '10000' });
  expect(ipaas.requests.create + ipaas.requests.update + ipaas.requests.addAddress + ipaas.requests.linkExternalId).toBe(0);
  expect(await services.storage.transfers.listForCustomer(customer.id)).toEqual([]);
  expect(await countMessages(SYNC_QUEUE)).toBe(0);

  const text = io();
  expect(await main([customer.id, '--dry-run'], text.io)).toBe(0);
  expect(text.out.join('\n')).toMatch(/Create[\s\S]*FirstName: null → "Robert Townes"[\s\S]*Nothing was written/u);
});

test('without --dry-run the customer is transferred as a manual sync and recorded', async () => {
  const customer = bc.upsertCustomer({ number: '10000', type: 'Person', displayName: 'Robert Townes', email: 'robert@contoso.example' });
  const run = io();
  expect(await main([customer.id], run.io)).toBe(0);
  expect(run.out.join('\n')).toMatch(/Succeeded Created/u);
  expect(ipaas.customers()).toHaveLength(1);
  expect(await services.storage.transfers.listForCustomer(customer.id)).toEqual([expect.objectContaining({ source: 'manual', status: 'Succeeded' })]);
});

test('a final failure exits 1; an unknown number exits 1 with a message; bad usage exits 2', async () => {
  bc.upsertCustomer({ number: '10000', type: 'Person', displayName: 'Robert Townes', email: 'not-an-email' });
  const failed = io();
  expect(await main(['10000'], failed.io)).toBe(1);
  expect(failed.out.join('\n')).toMatch(/Failed InvalidEmail/u);

  const unknown = io();
  expect(await main(['NOPE'], unknown.io)).toBe(1);
  expect(unknown.err.join('\n')).toMatch(/no Business Central customer has the number NOPE/u);

  const usage = io();
  expect(await main([], usage.io)).toBe(2);
});

test('a transient failure exits 1 and says to run it again later', async () => {
  const customer = bc.upsertCustomer({ number: '10000', type: 'Person', displayName: 'Robert Townes', email: 'robert@contoso.example' });
  ipaas.faults.add({ status: 503 });
  const run = io();
  expect(await main([customer.id], run.io)).toBe(1);
  expect(run.err.join('\n')).toMatch(/run the command again later/u);
});

test('without settings (the sandbox) it explains where to go instead', async () => {
  const run = io();
  expect(await main(['10000', '--dry-run'], { ...run.io, env: {}, services: undefined })).toBe(2);
  expect(run.err.join('\n')).toMatch(/dryRun=true/u);
});
