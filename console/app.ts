/**
 * The operator console: one page that polls the function app's own routes (health, status, transfers) and
 * acts through them (manual sync, dry run, replay, reconciliation). Plain TypeScript and the DOM, compiled by
 * esbuild into one script; everything it loads comes from the function app itself.
 */
import * as z from 'zod/mini';
import {
  ApiError,
  createApi,
  customerHistorySchema,
  functionKey,
  healthSchema,
  NotAvailableError,
  queuedSchema,
  reconciliationSchema,
  reconciliationStartSchema,
  replayResultSchema,
  setFunctionKey,
  statusSchema,
  syncPlanSchema,
  transferPageSchema,
  type CompanyStatus,
  type CustomerHistory,
  type FieldChange,
  type Health,
  type Reconciliation,
  type SyncPlan,
  type SyncStatus,
  type Transfer,
} from './api';
import { bucketByHour, STATUSES, transferChart } from './chart';
import { byId, formatTime, h, renderInto, timeElement, type Child } from './dom';
import { resolutionOf } from './resolutions';

const REFRESH_MS = 15_000;
const DAY_MS = 24 * 3_600_000;
/** Pages of 500 transfers read for the last 24 hours at most (the chart says so when it is cut short). */
const MAX_PAGES = 10;
const PAGE_SIZE = 500;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/iu;

const apiBase = document.querySelector<HTMLMetaElement>('meta[name="api-base"]')?.content || '/api';
const api = createApi(apiBase);

interface Loaded<T> {
  value?: T;
  error?: Error;
}

interface Recent {
  transfers: Transfer[];
  /** Fewer than all transfers of the last 24 hours were read. */
  truncated: boolean;
}

const state: {
  health: Loaded<Health>;
  status: Loaded<SyncStatus>;
  recent: Loaded<Recent>;
  /** customerId → customerNumber, from every transfer seen. */
  numbers: Map<string, string>;
  customer: CustomerHistory | null;
  firstRenderDone: boolean;
  /** The company every panel shows (its id), or null: all companies. */
  company: string | null;
} = { health: {}, status: {}, recent: {}, numbers: new Map(), customer: null, firstRenderDone: false, company: readCompanyChoice() };

// ---------------------------------------------------------------------------------------------------------
// Companies: a deployment may serve several Business Central companies; the selector scopes every panel
// ---------------------------------------------------------------------------------------------------------

const COMPANY_STORAGE = 'console.company';

function readCompanyChoice(): string | null {
  try {
    return sessionStorage.getItem(COMPANY_STORAGE);
  } catch {
    return null;
  }
}

/** The configured companies (from GET /api/status); [] before it answered. */
const companies = (): CompanyStatus[] => state.status.value?.companies ?? [];
const severalCompanies = (): boolean => companies().length > 1;
const companyName = (companyId: string | undefined | null): string | null => companies().find((company) => company.companyId === companyId)?.companyName ?? null;

/** `companies/{id}/` for routes of one company (the selected one, or a record's), '' with one company or none chosen. */
function companyPrefix(companyId: string | null | undefined = state.company): string {
  return companyId && severalCompanies() ? `companies/${encodeURIComponent(companyId)}/` : '';
}

/** Keeps the selector in step with the configured companies; hidden with one company. */
function renderCompanySelector(): void {
  const select = byId<HTMLSelectElement>('company');
  const wrapper = byId('company-choice');
  const list = companies();
  wrapper.hidden = list.length <= 1;
  if (state.company && list.length > 0 && !list.some((company) => company.companyId === state.company)) state.company = null;
  const wanted = [['', 'All companies'], ...list.map((company) => [company.companyId, company.companyName])];
  const current = [...select.options].map((option) => [option.value, option.text]);
  if (JSON.stringify(current) !== JSON.stringify(wanted)) {
    select.replaceChildren(...wanted.map(([value, text]) => h('option', { value: value ?? '' }, text ?? '')));
  }
  select.value = state.company ?? '';
}

// ---------------------------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------------------------

const describe = (error: unknown): string =>
  error instanceof NotAvailableError ? 'Not available in this deployment.' : error instanceof Error ? error.message : 'Something went wrong.';

function toast(message: string, kind: 'info' | 'success' | 'error' = 'info'): void {
  const item = h('div', { class: `toast toast-${kind}` }, message);
  byId('toasts').append(item);
  setTimeout(() => item.remove(), kind === 'error' ? 12_000 : 6_000);
}

const label = (customerId: string, customerNumber?: string | null): string => {
  const number = customerNumber ?? state.numbers.get(customerId);
  return number ? `${number}` : customerId;
};

function remember(transfers: Transfer[]): void {
  for (const transfer of transfers) if (transfer.customerNumber) state.numbers.set(transfer.customerId, transfer.customerNumber);
}

