import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { z } from 'zod';
import { bcErrorBodySchema, describeBusinessCentralError } from '../../shared/businessCentral/errors';
import { listPageSchema } from '../../shared/businessCentral/paging';
import { BC_CUSTOMER_PROPERTIES_READ, bcCustomerSchema, bcSubscriptionSchema } from '../../shared/businessCentral/types';
import {
  addressListWireSchema,
  addressWireSchema,
  customerListWireSchema,
  customerWireSchema,
  parsePaginationHeader,
  subscriptionListWireSchema,
  subscriptionWireSchema,
} from '../../shared/ipaas/wire';
import { notificationBodySchema, notificationEntrySchema } from '../../shared/sync/notifications';
import { BC_CUSTOMER_REPLY } from '../support/fixtures';

/**
 * Read only what you use: every schema that validates a reply of Business Central or iPaaS.com (or a
 * notification Business Central sends) accepts extra fields and any type in a field the code does not read,
 * and reads the same values from such a reply as from a plain one. One row per schema; the last test makes sure
 * a new reply schema gets a row.
 */

interface Row {
  name: string;
  /** Throws when the reply is refused. */
  parse: (reply: unknown) => unknown;
  /** A realistic reply (a list: the first item is the one varied). */
  sample: Record<string, unknown> | Array<Record<string, unknown>>;
  /** The reply's fields the code reads; every other field of the sample is varied. */
  read: readonly string[];
  /** What the code takes from the parsed reply (default: the read fields of the output). */
  view?: (parsed: unknown) => unknown;
}

const schema =
  (zod: z.ZodType) =>
  (reply: unknown): unknown =>
    zod.parse(reply);

const IPAAS_CUSTOMER = {
  id: 4503,
  customer_number: '10000',
  first_name: 'Robert Townes',
  last_name: '',
  email_address: 'robert.townes@contoso.example',
  company: null,
  comment: 'VIP',
  external_ids: [{ system_id: 1207, external_id: '10000' }],
  custom_fields: [],
  created_datetime: '2026-11-25T03:02:11Z',
  updated_datetime: '2026-11-25T03:02:11Z',
};
const IPAAS_CUSTOMER_READ = ['id', 'customer_number', 'first_name', 'last_name', 'email_address', 'company', 'comment'];
const IPAAS_ADDRESS = {
  id: 981,
  customer_id: 4503,
  address_1: '192 Market Square',
  address_2: '',
  city: 'Atlanta',
  region: 'GA',
  country: 'US',
  postal_code: '31772',
  phone_number: '+1 404 555 0100',
  is_primary_billing: true,
  is_primary_shipping: false,
  created_datetime: '2026-11-25T03:02:11Z',
};
const IPAAS_ADDRESS_READ = ['id', 'address_1', 'address_2', 'city', 'region', 'country', 'postal_code', 'phone_number', 'is_primary_billing', 'is_primary_shipping'];
// iPaaS.com's SubscriptionGetAllResponse: id and type are int64.
const IPAAS_SUBSCRIPTION = { id: 1207, type: 41, name: 'Business Central', description: 'Microsoft Dynamics 365 Business Central', value: '', attached_items_count: 3, image_url: null };
const BC_CUSTOMER = BC_CUSTOMER_REPLY;
const BC_SUBSCRIPTION = {
  '@odata.etag': 'W/"JzE5OzE0ODc0NTY3MTU2NjQ2NDQ1NjExOzAwOyc="',
  subscriptionId: 'f1b1b6b2d0c34f6f8b1a',
  notificationUrl: 'https://func-contoso.azurewebsites.net/api/webhooks/business-central',
  resource: '/api/v2.0/companies(f64eba74-dacd-4854-a584-1834f68cfc3a)/customers',
  userId: '7d2b3c4e-5f60-4718-8293-a4b5c6d7e8f9',
  lastModifiedDateTime: '2026-11-25T07:38:44Z',
  clientState: 'sandbox-client-state-0001',
  expirationDateTime: '2026-11-28T07:38:44Z',
};
const NOTIFICATION_ENTRY = {
  subscriptionId: 'f1b1b6b2d0c34f6f8b1a',
  clientState: 'sandbox-client-state-0001',
  expirationDateTime: '2026-11-28T12:00:00Z',
  resource: 'api/v2.0/companies(f64eba74-dacd-4854-a584-1834f68cfc3a)/customers(3f2504e0-4f89-11d3-9a0c-0305e82c3301)',
  changeType: 'updated',
  lastModifiedDateTime: '2026-11-25T12:00:00Z',
};

