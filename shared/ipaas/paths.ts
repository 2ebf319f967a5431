/**
 * Every iPaaS.com path, query name and header the client relies on, in one place. Each path template has a
 * name; the setting IPAAS_PATHS (a JSON object `{ "<name>": "<template>" }`) replaces any of them without a
 * code change, and `npm run doctor` checks every configured path against the tenant (docs/external-apis.md).
 *
 * Status per docs/external-apis.md:
 *   CONFIRMED = shown in iPaaS.com's public help articles / SDK repositories;
 *   ASSUMED   = inferred from the documented pattern `{base}/{area}/v2/{endpoint}`; check it against
 *               `{base}/customers/swagger/v2/swagger.json` or with `npm run doctor` before going live.
 *
 * The test fake (dev/fakes/ipaas/routes.ts) deliberately keeps its own route table, so a wrong path here fails a test.
 */

/** The customer area, `{base}/customers/v2/...` (CONFIRMED). */
export const IPAAS_CUSTOMER_AREA = '/customers/v2';

/** Default path templates by name; `{id}` is an iPaaS.com customer id. */
export const DEFAULT_IPAAS_PATHS = {
  /** GET search: `?action=equals&EmailAddress=` CONFIRMED; `&CustomerNumber=` ASSUMED (same pattern). Returns an array. */
  searchCustomers: `${IPAAS_CUSTOMER_AREA}/Customers`,
  /** GET every customer, one page per `pageNumber` with `X-Pagination` (the reconciliation): the list route without a filter, ASSUMED. */
  listCustomers: `${IPAAS_CUSTOMER_AREA}/Customers`,
  /** GET one customer: CONFIRMED. */
  getCustomer: `${IPAAS_CUSTOMER_AREA}/Customer/{id}`,
  /** POST create, answers with the created customer including its id: ASSUMED. */
  createCustomer: `${IPAAS_CUSTOMER_AREA}/Customer`,
  /** PUT update of one customer: ASSUMED (the GET path with another method). */
  updateCustomer: `${IPAAS_CUSTOMER_AREA}/Customer/{id}`,
  /** GET a customer's addresses (array, paged like every list): ASSUMED. */
  listAddresses: `${IPAAS_CUSTOMER_AREA}/Customer/{id}/Addresses`,
  /** POST one address to a customer, answers with the created address: ASSUMED. */
  addAddress: `${IPAAS_CUSTOMER_AREA}/Customer/{id}/Address`,
  /** POST `{ table_name, system_id, external_id, internal_id }`: CONFIRMED. */
  updateExternalId: `${IPAAS_CUSTOMER_AREA}/External/UpdateExternalId`,
  /** GET the tenant's subscriptions `[{ id, type, name, ... }]`, where the system id is found: CONFIRMED. */
  subscriptions: '/subscriptions/v2/Subscriptions',
} as const;

export type IpaasPathName = keyof typeof DEFAULT_IPAAS_PATHS;
export type IpaasPaths = Record<IpaasPathName, string>;
export const IPAAS_PATH_NAMES = Object.keys(DEFAULT_IPAAS_PATHS) as IpaasPathName[];

/** What each path is used for, with the HTTP method the client sends (the doctor and the docs list them). */
export const IPAAS_PATH_METHODS: Record<IpaasPathName, 'GET' | 'POST' | 'PUT'> = {
  searchCustomers: 'GET',
  listCustomers: 'GET',
  getCustomer: 'GET',
  createCustomer: 'POST',
  updateCustomer: 'PUT',
  listAddresses: 'GET',
  addAddress: 'POST',
  updateExternalId: 'POST',
  subscriptions: 'GET',
};

/** The placeholders each template must hold (and the only ones it may hold). */
export const IPAAS_PATH_PLACEHOLDERS: Record<IpaasPathName, readonly string[]> = {
  searchCustomers: [],
  listCustomers: [],
  getCustomer: ['id'],
  createCustomer: [],
  updateCustomer: ['id'],
  listAddresses: ['id'],
  addAddress: ['id'],
  updateExternalId: [],
  subscriptions: [],
};

/** Query names: `action=equals` with a field filter is CONFIRMED for EmailAddress; `pageNumber` CONFIRMED for lists. */
export const IPAAS_QUERY = {
  action: 'action',
  equals: 'equals',
  emailAddress: 'EmailAddress',
  /** ASSUMED: the mapping name of customer_number, following the EmailAddress pattern. */
  customerNumber: 'CustomerNumber',
  pageNumber: 'pageNumber',
} as const;

/** List replies carry this header with JSON `{ "current_Page": n, "total_Pages": n, ... }` (CONFIRMED name and fields). */
export const IPAAS_PAGINATION_HEADER = 'X-Pagination';

