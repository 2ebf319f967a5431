/**
 * Every iPaaS.com path, query name and header this project relies on, in one place.
 * The client (shared/ipaas/client.ts) and the fake (dev/fakes/ipaas.ts) both build their URLs from here,
 * so correcting an assumption is a one-line change that moves both.
 *
 * Status per docs/external-apis.md:
 *   CONFIRMED = shown in iPaaS.com's public help articles / SDK repositories;
 *   ASSUMED   = inferred from the documented pattern `{base}/{area}/v2/{endpoint}`; verify against
 *               `{base}/customers/swagger/v2/swagger.json` before going live.
 */

/** The customer area, `{base}/customers/v2/...` (CONFIRMED). */
export const IPAAS_CUSTOMER_AREA = '/customers/v2';

/** Path templates; `{id}` is the iPaaS.com customer id (a number on the wire). */
export const IPAAS_PATHS = {
  /** GET search: `?action=equals&EmailAddress=` CONFIRMED; `&CustomerNumber=` ASSUMED (same pattern). Returns an array. */
  searchCustomers: `${IPAAS_CUSTOMER_AREA}/Customers`,
  /** GET one customer CONFIRMED; PUT (update) on the same path ASSUMED. */
  customer: `${IPAAS_CUSTOMER_AREA}/Customer/{id}`,
  /** POST create, answers with the created customer including its id: ASSUMED. */
  createCustomer: `${IPAAS_CUSTOMER_AREA}/Customer`,
  /** GET a customer's addresses (array, paged like every list): ASSUMED. */
  customerAddresses: `${IPAAS_CUSTOMER_AREA}/Customer/{id}/Addresses`,
  /** POST one address to a customer, answers with the created address: ASSUMED. */
  addCustomerAddress: `${IPAAS_CUSTOMER_AREA}/Customer/{id}/Address`,
  /** POST `{ table_name, system_id, external_id, internal_id }`: path shape CONFIRMED, its area (customers) ASSUMED. */
  updateExternalId: `${IPAAS_CUSTOMER_AREA}/External/UpdateExternalId`,
} as const;

export type IpaasPathTemplate = (typeof IPAAS_PATHS)[keyof typeof IPAAS_PATHS];

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

/** `table_name` for customer external ids (ASSUMED: the table is named after the entity). */
export const IPAAS_EXTERNAL_ID_TABLE = 'Customer';

/**
 * Default `system_id` for UpdateExternalId (ASSUMED). iPaaS.com keys external ids by the subscribed source
 * system; in a real tenant this may be the numeric id of the Business Central system, so the client takes it
 * as an option (`createIpaasClient(..., { systemId })`).
 */
export const DEFAULT_IPAAS_SYSTEM_ID = 'BusinessCentral';

/** `{base}` + template with `{name}` placeholders filled (URL-encoded) + optional query (URLSearchParams, so `+` becomes %2B). */
export function ipaasUrl(
  apiBaseUrl: string,
  template: IpaasPathTemplate,
  params: Record<string, string> = {},
  query?: Array<[string, string]>,
): string {
  const path = template.replace(/\{(\w+)\}/gu, (_, name: string) => {
    const value = params[name];
    if (value === undefined) throw new Error(`ipaasUrl: no value for {${name}} in ${template}`);
    return encodeURIComponent(value);
  });
  const search = query && query.length > 0 ? `?${new URLSearchParams(query).toString()}` : '';
  return `${apiBaseUrl.replace(/\/+$/u, '')}${path}${search}`;
}

/** The template as an msw path pattern (`{id}` → `:id`), for the fake. */
export function ipaasRoutePattern(apiBaseUrl: string, template: IpaasPathTemplate): string {
  return `${apiBaseUrl.replace(/\/+$/u, '')}${template.replace(/\{(\w+)\}/gu, ':$1')}`;
}
