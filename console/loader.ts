/**
 * The shared loader: reads health, status and the last 24 hours of transfers, draws each part as soon as its data
 * arrives (through the panels app.ts registers), and marks the first complete render for the browser test.
 */
import type * as z from 'zod/mini';
import { healthSchema, NotAvailableError, statusSchema, transferPageSchema, type Health, type Transfer } from './api';
import { byId, formatTime } from './dom';
import { api, severalCompanies, state, type Loaded, type Recent } from './state';
import { remember } from './views';

const DAY_MS = 24 * 3_600_000;
/** Pages of 500 transfers read for the last 24 hours at most (the chart says so when it is cut short). */
const MAX_PAGES = 10;
const PAGE_SIZE = 500;

/** What a refresh draws: once health and status are in, and once the transfers are. */
export interface Renderers {
  overview(): void;
  activity(): void;
}

let renderers: Renderers = { overview: () => undefined, activity: () => undefined };

export function drawWith(panels: Renderers): void {
  renderers = panels;
}

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

export function refresh(): Promise<void> {
  refreshing ??= (async () => {
    // Each part is drawn as soon as its data arrives: the overview does not wait for a day of transfers.
    const overview = Promise.all([settle(loadHealth()), settle(api.get('status', statusSchema))]).then(([health, status]) => {
      state.health = health as Loaded<Health>;
      state.status = status;
      renderers.overview();
    });
    // The transfers need to know whether several companies exist (to filter by one): after the status on a first load.
    const ready = state.status.value ? Promise.resolve() : overview;
    const activity = ready.then(() => settle(loadRecent())).then((recent) => {
      state.recent = recent;
      if (recent.value) remember(recent.value.transfers);
      renderers.activity();
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
