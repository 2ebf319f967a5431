import { randomBytes, randomUUID } from 'node:crypto';
import { HttpResponse } from 'msw';
import { z } from 'zod';
import { badRequest, bcJson, BcHttpError, etag, type RowVersions } from './http';

/**
 * Webhook subscriptions of one environment, as Business Central keeps them: created and renewed only after
 * the notification URL answers the handshake, renewed and deleted only with the current ETag, at most 200,
 * gone without notice three days after the last renewal.
 */

export interface FakeBcSubscription {
  '@odata.etag': string;
  subscriptionId: string;
  notificationUrl: string;
  resource: string;
  userId: string;
  lastModifiedDateTime: string;
  clientState: string;
  expirationDateTime: string;
}

export interface SubscriptionOptions {
  /** `{base}/{tenant}/{environment}/api/v2.0` */
  root: string;
  /** The first company (whose `customersResource` this registry names). */
  companyId: string;
  /** Whether a company of the environment has this id (subscriptions name any of them in `resource`). */
  companyExists?: (companyId: string) => boolean;
  now: () => Date;
  rowVersions: RowVersions;
  /** Sends the handshake; global fetch by default, so msw handlers or a local server can answer it. */
  deliver?: (url: string, init: RequestInit) => Promise<Response>;
  /** Business Central expects the handshake answer within seconds. */
  handshakeTimeoutMs?: number;
  /** The service principal's user id reported on subscriptions. */
  userId?: string;
  /** Status for a stale If-Match (see FakeBusinessCentralOptions). */
  staleEtagStatus?: 409 | 412;
}

export const MAX_SUBSCRIPTIONS = 200;
const SUBSCRIPTION_LIFETIME_MS = 3 * 24 * 60 * 60 * 1000;

const subscriptionBodySchema = z.strictObject({
  // Read-only properties clients echo back (the documentation's own examples do) are accepted and ignored.
  '@odata.etag': z.string().optional(),
  subscriptionId: z.string().optional(),
  userId: z.string().optional(),
  lastModifiedDateTime: z.string().optional(),
  expirationDateTime: z.string().optional(),
  notificationUrl: z.string().optional(),
  resource: z.string().optional(),
  clientState: z.string().max(2048).optional(),
});

interface StoredSubscription {
  entity: Omit<FakeBcSubscription, '@odata.etag'>;
  rowVersion: number;
}

export class SubscriptionRegistry {
  /** Handshakes sent to notification URLs, with their outcome. */
  readonly handshakes: Array<{ url: string; ok: boolean }> = [];
  private readonly rows = new Map<string, StoredSubscription>();
  /** Creates waiting for their handshake, counted against the limit so concurrent creates cannot overshoot it. */
  private pendingCreates = 0;
  private readonly deliver: (url: string, init: RequestInit) => Promise<Response>;
  private readonly userId: string;

  constructor(private readonly options: SubscriptionOptions) {
    this.deliver = options.deliver ?? ((url, init) => globalThis.fetch(url, init));
    this.userId = options.userId ?? randomUUID();
  }

  /** The `resource` value of a subscription to this company's customers. */
  get customersResource(): string {
    return `/api/v2.0/companies(${this.options.companyId})/customers`;
  }

  /** Live subscriptions (expired ones are gone, as Business Central deletes them silently). */
  all(): FakeBcSubscription[] {
    this.purgeExpired();
    return [...this.rows.values()].map((stored) => this.withEtag(stored));
  }

  /** Removes a subscription without telling anyone, as Business Central does on expiry or failed deliveries. */
  expire(subscriptionId: string): boolean {
    return this.rows.delete(subscriptionId);
  }

  purgeExpired(): void {
    const now = this.options.now().getTime();
    for (const [id, stored] of this.rows) {
      if (Date.parse(stored.entity.expirationDateTime) <= now) this.rows.delete(id);
    }
  }

  // ---------------------------------------------------------------- over HTTP

  listResponse(): Response {
    return bcJson(200, {
      '@odata.context': `${this.options.root}/$metadata#subscriptions`,
      value: [...this.rows.values()].map((stored) => this.withEtag(stored)),
    });
  }

  getResponse(id: string): Response {
    return bcJson(200, this.body(this.find(id)));
  }

  async create(request: Request): Promise<Response> {
    const body = await readSubscriptionBody(request);
    if (body.notificationUrl === undefined) throw badRequest("The property 'notificationUrl' is required.");
    if (body.resource === undefined) throw badRequest("The property 'resource' is required.");
    const notificationUrl = checkNotificationUrl(body.notificationUrl);
    const resource = this.checkResource(body.resource);
    if (this.rows.size + this.pendingCreates >= MAX_SUBSCRIPTIONS) {
      throw badRequest(`The maximum number of subscriptions (${MAX_SUBSCRIPTIONS}) has been reached for this environment.`);
    }
    this.pendingCreates += 1;
    try {
      await this.handshake(notificationUrl);
    } finally {
      this.pendingCreates -= 1;
    }
    const now = this.options.now();
    const entity: Omit<FakeBcSubscription, '@odata.etag'> = {
      subscriptionId: randomBytes(16).toString('hex'),
      notificationUrl,
      resource,
      userId: this.userId,
      lastModifiedDateTime: isoSeconds(now),
      clientState: body.clientState ?? '',
      expirationDateTime: isoSeconds(new Date(now.getTime() + SUBSCRIPTION_LIFETIME_MS)),
    };
    const stored = { entity, rowVersion: this.options.rowVersions.next() };
    this.rows.set(entity.subscriptionId, stored);
    return bcJson(201, this.body(stored));
  }