function statusBadge(status: string): HTMLElement {
  const kind = /^(ok|healthy|succeeded|unchanged|completed)$/iu.test(status) ? 'ok' : /^(degraded|skipped|running|create|update)$/iu.test(status) ? 'warn' : 'bad';
  return h('span', { class: `badge badge-${kind}` }, status);
}

function outcomeOf(transfer: Transfer): string {
  return transfer.errorCode ?? transfer.action ?? '—';
}

function changesTable(changes: FieldChange[], caption: string): HTMLElement {
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: 'diff' },
      h('caption', {}, caption),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Field'), h('th', { scope: 'col' }, 'From'), h('th', { scope: 'col' }, 'To'))),
      h(
        'tbody',
        {},
        changes.map((change) =>
          h('tr', {}, h('th', { scope: 'row' }, change.field), h('td', { class: 'from' }, h('del', {}, change.from ?? '(empty)')), h('td', { class: 'to' }, h('ins', {}, change.to ?? '(empty)'))),
        ),
      ),
    ),
  );
}

// ---------------------------------------------------------------------------------------------------------
// Confirmation: every action that writes says what it will do and waits for a yes
// ---------------------------------------------------------------------------------------------------------

function confirmAction(title: string, body: Child, confirmLabel: string): Promise<boolean> {
  const dialog = byId<HTMLDialogElement>('confirm');
  byId('confirm-title').textContent = title;
  renderInto(byId('confirm-body'), `${Date.now()}-${Math.random()}`, body);
  const ok = byId<HTMLButtonElement>('confirm-ok');
  const cancel = byId<HTMLButtonElement>('confirm-cancel');
  ok.textContent = confirmLabel;
  const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
  return new Promise((resolve) => {
    const finish = (answer: boolean): void => {
      ok.removeEventListener('click', onOk);
      cancel.removeEventListener('click', onCancel);
      dialog.removeEventListener('close', onClose);
      if (dialog.open) dialog.close();
      opener?.focus();
      resolve(answer);
    };
    const onOk = (): void => finish(true);
    const onCancel = (): void => finish(false);
    const onClose = (): void => finish(false);
    ok.addEventListener('click', onOk);
    cancel.addEventListener('click', onCancel);
    dialog.addEventListener('close', onClose);
    dialog.showModal();
    cancel.focus();
  });
}

// ---------------------------------------------------------------------------------------------------------
// Data
// ---------------------------------------------------------------------------------------------------------

async function loadRecent(): Promise<Recent> {
  const since = Date.now() - DAY_MS;
  const transfers: Transfer[] = [];
  let next: string | null = `transfers?limit=${PAGE_SIZE}${state.company && severalCompanies() ? `&company=${encodeURIComponent(state.company)}` : ''}`;
  let pages = 0;
  let paged = false;
  while (next && pages < MAX_PAGES) {
    const page: z.infer<typeof transferPageSchema> = await api.get(next, transferPageSchema);
    pages += 1;
    paged ||= page.nextLink !== undefined;
    transfers.push(...page.transfers);
    const oldest = page.transfers.at(-1);
    if (!oldest || Date.parse(oldest.startedAt) < since) return { transfers: transfers.filter((t) => Date.parse(t.startedAt) >= since), truncated: false };
    next = page.nextLink ?? null;
  }
  // With continuation links, more remain only if one is left; without them, a full page may hide older ones.
  const truncated = paged ? next !== null : transfers.length >= PAGE_SIZE * pages;
  return { transfers: transfers.filter((t) => Date.parse(t.startedAt) >= since), truncated };
}

/** Health with its checks (GET /api/health/details, function key) where the deployment has it, else the plain one. */
async function loadHealth(): Promise<Health> {
  try {
    return (await api.get('health/details', healthSchema)) as Health;
  } catch (error) {
    if (error instanceof NotAvailableError) return (await api.get('health', healthSchema)) as Health;
    throw error;
  }
}

const settle = async <T>(promise: Promise<T>): Promise<Loaded<T>> => {
  try {
    return { value: await promise };
  } catch (error) {
    return { error: error instanceof Error ? error : new Error(String(error)) };
  }
};

let refreshing: Promise<void> | null = null;

function refresh(): Promise<void> {
  refreshing ??= (async () => {
    // Each part is drawn as soon as its data arrives: the overview does not wait for a day of transfers.
    const overview = Promise.all([settle(loadHealth()), settle(api.get('status', statusSchema))]).then(([health, status]) => {
      state.health = health as Loaded<Health>;
      state.status = status;
      renderCompanySelector();
      renderOverview();
      renderFeatureNotes();
    });
    // The transfers need to know whether several companies exist (to filter by one): after the status on a first load.
    const ready = state.status.value ? Promise.resolve() : overview;
    const activity = ready.then(() => settle(loadRecent())).then((recent) => {
      state.recent = recent;
      if (recent.value) remember(recent.value.transfers);
      renderActivity();
      renderFailures();
    });
    await Promise.all([overview, activity]);
    byId('updated').textContent = `Updated ${formatTime(new Date())}`;
    if (!state.firstRenderDone) {
      state.firstRenderDone = true;
      // Everything of the first screen is drawn: the browser test reads this mark.
      performance.mark('console:first-render');
      document.documentElement.dataset.ready = 'true';
    }
  })().finally(() => {
    refreshing = null;
  });
  return refreshing;
}

