import { readFileSync } from 'node:fs';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { freePort, isPortFree, type AzuritePorts } from '../../dev/azurite';
import { DEMO_SCENARIOS } from '../../dev/sandbox/demoData';
import { chooseMode, REMOTE_SETTINGS, resolveSettings } from '../../dev/settings';
import { TEST_SETTINGS } from '../support/settings';
import { waitFor } from './support';

/**
 * `npm start` as a developer runs it: a separate process (the package.json start command) with no Business Central or
 * iPaaS.com settings, so it starts Azurite in memory, the local host and the sandbox (on free ports, so another
 * Azurite or npm start on this machine does not get in the way).
 */
const ROOT = path.resolve(__dirname, '../..');
const EMAIL = /[^\s@"'<>()]+@[^\s@"'<>()]+\.[a-z]{2,}/iu;
const DEMO_EMAILS = [
  'robert.townes@contoso.example',
  'info@adatum.example',
  'jane.cooper@fabrikam.example',
  'j.cooper@old-mail.example',
  'alex.wilber@contoso.example',
  'megan.bowen@contoso',
  'diego.siciliani@contoso.example',
  'lidia.holloway@contoso.example',
  'pradeep.gupta@contoso.example',
];

/** What each demo customer's first transfer line shows: status, then error code or action, then addresses added. */
const EXPECTED_LINES: Record<string, [status: string, outcome: string, addresses: number]> = {
  '10000': ['Succeeded', 'Created', 1],
  '10010': ['Skipped', 'Filtered', 0],
  '10020': ['Failed', 'DuplicateCustomerNumber', 0],
  '10030': ['Failed', 'MissingEmail', 0],
  '10040': ['Succeeded', 'Updated', 0],
  '10050': ['Failed', 'InvalidEmail', 0],
  '10060': ['Succeeded', 'Created', 0],
  '10070': ['Failed', 'DuplicateEmail', 0],
  '10080': ['Succeeded', 'Created', 0],
};

/** The environment of a developer without settings: none of the test settings, no storage connection. */
function developerEnv(port: number, azurite?: AzuritePorts): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, LOCAL_HOST_PORT: String(port) };
  const remove = new Set<string>([...Object.keys(TEST_SETTINGS), ...REMOTE_SETTINGS, 'TEST_AZURITE_PORTS', 'LOCAL_HOST_VERBOSE', 'LOCAL_AZURITE_PORTS']);
  for (const key of Object.keys(env)) {
    if (remove.has(key) || key.startsWith('AzureWebJobsStorage') || key.startsWith('AzureFunctionsJobHost__')) delete env[key];
  }
  if (azurite) env.LOCAL_AZURITE_PORTS = [azurite.blob, azurite.queue, azurite.table].join(',');
  return env;
}

/**
 * Why this test cannot run here, if it cannot. Azurite and the host get free ports (LOCAL_AZURITE_PORTS,
 * LOCAL_HOST_PORT), so ports in use are never a reason. In CI nothing is: the test fails instead of skipping.
 */
function skipReason(): string | undefined {
  if (process.platform === 'win32') return 'SIGINT to a process group needs a POSIX system';
  if (chooseMode(resolveSettings(ROOT, developerEnv(0))).kind !== 'sandbox') {
    return 'local.settings.json holds Business Central / iPaaS.com settings, so npm start would not use the sandbox (move it aside to run this test)';
  }
  return undefined;
}

const reason = skipReason();
if (reason && process.env.CI) throw new Error(`The npm start end-to-end test cannot run in CI: ${reason}.`);
// eslint-disable-next-line no-console
if (reason) console.warn(`Skipping the npm start end-to-end test: ${reason}.`);
const npmStartTest = reason ? test.skip : test;

