import { existsSync } from 'node:fs';
import type { Browser } from 'playwright-core';

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

export async function launchChromium(executablePath: string): Promise<RunningBrowser> {
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
