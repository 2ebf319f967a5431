import { buildConsoleAssets } from '../console/build';
import { provideConsoleAssets } from '../shared/console/compiled';

/**
 * Serves the console compiled from console/ (on first request, then cached by shared/console/assets.ts): what the
 * local host and tests do when they run the app from sources. The build embeds the compiled files instead.
 */
export function serveConsoleFromSources(): void {
  provideConsoleAssets(() => buildConsoleAssets());
}