// ---------------------------------------------------------------------------------------------------------
// Overview: health, subscription, watermark, queues, services on hold
// ---------------------------------------------------------------------------------------------------------

function card(title: string, id: string, ...children: Child[]): HTMLElement {
  return h('article', { class: 'card', id, 'aria-labelledby': `${id}-title` }, h('h3', { id: `${id}-title` }, title), ...children);
}

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

function renderOverview(): void {
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
            h('dd', { class: 'mono' }, subscription.schedule),
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
          h('dd', { class: 'mono' }, s.poll.schedule),
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

/** One subscription per company: a row each, with the last check's failure when there is one. */
function companiesSubscriptionCard(shown: CompanyStatus[], managed: boolean, schedule: string): HTMLElement {
  return card(
    shown.length === 1 ? 'Webhook subscription' : 'Webhook subscriptions',
    'card-subscription',
    managed ? null : h('p', { class: 'muted' }, 'Not managed: WEBHOOK_NOTIFICATION_URL is not set, so changes arrive by polling only.'),
    h(
      'ul',
      { class: 'details companies' },
      shown.map((company) =>
        h(
          'li',
          { 'data-company': company.companyId },
          h('strong', {}, company.companyName),
          company.subscription
            ? [' expires ', timeElement(company.subscription.expirationDateTime, true), h('div', { class: 'muted' }, 'renewed ', timeElement(company.subscription.lastRenewedAt, true), ' · ', h('span', { class: 'mono' }, company.subscription.subscriptionId))]
            : h('div', { class: 'muted' }, managed ? 'No subscription recorded yet; the subscription timer creates it.' : 'none'),
          company.lastSubscriptionCheck?.outcome === 'Failed' ? h('div', { class: 'message' }, `Last check failed: ${company.lastSubscriptionCheck.error ?? ''}`) : null,
        ),
      ),
    ),
    schedule ? h('p', { class: 'muted' }, 'Checked ', h('span', { class: 'mono' }, schedule)) : null,
  );
}

/** One watermark per company; a company whose poll fails (deleted: 404, not permitted: 403) says so. */
function companiesPollCard(shown: CompanyStatus[], schedule: string): HTMLElement {
  return card(
    'Polling',
    'card-poll',
    h(
      'ul',
      { class: 'details companies' },
      shown.map((company) =>
        h(
          'li',
          { 'data-company': company.companyId },
          h('strong', {}, company.companyName),
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
        ),
      ),
    ),
    schedule ? h('p', { class: 'muted' }, 'Schedule ', h('span', { class: 'mono' }, schedule)) : null,
  );
}

// ---------------------------------------------------------------------------------------------------------
// Activity: the chart
// ---------------------------------------------------------------------------------------------------------

function renderActivity(): void {
  const region = byId('activity-body');
  const recent = state.recent;
  if (!recent.value) {
    renderInto(region, `error:${describe(recent.error)}`, h('p', { class: 'error' }, `Transfers could not be read: ${describe(recent.error)}`));
    return;
  }
  const { transfers, truncated } = recent.value;
  const totals: Record<string, number> = {};
  for (const status of STATUSES) totals[status] = transfers.filter((transfer) => transfer.status === status).length;
  const hour = Math.floor(Date.now() / 3_600_000);
  renderInto(
    region,
    JSON.stringify({ totals, hour, ids: transfers.map((t) => t.transferId) }),
    transferChart(bucketByHour(transfers), totals),
    truncated ? h('p', { class: 'muted' }, `Showing the latest ${transfers.length} transfers; older ones of the last 24 hours are not counted.`) : null,
  );
}

// ---------------------------------------------------------------------------------------------------------
// Failures by error code
// ---------------------------------------------------------------------------------------------------------

interface FailureGroup {
  code: string;
  customers: Transfer[];
}

/** Customers whose latest transfer (in what was read) failed, grouped by error code, largest group first. */
function failureGroups(transfers: Transfer[]): FailureGroup[] {
  const latest = new Map<string, Transfer>();
  // A customer is a customer of one company: a company copy is two customers.
  for (const transfer of transfers) {
    const key = `${transfer.companyId ?? ''}|${transfer.customerId}`;
    if (!latest.has(key)) latest.set(key, transfer); // newest first
  }
  const groups = new Map<string, Transfer[]>();
  for (const transfer of latest.values()) {
    if (transfer.status !== 'Failed') continue;
    const code = transfer.errorCode ?? 'Unknown';
    groups.set(code, [...(groups.get(code) ?? []), transfer]);
  }
  return [...groups.entries()].map(([code, customers]) => ({ code, customers })).sort((a, b) => b.customers.length - a.customers.length || a.code.localeCompare(b.code));
}

function renderFailures(): void {
  const region = byId('failures-body');
  const recent = state.recent.value;
  if (!recent) {
    renderInto(region, 'none', h('p', { class: 'muted' }, 'Waiting for the transfer history.'));
    return;
  }
  const groups = failureGroups(recent.transfers);
  const key = JSON.stringify(groups.map((group) => [group.code, group.customers.map((c) => c.transferId)]));
  if (groups.length === 0) {
    renderInto(region, key, h('p', {}, h('span', { class: 'badge badge-ok' }, 'No failures'), ' in the last 24 hours.'));
    return;
  }
  renderInto(
    region,
    key,
    h('div', { class: 'actions' }, h('button', { type: 'button', id: 'replay-all', onclick: () => void replayFlow({ all: true }, 'every customer whose latest transfer failed') }, 'Replay all failed…')),
    h(
      'div',
      { class: 'groups' },
      groups.map((group) => {
        const resolution = resolutionOf(group.code);
        return h(
          'article',
          { class: 'group', 'data-error-code': group.code, 'aria-labelledby': `group-${group.code}` },
          h('h3', { id: `group-${group.code}` }, h('code', {}, group.code), ` ${resolution.title} `, h('span', { class: 'count' }, `${group.customers.length} customer${group.customers.length === 1 ? '' : 's'}`)),
          h('p', { class: 'resolution' }, h('strong', {}, 'Resolution: '), resolution.resolution),
          h(
            'ul',
            { class: 'customers' },
            group.customers.map((transfer) =>
              h(
                'li',
                {},
                h(
                  'button',
                  { type: 'button', class: 'link', 'aria-label': `Show history of customer ${label(transfer.customerId, transfer.customerNumber)}`, onclick: () => void showCustomer(transfer.customerId, true, transfer.companyId) },
                  label(transfer.customerId, transfer.customerNumber),
                ),
                ' ',
                severalCompanies() && transfer.companyName ? [h('span', { class: 'company' }, transfer.companyName), ' '] : null,
                h('span', { class: 'muted' }, timeElement(transfer.startedAt)),
                transfer.errorMessage ? h('div', { class: 'message' }, transfer.errorMessage) : null,
              ),
            ),
          ),
          h(
            'div',
            { class: 'actions' },
            h(
              'button',
              { type: 'button', 'data-replay-code': group.code, onclick: () => void replayFlow(group.code === 'Unknown' ? { customerIds: group.customers.map((c) => c.customerId) } : { errorCode: group.code }, `customers whose latest transfer failed with ${group.code}`) },
              `Replay ${group.code}…`,
            ),
            resolution.needsDataFix ? h('span', { class: 'hint' }, 'Fix the data first, or the replay fails again.') : null,
          ),
        );
      }),
    ),
  );
}

// ---------------------------------------------------------------------------------------------------------
// Replay (dry run first, then exactly that list)
// ---------------------------------------------------------------------------------------------------------

type ReplaySelector = { all: true } | { errorCode: string } | { customerIds: string[] };

async function replayFlow(selector: ReplaySelector, what: string, watchCustomer?: string, companyId: string | null = state.company): Promise<void> {
  // The selected company only (or, for one customer, its company); all companies otherwise.
  const scope = companyId && severalCompanies() ? { company: companyId } : {};
  let preview;
  try {
    preview = await api.post('transfers/replay', { ...selector, ...scope, dryRun: true }, replayResultSchema);
  } catch (error) {
    toast(`Replay preview failed: ${describe(error)}`, 'error');
    return;
  }
  if (preview.customerIds.length === 0) {
    toast(preview.message ?? `Nothing to replay for ${what}.`, 'info');
    return;
  }
  const ok = await confirmAction(
    `Replay ${preview.customerIds.length} customer${preview.customerIds.length === 1 ? '' : 's'}?`,
    [
      h('p', {}, `This queues a new sync of ${what}. Each is read again from Business Central and written to iPaaS.com; a customer is never created twice.`),
      h(
        'ul',
        { class: 'replay-list', 'aria-label': 'Customers to replay' },
        (preview.targets ?? preview.customerIds.map((customerId) => ({ customerId, companyId: '' }))).map((target) =>
          h('li', {}, label(target.customerId), state.numbers.has(target.customerId) ? h('span', { class: 'muted mono' }, ` ${target.customerId}`) : null, companyName(target.companyId) ? h('span', { class: 'company' }, ` ${companyName(target.companyId)}`) : null),
        ),
      ),
      preview.moreRemain ? h('p', { class: 'hint' }, 'More customers match than one replay takes; replay again once these are done.') : null,
    ],
    'Replay',
  );
  if (!ok) return;
  try {
    // Exactly the list that was shown, not the selector again: what was confirmed is what happens.
    const result = await api.post('transfers/replay', { customerIds: preview.customerIds, ...scope }, replayResultSchema);
    toast(result.message ?? `${result.replayed} customer(s) queued.`, 'success');
  } catch (error) {
    toast(`Replay failed: ${describe(error)}`, 'error');
    return;
  }
  if (watchCustomer) void watchCustomerUntilNewTransfer(watchCustomer);
  setTimeout(() => void refresh(), 1500);
}

// ---------------------------------------------------------------------------------------------------------
// Customer: search, history, sync now, dry run
// ---------------------------------------------------------------------------------------------------------

/** In the selected company (or `companyId`); by id without one, the deployment looks in every company. */
async function loadCustomer(query: string, companyId: string | null | undefined = state.company): Promise<CustomerHistory> {
  const trimmed = query.trim();
  const prefix = companyPrefix(companyId);
  if (GUID.test(trimmed)) return api.get(`${prefix}customers/${encodeURIComponent(trimmed.toLowerCase())}/transfers?limit=50`, customerHistorySchema);
  return api.get(`${prefix}customers/by-number/${encodeURIComponent(trimmed)}/transfers?limit=50`, customerHistorySchema);
}

async function showCustomer(query: string, focus = true, companyId?: string): Promise<void> {
  const region = byId('customer-body');
  const input = byId<HTMLInputElement>('search-input');
  if (input.value.trim() !== query) input.value = state.numbers.get(query) ?? query;
  renderInto(region, `loading:${query}`, h('p', {}, 'Loading…'));
  try {
    const history = await loadCustomer(query, companyId ?? state.company);
    remember(history.transfers);
    state.customer = history;
    renderCustomer(history);
  } catch (error) {
    const code = error instanceof ApiError ? error.code : null;
    const message =
      code === 'CompanyRequired' || code === 'AmbiguousCustomer'
        ? `${describe(error)} Choose the company above.`
        : error instanceof ApiError && error.status === 404 && code !== 'UnknownCompany'
          ? `No customer has the number or id "${query}"${state.company ? ` in ${companyName(state.company) ?? 'this company'}` : ''}.`
          : describe(error);
    renderInto(region, `error:${query}:${message}`, h('p', { class: 'error', role: 'alert' }, message));
  }
  if (focus) byId('customer-title').focus();
}

function renderCustomer(history: CustomerHistory, plan?: Child): void {
  const number = history.customerNumber ?? history.transfers.find((t) => t.customerNumber)?.customerNumber ?? null;
  const latest = history.transfers[0];
  const dryRunAvailable = state.status.value?.features.dryRun ?? false;
  renderInto(
    byId('customer-body'),
    `${JSON.stringify(history)}:${plan ? Math.random() : ''}`,
    h(
      'div',
      { class: 'customer-head' },
      h('h3', { id: 'customer-name' }, `Customer ${number ?? ''}`),
      h('p', { class: 'mono muted' }, history.customerId),
      severalCompanies() && history.companyName ? h('p', { class: 'company', 'data-field': 'company' }, history.companyName) : null,
      latest ? h('p', {}, 'Latest: ', statusBadge(latest.status), ' ', outcomeOf(latest)) : h('p', { class: 'muted' }, 'No transfer recorded yet.'),
    ),
    h(
      'div',
      { class: 'actions' },
      h('button', { type: 'button', id: 'sync-now', onclick: () => void syncNow(history.customerId, number, history.companyId) }, 'Sync now…'),
      h('button', { type: 'button', id: 'dry-run', onclick: () => void dryRun(history), 'aria-describedby': dryRunAvailable ? null : 'dry-run-note' }, 'Dry run'),
      latest?.status === 'Failed'
        ? h(
            'button',
            { type: 'button', id: 'replay-customer', onclick: () => void replayFlow({ customerIds: [history.customerId] }, `customer ${number ?? history.customerId}`, history.customerId, history.companyId ?? state.company) },
            'Replay…',
          )
        : null,
      dryRunAvailable ? null : h('span', { id: 'dry-run-note', class: 'hint' }, 'Dry run is not available in this deployment.'),
    ),
    h('div', { id: 'plan', 'aria-live': 'polite' }, plan ?? null),
    latest?.errorCode ? h('p', { class: 'resolution' }, h('strong', {}, `${latest.errorCode}: `), resolutionOf(latest.errorCode).resolution) : null,
    historyTable(history.transfers),
  );
}

function historyTable(transfers: Transfer[]): HTMLElement {
  // A customer's history is one company's; the company is named above it.
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { id: 'history' },
      h('caption', {}, 'Transfer history, newest first'),
      h(
        'thead',
        {},
        h('tr', {}, ['Started', 'Source', 'Status', 'Outcome', 'Addresses', 'Attempt', 'Duration', 'Details'].map((title) => h('th', { scope: 'col' }, title))),
      ),
      h(
        'tbody',
        {},
        transfers.map((transfer) =>
          h(
            'tr',
            { 'data-status': transfer.status, 'data-source': transfer.source },
            h('td', {}, timeElement(transfer.startedAt)),
            h('td', {}, transfer.source),
            h('td', {}, statusBadge(transfer.status)),
            h('td', {}, outcomeOf(transfer)),
            h('td', { class: 'num' }, String(transfer.addressesAdded)),
            h('td', { class: 'num' }, String(transfer.attempt)),
            h('td', { class: 'num' }, `${transfer.durationMs} ms`),
            h('td', {}, [transfer.errorMessage ?? '', ...(transfer.warnings ?? []).map((warning) => h('div', { class: 'hint' }, warning))]),
          ),
        ),
      ),
    ),
  );
}

