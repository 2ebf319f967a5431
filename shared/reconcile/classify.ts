import type { BcCustomer } from '../businessCentral/types';
import type { IpaasCustomer } from '../ipaas/types';
import { emailKey, type CustomerMapping } from '../mapping';
import { expectedCustomer, ipaasValue, type ExpectedCustomer } from './expected';
import type { CustomerCategory, FieldChange, ReportItem } from './report';

/** iPaaS.com's customers by id, by email (as the sync matches them) and by customer number. */
export class IpaasIndex {
  private readonly byId = new Map<string, IpaasCustomer>();
  private readonly byEmail = new Map<string, string[]>();
  private readonly byNumber = new Map<string, string[]>();

  add(customer: IpaasCustomer): void {
    // A customer seen twice (pages shifting under a concurrent create) is indexed once.
    if (this.byId.has(customer.id)) return;
    this.byId.set(customer.id, customer);
    if (customer.emailAddress.trim() !== '') push(this.byEmail, emailKey(customer.emailAddress), customer.id);
    if (customer.customerNumber.trim() !== '') push(this.byNumber, numberKey(customer.customerNumber), customer.id);
  }

  get size(): number {
    return this.byId.size;
  }

  get(id: string): IpaasCustomer | undefined {
    return this.byId.get(id);
  }

  withEmail(email: string): IpaasCustomer[] {
    return (this.byEmail.get(emailKey(email)) ?? []).map((id) => this.byId.get(id) as IpaasCustomer);
  }

  withNumber(customerNumber: string): IpaasCustomer[] {
    return (this.byNumber.get(numberKey(customerNumber)) ?? []).map((id) => this.byId.get(id) as IpaasCustomer);
  }
}

function push(map: Map<string, string[]>, key: string, id: string): void {
  const ids = map.get(key);
  if (ids) ids.push(id);
  else map.set(key, [id]);
}

/** iPaaS.com keeps customer numbers unique without regard to case, as SQL Server compares them. */
function numberKey(customerNumber: string): string {
  return customerNumber.trim().toUpperCase();
}

export interface Classification {
  category: CustomerCategory;
  /** Absent for InSync and Filtered, which the report counts but does not list. */
  item?: ReportItem;
}

/**
 * Puts one Business Central customer in exactly one category. The iPaaS.com customer it corresponds to is found
 * by its link in CustomerLinks first, then by email (as the sync matches), then by customer number.
 * `linkedIpaasId` is the link's iPaaS.com id, or undefined when the customer was never linked. `mapping`: the
 * configured mapping collection (the sync's); the default file when absent. `linkedCustomerOf`: the Business Central
 * customer linked to an iPaaS.com customer, so one whose email match belongs to another is listed with `EmailInUse`.
 */
export function classifyCustomer(
  entity: BcCustomer,
  index: IpaasIndex,
  linkedIpaasId: string | undefined,
  mapping?: CustomerMapping,
  linkedCustomerOf: (ipaasCustomerId: string) => string | undefined = () => undefined,
): Classification {
  const expected = expectedCustomer(entity, mapping);
  const base = { customerId: entity.id, customerNumber: expected.customerNumber };
  if (expected.kind === 'filtered') return { category: 'Filtered' };
  if (expected.kind === 'invalid') {
    return { category: 'Invalid', item: { category: 'Invalid', ...base, ipaasCustomerId: linkedIpaasId ?? null, errorCode: expected.errorCode, changes: [] } };
  }
  const linked = linkedIpaasId === undefined ? undefined : index.get(linkedIpaasId);
  if (linked) {
    const changes = differences(expected, linked);
    if (changes.length === 0) return { category: 'InSync' };
    return { category: 'Drifted', item: { category: 'Drifted', ...base, ipaasCustomerId: linked.id, errorCode: null, changes } };
  }
  const byEmail = index.withEmail(expected.emailAddress);
  if (byEmail.length > 1) {
    return { category: 'DuplicateEmail', item: { category: 'DuplicateEmail', ...base, ipaasCustomerId: null, errorCode: 'DuplicateEmail', changes: [] } };
  }
  const [match] = byEmail.length === 1 ? byEmail : index.withNumber(expected.ipaasNumber);
  if (match) {
    // The customer with this email is linked to another Business Central customer: the sync ends EmailInUse.
    const owner = byEmail.length === 1 ? linkedCustomerOf(match.id) : undefined;
    const errorCode = owner !== undefined && owner.toLowerCase() !== entity.id.toLowerCase() ? 'EmailInUse' : null;
    return { category: 'Unlinked', item: { category: 'Unlinked', ...base, ipaasCustomerId: match.id, errorCode, changes: differences(expected, match) } };
  }
  // Linked to an iPaaS.com customer that no longer exists, or never transferred.
  return {
    category: 'Missing',
    item: { category: 'Missing', ...base, ipaasCustomerId: null, errorCode: null, changes: expected.fields.map(([field, to]) => ({ field, from: null, to })) },
  };
}

/** Field by field, exactly as the sync compares before it decides to update. */
function differences(expected: Extract<ExpectedCustomer, { kind: 'mapped' }>, current: IpaasCustomer): FieldChange[] {
  const changes: FieldChange[] = [];
  for (const [field, to] of expected.fields) {
    const from = ipaasValue(current, field);
    if (from !== to) changes.push({ field, from, to });
  }
  return changes;
}
