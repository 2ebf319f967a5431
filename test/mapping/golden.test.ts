/**
 * Golden test: the iPaaS.com requests every transfer makes, byte for byte, for the sandbox customers and the
 * seed scenarios. `test/mapping/golden/ipaas-requests.json` was generated from the TypeScript mapping the
 * mapping file replaced; the default mapping file must reproduce it exactly. To regenerate after an intended
 * change: `UPDATE_GOLDEN=1 npx jest test/mapping/golden.test.ts` (and review the diff).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { syncCustomer } from '../../shared/sync/syncCustomer';
import type { FakeBcCustomerInput } from '../../dev/fakes/businessCentral';
import { seedDemoData } from '../../dev/sandbox/demoData';
import { resetStorage } from '../support/storage';
import { syncDependencies, syncWorld } from '../support/sync';
import { ATLANTA_ADDRESS } from '../support/fixtures';

const GOLDEN_FILE = path.join(__dirname, 'golden', 'ipaas-requests.json');

const { config, server, bc, ipaas, storage } = syncWorld();
const deps = syncDependencies(config, storage);

interface CapturedRequest {
  method: string;
  url: string;
  body: string | null;
}
interface Step {
  step: string;
  customerNumber: string;
  outcome: string;
  addressesAdded: number;
  requests: CapturedRequest[];
}

let pending: Array<Promise<CapturedRequest>> = [];
beforeAll(() => {
  server.events.on('request:start', ({ request }) => {
    if (!request.url.startsWith(config.ipaas.apiBaseUrl)) return;
    const copy = request.clone();
    pending.push(copy.text().then((body) => ({ method: copy.method, url: copy.url, body: body === '' ? null : body })));
  });
});

async function sync(step: string, customerId: string): Promise<Step> {
  pending = [];
  const transfer = await syncCustomer(deps, { customerId, source: 'manual', correlationId: 'golden', attempt: 1 });
  const requests = await Promise.all(pending);
  return {
    step,
    customerNumber: transfer.customerNumber ?? '',
    outcome: [transfer.status, transfer.action ?? transfer.errorCode].join('/'),
    addressesAdded: transfer.addressesAdded,
    requests,
  };
}

async function freshWorld(): Promise<void> {
  await resetStorage();
  ipaas.reset();
  for (const customer of bc.customers()) bc.deleteCustomer(customer.id);
}

const byNumber = (number: string): string => {
  const customer = bc.customers().find((candidate) => candidate.number === number);
  if (!customer) throw new Error(`no customer ${number}`);
  return customer.id;
};

async function sandboxRun(): Promise<Step[]> {
  await freshWorld();
  seedDemoData(bc, ipaas);
  const steps: Step[] = [];
  const customers = [...bc.customers()].sort((a, b) => a.number.localeCompare(b.number));
  for (const customer of customers) steps.push(await sync('sandbox: first poll', customer.id));
  for (const customer of customers) steps.push(await sync('sandbox: synced again unchanged', customer.id));
  const changes: Array<[string, FakeBcCustomerInput]> = [
    ['10000', { city: 'Savannah', postalCode: '31401' }],
    ['10030', { email: 'sam@contoso.example' }],
    ['10040', { displayName: 'Alex Wilber-Jones', addressLine2: 'Floor 3' }],
    ['10050', { email: 'megan.bowen@contoso.example' }],
    ['10060', { addressLine1: '1 Via Roma', city: 'Milano', country: 'IT', postalCode: '20121' }],
    ['10010', { displayName: 'Adatum Corp.' }],
  ];
  for (const [number, change] of changes) {
    bc.upsertCustomer({ id: byNumber(number), ...change });
    steps.push(await sync(`sandbox: changed ${Object.keys(change).join(', ')}`, byNumber(number)));
  }
  return steps;
}

const PERSON: FakeBcCustomerInput = { id: '3f2504e0-4f89-11d3-9a0c-0305e82c3301', number: '10000', displayName: 'Robert Townes', type: 'Person', email: 'robert.townes@contoso.example' };
const ADDRESS = ATLANTA_ADDRESS;

async function scenario(name: string, customer: FakeBcCustomerInput, prepare: () => void = () => undefined): Promise<Step[]> {
  await freshWorld();
  prepare();
  const created = bc.upsertCustomer(customer);
  return [await sync(name, created.id)];
}

async function seedScenarios(): Promise<Step[]> {
  return [
    ...(await scenario('Scenario 1: Valid Customer Record', PERSON)),
    ...(await scenario('Scenario 2: Duplicate CustomerNumber', { ...PERSON, ...ADDRESS }, () => {
      ipaas.seedCustomer({ customerNumber: '10000', firstName: 'Someone Else', emailAddress: 'someone.else@example.com' });
    })),
    ...(await scenario('Scenario 3: Missing Email', { ...PERSON, email: '' })),
    ...(await scenario('Scenario 4: Customer with Address', { ...PERSON, ...ADDRESS, addressLine2: 'Suite 5' })),
    ...(await scenario('email match with the address present in other case', { ...PERSON, ...ADDRESS }, () => {
      const existing = ipaas.seedCustomer({ customerNumber: '10000', firstName: 'R. Townes', lastName: 'Townes', company: 'Contoso', emailAddress: 'Robert.Townes@contoso.example' });
      ipaas.seedAddress(existing.id, { address1: '192 MARKET SQUARE', city: 'atlanta', region: 'GA', country: 'US', postalCode: '31772', phoneNumber: '+1 404 555 0100' });
    })),
    ...(await scenario('Unicode and white space', { ...PERSON, displayName: '  Jose\u0301 A\u0301lvarez ', email: ' jose\u0301@example.com\t', ...ADDRESS, city: 'Ma\u0301laga ' })),
    ...(await scenario('ParentOnly address, phone only', { ...PERSON, phoneNumber: '+34 600 000 000' })),
    ...(await scenario('invalid email', { ...PERSON, email: 'robert@contoso' })),
    ...(await scenario('missing name', { ...PERSON, displayName: '' })),
  ];
}

test('the default mapping makes exactly the iPaaS.com requests of the golden file', async () => {
  const actual = { sandbox: await sandboxRun(), scenarios: await seedScenarios() };
  const text = `${JSON.stringify(actual, null, 2)}\n`;
  if (process.env.UPDATE_GOLDEN === '1') {
    mkdirSync(path.dirname(GOLDEN_FILE), { recursive: true });
    writeFileSync(GOLDEN_FILE, text);
  }
  expect(existsSync(GOLDEN_FILE)).toBe(true);
  const golden = readFileSync(GOLDEN_FILE, 'utf8');
  // Sanity: the run exercised creates, updates, address adds and failures.
  expect(text).toContain('"method": "POST"');
  expect(text).toContain('"method": "PUT"');
  expect(text).toContain('Failed/MissingEmail');
  expect(text).toContain('Failed/DuplicateCustomerNumber');
  expect(text).toContain('Skipped/Filtered');
  expect(text).toBe(golden);
  // About sixty transfers through the real clients and Azurite: minutes on a loaded machine.
}, 240_000);
