/**
 * Section "coldstart": `npm run build`, and the minimal v4 app bench/minimalApp.ts bundled the same way; 15 fresh
 * processes import each entry, alternated; the figure is the ratio of the two medians.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { ENTRY_FILE } from '../../scripts/bundle';
import { appEntry, buildMinimalApp, bundleSizes, measureColdStart } from '../lib/coldStart';
import { log } from '../lib/machine';
import type { BenchOptions, BenchSection } from '../lib/sections';
import { failedFigure, info, judged, kibibytes, ms, percentile, ratio, type Figure } from '../lib/stats';

const ROOT = path.resolve(__dirname, '..', '..');
const BUILD_TIMEOUT_MS = 5 * 60_000;

async function measureColdStartSection(options: BenchOptions): Promise<Figure[]> {
  const section = 'cold start';
  if (options.build) {
    log('cold start: npm run build');
    // spawnSync holds the event loop, so the runner's deadline cannot stop it: it carries its own bound.
    const built = spawnSync(process.platform === 'win32' ? 'npm.cmd' : 'npm', ['run', 'build'], { cwd: ROOT, encoding: 'utf8', timeout: BUILD_TIMEOUT_MS });
    if (built.error) return [failedFigure(section, 'npm run build', '', `did not finish within ${BUILD_TIMEOUT_MS / 1000} s: ${built.error.message}`)];
    if (built.status !== 0) {
      const reason = `${built.stdout ?? ''}${built.stderr ?? ''}`.trim().split('\n').slice(-5).join(' | ');
      return [failedFigure(section, 'npm run build', '', reason)];
    }
  }
  log('cold start: bundling the minimal app (bench/minimalApp.ts) the same way');
  const minimal = await buildMinimalApp();
  const runs = 15;
  log(`cold start: ${runs} fresh imports of each, alternated`);
  const result = measureColdStart(appEntry(), minimal, runs);
  const sizes = bundleSizes(appEntry());
  return [
    info(section, `import dist/${ENTRY_FILE}, p50 of ${runs}`, ms(result.appP50), result.appP50, `p95 ${ms(percentile(result.appMs, 95))}; absolute times move with the machine's other load, the ratio much less`),
    info(section, `import of a minimal app (@azure/functions + 1 HTTP function), p50 of ${runs}`, ms(result.minimalP50), result.minimalP50, `p95 ${ms(percentile(result.minimalMs, 95))}`),
    judged(section, 'app / minimal app', result.ratio, ratio, { max: 1.25 }),
    info(
      section,
      'JavaScript loaded at start / in all',
      `${kibibytes(sizes.startBytes)} / ${kibibytes(sizes.totalBytes)}`,
      sizes.startBytes,
      `${sizes.startFiles} of ${sizes.files} files at start (dist/${ENTRY_FILE} and the chunks it imports statically); the rest loads on the first invocation that needs it`,
    ),
  ];
}

export const coldStartSection: BenchSection = {
  name: 'coldstart',
  title: 'cold start',
  needs: 'none',
  run: (context) => measureColdStartSection(context.options),
};