const ROWS: Row[] = [
  { name: 'customerWireSchema', parse: schema(customerWireSchema), sample: IPAAS_CUSTOMER, read: IPAAS_CUSTOMER_READ },
  { name: 'customerListWireSchema', parse: schema(customerListWireSchema), sample: [IPAAS_CUSTOMER], read: IPAAS_CUSTOMER_READ },
  { name: 'addressWireSchema', parse: schema(addressWireSchema), sample: IPAAS_ADDRESS, read: IPAAS_ADDRESS_READ },
  { name: 'addressListWireSchema', parse: schema(addressListWireSchema), sample: [IPAAS_ADDRESS], read: IPAAS_ADDRESS_READ },
  { name: 'subscriptionWireSchema', parse: schema(subscriptionWireSchema), sample: IPAAS_SUBSCRIPTION, read: ['id', 'name'] },
  { name: 'subscriptionListWireSchema', parse: schema(subscriptionListWireSchema), sample: [IPAAS_SUBSCRIPTION, { id: '1311', type: 17, name: 'Web shop' }], read: ['id', 'name'] },
  {
    name: 'X-Pagination (parsePaginationHeader)',
    parse: (reply) => parsePaginationHeader(JSON.stringify(reply)),
    sample: { current_Page: 1, total_Pages: 3, page_Size: 50, total_Count: 120, has_Next: true },
    read: ['current_Page', 'total_Pages'],
    view: (parsed) => parsed,
  },
  { name: 'bcCustomerSchema', parse: schema(bcCustomerSchema), sample: BC_CUSTOMER, read: BC_CUSTOMER_PROPERTIES_READ },
  {
    name: 'listPageSchema',
    parse: schema(listPageSchema),
    sample: { '@odata.context': 'https://api.businesscentral.dynamics.com/v2.0/$metadata#companies', value: [BC_CUSTOMER], '@odata.nextLink': 'https://api.businesscentral.dynamics.com/v2.0/x?$skiptoken=1' },
    read: ['value', '@odata.nextLink'],
  },
  { name: 'bcSubscriptionSchema', parse: schema(bcSubscriptionSchema), sample: BC_SUBSCRIPTION, read: ['@odata.etag', 'subscriptionId', 'notificationUrl', 'resource', 'clientState', 'expirationDateTime'] },
  {
    name: 'bcErrorBodySchema',
    parse: schema(bcErrorBodySchema),
    sample: { error: { code: 'Internal_RecordNotFound', message: 'The Customer does not exist.', target: null, details: [] } },
    read: ['error'],
    view: () => describeBusinessCentralError({ error: { code: 'Internal_RecordNotFound', message: 'The Customer does not exist.' } }),
  },
  { name: 'notificationEntrySchema', parse: schema(notificationEntrySchema), sample: NOTIFICATION_ENTRY, read: ['clientState', 'resource', 'changeType', 'lastModifiedDateTime'] },
  {
    name: 'notificationBodySchema',
    parse: schema(notificationBodySchema),
    sample: { value: [NOTIFICATION_ENTRY], '@odata.context': 'notifications' },
    read: ['value'],
  },
];

/** Values of every JSON type (and nested ones) a service might put in a field. */
const OTHER_TYPES: unknown[] = [42, -1.5, 'text', '', true, false, null, {}, { nested: { deeper: [1, 'two', null] } }, [], [1, 'two', { three: 3 }]];

const first = (sample: Row['sample']): Record<string, unknown> => (Array.isArray(sample) ? (sample[0] ?? {}) : sample);
const withFirst = (sample: Row['sample'], item: Record<string, unknown>): Row['sample'] => (Array.isArray(sample) ? [item, ...sample.slice(1)] : item);
const pick = (value: unknown, fields: readonly string[]): unknown => {
  if (Array.isArray(value)) return value.map((item) => pick(item, fields));
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(fields.filter((field) => field in value).map((field) => [field, (value as Record<string, unknown>)[field]]));
};
const viewOf = (row: Row, parsed: unknown): unknown => (row.view ? row.view(parsed) : pick(parsed, row.read));

describe.each(ROWS.map((row) => [row.name, row] as const))('%s', (_name, row) => {
  const plain = viewOf(row, row.parse(row.sample));

  test('reads the fields it uses from a realistic reply', () => {
    expect(plain).toBeDefined();
    for (const field of row.read) if (field in first(row.sample) && !row.view) expect(JSON.stringify(plain)).toContain(field);
  });

  test('accepts extra fields of every type and reads the same values', () => {
    const extras = Object.fromEntries(OTHER_TYPES.map((value, index) => [`unexpected_${index}`, value]));
    const reply = withFirst(row.sample, { ...first(row.sample), ...extras, '@odata.type': '#Microsoft.NAV.unknown' });
    expect(viewOf(row, row.parse(reply))).toEqual(plain);
  });

  const unread = Object.keys(first(row.sample)).filter((field) => !row.read.includes(field));
  test.each(unread.length > 0 ? unread : ['(none)'])('accepts any type in the unread field %s', (field) => {
    if (field === '(none)') return;
    for (const value of [...OTHER_TYPES, undefined]) {
      const item = { ...first(row.sample), [field]: value };
      if (value === undefined) delete item[field];
      expect(viewOf(row, row.parse(withFirst(row.sample, item)))).toEqual(plain);
    }
  });
});

test('an error body of Business Central with codes and messages of other types is still read, never refused', () => {
  expect(describeBusinessCentralError({ error: { code: 404, message: ['not', 'text'] } })).toBeUndefined();
  expect(describeBusinessCentralError({ error: { code: 'BadRequest', message: { text: 'x' } } })).toBe('BadRequest');
  expect(bcErrorBodySchema.safeParse({ error: { code: null, message: 7, innererror: {} } }).success).toBe(true);
});

test('every reply schema of the clients has a row here', () => {
  const root = path.resolve(__dirname, '../..');
  const files = ['shared/ipaas/wire.ts', 'shared/businessCentral/types.ts', 'shared/businessCentral/errors.ts', 'shared/businessCentral/paging.ts', 'shared/sync/notifications.ts'];
  // Building blocks, not replies: their use inside the rows above is what is tested.
  const parts = new Set(['wireIdSchema']);
  const exported = files.flatMap((file) => [...readFileSync(path.join(root, file), 'utf8').matchAll(/^export const (\w+Schema)\b/gmu)].map((match) => match[1] ?? ''));
  const covered = new Set(ROWS.map((row) => row.name));
  expect(exported.filter((name) => !covered.has(name) && !parts.has(name))).toEqual([]);
  expect(exported.length).toBeGreaterThanOrEqual(10);
});
