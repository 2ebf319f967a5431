import path from 'node:path';
import type { RequestHandler } from 'msw';
import { FakeBusinessCentral } from '../../dev/fakes/businessCentral';
import { FakeEntraId } from '../../dev/fakes/entraId';
import { startLocalHost, type LocalHost } from '../../dev/host/localHost';
import { resetServices } from '../../shared/services';
import { decodeMessage } from '../../shared/storage';
import { startMockServer } from '../support/msw';
import { TEST_SETTINGS } from '../support/settings';
import { countMessages, queue, resetAllStorage } from '../support/storage';

export { countMessages, queue, resetAllStorage };

export const ROOT = path.resolve(__dirname, '../..');
export const COMPANY_ID = TEST_SETTINGS.BC_COMPANY_ID;
export const CLIENT_STATE = TEST_SETTINGS.WEBHOOK_CLIENT_STATE;
export const WEBHOOK_PATH = '/api/webhooks/business-central';
export function createFakes(options: { now?: () => Date } = {}): { entra: FakeEntraId; bc: FakeBusinessCentral } {
  const entra = new FakeEntraId({
    authorityHost: TEST_SETTINGS.AZURE_AUTHORITY_HOST,
    tenantId: TEST_SETTINGS.BC_TENANT_ID,
    clientId: TEST_SETTINGS.BC_CLIENT_ID,
    clientSecret: TEST_SETTINGS.BC_CLIENT_SECRET,
  });
  const bc = new FakeBusinessCentral({
    apiBaseUrl: TEST_SETTINGS.BC_API_BASE_URL,
    tenantId: TEST_SETTINGS.BC_TENANT_ID,
    environment: TEST_SETTINGS.BC_ENVIRONMENT,
    companyId: TEST_SETTINGS.BC_COMPANY_ID,
    entra,
    ...(options.now ? { now: options.now } : {}),
  });
  return { entra, bc };
}

export interface Harness {
  entra: FakeEntraId;
  bc: FakeBusinessCentral;
  host: () => LocalHost;
}

/** msw with the fakes, the local Functions host serving every registration (queues and timers driven by hand), clean storage per test. */
export function useHarness(options: { now?: () => Date; handlers?: RequestHandler[] } = {}): Harness {
  const fakes = createFakes(options);
  startMockServer(...fakes.entra.handlers, ...fakes.bc.handlers, ...(options.handlers ?? []));
  let host: LocalHost | undefined;
  beforeAll(async () => {
    resetServices();
    host = await startLocalHost({ root: ROOT, port: 0, listen: { queues: false, timers: false }, log: () => {} });
  });
  afterAll(async () => {
    await host?.stop();
  });
  beforeEach(async () => {
    await resetAllStorage();
    fakes.bc.faults.clear();
    for (const customer of fakes.bc.customers()) fakes.bc.deleteCustomer(customer.id);
    for (const subscription of fakes.bc.subscriptions()) fakes.bc.expireSubscription(subscription.subscriptionId);
    fakes.bc.resetRequests();
  });
  return {
    ...fakes,
    host: () => {
      if (!host) throw new Error('the local host is not started');
      return host;
    },
  };
}

/** Takes every message off a queue (received and deleted), decoded as the trigger would see it. */
export async function takeMessages(name: string): Promise<unknown[]> {
  const client = queue(name);
  const messages: unknown[] = [];
  for (;;) {
    const { receivedMessageItems } = await client.receiveMessages({ numberOfMessages: 32, visibilityTimeout: 60 });
    if (receivedMessageItems.length === 0) return messages;
    for (const item of receivedMessageItems) messages.push(decodeMessage(item.messageText));
    await Promise.all(receivedMessageItems.map((item) => client.deleteMessage(item.messageId, item.popReceipt)));
  }
}

export function notificationEntry(resource: string, changeType: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    subscriptionId: 'webhookCustomersId',
    clientState: CLIENT_STATE,
    expirationDateTime: '2026-11-28T12:50:30Z',
    resource,
    changeType,
    lastModifiedDateTime: new Date().toISOString(),
    ...overrides,
  };
}

export const customerResource = (customerId: string, companyId: string = COMPANY_ID): string => `api/v2.0/companies(${companyId})/customers(${customerId})`;
export const collectionResource = (query = '', companyId: string = COMPANY_ID): string => `/api/v2.0/companies(${companyId})/customers${query}`;

export async function postJson(host: LocalHost, route: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${host.url}${route}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}