async function syncNow(customerId: string, number: string | null, companyId: string | null | undefined = state.company): Promise<void> {
  const company = companyName(companyId);
  const ok = await confirmAction(
    `Sync customer ${number ?? customerId}${severalCompanies() && company ? ` of ${company}` : ''} now?`,
    h('p', {}, 'This queues a manual sync: the customer is read from Business Central and, if it passes the filter and validation, created or updated in iPaaS.com with its addresses.'),
    'Sync now',
  );
  if (!ok) return;
  try {
    const queued = await api.post(`${companyPrefix(companyId)}customers/${customerId}/sync`, {}, queuedSchema);
    companyId ??= queued.companyId ?? null;
    toast(`Customer ${number ?? customerId} queued.`, 'success');
  } catch (error) {
    toast(`Sync failed: ${describe(error)}`, 'error');
    return;
  }
  void watchCustomerUntilNewTransfer(customerId, companyId);
}

/** After a write, shows the customer's next transfer as soon as it is recorded (up to a minute). */
async function watchCustomerUntilNewTransfer(customerId: string, companyId: string | null | undefined = state.customer?.companyId ?? state.company): Promise<void> {
  const known = new Set((state.customer?.customerId === customerId ? state.customer.transfers : []).map((t) => t.transferId));
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    if (state.customer && state.customer.customerId !== customerId) return; // the operator moved on
    let history: CustomerHistory;
    try {
      history = await api.get(`${companyPrefix(companyId)}customers/${customerId}/transfers?limit=50`, customerHistorySchema);
    } catch {
      continue;
    }
    const fresh = history.transfers.find((t) => !known.has(t.transferId));
    if (fresh) {
      state.customer = { ...history, customerNumber: history.customerNumber ?? state.customer?.customerNumber ?? null };
      remember(history.transfers);
      renderCustomer(state.customer);
      toast(`Customer ${label(customerId)}: ${fresh.status} ${outcomeOf(fresh)}`, fresh.status === 'Failed' ? 'error' : 'success');
      void refresh();
      return;
    }
  }
}

