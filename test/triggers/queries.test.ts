import { randomUUID } from 'node:crypto';
import { getServices } from '../../shared/services';
import type { TransferRecord, TransferStatus } from '../../shared/storage/types';
import { COMPANY_ID, useHarness } from './harness';

const harness = useHarness();
const get = (path: string) => fetch(`${harness.host().url}${path}`);

function transfer(customerId: string, minutesAgo: number, status: TransferStatus): TransferRecord {
  const finished = new Date(Date.now() - minutesAgo * 60_000);
  return {
    transferId: randomUUID(),
    customerId,
    customerNumber: '10000',
    source: 'poll',
    status,
    action: status === 'Succeeded' ? 'Updated' : status === 'Skipped' ? 'Filtered' : null,
    errorCode: status === 'Failed' ? 'MissingEmail' : null,
    errorMessage: status === 'Failed' ? 'The email field cannot be empty' : null,
    ipaasCustomerId: status === 'Succeeded' ? '4512' : null,
    addressesAdded: 0,
    attempt: 1,
    startedAt: new Date(finished.getTime() - 250).toISOString(),
    finishedAt: finished.toISOString(),
    durationMs: 250,
    warnings: [],
  };
}

async function seed(): Promise<{ customerId: string; other: string; records: TransferRecord[] }> {
  const customerId = randomUUID();
  const other = randomUUID();
  const records = [transfer(customerId, 30, 'Failed'), transfer(customerId, 10, 'Succeeded'), transfer(other, 20, 'Skipped'), transfer(customerId, 5, 'Failed')];
  for (const record of records) await getServices().storage.transfers.record(record);
  return { customerId, other, records };
}

describe('GET /api/customers/{id}/transfers', () => {
  test('newest first, only this customer', async () => {
    const { customerId, records } = await seed();
    const response = await get(`/api/customers/${customerId.toUpperCase()}/transfers`);
    expect(response.status).toBe(200);
    const body = (await response.json()) as { customerId: string; transfers: TransferRecord[] };
    expect(body.customerId).toBe(customerId);
    expect(body.transfers.map((t) => t.transferId)).toEqual([records[3]!.transferId, records[1]!.transferId, records[0]!.transferId]);
    // A record written without a company (as before several companies existed) reads back as the configured one's.
    expect(body.transfers[0]).toEqual({ ...records[3], companyId: COMPANY_ID, companyName: COMPANY_ID });
  });

  test('limit is honoured', async () => {
    const { customerId, records } = await seed();
    const body = (await (await get(`/api/customers/${customerId}/transfers?limit=1`)).json()) as { transfers: TransferRecord[] };
    expect(body.transfers.map((t) => t.transferId)).toEqual([records[3]!.transferId]);
  });

  test('a customer without history → 200 with an empty list', async () => {
    const id = randomUUID();
    expect(await (await get(`/api/customers/${id}/transfers`)).json()).toEqual({ customerId: id, transfers: [] });
  });

  test.each(['not-a-guid', '42'])('a non-GUID id (%s) → 400', async (id) => {
    const response = await get(`/api/customers/${id}/transfers`);
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: { code: 'InvalidCustomerId', message: expect.stringContaining('GUID') } });
  });

  test.each(['0', '501', 'abc', '-1', '2.5', ''])('limit=%s → 400 naming limit', async (limit) => {
    const response = await get(`/api/customers/${randomUUID()}/transfers?limit=${limit}`);
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: { code: 'InvalidParameter', message: expect.stringContaining('limit') } });
  });
});

describe('GET /api/transfers', () => {
  test('recent transfers across customers, newest first', async () => {
    const { records } = await seed();
    const body = (await (await get('/api/transfers')).json()) as { transfers: TransferRecord[] };
    expect(body.transfers.map((t) => t.transferId)).toEqual([3, 1, 2, 0].map((index) => records[index]!.transferId));
  });

  test('status filter (case-insensitive) and limit', async () => {
    const { records } = await seed();
    const failed = (await (await get('/api/transfers?status=Failed')).json()) as { transfers: TransferRecord[] };
    expect(failed.transfers.map((t) => t.transferId)).toEqual([records[3]!.transferId, records[0]!.transferId]);
    const skipped = (await (await get('/api/transfers?status=skipped&limit=5')).json()) as { transfers: TransferRecord[] };
    expect(skipped.transfers.map((t) => t.transferId)).toEqual([records[2]!.transferId]);
    const limited = (await (await get('/api/transfers?limit=2')).json()) as { transfers: TransferRecord[] };
    expect(limited.transfers).toHaveLength(2);
  });

  test('pages with nextLink until every transfer was listed once, in order', async () => {
    const { records } = await seed();
    const seen: string[] = [];
    let link: string | null = '/api/transfers?limit=3';
    let pages = 0;
    while (link !== null) {
      const response = await get(link);
      expect(response.status).toBe(200);
      const body = (await response.json()) as { transfers: TransferRecord[]; nextLink: string | null };
      seen.push(...body.transfers.map((t) => t.transferId));
      link = body.nextLink;
      pages += 1;
      expect(pages).toBeLessThanOrEqual(2);
    }
    expect(seen).toEqual([3, 1, 2, 0].map((index) => records[index]!.transferId));
    expect(pages).toBe(2);
  });

  test('nextLink keeps the status filter and limit; an exact last page ends with nextLink null', async () => {
    const { records } = await seed();
    const first = (await (await get('/api/transfers?status=failed&limit=1')).json()) as { transfers: TransferRecord[]; nextLink: string | null };
    expect(first.transfers.map((t) => t.transferId)).toEqual([records[3]!.transferId]);
    expect(first.nextLink).toMatch(/^\/api\/transfers\?limit=1&status=Failed&continuationToken=[A-Za-z0-9_-]+$/u);
    const second = (await (await get(first.nextLink!)).json()) as { transfers: TransferRecord[]; nextLink: string | null };
    expect(second).toEqual({ transfers: [{ ...records[0], companyId: COMPANY_ID, companyName: COMPANY_ID }], nextLink: null });
    const exact = (await (await get('/api/transfers?limit=4')).json()) as { transfers: TransferRecord[]; nextLink: string | null };
    expect(exact.transfers).toHaveLength(4);
    expect(exact.nextLink).toBeNull();
  });

  test.each(['garbage!', 'eyJkIjoiMjAyNi0xMS0yNyJ9', Buffer.from('{"d":"2026-11-27","r":"\' or 1 eq 1"}').toString('base64url')])(
    'a continuation token this service did not issue (%s) → 400 InvalidContinuationToken',
    async (token) => {
      const response = await get(`/api/transfers?continuationToken=${encodeURIComponent(token)}`);
      expect(response.status).toBe(400);
      expect(await response.json()).toEqual({ error: { code: 'InvalidContinuationToken', message: expect.stringContaining('continuationToken') } });
    },
  );

  test.each([
    ['status=Bogus', 'status'],
    ['status=Succeeded,Failed', 'status'],
    ['limit=0', 'limit'],
    ['limit=1000', 'limit'],
    ['limit=ten', 'limit'],
  ])('%s → 400 naming %s', async (query, parameter) => {
    const response = await get(`/api/transfers?${query}`);
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('InvalidParameter');
    expect(body.error.message.startsWith(parameter)).toBe(true);
  });
});
