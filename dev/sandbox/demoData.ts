import type { FakeBusinessCentral, FakeBcCustomerInput } from '../fakes/businessCentral';
import { FAKE_IPAAS_SUBSCRIPTIONS, type FakeIpaas, type FakeIpaasSubscription } from '../fakes/ipaas';
import { SANDBOX_CANADA_SYSTEM_ID, SANDBOX_COMPANIES } from '../settings';

/** What each demo customer shows; the sandbox banner lists these. */
/** Fixed ids so the README's examples work as written; 10000 uses the seed's own example id. */
export const DEMO_SCENARIOS = [
  { number: '10000', expect: 'Succeeded/Created with 1 address', shows: 'Scenario 1 (valid customer) and Scenario 4 (customer with address)' },
  { number: '10010', expect: 'Skipped/Filtered', shows: 'mapping filter: Type is Company' },
  { number: '10020', expect: 'Failed/DuplicateCustomerNumber', shows: 'Scenario 2: the number already belongs to another iPaaS.com customer' },
  { number: '10030', expect: 'Failed/MissingEmail', shows: 'Scenario 3: no email address' },
  { number: '10040', expect: 'Succeeded/Updated, address not added again', shows: 'email match updates the existing iPaaS.com customer; PreventDuplicate' },
  { number: '10050', expect: 'Failed/InvalidEmail', shows: 'invalid email format' },
  { number: '10060', expect: 'Succeeded/Created, no address', shows: 'an empty (ParentOnly) address is not sent' },
  { number: '10070', expect: 'Failed/DuplicateEmail', shows: 'two iPaaS.com customers share the email' },
  { number: '10080', expect: 'Succeeded/Created', shows: 'deleted in Business Central afterwards (an orphaned link, see npm run reconcile)' },
] as const;

const ATLANTA = { addressLine1: '192 Market Square', city: 'Atlanta', state: 'GA', country: 'US', postalCode: '31772' };

const BUSINESS_CENTRAL_CUSTOMERS: FakeBcCustomerInput[] = [
  { id: '3f2504e0-4f89-11d3-9a0c-0305e82c3301', number: '10000', displayName: 'Robert Townes', type: 'Person', email: 'robert.townes@contoso.example', ...ATLANTA, phoneNumber: '+1 404 555 0100' },
  { id: '5a1c8b2e-1d3f-4e5a-9b6c-7d8e9f0a1b20', number: '10010', displayName: 'Adatum Corporation', type: 'Company', email: 'info@adatum.example', addressLine1: '1 Adatum Way', city: 'Seattle', state: 'WA', country: 'US', postalCode: '98101' },
  { id: '6b2d9c3f-2e4a-4f6b-8c7d-8e9f0a1b2c30', number: '10020', displayName: 'Jane Cooper', type: 'Person', email: 'jane.cooper@fabrikam.example', addressLine1: '5 Harbour St', city: 'Sydney', country: 'AU', postalCode: '2000' },
  { id: '7c3e0d4a-3f5b-4a7c-9d8e-9f0a1b2c3d40', number: '10030', displayName: 'Sam Nomail', type: 'Person', email: '', addressLine1: '7 Rue Royale', city: 'Paris', country: 'FR', postalCode: '75008' },
  { id: '8d4f1e5b-4a6c-4b8d-8e9f-0a1b2c3d4e50', number: '10040', displayName: 'Alex Wilber', type: 'Person', email: 'alex.wilber@contoso.example', addressLine1: '88 Pine St', city: 'Denver', state: 'CO', country: 'US', postalCode: '80202' },
  { id: '9e5a2f6c-5b7d-4c9e-9f0a-1b2c3d4e5f60', number: '10050', displayName: 'Megan Bowen', type: 'Person', email: 'megan.bowen@contoso', addressLine1: '12 King Rd', city: 'Leeds', country: 'GB', postalCode: 'LS1 1AA' },
  { id: 'af6b3a7d-6c8e-4d0f-8a1b-2c3d4e5f6a70', number: '10060', displayName: 'Diego Siciliani', type: 'Person', email: 'diego.siciliani@contoso.example' },
  { id: 'b07c4b8e-7d9f-4e1a-9b2c-3d4e5f6a7b80', number: '10070', displayName: 'Lidia Holloway', type: 'Person', email: 'lidia.holloway@contoso.example', city: 'Dublin', country: 'IE' },
  { id: 'c18d5c9f-8e0a-4f2b-8c3d-4e5f6a7b8c90', number: '10080', displayName: 'Pradeep Gupta', type: 'Person', email: 'pradeep.gupta@contoso.example' },
];

/**
 * The second company of `npm start` (CRONUS Canada, its own mapping file: numbers prefixed CA- in iPaaS.com). Its
 * customers show what several companies bring: one with a number CRONUS USA also has, and one copied from CRONUS
 * USA with the company (same id and number), each its own iPaaS.com customer.
 */