function planView(plan: SyncPlan): HTMLElement {
  const addressFields = [...new Set(plan.addressesToAdd.flatMap((address) => Object.keys(address)))];
  return h(
    'section',
    { class: 'plan', 'aria-labelledby': 'plan-title', 'data-outcome': plan.outcome },
    h('h4', { id: 'plan-title' }, 'Dry run: ', statusBadge(plan.outcome), plan.errorCode ? [' ', h('code', {}, plan.errorCode)] : null),
    h('p', { class: 'muted' }, 'Nothing was written: this is what a sync would do now.'),
    plan.reason ? h('p', {}, plan.reason) : null,
    plan.errorCode ? h('p', { class: 'resolution' }, h('strong', {}, 'Resolution: '), resolutionOf(plan.errorCode).resolution) : null,
    plan.ipaasCustomerId ? h('p', {}, 'iPaaS.com customer ', h('span', { class: 'mono' }, plan.ipaasCustomerId)) : null,
    plan.changes.length > 0 ? changesTable(plan.changes, 'Field changes') : h('p', { class: 'muted' }, 'No field changes.'),
    plan.addressesToAdd.length > 0
      ? h(
          'div',
          { class: 'table-wrap' },
          h(
            'table',
            { class: 'addresses' },
            h('caption', {}, `Addresses to add (${plan.addressesToAdd.length})`),
            h('thead', {}, h('tr', {}, addressFields.map((field) => h('th', { scope: 'col' }, field)))),
            h('tbody', {}, plan.addressesToAdd.map((address) => h('tr', {}, addressFields.map((field) => h('td', {}, h('ins', {}, address[field] === null || address[field] === undefined ? '' : String(address[field]))))))),
          ),
        )
      : h('p', { class: 'muted' }, 'No address to add.'),
    h('p', { class: 'muted' }, plan.externalIdLink ? 'The external id link would be written.' : 'No external id link call.'),
  );
}

