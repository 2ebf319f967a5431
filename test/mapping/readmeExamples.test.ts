/**
 * The README's "Changing the mapping" examples, exactly as written there: each block is applied over the
 * default mapping file and run through the sync against the sandbox customers.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { compileMapping, type CustomerMapping, type MappingFile } from '../../shared/mapping';
import { syncCustomer } from '../../shared/sync/syncCustomer';
import { seedDemoData } from '../../dev/sandbox/demoData';
import { resetStorage } from '../support/storage';
import { syncDependencies, syncWorld } from '../support/sync';

const ROOT = path.resolve(__dirname, '..', '..');
const README = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
const DEFAULT_DOCUMENT = JSON.parse(readFileSync(path.join(ROOT, 'mappings', 'customer-to-ipaas.json'), 'utf8')) as MappingFile;

/** The README block after `<!-- mapping-example: name -->`, laid over the default file. */
function example(name: string): CustomerMapping {
  const match = new RegExp(`<!-- mapping-example: ${name} -->\\n\`\`\`json\\n([\\s\\S]*?)\`\`\``, 'u').exec(README);
  if (!match?.[1]) throw new Error(`README.md has no mapping example "${name}"`);
  const changes = JSON.parse(`{${match[1]}}`) as Partial<MappingFile>;
  return compileMapping({ ...DEFAULT_DOCUMENT, ...changes }, `README example ${name}`);
}

const { config, bc, ipaas, storage } = syncWorld();

async function runSandbox(mapping: CustomerMapping): Promise<Map<string, string>> {
  await resetStorage();
  ipaas.reset();
  for (const customer of bc.customers()) bc.deleteCustomer(customer.id);
  seedDemoData(bc, ipaas);
  const deps = syncDependencies(config, storage, { mapping });
  const outcomes = new Map<string, string>();
  for (const customer of [...bc.customers()].sort((a, b) => a.number.localeCompare(b.number))) {
    const transfer = await syncCustomer(deps, { customerId: customer.id, source: 'manual', correlationId: 'readme', attempt: 1 });
    outcomes.set(customer.number, `${transfer.status}/${transfer.action ?? transfer.errorCode}`);
  }
  return outcomes;
}

const byNumber = (number: string) => ipaas.customers().find((customer) => customer.customerNumber === number);

test('the README has the three examples', () => {
  expect([...README.matchAll(/<!-- mapping-example: ([\w-]+) -->/gu)].map((match) => match[1])).toEqual(['split-name', 'static-comment', 'include-companies']);
});

test('1. split Name into FirstName and LastName', async () => {
  const mapping = example('split-name');
  const outcomes = await runSandbox(mapping);
  expect(outcomes.get('10000')).toBe('Succeeded/Created');
  expect(byNumber('10000')).toMatchObject({ firstName: 'Robert', lastName: 'Townes' });
  // The email match updates the existing customer with both halves.
  expect(outcomes.get('10040')).toBe('Succeeded/Updated');
  expect(byNumber('10040')).toMatchObject({ firstName: 'Alex', lastName: 'Wilber' });
  // A one-word name stays whole in FirstName.
  const cher = bc.upsertCustomer({ number: '10990', displayName: 'Cher', type: 'Person', email: 'cher@contoso.example' });
  await syncCustomer(syncDependencies(config, storage, { mapping }), { customerId: cher.id, source: 'manual', correlationId: 'readme', attempt: 1 });
  expect(byNumber('10990')).toMatchObject({ firstName: 'Cher', lastName: '' });
});

test('2. a static Comment', async () => {
  const outcomes = await runSandbox(example('static-comment'));
  expect(outcomes.get('10000')).toBe('Succeeded/Created');
  expect(byNumber('10000')).toMatchObject({ firstName: 'Robert Townes', comment: 'Synced from Business Central' });
  expect(byNumber('10060')).toMatchObject({ comment: 'Synced from Business Central' });
  // Customers the mapping rejects are untouched.
  expect(byNumber('10020')).toMatchObject({ comment: '' });
});

test('3. include Company customers by changing the filter', async () => {
  const outcomes = await runSandbox(example('include-companies'));
  expect(outcomes.get('10010')).toBe('Succeeded/Created');
  expect(byNumber('10010')).toMatchObject({ firstName: 'Adatum Corporation', company: 'Adatum Corporation', emailAddress: 'info@adatum.example' });
  expect(byNumber('10000')).toMatchObject({ firstName: 'Robert Townes', company: '' });
  // With the default file the same customer is filtered.
  const before = await runSandbox(compileMapping(DEFAULT_DOCUMENT, 'default'));
  expect(before.get('10010')).toBe('Skipped/Filtered');
});
