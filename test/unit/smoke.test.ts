import { setupServer } from 'msw/node';
import { http, HttpResponse } from 'msw';
import { TableClient } from '@azure/data-tables';

const server = setupServer(http.get('https://example.test/ping', () => HttpResponse.json({ pong: true })));
beforeAll(() => server.listen({ onUnhandledRequest: 'bypass' }));
afterAll(() => server.close());

test('msw and azurite work', async () => {
  const res = await fetch('https://example.test/ping');
  expect(await res.json()).toEqual({ pong: true });
  const table = TableClient.fromConnectionString(process.env.AzureWebJobsStorage!, 'Smoke', { allowInsecureConnection: true });
  await table.createTable();
  await table.upsertEntity({ partitionKey: 'p', rowKey: 'r', v: 1 });
  expect((await table.getEntity<{ v: number }>('p', 'r')).v).toBe(1);
});