describe('npm start', () => {
  let child: ChildProcess | undefined;

  afterEach(() => {
    // Only if the test failed midway: the process group this test started (tsx and node; Azurite ends with them).
    if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    child = undefined;
  });

  npmStartTest(`starts the sandbox, transfers the demo customers without logging personal data, and stops on Ctrl-C${reason ? ` (SKIPPED: ${reason})` : ''}`, async () => {
    const port = await freePort();
    const azurite: AzuritePorts = { blob: await freePort(), queue: await freePort(), table: await freePort() };
    // Exactly what `npm start` runs, without npm's own wrapper process in between.
    const [command, ...args] = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start.split(' ');
    expect(command).toBe('node');
    const started = spawn(process.execPath, args, {
      cwd: ROOT,
      env: developerEnv(port, azurite),
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group, so Ctrl-C can be sent the way a terminal does (to the whole group).
      detached: true,
    });
    child = started;
    // 'close': the process has exited and its output pipes are drained and closed.
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => started.once('close', (code, signal) => resolve({ code, signal })));
    const stdout: string[] = [];
    const stderr: string[] = [];
    createInterface({ input: started.stdout! }).on('line', (line) => stdout.push(line));
    createInterface({ input: started.stderr! }).on('line', (line) => stderr.push(line));
    const output = () => `\n--- stdout ---\n${stdout.join('\n')}\n--- stderr ---\n${stderr.join('\n')}`;
    const failFast = () => {
      if (started.exitCode !== null) throw new Error(`npm start exited early with ${started.exitCode}${output()}`);
    };

    await waitFor(
      () => {
        failFast();
        return stdout.some((line) => line.startsWith('Customer sync is running (SANDBOX'));
      },
      { timeoutMs: 45_000, intervalMs: 100, description: 'the sandbox banner' },
    ).catch((error: unknown) => {
      throw new Error(`${error instanceof Error ? error.message : String(error)}${output()}`);
    });
    expect(stdout.some((line) => line.includes(`http://localhost:${port}`))).toBe(true);

    const health = await fetch(`http://127.0.0.1:${port}/api/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });

    // The banner names the operator console, and it answers there.
    expect(stdout.some((line) => /^\s+Console\s+http:\/\/localhost:\d+\/api\/console\b/u.test(line) && line.includes(`:${port}/api/console`))).toBe(true);
    const consolePage = await fetch(`http://127.0.0.1:${port}/api/console`);
    expect(consolePage.status).toBe(200);
    expect(await consolePage.text()).toContain('<title>Customer sync console</title>');

    const firstLines = await waitFor(
      () => {
        failFast();
        const first = new Map<string, RegExpExecArray>();
        for (const line of stdout) {
          const match = /^\d\d:\d\d:\d\d {2}transfer {2}(\S+)\s+(\S+)\s+(\S+)(?: \+(\d+) address)?/u.exec(line);
          if (match && !first.has(match[1]!)) first.set(match[1]!, match);
        }
        return DEMO_SCENARIOS.every((scenario) => first.has(scenario.number)) ? first : undefined;
      },
      { timeoutMs: 45_000, intervalMs: 100, description: 'a transfer line for each of the demo customers' },
    ).catch((error: unknown) => {
      throw new Error(`${error instanceof Error ? error.message : String(error)}${output()}`);
    });
    for (const [number, [status, outcome, addresses]] of Object.entries(EXPECTED_LINES)) {
      const match = firstLines.get(number)!;
      expect({ number, status: match[2], outcome: match[3], addresses: Number(match[4] ?? 0) }).toEqual({ number, status, outcome, addresses });
    }

    // Ctrl-C once the output has settled, as a terminal sends it: to the whole process group.
    let seen = -1;
    let quietSince = Date.now();
    await waitFor(
      () => {
        if (stdout.length !== seen) [seen, quietSince] = [stdout.length, Date.now()];
        return Date.now() - quietSince >= 500;
      },
      { timeoutMs: 10_000, description: 'npm start to go quiet' },
    );
    process.kill(-started.pid!, 'SIGINT');
    const exit = await Promise.race([exited, new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 15_000).unref())]);
    if (exit === 'timeout' || exit.code !== 0) throw new Error(`npm start did not exit 0 within 15 s after SIGINT: ${JSON.stringify(exit)}${output()}`);
    expect(stdout.some((line) => line.startsWith('SIGINT: stopping the host, Azurite and the sandbox'))).toBe(true);
    await waitFor(async () => (await Promise.all(Object.values(azurite).map((azuritePort) => isPortFree(azuritePort)))).every(Boolean), {
      timeoutMs: 2_000,
      description: 'the Azurite ports to be free again',
    });

    // No personal data in the output: no line, banner included, holds an email address.
    expect(stdout.filter((line) => EMAIL.test(line))).toEqual([]);
    expect(stderr.filter((line) => EMAIL.test(line))).toEqual([]);
    expect([...stdout, ...stderr].filter((line) => DEMO_EMAILS.some((email) => line.includes(email)))).toEqual([]);
  }, 150_000);
});