/**
 * How addresses reach iPaaS.com (IPAAS_ADDRESS_MODE): `separate` posts each one to `addAddress` and lists them
 * with `listAddresses` (ASSUMED paths); `nested` sends the customer's address collection inside its create/update
 * body and reads it from `getCustomer`, for a tenant whose description has no address endpoint (iPaaS.com
 * describes addresses as a child collection of the customer).
 */
export const IPAAS_ADDRESS_MODES = ['separate', 'nested'] as const;
export type IpaasAddressMode = (typeof IPAAS_ADDRESS_MODES)[number];
/** The customer body's field holding the address collection in nested mode: ASSUMED (IPAAS_ADDRESS_COLLECTION; the doctor reads the real one). */
export const DEFAULT_IPAAS_ADDRESS_COLLECTION = 'addresses';

/** Header iPaaS.com's own SDK sends beside the bearer token (IPAAS_CLIENT_ID); whether the API needs it is not known. */
export const IPAAS_CLIENT_ID_HEADER = 'X-Client-Id';

/** `table_name` for customer external ids: lower case, CONFIRMED. */
export const IPAAS_EXTERNAL_ID_TABLE = 'customer';

/**
 * Reads the IPAAS_PATHS setting: a JSON object whose keys are path names and values templates. Returns the
 * problems (empty when fine) so the settings loader reports them with the setting's name.
 */
export function parseIpaasPaths(raw: string | undefined): { paths: IpaasPaths; problems: string[] } {
  const paths: IpaasPaths = { ...DEFAULT_IPAAS_PATHS };
  if (raw === undefined || raw.trim() === '') return { paths, problems: [] };
  let json: unknown;
  try {
    json = JSON.parse(raw) as unknown;
  } catch {
    return { paths, problems: ['must be a JSON object such as {"createCustomer":"/customers/v2/Customer"}'] };
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    return { paths, problems: ['must be a JSON object such as {"createCustomer":"/customers/v2/Customer"}'] };
  }
  const problems: string[] = [];
  for (const [name, value] of Object.entries(json)) {
    if (!(IPAAS_PATH_NAMES as string[]).includes(name)) {
      problems.push(`has an unknown path name "${name}" (known: ${IPAAS_PATH_NAMES.join(', ')})`);
      continue;
    }
    const key = name as IpaasPathName;
    if (typeof value !== 'string' || !value.startsWith('/') || /[?#\s]/u.test(value)) {
      problems.push(`"${name}" must be a path starting with "/" without query or spaces, such as "${DEFAULT_IPAAS_PATHS[key]}"`);
      continue;
    }
    const found = [...value.matchAll(/\{(\w*)\}/gu)].map((match) => match[1] ?? '');
    const needed = IPAAS_PATH_PLACEHOLDERS[key];
    const missing = needed.filter((placeholder) => !found.includes(placeholder));
    const extra = found.filter((placeholder) => !needed.includes(placeholder));
    if (missing.length > 0) problems.push(`"${name}" must contain ${missing.map((p) => `{${p}}`).join(', ')} (e.g. "${DEFAULT_IPAAS_PATHS[key]}")`);
    if (extra.length > 0) problems.push(`"${name}" has unknown placeholder(s) ${extra.map((p) => `{${p}}`).join(', ')}`);
    if (/[{}]/u.test(value.replace(/\{\w+\}/gu, ''))) problems.push(`"${name}" has an unbalanced "{" or "}"`);
    if (missing.length === 0 && extra.length === 0) paths[key] = value.replace(/\/+$/u, '') || '/';
  }
  return { paths, problems };
}

/** `{base}` + template with `{name}` placeholders filled (URL-encoded) + optional query (URLSearchParams, so `+` becomes %2B). */
export function ipaasUrl(apiBaseUrl: string, template: string, params: Record<string, string> = {}, query?: Array<[string, string]>): string {
  const path = template.replace(/\{(\w+)\}/gu, (_, name: string) => {
    const value = params[name];
    if (value === undefined) throw new Error(`ipaasUrl: no value for {${name}} in ${template}`);
    return encodeURIComponent(value);
  });
  const search = query && query.length > 0 ? `?${new URLSearchParams(query).toString()}` : '';
  return `${apiBaseUrl.replace(/\/+$/u, '')}${path}${search}`;
}

/** The template as an msw path pattern (`{id}` → `:id`), for tests that stub one client route. */
export function ipaasRoutePattern(apiBaseUrl: string, template: string): string {
  return `${apiBaseUrl.replace(/\/+$/u, '')}${template.replace(/\{(\w+)\}/gu, ':$1')}`;
}
