import { describeError, SyncError } from './errors';
import { apiError, unavailable, type ApiResponse } from './http/apiErrors';
import type { CompanyServices, Services } from './services';

/**
 * Which company a route is about (contract "HTTP routes"): `/api/companies/{company}/...` names it by GUID or
 * configured name; the routes without a company keep working unchanged with one company, and with several a
 * route by id looks in every company while a route by number needs the company.
 */
export type CompanyChoice = { ok: true; company: CompanyServices } | { ok: false; response: ApiResponse };

const names = (services: Services): string => services.companies.map((company) => `"${company.ref.name}" (${company.ref.id})`).join(', ');

/** `{company}` of a company route: the company's GUID or its configured name (URL-decoded by the host); 404 UnknownCompany otherwise. */
export function companyFromRoute(services: Services, raw: string): CompanyChoice {
  const company = services.company(raw);
  if (company) return { ok: true, company };
  return { ok: false, response: apiError('UnknownCompany', `No configured company has this id or name; configured: ${names(services)}`) };
}

/** A route by number without a company: the only company, or 400 CompanyRequired when several are configured (numbers repeat across companies). */
export function companyForNumber(services: Services): CompanyChoice {
  if (!services.multiCompany) return { ok: true, company: services.companies[0]! };
  return {
    ok: false,
    response: apiError(
      'CompanyRequired',
      `Several companies are configured and customer numbers may repeat across them: use /api/companies/{company}/customers/by-number/{number}/... with one of ${names(services)}`,
    ),
  };
}

/**
 * A route by id without a company: the only company; with several, the companies whose Business Central has a
 * customer with this id (a company copy keeps ids): one → that one, several → 409 AmbiguousCustomer naming them,
 * none → 404. A company that refuses the lookup for good (deleted, not permitted) is left out; one that does not
 * answer now makes it 503.
 */
export async function companyForCustomerId(services: Services, customerId: string): Promise<CompanyChoice> {
  if (!services.multiCompany) return { ok: true, company: services.companies[0]! };
  const lookups = await Promise.all(
    services.companies.map(async (company) => {
      try {
        return { company, found: (await company.businessCentral.getCustomer(customerId)) !== null };
      } catch (error) {
        return { company, error };
      }
    }),
  );
  const unavailableNow = lookups.find((lookup) => lookup.error !== undefined && (!(lookup.error instanceof SyncError) || lookup.error.transient));
  if (unavailableNow) {
    return { ok: false, response: unavailable('BusinessCentralUnavailable', `Business Central did not answer for ${unavailableNow.company.ref.name}; try again later (${describeError(unavailableNow.error)})`) };
  }
  return choose(services, customerId, lookups.filter((lookup) => lookup.found).map((lookup) => lookup.company), 'Business Central customer');
}

/** GET transfers by id without a company: with several, the companies whose history holds this customer (one, several: 409, none: 404). */
export async function companyForHistory(services: Services, customerId: string): Promise<CompanyChoice> {
  if (!services.multiCompany) return { ok: true, company: services.companies[0]! };
  const found = await Promise.all(services.companies.map(async (company) => ((await company.storage.transfers.listForCustomer(customerId, 1)).length > 0 ? company : null)));
  return choose(services, customerId, found.filter((company): company is CompanyServices => company !== null), 'transfer history');
}

function choose(services: Services, customerId: string, found: CompanyServices[], what: string): CompanyChoice {
  const [only, ...more] = found;
  if (only && more.length === 0) return { ok: true, company: only };
  if (only) {
    return {
      ok: false,
      response: apiError(
        'AmbiguousCustomer',
        `Customer ${customerId} exists in ${found.length} companies (${found.map((company) => `"${company.ref.name}" (${company.ref.id})`).join(', ')}), as after a company copy: use /api/companies/{company}/customers/${customerId}/...`,
      ),
    };
  }
  return { ok: false, response: apiError('CustomerNotFound', `No configured company has a ${what} with id ${customerId} (looked in ${names(services)})`) };
}

/** The company fields of a reply, and where its transfers are listed. */
export function companyReply(company: CompanyServices): { companyId: string; companyName: string } {
  return { companyId: company.ref.id, companyName: company.ref.name };
}

export function transfersLocation(customerId: string, company: CompanyServices | undefined): string {
  return company ? `/api/companies/${company.ref.id}/customers/${customerId}/transfers` : `/api/customers/${customerId}/transfers`;
}

/** The 202 of a queued manual sync: the customer (and its company when the reply names one), and where its transfers appear. */
export function queuedReply(customerId: string, company: CompanyServices, withCompany: boolean, correlationId: string): { status: 202; jsonBody: Record<string, unknown>; headers: Record<string, string> } {
  return {
    status: 202,
    jsonBody: { customerId, ...(withCompany ? companyReply(company) : {}), queued: true, correlationId },
    headers: { Location: transfersLocation(customerId, withCompany ? company : undefined) },
  };
}