async function dryRun(history: CustomerHistory): Promise<void> {
  if (!(state.status.value?.features.dryRun ?? false)) {
    renderCustomer(history, h('p', { class: 'muted' }, 'Dry run is not available in this deployment.'));
    return;
  }
  renderCustomer(history, h('p', {}, 'Computing the plan…'));
  try {
    const plan = await api.post(`${companyPrefix(history.companyId ?? state.company)}customers/${history.customerId}/sync?dryRun=true`, {}, syncPlanSchema);
    renderCustomer(history, planView(plan));
  } catch (error) {
    renderCustomer(history, h('p', { class: 'error' }, `Dry run failed: ${describe(error)}`));
  }
  document.getElementById('plan-title')?.scrollIntoView({ block: 'nearest' });
}

// ---------------------------------------------------------------------------------------------------------
// Reconciliation
// ---------------------------------------------------------------------------------------------------------

function renderFeatureNotes(): void {
  const available = state.status.value?.features.reconciliation ?? false;
  for (const id of ['reconcile-start', 'reconcile-latest']) byId<HTMLButtonElement>(id).disabled = !available;
  if (!available && state.status.value) {
    renderInto(byId('reconciliation-body'), 'unavailable', h('p', { class: 'muted', id: 'reconciliation-unavailable' }, 'Reconciliation is not available in this deployment.'));
  } else if (available && byId('reconciliation-body').dataset.key === 'unavailable') {
    renderInto(byId('reconciliation-body'), 'empty');
  }
}

