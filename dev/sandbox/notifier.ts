import type { FakeBusinessCentral } from '../fakes/businessCentral';

export type ChangeType = 'created' | 'updated' | 'deleted';

export interface NotifierOptions {
  /** Business Central waits about 30 s after the first change before it notifies; the sandbox waits less. */
  delayMs: number;
  /** Business Central switches to one `collection` entry above this many changes in a window. */
  collectionThreshold?: number;
  deliver?: (url: string, init: RequestInit) => Promise<Response>;
  onDelivery?: (result: { url: string; status: number | 'error'; entries: number }) => void;
}

/**
 * Delivers webhook notifications for changes made in the fake Business Central the way the real one does:
 * after a delay, repeated updates of one entity merged, to every subscription on the customers resource,
 * with that subscription's clientState; above the threshold a single `collection` entry instead.
 */
export class ChangeNotifier {
  /** By company, then customer. */
  private pending = new Map<string, Map<string, { changeType: ChangeType; at: string }>>();
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> = Promise.resolve();
  private windowStart: string | undefined;

  constructor(
    private readonly bc: FakeBusinessCentral,
    private readonly options: NotifierOptions,
  ) {}

  /** A change of a customer of `companyId` (default: the fake's first company). */
  customerChanged(customerId: string, changeType: ChangeType, companyId?: string): void {
    const company = (companyId ?? this.bc.companies()[0]?.id ?? '').toLowerCase();
    const changes = this.pending.get(company) ?? new Map<string, { changeType: ChangeType; at: string }>();
    this.pending.set(company, changes);
    const previous = changes.get(customerId);
    // created then updated is still "created"; anything then deleted is "deleted"
    const merged: ChangeType = changeType === 'deleted' ? 'deleted' : previous?.changeType === 'created' ? 'created' : changeType;
    const at = new Date().toISOString();
    this.windowStart ??= at;
    changes.set(customerId, { changeType: merged, at });
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.inFlight = this.inFlight.then(() => this.deliverPending());
    }, this.options.delayMs);
  }

  /** Delivers what is pending now (tests and shutdown). */
  async flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
      this.inFlight = this.inFlight.then(() => this.deliverPending());
    }
    await this.inFlight;
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private async deliverPending(): Promise<void> {
    const pending = [...this.pending.entries()];
    const since = this.windowStart;
    this.pending.clear();
    this.windowStart = undefined;
    // One subscription per company: each company's changes go to its subscriptions.
    for (const [companyId, changes] of pending) await this.deliverCompany(companyId, [...changes.entries()], since);
  }

  private async deliverCompany(companyId: string, changes: Array<[string, { changeType: ChangeType; at: string }]>, since: string | undefined): Promise<void> {
    if (changes.length === 0) return;
    const resource = `/api/v2.0/companies(${companyId})/customers`;
    const subscriptions = this.bc.subscriptions().filter((subscription) => subscription.resource.replace(/^\//u, '') === resource.replace(/^\//u, ''));
    const threshold = this.options.collectionThreshold ?? 1000;
    const hasDelete = changes.some(([, change]) => change.changeType === 'deleted');
    for (const subscription of subscriptions) {
      const base = {
        subscriptionId: subscription.subscriptionId,
        clientState: subscription.clientState,
        expirationDateTime: subscription.expirationDateTime,
      };
      const entries =
        changes.length > threshold
          ? [
              {
                ...base,
                // With a delete among the changes Business Central sends the bare collection URL.
                resource: hasDelete ? resource : `${resource}?$filter=lastModifiedDateTime%20gt%20${since ?? new Date(0).toISOString()}`,
                changeType: 'collection',
                lastModifiedDateTime: new Date().toISOString(),
              },
            ]
          : changes.map(([customerId, change]) => ({
              ...base,
              resource: `${resource}(${customerId})`,
              changeType: change.changeType,
              lastModifiedDateTime: change.at,
            }));
      const deliver = this.options.deliver ?? ((url: string, init: RequestInit) => fetch(url, init));
      let status: number | 'error' = 'error';
      try {
        const response = await deliver(subscription.notificationUrl, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', clientRequestId: crypto.randomUUID(), 'x-ms-correlation-id': crypto.randomUUID() },
          body: JSON.stringify({ value: entries }),
        });
        status = response.status;
        await response.arrayBuffer();
      } catch {
        status = 'error';
      }
      this.options.onDelivery?.({ url: subscription.notificationUrl, status, entries: entries.length });
    }
  }
}
