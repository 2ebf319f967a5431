import { http, HttpResponse } from 'msw';
import { FakeIpaas } from '../../dev/fakes/ipaas';
import { loadConfig } from '../../shared/config';
import { SyncError } from '../../shared/errors';
import { createIpaasClient } from '../../shared/ipaas/client';
import { csvField, reportToCsv, type ReportItem } from '../../shared/reconcile';
import { startMockServer } from '../support/msw';

const config = loadConfig(process.env);
const fake = new FakeIpaas({ ...config.ipaas, pageSize: 2 });
const server = startMockServer(...fake.handlers);
const client = () => createIpaasClient(config.ipaas, config.http, { sleep: async () => {} });
const LIST_URL = `${config.ipaas.apiBaseUrl}/customers/v2/Customers`;

beforeEach(() => {
  fake.reset();
  server.resetHandlers();
});

describe('the fake iPaaS.com customer list, as the API notes describe it', () => {
  test('pages through pageNumber with an X-Pagination header of current_Page and total_Pages', async () => {
    for (let index = 0; index < 5; index += 1) fake.seedCustomer({ customerNumber: `C-${index}`, emailAddress: `c${index}@contoso.example` });
    const page = async (query: string) => {
      const response = await fetch(`${LIST_URL}${query}`, { headers: { Authorization: `Bearer ${config.ipaas.apiToken}` } });
      return { status: response.status, pagination: JSON.parse(response.headers.get('X-Pagination') ?? 'null') as unknown, body: (await response.json()) as Array<{ customer_number: string }> };
    };
    const second = await page('?pageNumber=2');
    expect(second.status).toBe(200);
    expect(second.pagination).toMatchObject({ current_Page: 2, total_Pages: 3 });
    expect(second.body.map((customer) => customer.customer_number)).toEqual(['C-2', 'C-3']);
    expect((await page('?pagenumber=3')).body.map((customer) => customer.customer_number)).toEqual(['C-4']);
    expect((await page('?pageNumber=4')).body).toEqual([]);
    expect((await page('?pageNumber=0')).status).toBe(422);
    const unauthorized = await fetch(`${LIST_URL}?pageNumber=1`);
    expect(unauthorized.status).toBe(401);
  });
});

describe('IpaasApi.listCustomersPage', () => {
  test('reads one page with pageNumber and reports total_Pages', async () => {
    for (let index = 0; index < 3; index += 1) fake.seedCustomer({ customerNumber: `C-${index}`, firstName: `Name ${index}`, emailAddress: `c${index}@contoso.example` });
    const page = await client().listCustomersPage(2);
    expect(page).toMatchObject({ pageNumber: 2, totalPages: 2, customers: [{ customerNumber: 'C-2', firstName: 'Name 2', emailAddress: 'c2@contoso.example' }] });
    expect(fake.requests.list).toBe(1);
  });

  test('an empty list is zero pages', async () => {
    expect(await client().listCustomersPage(1)).toEqual({ customers: [], pageNumber: 1, totalPages: 0 });
  });

  test('a service that ignores pageNumber is refused rather than read as the same page again and again', async () => {
    server.use(http.get(LIST_URL, () => HttpResponse.json([{ id: 1, customer_number: 'A' }], { headers: { 'X-Pagination': JSON.stringify({ current_Page: 1, total_Pages: 3 }) } })));
    const error = await client().listCustomersPage(2).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SyncError);
    expect((error as SyncError).message).toMatch(/answered page 1 when page 2 was asked for/u);
  });

  test('a later page without X-Pagination is refused; a bare 404 names the path to check', async () => {
    server.use(http.get(LIST_URL, () => HttpResponse.json([{ id: 1, customer_number: 'A' }])));
    await expect(client().listCustomersPage(2)).rejects.toThrow(/without X-Pagination/u);
    server.use(http.get(LIST_URL, () => new HttpResponse(null, { status: 404 })));
    await expect(client().listCustomersPage(1)).rejects.toThrow(/list endpoint was not found/u);
  });
});