function reportView(report: Reconciliation): HTMLElement {
  const categories = Object.entries(report.counts);
  const perCompany = report.companies && report.companies.length > 0 ? report.companies : null;
  return h(
    'div',
    { class: 'report', 'data-run': report.runId, 'data-status': report.status },
    h('p', {}, 'Run ', h('span', { class: 'mono' }, report.runId), ' ', statusBadge(report.status), ' started ', timeElement(report.startedAt), report.finishedAt ? [', finished ', timeElement(report.finishedAt)] : null),
    h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        { class: 'counts' },
        h('caption', {}, perCompany ? 'Customers by category and company' : 'Customers by category'),
        h('thead', {}, h('tr', {}, perCompany ? h('th', { scope: 'col' }, 'Company') : null, categories.map(([category]) => h('th', { scope: 'col' }, category)))),
        h(
          'tbody',
          {},
          (perCompany ?? [{ companyId: '', companyName: '', counts: report.counts }]).map((row) =>
            h(
              'tr',
              perCompany ? { 'data-company': row.companyId } : {},
              perCompany ? h('th', { scope: 'row' }, row.companyName) : null,
              categories.map(([category]) => {
                const count = row.counts[category] ?? 0;
                return h('td', { class: `num ${count > 0 && !['InSync', 'Filtered'].includes(category) ? 'attention' : ''}` }, String(count));
              }),
            ),
          ),
        ),
      ),
    ),
    report.items.length === 0
      ? h('p', {}, h('span', { class: 'badge badge-ok' }, 'In sync'), ' nothing to fix.')
      : h(
          'div',
          { class: 'table-wrap' },
          h(
            'table',
            { class: 'items' },
            h('caption', {}, `What differs (${report.items.length})`),
            h('thead', {}, h('tr', {}, [...(perCompany ? ['Company'] : []), 'Category', 'Customer', 'iPaaS.com id', 'Error', 'Changes', 'Fix'].map((title) => h('th', { scope: 'col' }, title)))),
            h(
              'tbody',
              {},
              report.items.slice(0, 500).map((item) =>
                h(
                  'tr',
                  { 'data-category': item.category },
                  perCompany ? h('td', {}, item.companyName ?? '—') : null,
                  h('td', {}, item.category),
                  h('td', {}, item.customerNumber ?? item.customerId ?? '—'),
                  h('td', { class: 'mono' }, item.ipaasCustomerId ?? '—'),
                  h('td', {}, item.errorCode ? [h('code', {}, item.errorCode), h('div', { class: 'hint' }, resolutionOf(item.errorCode).resolution)] : '—'),
                  h('td', {}, item.changes && item.changes.length > 0 ? item.changes.map((change) => h('div', {}, `${change.field}: `, h('del', {}, change.from ?? '(empty)'), ' → ', h('ins', {}, change.to ?? '(empty)'))) : '—'),
                  h(
                    'td',
                    {},
                    item.customerId && ['Missing', 'Drifted', 'Unlinked'].includes(item.category)
                      ? h('button', { type: 'button', onclick: () => void syncNow(item.customerId!, item.customerNumber, item.companyId ?? state.company) }, 'Sync now…')
                      : '—',
                  ),
                ),
              ),
            ),
          ),
        ),
    report.items.length > 500 ? h('p', { class: 'muted' }, `The first 500 of ${report.items.length} are shown; the full report is in storage.`) : null,
  );
}

