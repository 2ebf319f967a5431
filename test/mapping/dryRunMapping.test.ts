/** `npm run sync -- <id> --dry-run --mapping other.json`: what a mapping change would write, before it is deployed. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../shared/config';
import type { MappingFile } from '../../shared/mapping';
import { SYNC_QUEUE } from '../../shared/queueNames';
import { buildServices } from '../../shared/services';
import { createFakeWorld } from '../../dev/fakes/world';
import { main, parseCommandLine } from '../../scripts/sync';
import { startMockServer } from '../support/msw';
import { countMessages, resetAllStorage } from '../support/storage';

const config = loadConfig(process.env);
const world = createFakeWorld(config);
startMockServer(...world.handlers);
const { businessCentral: bc, ipaas } = world;
const services = buildServices(config);
const DEFAULT_DOCUMENT = JSON.parse(readFileSync(path.resolve(__dirname, '../../mappings/customer-to-ipaas.json'), 'utf8')) as MappingFile;

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'dry-run-mapping-'));
  const split: MappingFile = {
    ...DEFAULT_DOCUMENT,
    fields: [
      { type: 'Field', source: 'No', destination: 'CustomerNumber', required: true },
      { type: 'Formula', expression: '$substringBefore(Name, " ")', destination: 'FirstName', required: true },
      { type: 'Formula', expression: '$substringAfter(Name, " ")', destination: 'LastName' },
      { type: 'Field', source: 'EMail', destination: 'EmailAddress', required: true },
      { type: 'Static', value: 'Synced from Business Central', destination: 'Comment' },
    ],
  };
  writeFileSync(path.join(dir, 'split.json'), JSON.stringify(split));
  writeFileSync(path.join(dir, 'broken.json'), JSON.stringify({ ...DEFAULT_DOCUMENT, filter: 'Type == "Person"' }));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

beforeEach(async () => {
  await resetAllStorage();
  ipaas.reset();
  for (const customer of bc.customers()) bc.deleteCustomer(customer.id);
});

function io() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { env: process.env, out: (text: string) => out.push(text), err: (text: string) => err.push(text), services, cwd: dir } };
}

test('--mapping takes a file and works with --dry-run only', () => {
  expect(parseCommandLine(['10000', '--dry-run', '--mapping', 'other.json'])).toEqual({ kind: 'run', target: '10000', dryRun: true, json: false, mapping: 'other.json' });
  expect(parseCommandLine(['10000', '--mapping', 'other.json'])).toMatchObject({ kind: 'usageError', message: expect.stringContaining('--mapping works with --dry-run only') });
  expect(parseCommandLine(['10000', '--dry-run', '--mapping'])).toMatchObject({ kind: 'usageError' });
});

test('the plan shows what the other mapping would write to an existing customer, and nothing is written', async () => {
  const customer = bc.upsertCustomer({ number: '10000', type: 'Person', displayName: 'Robert Townes', email: 'robert@contoso.example' });
  // Transferred with the deployed (default) mapping first.
  const first = io();
  expect(await main([customer.id], first.io)).toBe(0);
  const before = { ...ipaas.requests };

  const run = io();
  expect(await main(['10000', '--dry-run', '--mapping', 'split.json'], run.io)).toBe(0);
  const text = run.out.join('\n');
  expect(text).toContain('Update');
  expect(text).toContain('  mapping: split.json');
  expect(text).toContain('FirstName: "Robert Townes" → "Robert"');
  expect(text).toContain('LastName: "" → "Townes"');
  expect(text).toContain('Comment: "" → "Synced from Business Central"');
  expect(text).toContain('Nothing was written.');
  expect(ipaas.requests.update + ipaas.requests.create + ipaas.requests.addAddress).toBe(before.update + before.create + before.addAddress);
  expect(ipaas.customers()).toEqual([expect.objectContaining({ firstName: 'Robert Townes', lastName: '', comment: '' })]);
  expect(await countMessages(SYNC_QUEUE)).toBe(0);
  expect(await services.storage.transfers.listForCustomer(customer.id)).toHaveLength(1);

  // The same dry run with the deployed mapping: nothing would change.
  const same = io();
  expect(await main(['10000', '--dry-run', '--json'], same.io)).toBe(0);
  expect(JSON.parse(same.out.join(''))).toMatchObject({ outcome: 'Unchanged' });
});

test('a bad --mapping file is refused with the message naming the entry, before anything is read', async () => {
  const run = io();
  expect(await main(['10000', '--dry-run', '--mapping', 'broken.json'], run.io)).toBe(2);
  expect(run.err.join('\n')).toContain('sync: broken.json: filter: JSONata S0211 at position 7');
  const missing = io();
  expect(await main(['10000', '--dry-run', '--mapping', 'nowhere.json'], missing.io)).toBe(2);
  expect(missing.err.join('\n')).toContain('nowhere.json: no such file');
  expect(ipaas.requests.total).toBe(0);
});
