/**
 * What the console knows between refreshes: the last health, status and transfers read, the customer shown, and the
 * company every panel is scoped to (kept for the tab). Also the API client every panel calls through.
 */
import { createApi, type CompanyStatus, type CustomerHistory, type Health, type SyncStatus, type Transfer } from './api';

const apiBase = document.querySelector<HTMLMetaElement>('meta[name="api-base"]')?.content || '/api';
export const api = createApi(apiBase);

export interface Loaded<T> {
  value?: T;
  error?: Error;
}

export interface Recent {
  transfers: Transfer[];
  /** Fewer than all transfers of the last 24 hours were read. */
  truncated: boolean;
}

const COMPANY_STORAGE = 'console.company';

export function readCompanyChoice(): string | null {
  try {
    return sessionStorage.getItem(COMPANY_STORAGE);
  } catch {
    return null;
  }
}

/** The configured companies (from GET /api/status); [] before it answered. */
export const companies = (): CompanyStatus[] => state.status.value?.companies ?? [];
export const severalCompanies = (): boolean => companies().length > 1;
export const companyName = (companyId: string | undefined | null): string | null => companies().find((company) => company.companyId === companyId)?.companyName ?? null;

/** `companies/{id}/` for routes of one company (the selected one, or a record's), '' with one company or none chosen. */
export function companyPrefix(companyId: string | null | undefined = state.company): string {
  return companyId && severalCompanies() ? `companies/${encodeURIComponent(companyId)}/` : '';
}

/** Keeps the chosen company for this tab (all companies: null). */
export function saveCompanyChoice(companyId: string | null): void {
  state.company = companyId;
  try {
    if (companyId) sessionStorage.setItem(COMPANY_STORAGE, companyId);
    else sessionStorage.removeItem(COMPANY_STORAGE);
  } catch {
    // Storage disabled: the choice lasts as long as the page.
  }
}

export const state: {
  health: Loaded<Health>;
  status: Loaded<SyncStatus>;
  recent: Loaded<Recent>;
  /** customerId → customerNumber, from every transfer seen. */
  numbers: Map<string, string>;
  customer: CustomerHistory | null;
  firstRenderDone: boolean;
  /** The company every panel shows (its id), or null: all companies. */
  company: string | null;
} = { health: {}, status: {}, recent: {}, numbers: new Map(), customer: null, firstRenderDone: false, company: readCompanyChoice() };
