import type { BcCustomer } from '../businessCentral/types';
import type { IpaasCustomer } from '../ipaas/types';
import { applyCustomerMapping, customerFieldsRead, defaultCustomerMapping, type CustomerMapping } from '../mapping';

/**
 * What the mapping would write to iPaaS.com for one Business Central customer, in the mapping's destination
 * names. This is the only place the reconciliation knows the mapping (the configured file, CUSTOMER_MAPPING_FILE,
 * as the sync uses it): the comparison works on any set of destination fields.
 */
export type ExpectedCustomer =
  | { kind: 'filtered'; customerNumber: string | null }
  | { kind: 'invalid'; customerNumber: string | null; errorCode: string }
  | {
      kind: 'mapped';
      /** The Business Central number (what the report shows). */
      customerNumber: string;
      /** The number the mapping writes to iPaaS.com (a company's mapping may prefix it): what an iPaaS.com customer is matched by. */
      ipaasNumber: string;
      emailAddress: string;
      fields: ReadonlyArray<readonly [destination: string, value: string]>;
    };

export function expectedCustomer(entity: BcCustomer, collection: CustomerMapping = defaultCustomerMapping()): ExpectedCustomer {
  // Addresses are not compared (iPaaS.com's customer list does not carry them), so they are not mapped either.
  const mapping = applyCustomerMapping(entity, collection, { addresses: false });
  const customerNumber = mapping.customer.No || null;
  if (mapping.kind === 'filtered') return { kind: 'filtered', customerNumber };
  if (mapping.kind === 'invalid') return { kind: 'invalid', customerNumber, errorCode: mapping.problems[0]?.code ?? 'MissingEmail' };
  const fields = Object.entries(mapping.ipaasCustomer).map(([key, value]) => [upperFirst(key), String(value)] as const);
  return {
    kind: 'mapped',
    customerNumber: customerNumber ?? mapping.ipaasCustomer.customerNumber,
    ipaasNumber: mapping.ipaasCustomer.customerNumber,
    emailAddress: mapping.ipaasCustomer.emailAddress,
    fields,
  };
}

/**
 * The Business Central properties the mapping's filter and customer fields read ($select): the customer's own
 * fields, and the address fields when one of its expressions reads `Addresses`. The address collection is not
 * compared (iPaaS.com's customer list does not carry addresses), so it alone never widens the select.
 */
export function reconcileSelect(collection: CustomerMapping = defaultCustomerMapping()): string[] {
  return customerFieldsRead(collection);
}

/** The value an iPaaS.com customer holds for a mapping destination (`FirstName` → firstName); '' for a field the list does not carry. */
export function ipaasValue(customer: IpaasCustomer, destination: string): string {
  const key = lowerFirst(destination) as keyof IpaasCustomer;
  const value = (customer as unknown as Record<string, unknown>)[key];
  return typeof value === 'string' ? value : '';
}

function lowerFirst(name: string): string {
  return name.charAt(0).toLowerCase() + name.slice(1);
}

function upperFirst(name: string): string {
  return name.charAt(0).toUpperCase() + name.slice(1);
}
