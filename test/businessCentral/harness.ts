import { http, HttpResponse, type RequestHandler } from 'msw';
import type { SetupServerApi } from 'msw/node';
import { createBusinessCentralClient, type BusinessCentralClientOptions } from '../../shared/businessCentral/client';
import type { BusinessCentralApi } from '../../shared/businessCentral/types';
import { loadConfig, type Config } from '../../shared/config';
import { FakeBusinessCentral, type FakeBusinessCentralOptions } from '../../dev/fakes/businessCentral';
import { FakeEntraId } from '../../dev/fakes/entraId';

export const NOTIFICATION_URL = 'https://sync.test/api/webhooks/business-central';

/** A webhook endpoint that answers the handshake correctly and remembers each validation token. */
export function webhookEndpoint(): { handler: RequestHandler; tokens: string[]; methods: string[] } {
  const tokens: string[] = [];
  const methods: string[] = [];
  const handler = http.all(NOTIFICATION_URL, ({ request }) => {
    const token = new URL(request.url).searchParams.get('validationToken');
    methods.push(request.method);
    if (token === null) return new HttpResponse(null, { status: 202 });
    tokens.push(token);
    return new HttpResponse(token, { status: 200, headers: { 'Content-Type': 'text/plain' } });
  });
  return { handler, tokens, methods };
}

export interface Harness {
  config: Config;
  entra: FakeEntraId;
  bc: FakeBusinessCentral;
  webhook: ReturnType<typeof webhookEndpoint>;
  clock: { now: Date };
  sleep: jest.Mock<Promise<void>, [number]>;
  client(overrides?: {
    businessCentral?: Partial<Config['businessCentral']>;
    http?: Partial<Config['http']>;
    options?: BusinessCentralClientOptions;
  }): BusinessCentralApi;
}

/** Fresh fakes behind the test file's msw server, replacing the previous test's handlers. */
export function harness(server: SetupServerApi, fakeOptions: Partial<FakeBusinessCentralOptions> = {}, extraHandlers: RequestHandler[] = []): Harness {
  const config = loadConfig(process.env);
  const bcConfig = config.businessCentral;
  const clock = { now: new Date('2026-11-25T08:00:00.000Z') };
  const entra = new FakeEntraId({
    authorityHost: bcConfig.authorityHost,
    tenantId: bcConfig.tenantId,
    clientId: bcConfig.clientId,
    clientSecret: bcConfig.clientSecret,
    // Real time: the credential caches tokens by the real clock, whatever the fake service's clock says.
  });
  const bc = new FakeBusinessCentral({
    apiBaseUrl: bcConfig.apiBaseUrl,
    tenantId: bcConfig.tenantId,
    environment: bcConfig.environment,
    companyId: bcConfig.companyId,
    entra,
    now: () => clock.now,
    ...fakeOptions,
  });
  const webhook = webhookEndpoint();
  server.resetHandlers(...entra.handlers, ...bc.handlers, webhook.handler, ...extraHandlers);
  const sleep = jest.fn((_ms: number) => Promise.resolve());
  return {
    config,
    entra,
    bc,
    webhook,
    clock,
    sleep,
    client: (overrides = {}) =>
      createBusinessCentralClient(
        { ...bcConfig, ...overrides.businessCentral },
        { ...config.http, ...overrides.http },
        { sleep, ...overrides.options },
      ),
  };
}

/** Collects every page of an async iterable. */
export async function collect<T>(pages: AsyncIterable<T[]>): Promise<T[][]> {
  const result: T[][] = [];
  for await (const page of pages) result.push(page);
  return result;
}

/** The error a promise rejects with (fails the test when it resolves). */
export async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the promise to reject');
}

/** A token from the fake authority, for raw requests to the fake service. */
export async function tokenFrom(config: Config, scope = 'https://api.businesscentral.dynamics.com/.default'): Promise<string> {
  const { authorityHost, tenantId, clientId, clientSecret } = config.businessCentral;
  const response = await fetch(`${authorityHost}/${tenantId}/oauth2/v2.0/token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret, scope }).toString(),
  });
  const body = (await response.json()) as { access_token?: string };
  if (!body.access_token) throw new Error(`no token: ${response.status}`);
  return body.access_token;
}
