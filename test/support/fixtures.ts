import { bcCustomerSchema, type BcCustomer } from '../../shared/businessCentral/types';
import type { CustomerLink } from '../../shared/storage';

/**
 * Robert Townes (10000), the seed's example customer, as Business Central's customers entity returns it
 * (docs/external-apis.md, "The customers entity"), including properties the sync never reads.
 */
export const BC_CUSTOMER_REPLY = {
  '@odata.etag': 'W/"JzQ0O0VnQUFBQUo3QlRFQU1BQXdBREFBQUFBQTExOzE0MjcyNTI0NTg3MDsn"',
  id: 'f2a5738a-44e3-ea11-bb43-000d3a2feca1',
  number: '10000',
  displayName: 'Robert Townes',
  type: 'Person',
  addressLine1: '192 Market Square',
  addressLine2: '',
  city: 'Atlanta',
  state: 'GA',
  country: 'US',
  postalCode: '31772',
  phoneNumber: '',
  email: 'robert.townes@contoso.com',
  website: '',
  salespersonCode: 'PS',
  balanceDue: 0,
  creditLimit: 0,
  taxLiable: true,
  taxAreaId: '00000000-0000-0000-0000-000000000000',
  currencyId: '00000000-0000-0000-0000-000000000000',
  currencyCode: 'USD',
  blocked: ' ',
  lastModifiedDateTime: '2026-11-25T07:38:44.293Z',
} as const;

/** That customer as the client hands it on (parsed by the wire schema), with `overrides`. */
export function bcCustomerEntity(overrides: Partial<BcCustomer> = {}): BcCustomer {
  return bcCustomerSchema.parse({ ...BC_CUSTOMER_REPLY, ...overrides });
}

/** Robert Townes's address, as the fake Business Central takes a customer's address properties. */
export const ATLANTA_ADDRESS = { addressLine1: '192 Market Square', city: 'Atlanta', state: 'GA', country: 'US', postalCode: '31772', phoneNumber: '+1 404 555 0100' };

/** A link of that customer (its id in the reply above) to iPaaS.com customer 4711, with `overrides`. */
export function customerLink(overrides: Partial<CustomerLink> = {}): CustomerLink {
  return {
    customerId: BC_CUSTOMER_REPLY.id,
    ipaasCustomerId: '4711',
    customerNumber: '10000',
    payloadHash: 'sha256:1f2e3d',
    lastSyncedAt: '2026-03-10T10:00:00.000Z',
    ...overrides,
  };
}