  async renew(request: Request, id: string): Promise<Response> {
    const stored = this.find(id);
    this.checkIfMatch(request, stored.rowVersion, stored.entity.subscriptionId);
    const body = await readSubscriptionBody(request);
    const notificationUrl = body.notificationUrl === undefined ? stored.entity.notificationUrl : checkNotificationUrl(body.notificationUrl);
    const resource = body.resource === undefined ? stored.entity.resource : this.checkResource(body.resource);
    // The handshake is repeated on every renewal.
    await this.handshake(notificationUrl);
    const now = this.options.now();
    const renewed = {
      entity: {
        ...stored.entity,
        notificationUrl,
        resource,
        clientState: body.clientState ?? stored.entity.clientState,
        lastModifiedDateTime: isoSeconds(now),
        expirationDateTime: isoSeconds(new Date(now.getTime() + SUBSCRIPTION_LIFETIME_MS)),
      },
      rowVersion: this.options.rowVersions.next(),
    };
    this.rows.set(id, renewed);
    return bcJson(200, this.body(renewed));
  }

  delete(request: Request, id: string): Response {
    const stored = this.find(id);
    this.checkIfMatch(request, stored.rowVersion, stored.entity.subscriptionId);
    this.rows.delete(id);
    return new HttpResponse(null, { status: 204 });
  }

  private find(id: string): StoredSubscription {
    const stored = this.rows.get(id);
    if (!stored) throw new BcHttpError(404, 'Internal_RecordNotFound', `The Subscription does not exist. Identification fields and values: Subscription Id='${id}'`);
    return stored;
  }

  private checkIfMatch(request: Request, rowVersion: number, key: string): void {
    const ifMatch = request.headers.get('if-match');
    if (!ifMatch) {
      throw new BcHttpError(400, 'BadRequest_InvalidToken', 'Could not validate the client concurrency token required by the service. Please provide a valid token in the client request.');
    }
    if (ifMatch.trim() === '*' || ifMatch.trim() === etag(key, rowVersion)) return;
    throw new BcHttpError(this.options.staleEtagStatus ?? 409, 'Request_EntityChanged', 'Another user has already changed the record.');
  }

  /** Accepts the forms Business Central accepts (absolute, `/api/v2.0/...`, `api/v2.0/...`, `companies(...)/...`) and stores the canonical one. */
  private checkResource(resource: string): string {
    let path = resource.trim();
    if (/^https?:\/\//iu.test(path)) {
      const environmentRoot = this.options.root.slice(0, -'/api/v2.0'.length);
      if (!path.toLowerCase().startsWith(`${environmentRoot.toLowerCase()}/`)) throw badRequest(`The resource '${resource}' is not valid for this environment.`);
      path = path.slice(environmentRoot.length);
    }
    path = path.replace(/^\/+/u, '');
    if (!path.startsWith('api/v2.0/')) path = `api/v2.0/${path}`;
    const match = /^api\/v2\.0\/companies\(([^)]*)\)\/([A-Za-z]+)$/u.exec(path);
    if (!match) throw badRequest(`The resource '${resource}' is not a valid subscription resource.`);
    const companyId = match[1]!.replace(/^'|'$/gu, '').toLowerCase();
    const exists = this.options.companyExists ? this.options.companyExists(companyId) : companyId === this.options.companyId;
    if (!exists) throw badRequest(`The company in resource '${resource}' does not exist.`);
    if (match[2] !== 'customers') throw badRequest(`Subscriptions to '${match[2]!}' are not supported by this fake.`);
    return `/api/v2.0/companies(${companyId})/customers`;
  }

  /** Business Central calls `notificationUrl?validationToken=...` and requires 200 with the token as the body. */
  private async handshake(notificationUrl: string): Promise<void> {
    const validationToken = randomBytes(24).toString('base64url');
    const url = new URL(notificationUrl);
    url.searchParams.set('validationToken', validationToken);
    let ok = false;
    try {
      const response = await this.deliver(url.toString(), { method: 'POST', signal: AbortSignal.timeout(this.options.handshakeTimeoutMs ?? 5_000) });
      ok = response.status === 200 && (await response.text()) === validationToken;
    } catch {
      ok = false;
    }
    this.handshakes.push({ url: notificationUrl, ok });
    if (!ok) throw badRequest('The notification URL could not be validated: the handshake did not return the validation token with status 200.');
  }

  private withEtag(stored: StoredSubscription): FakeBcSubscription {
    return { '@odata.etag': etag(stored.entity.subscriptionId, stored.rowVersion), ...stored.entity };
  }

  private body(stored: StoredSubscription): Record<string, unknown> {
    return { '@odata.context': `${this.options.root}/$metadata#subscriptions/$entity`, ...this.withEtag(stored) };
  }
}

async function readSubscriptionBody(request: Request): Promise<z.infer<typeof subscriptionBodySchema>> {
  let json: unknown;
  try {
    json = JSON.parse(await request.text());
  } catch {
    throw badRequest('The request body is not valid JSON.');
  }
  const parsed = subscriptionBodySchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw badRequest(`Invalid subscription: ${issue ? `${issue.path.join('.') || 'body'} ${issue.message}` : 'invalid body'}.`);
  }
  return parsed.data;
}

function checkNotificationUrl(value: string): string {
  if (!URL.canParse(value)) throw badRequest(`The notification URL is not a valid absolute URL.`);
  const url = new URL(value);
  const local = ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && local)) throw badRequest('The notification URL must use https.');
  return value;
}

function isoSeconds(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/u, 'Z');
}
