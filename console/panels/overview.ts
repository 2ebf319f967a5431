/** Overview: health, the webhook subscription and polling (one row per company with several), services on hold. */
import { NotAvailableError, type CompanyStatus, type Health } from '../api';
import { byId, h, renderInto, timeElement, type Child } from '../dom';
import { companies, severalCompanies, state } from '../state';
import { card, describe, scheduleElement, statusBadge } from '../views';

interface HealthCheckView {
  name: string;
  status: string;
  message: string | null;
}

const checksOf = (health: Health | undefined): HealthCheckView[] =>
  Array.isArray(health?.checks)
    ? (health.checks as unknown[]).filter((check): check is HealthCheckView => typeof check === 'object' && check !== null && typeof (check as HealthCheckView).name === 'string')
    : [];

/** Health details of any deployment: its checks, `failing` parts, or other lists of objects. */
function healthDetails(health: Health): Child[] {
  const out: Child[] = [];
  const checks = checksOf(health);
  if (checks.length > 0) {
    out.push(
      h(
        'ul',
        { class: 'details checks', 'data-health-list': 'checks' },
        checks.map((check) => h('li', { 'data-check': check.name }, statusBadge(check.status), ' ', h('strong', {}, check.name), check.message ? h('div', { class: 'message' }, check.message) : null)),
      ),
    );
  }
  for (const [key, value] of Object.entries(health)) {
    // Checks are listed above; services on hold have their own card.
    if (key === 'status' || key === 'checks' || key === 'onHold') continue;
    if (Array.isArray(value) && value.length > 0) {
      out.push(
        h('p', { class: 'detail-title' }, key === 'failing' ? 'Failing' : key.replace(/([a-z])([A-Z])/gu, '$1 $2').replace(/^./u, (c) => c.toUpperCase())),
        h(
          'ul',
          { class: 'details', 'data-health-list': key },
          value.map((entry) =>
            h(
              'li',
              {},
              typeof entry === 'object' && entry !== null
                ? Object.entries(entry as Record<string, unknown>)
                    .filter(([, v]) => v !== null && v !== undefined && typeof v !== 'object')
                    .map(([k, v], index) => [index > 0 ? ' · ' : '', h('span', { class: 'k' }, `${k}: `), /At$|since/iu.test(k) && typeof v === 'string' ? timeElement(v, true) : String(v)])
                : String(entry),
            ),
          ),
        ),
      );
    }
  }
  return out;
}

/** Services on hold, when the deployment's health reports them (a list of services or of on-hold entries). */
function onHoldOf(health: Health | undefined): Array<Record<string, unknown>> {
  if (!health) return [];
  // The health report's own list (service, reason, since, nextAttemptAt, lastError, action) when it has one.
  if (Array.isArray(health.onHold)) return (health.onHold as unknown[]).filter((entry): entry is Record<string, unknown> => typeof entry === 'object' && entry !== null);
  // Else degraded checks are services whose work is held (the remote services; settings and storage make it "down").
  const degraded = checksOf(health)
    .filter((check) => check.status === 'degraded')
    .map((check) => ({ ...check, service: check.name, reason: check.message }) as Record<string, unknown>);
  if (degraded.length > 0) return degraded;
  const candidates = [health.onHold, health.servicesOnHold, health.services, health.outages];
  for (const candidate of candidates) {
    if (Array.isArray(candidate)) {
      return candidate.filter((entry): entry is Record<string, unknown> => {
        if (typeof entry !== 'object' || entry === null) return false;
        const record = entry as Record<string, unknown>;
        return record.onHold === true || /hold|degraded|down|open/iu.test(String(record.state ?? record.status ?? 'onHold'));
      });
    }
  }
  return [];
}