async function showLatestReport(): Promise<void> {
  const region = byId('reconciliation-body');
  renderInto(region, `loading:${Date.now()}`, h('p', {}, 'Loading…'));
  try {
    const report = await api.get('reconciliations/latest', reconciliationSchema);
    renderInto(region, `report:${JSON.stringify(report)}`, reportView(report));
  } catch (error) {
    // This build has the routes (the button is enabled only then), so a 404 means no run yet.
    const none = error instanceof NotAvailableError || (error instanceof ApiError && error.status === 404);
    const message = none ? 'No reconciliation has run yet.' : describe(error);
    renderInto(region, `error:${message}`, h('p', { class: none ? 'muted' : 'error' }, message));
  }
}

async function startReconciliation(): Promise<void> {
  const fix = byId<HTMLInputElement>('reconcile-fix').checked;
  const company = state.company && severalCompanies() ? state.company : null;
  const ok = await confirmAction(
    fix ? 'Reconcile and fix?' : 'Start a reconciliation?',
    [
      h(
        'p',
        {},
        `This reads every customer in Business Central${company ? ` (${companyName(company)} only)` : severalCompanies() ? ' (every company, counted per company)' : ''} and in iPaaS.com (no write) and builds a report. It runs in the background; one run at a time.`,
      ),
      fix ? h('p', { class: 'hint' }, 'With "fix", every Missing and Drifted customer is also queued for a sync, which writes to iPaaS.com.') : null,
    ],
    fix ? 'Reconcile and fix' : 'Start',
  );
  if (!ok) return;
  const region = byId('reconciliation-body');
  let runId: string;
  try {
    runId = (await api.post('reconciliations', { fix, ...(company ? { company } : {}) }, reconciliationStartSchema)).runId;
    toast('Reconciliation started.', 'success');
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 409)) {
      toast(`Reconciliation could not start: ${describe(error)}`, 'error');
      return;
    }
    // One run at a time: follow the one that is running.
    toast(`${error.message}. Showing it.`, 'info');
    runId = 'latest';
  }
  for (;;) {
    let report: Reconciliation;
    try {
      report = await api.get(`reconciliations/${encodeURIComponent(runId)}`, reconciliationSchema);
    } catch (error) {
      renderInto(region, `error:${describe(error)}`, h('p', { class: 'error' }, describe(error)));
      return;
    }
    renderInto(region, `report:${JSON.stringify(report)}`, reportView(report));
    if (report.status !== 'Running') return;
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}

// ---------------------------------------------------------------------------------------------------------
// Start
// ---------------------------------------------------------------------------------------------------------

function start(): void {
  const keyForm = byId<HTMLFormElement>('key-form');
  if (functionKey()) keyForm.hidden = false;
  api.onUnauthorized = () => {
    keyForm.hidden = false;
  };
  keyForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const input = byId<HTMLInputElement>('function-key');
    setFunctionKey(input.value.trim() || null);
    input.value = '';
    toast(functionKey() ? 'Function key set for this tab.' : 'Function key cleared.', 'info');
    void refresh();
  });
  byId('search-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const query = byId<HTMLInputElement>('search-input').value.trim();
    if (query) void showCustomer(query);
  });
  byId('refresh-now').addEventListener('click', () => void refresh());
  byId<HTMLSelectElement>('company').addEventListener('change', (event) => {
    const value = (event.target as HTMLSelectElement).value;
    state.company = value === '' ? null : value;
    try {
      if (state.company) sessionStorage.setItem(COMPANY_STORAGE, state.company);
      else sessionStorage.removeItem(COMPANY_STORAGE);
    } catch {
      // Storage disabled: the choice lasts as long as the page.
    }
    // Every panel follows the choice: overview, transfers, failures; a shown customer of another company is put away.
    if (state.customer?.companyId && state.company && state.customer.companyId !== state.company) {
      state.customer = null;
      renderInto(byId('customer-body'), 'empty');
    }
    renderOverview();
    void refresh();
  });
  byId('reconcile-start').addEventListener('click', () => void startReconciliation());
  byId('reconcile-latest').addEventListener('click', () => void showLatestReport());

  let timer: number | undefined;
  const schedule = (): void => {
    window.clearInterval(timer);
    if (byId<HTMLInputElement>('auto-refresh').checked) {
      timer = window.setInterval(() => {
        if (document.visibilityState === 'visible') void refresh();
      }, REFRESH_MS);
    }
  };
  byId('auto-refresh').addEventListener('change', schedule);
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') void refresh();
  });
  schedule();
  void refresh();
}

start();
