import { z } from 'zod';
import type { HttpRequest, HttpResponse } from '../http/httpClient';
import { final, parseReply, throwFinal, unexpected404 } from './errors';
import { maxPageSizePreference } from './odata';
import { PageTextError, readPageText, type PageText } from './pageText';
import { bcCustomerSchema, type BcCustomer, type CustomerPage } from './types';

export const DEFAULT_PAGE_SIZE = 1_000;
/** Customers of a page parsed and handed over at a time by listCustomerPages. */
export const DEFAULT_SLICE_SIZE = 1_000;
/** Business Central online never returns more than this many entities per page. */
export const MAX_PAGE_SIZE = 20_000;

/** An OData collection page: `value` and, while more pages remain, `@odata.nextLink` (null or "" means the last page). */
export const listPageSchema = z.looseObject({
  value: z.array(z.unknown()),
  '@odata.nextLink': z
    .string()
    .nullish()
    .transform((value) => (value ? value : undefined)),
});

/**
 * Server-driven paging of one company's customers: every page from a first URL on, following the nextLinks,
 * each page handed over in parts; a nextLink is followed only to this company's customers on the API's origin.
 */
export class CustomerPaging {
  constructor(
    private readonly send: (request: HttpRequest) => Promise<HttpResponse>,
    /** This company's customers collection: every page must be one of it. */
    private readonly customersUrl: string,
    private readonly apiOrigin: string,
  ) {}

  /** Every page from `firstUrl` on, following the nextLinks, each in parts (pageParts below). */
  async *pages(firstUrl: string, pageSize: number, sliceSize: number): AsyncGenerator<CustomerPage> {
    const visited = new Set<string>();
    let url: string | undefined = firstUrl;
    while (url !== undefined) {
      if (visited.has(url)) throw final('Business Central returned a nextLink that repeats an earlier page; stopped paging');
      visited.add(url);
      let next: string | undefined;
      // The page is handed over before a bad nextLink stops the paging: its customers are good.
      for await (const part of this.pageParts(url, pageSize, sliceSize, { handOverBeforeRefusal: true })) {
        if (part.pageComplete) next = part.nextLink;
        yield part;
      }
      url = next;
    }
  }

  /**
   * One page, read as text and handed over in parts of `sliceSize` customers, each parsed and validated only when
   * asked for (shared/businessCentral/pageText.ts): a page of 10,000 never exists as objects all at once, only its
   * text and one part. The nextLink, which may stand anywhere in the page, is read once its items are: it comes with
   * the page's last part. A nextLink that `refuse` (or the origin check) refuses is thrown after that last part with
   * `handOverBeforeRefusal`, else instead of it (a caller that stops at the page's end must still see the refusal).
   */
  async *pageParts(
    url: string,
    pageSize: number,
    sliceSize: number,
    options: { handOverBeforeRefusal: boolean; refuse?: (next: string) => void },
  ): AsyncGenerator<CustomerPage> {
    const response = await this.send({ method: 'GET', url, headers: { Prefer: maxPageSizePreference(pageSize) }, responseType: 'text' });
    if (response.status === 404) throw unexpected404('GET', url, response);
    const reader = readPageText(typeof response.body === 'string' ? response.body : JSON.stringify(response.body ?? null));
    let index = 0;
    for (;;) {
      const items = readPart(reader, sliceSize);
      const customers = items.map((item) => parseReply(bcCustomerSchema, item, `GET customers returned item ${index++} that`));
      if (!reader.done) {
        yield { customers, nextLink: undefined, pageComplete: false };
        continue;
      }
      const page = parseReply(listPageSchema, readEnvelope(reader), 'GET customers returned a page that');
      let next: string | undefined;
      let refused: unknown;
      try {
        next = page['@odata.nextLink'] === undefined ? undefined : this.checkNextLink(page['@odata.nextLink'], url);
        if (next !== undefined) options.refuse?.(next);
      } catch (error) {
        refused = error;
        next = undefined;
      }
      if (refused !== undefined && !options.handOverBeforeRefusal) throw refused;
      yield { customers, nextLink: next, pageComplete: true };
      if (refused !== undefined) throw refused;
      return;
    }
  }

  /** Follows only links to this company's customers on the API's own origin: anywhere else would receive our token. */
  checkNextLink(link: string, current: string): string {
    let next: URL;
    try {
      next = new URL(link, current);
    } catch {
      throw final('Business Central returned an invalid @odata.nextLink');
    }
    const expectedPath = normalizeResourcePath(new URL(this.customersUrl).pathname);
    if (next.origin !== this.apiOrigin || normalizeResourcePath(next.pathname) !== expectedPath) {
      throw final(`Business Central returned an @odata.nextLink outside ${this.apiOrigin}${expectedPath}; refused to follow it with our token`);
    }
    return next.toString();
  }
}

export function checkedSliceSize(sliceSize: number | undefined): number {
  const size = sliceSize ?? DEFAULT_SLICE_SIZE;
  if (!Number.isInteger(size) || size < 1) throw final('Business Central slice size must be a whole number from 1');
  return size;
}

export function checkedPageSize(pageSize: number | undefined): number {
  const size = pageSize ?? DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(size) || size < 1 || size > MAX_PAGE_SIZE) {
    throw final(`Business Central page size must be a whole number from 1 to ${MAX_PAGE_SIZE}`);
  }
  return size;
}

/** A whole page of customers parsed at once (small pages: a lookup by number). */
export function parseCustomerPage(body: unknown): { customers: BcCustomer[]; nextLink: string | undefined } {
  const page = parseReply(listPageSchema, body, 'GET customers returned a page that');
  return {
    customers: page.value.map((item, index) => parseReply(bcCustomerSchema, item, `GET customers returned item ${index} that`)),
    nextLink: page['@odata.nextLink'],
  };
}

/** Path with percent-escapes decoded, GUIDs lower-cased, no trailing slash: two spellings of one resource compare equal. */
export function normalizeResourcePath(pathname: string): string {
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    return pathname;
  }
  return decoded
    .replace(/\/+$/u, '')
    .replace(/\(\s*'?([0-9a-f-]{36})'?\s*\)/giu, (_match, guid: string) => `(${guid.toLowerCase()})`);
}

function readPart(reader: PageText, count: number): unknown[] {
  try {
    return reader.next(count);
  } catch (error) {
    return throwFinal(`Business Central GET customers returned a page that ${error instanceof PageTextError ? error.message.replace(/^the page /u, '') : 'could not be read'}`);
  }
}

function readEnvelope(reader: PageText): unknown {
  try {
    return reader.envelope();
  } catch (error) {
    return throwFinal(`Business Central GET customers returned a page that ${error instanceof PageTextError ? error.message.replace(/^the page /u, '') : 'could not be read'}`);
  }
}
