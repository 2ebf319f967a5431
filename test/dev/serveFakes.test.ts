import { http, HttpResponse } from 'msw';
import { serveFakes, type Exchange, type ServedFake } from '../../dev/fakes/serve';

/** The fakes over real sockets (the bench's product and the fault tests' hosts call them so). */
let served: ServedFake;
const seen: Exchange[] = [];
let dropNext = false;

beforeAll(async () => {
  served = await serveFakes({
    before: () => (dropNext ? ((dropNext = false), 'drop') : undefined),
    decide: (exchange) => {
      seen.push(exchange);
      return new URL(exchange.request.url).searchParams.has('late') ? { delayMs: 200 } : 'send';
    },
  });
  const origin = served.origin;
  served.setHandlers([
    http.get(`${origin}/items`, () => HttpResponse.json({ value: [1], nextLink: `${origin}/items?page=2` }, { headers: { Location: `${origin}/items/1` } })),
  ]);
});
afterAll(() => served.close());

test('a front answers as the server itself, with the server origin in answers turned into its own, and is told apart', async () => {
  const front = await served.addFront();
  expect(front).not.toBe(served.origin);
  const direct = await fetch(`${served.origin}/items`);
  expect(await direct.json()).toEqual({ value: [1], nextLink: `${served.origin}/items?page=2` });
  const viaFront = await fetch(`${front}/items`);
  expect(await viaFront.json()).toEqual({ value: [1], nextLink: `${front}/items?page=2` });
  expect(viaFront.headers.get('location')).toBe(`${front}/items/1`);
  // The fakes saw both at their own origin; decide() knows which front each came through.
  expect(seen.map((exchange) => [exchange.front, new URL(exchange.request.url).origin])).toEqual([
    [0, served.origin],
    [1, served.origin],
  ]);
});

test('a request before() drops never reaches the fakes; a late answer comes late but whole; no handler is a 404', async () => {
  const before = seen.length;
  dropNext = true;
  await expect(fetch(`${served.origin}/items`)).rejects.toThrow();
  expect(seen).toHaveLength(before);
  const late = await fetch(`${served.origin}/items?late`);
  expect((await late.json()) as unknown).toMatchObject({ value: [1] });
  expect((await fetch(`${served.origin}/nothing-here`)).status).toBe(404);
});
