import { setupServer, type SetupServerApi } from 'msw/node';
import type { RequestHandler } from 'msw';

/**
 * An msw server for a test file: unhandled requests to the loopback address (Azurite) pass through,
 * anything else is an error so a test can never reach a real service by accident.
 */
export function startMockServer(...handlers: RequestHandler[]): SetupServerApi {
  const server = setupServer(...handlers);
  beforeAll(() =>
    server.listen({
      onUnhandledRequest(request, print) {
        const { hostname } = new URL(request.url);
        if (hostname === '127.0.0.1' || hostname === 'localhost') return;
        print.error();
      },
    }),
  );
  afterAll(() => server.close());
  return server;
}