export function renderOverview(): void {
  const { health, status } = state;
  const healthCard = card(
    'Health',
    'card-health',
    health.value ? h('p', {}, statusBadge(health.value.status)) : h('p', { class: 'error' }, describe(health.error)),
    health.value ? healthDetails(health.value) : null,
  );
  const s = status.value;
  const subscription = s?.subscription;
  const shown = severalCompanies() ? companies().filter((company) => !state.company || company.companyId === state.company) : [];
  const subscriptionCard = shown.length > 0 ? companiesSubscriptionCard(shown, subscription?.managed ?? false, subscription?.schedule ?? '') : card(
    'Webhook subscription',
    'card-subscription',
    !s
      ? h('p', { class: status.error instanceof NotAvailableError ? 'muted' : 'error' }, describe(status.error))
      : subscription?.current
        ? h(
            'dl',
            {},
            h('dt', {}, 'Expires'),
            h('dd', { 'data-field': 'expiry' }, timeElement(subscription.current.expirationDateTime, true)),
            h('dt', {}, 'Last renewal'),
            h('dd', { 'data-field': 'renewed' }, timeElement(subscription.current.lastRenewedAt, true)),
            h('dt', {}, 'Id'),
            h('dd', { class: 'mono' }, subscription.current.subscriptionId),
            h('dt', {}, 'Checked'),
            h('dd', { 'data-field': 'subscription-schedule' }, scheduleElement(subscription.schedule)),
          )
        : h('p', { class: 'muted' }, subscription?.managed ? 'No subscription recorded yet; the subscription timer creates it.' : 'Not managed: WEBHOOK_NOTIFICATION_URL is not set, so changes arrive by polling only.'),
  );
  const pollCard = shown.length > 0 ? companiesPollCard(shown, s?.poll.schedule ?? '') : card(
    'Polling',
    'card-poll',
    s
      ? h(
          'dl',
          {},
          h('dt', {}, 'Watermark'),
          h('dd', { 'data-field': 'watermark' }, s.poll.watermark ? timeElement(s.poll.watermark, true) : 'none yet (the first poll is a full load)'),
          h('dt', {}, 'Schedule'),
          h('dd', { 'data-field': 'poll-schedule' }, scheduleElement(s.poll.schedule)),
        )
      : h('p', { class: 'muted' }, describe(status.error)),
  );
  const onHold = onHoldOf(health.value).filter((entry) => !state.company || !entry.companyId || entry.companyId === state.company);
  const holdCard = card(
    'Services on hold',
    'card-hold',
    onHold.length === 0
      ? h('p', {}, h('span', { class: 'badge badge-ok' }, 'none'), health.value && health.value.status === 'degraded' ? ' (health is degraded: see Health)' : '')
      : h(
          'ul',
          { class: 'details' },
          onHold.map((entry) =>
            h(
              'li',
              {},
              h('strong', {}, String(entry.service ?? entry.name ?? 'service')),
              entry.reason ? [' ', h('span', { class: 'badge badge-warn' }, String(entry.reason))] : '',
              entry.since ? [' since ', timeElement(String(entry.since), true)] : '',
              entry.lastError || entry.message ? h('div', { class: 'message' }, String(entry.lastError ?? entry.message)) : '',
              entry.action || entry.hint ? h('div', { class: 'hint' }, String(entry.action ?? entry.hint)) : '',
              entry.nextAttemptAt ? h('div', { class: 'muted' }, 'Next attempt ', timeElement(String(entry.nextAttemptAt), true)) : '',
            ),
          ),
        ),
    s ? h('p', { class: 'muted' }, `Queued: ${s.queues.sync ?? '?'} · poison: ${s.queues.poison ?? '?'}`) : null,
  );
  renderInto(
    byId('overview-body'),
    JSON.stringify({ h: health.value ?? describe(health.error), s: s ?? describe(status.error), c: state.company, minute: Math.floor(Date.now() / 60_000) }),
    healthCard,
    subscriptionCard,
    pollCard,
    holdCard,
  );
}

/** A row per company, its name first, then what `details` says of it (the subscription and polling cards). */
function companyList(shown: CompanyStatus[], details: (company: CompanyStatus) => Child[]): HTMLElement {
  return h('ul', { class: 'details companies' }, shown.map((company) => h('li', { 'data-company': company.companyId }, h('strong', {}, company.companyName), ...details(company))));
}

/** One subscription per company: a row each, with the last check's failure when there is one. */
function companiesSubscriptionCard(shown: CompanyStatus[], managed: boolean, schedule: string): HTMLElement {
  return card(
    shown.length === 1 ? 'Webhook subscription' : 'Webhook subscriptions',
    'card-subscription',
    managed ? null : h('p', { class: 'muted' }, 'Not managed: WEBHOOK_NOTIFICATION_URL is not set, so changes arrive by polling only.'),
    companyList(shown, (company) => [
      company.subscription
        ? [' expires ', timeElement(company.subscription.expirationDateTime, true), h('div', { class: 'muted' }, 'renewed ', timeElement(company.subscription.lastRenewedAt, true), ' · ', h('span', { class: 'mono' }, company.subscription.subscriptionId))]
        : h('div', { class: 'muted' }, managed ? 'No subscription recorded yet; the subscription timer creates it.' : 'none'),
      company.lastSubscriptionCheck?.outcome === 'Failed' ? h('div', { class: 'message' }, `Last check failed: ${company.lastSubscriptionCheck.error ?? ''}`) : null,
    ]),
    schedule ? h('p', { class: 'muted', 'data-field': 'subscription-schedule' }, 'Checked: ', scheduleElement(schedule)) : null,
  );
}

/** One watermark per company; a company whose poll fails (deleted: 404, not permitted: 403) says so. */
function companiesPollCard(shown: CompanyStatus[], schedule: string): HTMLElement {
  return card(
    'Polling',
    'card-poll',
    companyList(shown, (company) => [
      ' ',
      h('span', { 'data-field': 'watermark' }, company.watermark ? timeElement(company.watermark, true) : 'none yet (the first poll is a full load)'),
      company.lastPoll?.outcome === 'Failed'
        ? h(
            'div',
            { class: 'message', 'data-poll-failed': String(company.lastPoll.status ?? '') },
            statusBadge('Failed'),
            ` since ${company.lastPoll.failingSince ?? company.lastPoll.at}${company.lastPoll.status ? ` (HTTP ${company.lastPoll.status})` : ''}: `,
            company.lastPoll.status === 404
              ? 'Business Central does not know this company (deleted, or a wrong id in BC_COMPANIES).'
              : company.lastPoll.status === 403
                ? 'the app registration may not read this company: give it permissions there.'
                : (company.lastPoll.error ?? ''),
          )
        : null,
    ]),
    schedule ? h('p', { class: 'muted', 'data-field': 'poll-schedule' }, 'Schedule: ', scheduleElement(schedule)) : null,
  );
}
