import { SyncError } from '../errors';
import type { HttpRequest, HttpResponse } from '../http/httpClient';
import { parseReply, unexpected404 } from './errors';
import { listPageSchema } from './paging';
import { odataString } from './odata';
import { bcSubscriptionSchema, type BcSubscription } from './types';

/** The environment's webhook subscriptions (`{apiRoot}/subscriptions`): list, create, renew, delete. */
export class BusinessCentralSubscriptions {
  constructor(
    private readonly send: (request: HttpRequest) => Promise<HttpResponse>,
    /** `{environmentRoot}/api/v2.0` */
    private readonly apiRoot: string,
  ) {}

  async list(): Promise<BcSubscription[]> {
    const url = `${this.apiRoot}/subscriptions`;
    const response = await this.send({ method: 'GET', url });
    if (response.status === 404) throw unexpected404('GET', url, response);
    const page = parseReply(listPageSchema, response.body, 'GET subscriptions returned a body that');
    return page.value.map((item, index) => parseReply(bcSubscriptionSchema, item, `GET subscriptions item ${index}`));
  }

  async create(input: { notificationUrl: string; resource: string; clientState: string }): Promise<BcSubscription> {
    const url = `${this.apiRoot}/subscriptions`;
    const response = await this.send({ method: 'POST', url, body: subscriptionBody(input) });
    if (response.status === 404) throw unexpected404('POST', url, response);
    return parseReply(bcSubscriptionSchema, response.body, 'POST subscriptions returned a subscription that');
  }

  async renew(subscription: BcSubscription): Promise<BcSubscription> {
    const url = this.subscriptionUrl(subscription.subscriptionId);
    // Business Central renews on PATCH (with a new handshake); sending the same values keeps them unchanged.
    const response = await this.send({
      method: 'PATCH',
      url,
      headers: { 'If-Match': subscription['@odata.etag'] },
      body: renewalBody(subscription),
    });
    if (response.status === 404) {
      throw new SyncError('BusinessCentralError', 'Business Central subscription no longer exists (expired or deleted)', { transient: false, status: 404 });
    }
    return parseReply(bcSubscriptionSchema, response.body, 'PATCH subscriptions returned a subscription that');
  }

  async delete(subscription: BcSubscription): Promise<void> {
    const url = this.subscriptionUrl(subscription.subscriptionId);
    // A 404 means it is already gone, which is what the caller wants.
    await this.send({ method: 'DELETE', url, headers: { 'If-Match': subscription['@odata.etag'] } });
  }

  /** The key is an Edm.String: quoted, quotes doubled, then percent-encoded as a path segment. */
  private subscriptionUrl(subscriptionId: string): string {
    return `${this.apiRoot}/subscriptions(${encodeURIComponent(odataString(subscriptionId))})`;
  }
}

function subscriptionBody(input: { notificationUrl: string; resource: string; clientState: string }): Record<string, string> {
  return { notificationUrl: input.notificationUrl, resource: input.resource, clientState: input.clientState };
}

/** Omitted properties keep their values: an empty clientState (not returned by the service) must not erase the secret. */
function renewalBody(subscription: BcSubscription): Record<string, string> {
  const body = subscriptionBody(subscription);
  if (subscription.clientState === '') delete body.clientState;
  return body;
}
