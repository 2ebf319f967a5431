import type { FakeBusinessCentral, FakeBcCustomerInput } from '../fakes/businessCentral';
import type { FakeIpaas } from '../fakes/ipaas';

/** What each demo customer shows; the sandbox banner lists these. */
export const DEMO_SCENARIOS = [
  { number: '10000', expect: 'Succeeded/Created with 1 address', shows: 'Scenario 1 (valid customer) and Scenario 4 (customer with address)' },
  { number: '10010', expect: 'Skipped/Filtered', shows: 'mapping filter: Type is Company' },
  { number: '10020', expect: 'Failed/DuplicateCustomerNumber', shows: 'Scenario 2: the number already belongs to another iPaaS.com customer' },
  { number: '10030', expect: 'Failed/MissingEmail', shows: 'Scenario 3: no email address' },
  { number: '10040', expect: 'Succeeded/Updated, address not added again', shows: 'email match updates the existing iPaaS.com customer; PreventDuplicate' },
  { number: '10050', expect: 'Failed/InvalidEmail', shows: 'invalid email format' },
  { number: '10060', expect: 'Succeeded/Created, no address', shows: 'an empty (ParentOnly) address is not sent' },
] as const;

const ATLANTA = { addressLine1: '192 Market Square', city: 'Atlanta', state: 'GA', country: 'US', postalCode: '31772' };

const BUSINESS_CENTRAL_CUSTOMERS: FakeBcCustomerInput[] = [
  { number: '10000', displayName: 'Robert Townes', type: 'Person', email: 'robert.townes@contoso.example', ...ATLANTA, phoneNumber: '+1 404 555 0100' },
  { number: '10010', displayName: 'Adatum Corporation', type: 'Company', email: 'info@adatum.example', addressLine1: '1 Adatum Way', city: 'Seattle', state: 'WA', country: 'US', postalCode: '98101' },
  { number: '10020', displayName: 'Jane Cooper', type: 'Person', email: 'jane.cooper@fabrikam.example', addressLine1: '5 Harbour St', city: 'Sydney', country: 'AU', postalCode: '2000' },
  { number: '10030', displayName: 'Sam Nomail', type: 'Person', email: '', addressLine1: '7 Rue Royale', city: 'Paris', country: 'FR', postalCode: '75008' },
  { number: '10040', displayName: 'Alex Wilber', type: 'Person', email: 'alex.wilber@contoso.example', addressLine1: '88 Pine St', city: 'Denver', state: 'CO', country: 'US', postalCode: '80202' },
  { number: '10050', displayName: 'Megan Bowen', type: 'Person', email: 'megan.bowen@contoso', addressLine1: '12 King Rd', city: 'Leeds', country: 'GB', postalCode: 'LS1 1AA' },
  { number: '10060', displayName: 'Diego Siciliani', type: 'Person', email: 'diego.siciliani@contoso.example' },
];

/** Seeds both fakes so that the first poll exercises every seed scenario. */
export function seedDemoData(businessCentral: FakeBusinessCentral, ipaas: FakeIpaas): void {
  for (const customer of BUSINESS_CENTRAL_CUSTOMERS) businessCentral.upsertCustomer(customer);
  // Scenario 2: iPaaS.com already has customer number 10020, under another email.
  ipaas.seedCustomer({ customerNumber: '10020', firstName: 'J. Cooper', emailAddress: 'j.cooper@old-mail.example' });
  // Email match: Alex exists in iPaaS.com with an older name and the same address.
  const alex = ipaas.seedCustomer({ customerNumber: '10040', firstName: 'Alex W.', emailAddress: 'alex.wilber@contoso.example' });
  ipaas.seedAddress(alex.id, { address1: '88 Pine St', city: 'Denver', region: 'CO', country: 'US', postalCode: '80202' });
}