describe('CSV report', () => {
  test('escapes commas, quotes and newlines in names; empty for null', () => {
    expect(csvField('Wilber, Alex')).toBe('"Wilber, Alex"');
    expect(csvField('Alex "Al" Wilber')).toBe('"Alex ""Al"" Wilber"');
    expect(csvField('Line one\nline two')).toBe('"Line one\nline two"');
    expect(csvField('Carriage\r\nreturn')).toBe('"Carriage\r\nreturn"');
    expect(csvField('plain')).toBe('plain');
    expect(csvField(null)).toBe('');
  });

  test('values a spreadsheet would run as formulas are defused', () => {
    expect(csvField('=HYPERLINK("http://x")')).toBe('"\'=HYPERLINK(""http://x"")"');
    expect(csvField('+1 404 555 0100')).toBe("'+1 404 555 0100");
    expect(csvField('@SUM(A1)')).toBe("'@SUM(A1)");
  });

  test('one row per changed field, CRLF line ends, parseable back into the same values', () => {
    const items: ReportItem[] = [
      {
        category: 'Drifted',
        customerId: '3f2504e0-4f89-11d3-9a0c-0305e82c3301',
        customerNumber: '10000',
        ipaasCustomerId: '4501',
        errorCode: null,
        changes: [
          { field: 'FirstName', from: 'Townes, "Bob"', to: 'Robert\nTownes' },
          { field: 'EmailAddress', from: 'old@contoso.example', to: 'new@contoso.example' },
        ],
      },
      { category: 'Invalid', customerId: '7c3e0d4a-3f5b-4a7c-9d8e-9f0a1b2c3d40', customerNumber: '10030', ipaasCustomerId: null, errorCode: 'MissingEmail', changes: [] },
    ];
    const csv = reportToCsv({ items });
    expect(csv.endsWith('\r\n')).toBe(true);
    const rows = parseCsv(csv);
    expect(rows).toEqual([
      ['category', 'customerId', 'customerNumber', 'ipaasCustomerId', 'errorCode', 'field', 'from', 'to'],
      ['Drifted', '3f2504e0-4f89-11d3-9a0c-0305e82c3301', '10000', '4501', '', 'FirstName', 'Townes, "Bob"', 'Robert\nTownes'],
      ['Drifted', '3f2504e0-4f89-11d3-9a0c-0305e82c3301', '10000', '4501', '', 'EmailAddress', 'old@contoso.example', 'new@contoso.example'],
      ['Invalid', '7c3e0d4a-3f5b-4a7c-9d8e-9f0a1b2c3d40', '10030', '', 'MissingEmail', '', '', ''],
    ]);
  });
});

/** A strict RFC 4180 reader, to prove the writer's output reads back as written. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let index = 0; index < text.length; index += 1) {
    const char = text[index]!;
    if (quoted) {
      if (char === '"' && text[index + 1] === '"') {
        field += '"';
        index += 1;
      } else if (char === '"') quoted = false;
      else field += char;
    } else if (char === '"') quoted = true;
    else if (char === ',') {
      row.push(field);
      field = '';
    } else if (char === '\r' && text[index + 1] === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      index += 1;
    } else field += char;
  }
  return rows;
}

describe('RECONCILE_SCHEDULE', () => {
  test('unset means no scheduled run; a valid NCRONTAB is taken; anything else fails at start naming the setting', () => {
    expect(loadConfig(process.env).reconcile.schedule).toBeUndefined();
    expect(loadConfig({ ...process.env, RECONCILE_SCHEDULE: '0 0 2 * * *' }).reconcile.schedule).toBe('0 0 2 * * *');
    expect(() => loadConfig({ ...process.env, RECONCILE_SCHEDULE: 'every night' })).toThrow(/RECONCILE_SCHEDULE must be a six-field NCRONTAB/u);
  });
});