export const CANADA_SCENARIOS = [
  { number: '10000', expect: 'Succeeded/Created CA-10000 with 1 address', shows: 'the number 10000 exists in CRONUS USA too: CA- keeps them apart' },
  { number: '10060', expect: 'Succeeded/Created CA-10060', shows: 'copied with the company: same id and number as CRONUS USA\'s 10060' },
] as const;

/** The sandbox iPaaS.com's subscriptions with two companies: CRONUS Canada has its own Business Central connection. */
export const TWO_COMPANY_IPAAS_SUBSCRIPTIONS: readonly FakeIpaasSubscription[] = [
  ...FAKE_IPAAS_SUBSCRIPTIONS,
  { id: SANDBOX_CANADA_SYSTEM_ID, type: 41, name: 'Business Central (CRONUS Canada)', description: 'Microsoft Dynamics 365 Business Central', value: '', attached_items_count: 0, image_url: null },
];

/** The customer copied with the company: this id is in both companies (a route by id without a company answers 409). */
export const COPIED_ID = 'af6b3a7d-6c8e-4d0f-8a1b-2c3d4e5f6a70';

const CANADA_CUSTOMERS: FakeBcCustomerInput[] = [
  {
    id: '1d7e9f20-3b4c-4a5d-8e6f-7a8b9c0d1e2f',
    number: '10000',
    displayName: 'Marie Tremblay',
    type: 'Person',
    email: 'marie.tremblay@cronus-canada.example',
    addressLine1: '1250 Rue Sainte-Catherine',
    city: 'Montréal',
    state: 'QC',
    country: 'CA',
    postalCode: 'H3B 1A1',
    phoneNumber: '+1 514 555 0100',
  },
  // A company copy keeps the record's id and number; the subsidiary changed the email since.
  { id: COPIED_ID, number: '10060', displayName: 'Diego Siciliani', type: 'Person', email: 'diego.siciliani@cronus-canada.example' },
];

/** What the drift applied after the first transfers shows in `npm run reconcile`. */
export const DEMO_DRIFT = [
  { number: '10000', category: 'Drifted', how: "FirstName edited in iPaaS.com's own screens" },
  { number: '10060', category: 'Missing', how: 'deleted in iPaaS.com' },
  { number: '10080', category: 'Orphaned', how: 'deleted in Business Central (deletes are not synced)' },
] as const;

/** Seeds both fakes so that the first poll exercises every seed scenario. */
export function seedDemoData(businessCentral: FakeBusinessCentral, ipaas: FakeIpaas): void {
  for (const customer of BUSINESS_CENTRAL_CUSTOMERS) businessCentral.upsertCustomer(customer);
  // CRONUS Canada, when the fake has it (the two-company sandbox of npm start).
  if (businessCentral.companies().some((company) => company.id === SANDBOX_COMPANIES.canada.id)) {
    const canada = businessCentral.company(SANDBOX_COMPANIES.canada.id);
    for (const customer of CANADA_CUSTOMERS) canada.upsertCustomer(customer);
  }
  // Scenario 2: iPaaS.com already has customer number 10020, under another email.
  ipaas.seedCustomer({ customerNumber: '10020', firstName: 'J. Cooper', emailAddress: 'j.cooper@old-mail.example' });
  // Email match: Alex exists in iPaaS.com with an older name and the same address.
  const alex = ipaas.seedCustomer({ customerNumber: '10040', firstName: 'Alex W.', emailAddress: 'alex.wilber@contoso.example' });
  ipaas.seedAddress(alex.id, { address1: '88 Pine St', city: 'Denver', region: 'CO', country: 'US', postalCode: '80202' });
  // DuplicateEmail: two iPaaS.com customers already share Lidia's email.
  ipaas.seedCustomer({ customerNumber: 'W-7001', firstName: 'Lidia Holloway', emailAddress: 'lidia.holloway@contoso.example' });
  ipaas.seedCustomer({ customerNumber: 'W-7002', firstName: 'L. Holloway', emailAddress: 'lidia.holloway@contoso.example' });
}

/**
 * After the first transfers: the two systems drift apart the ways they do in practice, so `npm run reconcile`
 * shows every category (DEMO_DRIFT). Returns what it changed.
 */
export function applyDemoDrift(businessCentral: FakeBusinessCentral, ipaas: FakeIpaas): string[] {
  const applied: string[] = [];
  const robert = ipaas.customers().find((customer) => customer.customerNumber === '10000');
  if (robert) {
    ipaas.editCustomer(robert.id, { firstName: 'Bob Townes' });
    applied.push('10000 edited in iPaaS.com');
  }
  const diego = ipaas.customers().find((customer) => customer.customerNumber === '10060');
  if (diego && ipaas.deleteCustomer(diego.id)) applied.push('10060 deleted in iPaaS.com');
  const pradeep = businessCentral.customers().find((customer) => customer.number === '10080');
  if (pradeep) {
    businessCentral.deleteCustomer(pradeep.id);
    applied.push('10080 deleted in Business Central');
  }
  return applied;
}
