import { existsSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import type { TransferRecord } from '../../shared/storage/types';
import { waitFor, type E2EStartOptions, type E2ESystem, type useE2E } from '../e2e/support';

/**
 * A real browser for the console tests: the system's Chromium (Debian's `chromium` package; `.ci/run` installs it),
 * driven by playwright-core, which downloads nothing. CHROMIUM_PATH names another binary.
 */
const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome', '/usr/bin/google-chrome-stable'];

export function chromiumPath(): string | null {
  const configured = process.env.CHROMIUM_PATH?.trim();
  if (configured) return existsSync(configured) ? configured : null;
  return CANDIDATES.find((candidate) => existsSync(candidate)) ?? null;
}

/** In CI a missing browser is a failure, never a silent skip. */
export const isCI = (): boolean => Boolean(process.env.CI) && process.env.CI !== 'false' && process.env.CI !== '0';

export interface RunningBrowser {
  browser: Browser;
  close(): Promise<void>;
}

async function launchChromium(executablePath: string): Promise<RunningBrowser> {
  // Imported here so a machine without the package fails this file only.
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({
    executablePath,
    // No sandbox: CI runs as root, where Chromium refuses its sandbox. The rest keeps the browser quiet:
    // no requests of its own (updates, sync, field trials), so every request seen comes from the page.
    // playwright-core gives every launch a fresh temporary profile (it refuses --user-data-dir here).
    args: [
      '--no-sandbox',
      '--headless',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    timeout: 60_000,
  });
  return {
    browser,
    async close() {
      await browser.close().catch(() => undefined);
    },
  };
}

/**
 * A describe block with one Chromium for its tests: skipped (with a warning) on a machine without Chromium, a
 * failure in CI. `browser()` is the launched browser inside the tests.
 */
export function describeInBrowser(name: string, body: (browser: () => Browser) => void): void {
  const executable = chromiumPath();
  if (!executable && isCI()) {
    throw new Error('Chromium is missing: the console browser tests need it in CI. Install it with `apt-get install -y chromium` (.ci/run does) or set CHROMIUM_PATH.');
  }
  if (!executable) {
    console.warn('Skipping the console browser tests: no Chromium found (apt-get install -y chromium, or set CHROMIUM_PATH). In CI this is a failure.');
    describe.skip(name, () => body(() => { throw new Error('no browser'); }));
    return;
  }
  describe(name, () => {
    let running: RunningBrowser | undefined;
    beforeAll(async () => {
      running = await launchChromium(executable);
    }, 90_000);
    afterAll(async () => {
      await running?.close();
    });
    body(() => {
      if (!running) throw new Error('Chromium did not start');
      return running.browser;
    });
  });
}

/** The sandbox with its demo customers, the subscription created and the first poll's transfers recorded. */
export async function startDemo(
  e2e: ReturnType<typeof useE2E>,
  options: { companies?: E2EStartOptions['companies']; transfers: number; description: string },
): Promise<E2ESystem> {
  const system = await e2e.start({ seedDemo: true, ...(options.companies ? { companies: options.companies } : {}) });
  await system.system.host.runTimer('subscriptionTimer');
  await system.system.host.runTimer('pollCustomers');
  await waitFor(
    async () => ((await system.http('/api/transfers?limit=100')).body as { transfers: TransferRecord[] }).transfers.length >= options.transfers,
    { description: options.description, timeoutMs: 30_000 },
  );
  return system;
}
