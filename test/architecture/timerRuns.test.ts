/**
 * Every timer reports its runs as `TimerRun` (shared/telemetry.ts `runTimer`), under its own function name: the
 * alert on failed timers (infra/modules/alerts.bicep) sees a timer only through those records.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

const functionsDir = path.resolve(__dirname, '..', '..', 'functions');
const timers = readdirSync(functionsDir)
  .filter((file) => file.endsWith('.ts'))
  .map((file) => ({ file, source: readFileSync(path.join(functionsDir, file), 'utf8') }))
  .map(({ file, source }) => ({ file, source, name: /app\.timer\(\s*'([^']+)'/u.exec(source)?.[1] }))
  .filter((entry): entry is { file: string; source: string; name: string } => entry.name !== undefined);

test('the app has timers to check', () => {
  expect(timers.map((timer) => timer.name)).toEqual(expect.arrayContaining(['pollCustomers', 'retryTransfers', 'transferRetention', 'reconcileTimer']));
});

test.each(timers.map((timer) => [timer.name, timer] as const))('%s reports its runs through runTimer under its own name', (name, timer) => {
  expect(timer.source).toContain(`runTimer('${name}'`);
});
