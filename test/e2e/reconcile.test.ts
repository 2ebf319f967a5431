import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { applyDemoDrift, DEMO_SCENARIOS } from '../../dev/sandbox/demoData';
import { REMOTE_SETTINGS } from '../../dev/settings';
import { main } from '../../scripts/reconcile';
import type { ReconcileReport } from '../../shared/reconcile';
import type { TransferRecord } from '../../shared/storage/types';
import { useE2E, waitFor, type E2ESystem } from './support';

const e2e = useE2E();

interface CommandRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `npm run reconcile` in this process, as a developer without settings would: against the sandbox of the running host. */
async function reconcileCommand(args: string[], options: { url?: string; sandbox?: boolean } = {}): Promise<CommandRun> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const saved = { ...process.env };
  const log = jest.spyOn(console, 'log').mockImplementation((...parts: unknown[]) => void stdout.push(parts.join(' ')));
  const error = jest.spyOn(console, 'error').mockImplementation((...parts: unknown[]) => void stderr.push(parts.join(' ')));
  const write = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr.push(String(chunk));
    return true;
  });
  try {
    if (options.sandbox !== false) for (const name of REMOTE_SETTINGS) delete process.env[name];
    if (options.url) process.env.LOCAL_HOST_URL = options.url;
    // Never an azd environment of the machine running the tests: the sandbox, as a developer without one.
    const code = await main(args, { azdValues: () => null });
    return { code, stdout: stdout.join('\n'), stderr: stderr.join('') };
  } finally {
    log.mockRestore();
    error.mockRestore();
    write.mockRestore();
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
  }
}

function countOf(output: string, category: string): number {
  const match = new RegExp(`^\\s+${category}\\s+(\\d+)\\s`, 'mu').exec(output);
  if (!match) throw new Error(`no ${category} line in:\n${output}`);
  return Number(match[1]);
}

async function startDemo(): Promise<E2ESystem> {
  const system = await e2e.start({ seedDemo: true });
  await system.system.host.runTimer('pollCustomers');
  await waitFor(
    async () => {
      const result = await system.http('/api/transfers?limit=100');
      const numbers = new Set((result.body as { transfers: TransferRecord[] }).transfers.map((transfer) => transfer.customerNumber));
      return DEMO_SCENARIOS.every((scenario) => numbers.has(scenario.number));
    },
    { timeoutMs: 20_000, description: 'the first transfer of every demo customer' },
  );
  applyDemoDrift(system.world.businessCentral, system.world.ipaas);
  return system;
}

describe('npm run reconcile against the sandbox', () => {
  test('shows every category; --fix enqueues Missing and Drifted, and the next run finds them in sync', async () => {
    const system = await startDemo();
    const out = path.join(mkdtempSync(path.join(tmpdir(), 'reconcile-')), 'report.csv');

    const first = await reconcileCommand(['--out', out], { url: system.url });
    expect(first.stderr).not.toMatch(/reconcile failed/u);
    expect(first.code).toBe(1);
    expect(first.stdout).toMatch(/^Sandbox: .*npm start/mu);
    expect(first.stdout).toMatch(/^Storage: /mu);
    for (const category of ['InSync', 'Missing', 'Drifted', 'Unlinked', 'DuplicateEmail', 'Invalid', 'Filtered', 'Orphaned']) {
      expect({ category, count: countOf(first.stdout, category) }).toEqual({ category, count: expect.any(Number) });
      expect(countOf(first.stdout, category)).toBeGreaterThan(0);
    }
    // Plain progress lines when stderr is not a terminal.
    expect(first.stderr).toMatch(/^progress: /mu);
    // Names and emails go to the file, never to the terminal.
    expect(first.stdout).not.toMatch(/@contoso\.example|Bob Townes/u);
    const csv = readFileSync(out, 'utf8');
    expect(csv).toContain('Drifted,3f2504e0-4f89-11d3-9a0c-0305e82c3301,10000,');
    expect(csv).toContain(',FirstName,Bob Townes,Robert Townes\r\n');

    const fix = await reconcileCommand(['--fix'], { url: system.url });
    expect(fix.code).toBe(1);
    expect(fix.stdout).toMatch(/Enqueued 2 customers \(Missing and Drifted\) for transfer with source "reconcile"/u);
    await waitFor(
      async () => {
        const transfers = await Promise.all(['3f2504e0-4f89-11d3-9a0c-0305e82c3301', 'af6b3a7d-6c8e-4d0f-8a1b-2c3d4e5f6a70'].map((id) => system.transfers(id)));
        return transfers.every((list) => list.some((transfer) => transfer.source === 'reconcile' && transfer.status === 'Succeeded'));
      },
      { timeoutMs: 15_000, description: 'the two reconcile transfers' },
    );

    const second = await reconcileCommand([], { url: system.url });
    expect(countOf(second.stdout, 'Missing')).toBe(0);
    expect(countOf(second.stdout, 'Drifted')).toBe(0);
    // What a transfer cannot settle stays for a person: the duplicate number, the shared email, the invalid data.
    expect(countOf(second.stdout, 'Unlinked')).toBe(1);
    expect(second.code).toBe(1);
  }, 90_000);

  test('without a running host it says how to start one and exits 2', async () => {
    const result = await reconcileCommand([], { url: 'http://127.0.0.1:9' });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/npm start/u);
  });

  test('bad arguments exit 2 with the usage', async () => {
    const result = await reconcileCommand(['--out', 'report.txt'], { url: 'http://127.0.0.1:9' });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/must end in \.json or \.csv/u);
    expect((await reconcileCommand(['--nope'], { url: 'http://127.0.0.1:9' })).code).toBe(2);
  });

  test('with settings it runs in this process against the configured services and storage, and exits 0 when all is in sync', async () => {
    const system = await e2e.start();
    system.world.businessCentral.upsertCustomer({ number: 'R-1', displayName: 'Ada Lovelace', type: 'Person', email: 'ada@contoso.example' });
    const before = await reconcileCommand(['--fix', '--out', path.join(mkdtempSync(path.join(tmpdir(), 'reconcile-')), 'r.json')], { sandbox: false });
    expect(before.stdout).toMatch(/^Storage: +storage account worker\d \(connection string\) \(AzureWebJobsStorage from the environment\)/mu);
    expect(before.code).toBe(1);
    expect(countOf(before.stdout, 'Missing')).toBe(1);
    await waitFor(() => system.world.ipaas.customers().some((customer) => customer.customerNumber === 'R-1'), { timeoutMs: 15_000, description: 'the fix transfer' });
    await waitFor(async () => (await system.http('/api/transfers?limit=10')).body, { description: 'transfers' });
    const after = await reconcileCommand([], { sandbox: false });
    expect(after.code).toBe(0);
    expect(after.stdout).toMatch(/Everything is in sync\./u);
  }, 60_000);
});

describe('reconciliation routes', () => {
  test('POST starts a run in the background; GET by id and latest return the report, JSON or CSV', async () => {
    const system = await e2e.start({ seedDemo: true });
    expect((await system.http('/api/reconciliations', { method: 'POST', body: '{"fix":"yes"}' })).status).toBe(400);
    expect((await system.http('/api/reconciliations', { method: 'POST', body: 'not json' })).status).toBe(400);
    expect((await system.http('/api/reconciliations/latest')).status).toBe(404);
    expect((await system.http('/api/reconciliations/..%2Fsecret')).status).toBe(400);

    const started = await system.http('/api/reconciliations', { method: 'POST' });
    expect(started.status).toBe(202);
    const { runId } = started.body as { runId: string };
    expect(started.headers.get('location')).toBe(`/api/reconciliations/${runId}`);

    const report = await waitFor(
      async () => {
        const result = await system.http(`/api/reconciliations/${runId}`);
        const body = result.body as ReconcileReport;
        return body.status === 'Completed' ? body : undefined;
      },
      { timeoutMs: 20_000, description: 'the run to complete' },
    );
    // Nothing transferred yet: every valid customer is Missing, Unlinked or a DuplicateEmail.
    expect(report).toMatchObject({ runId, status: 'Completed', fix: false, enqueued: 0, trigger: 'http' });
    expect(report.counts).toMatchObject({ InSync: 0, Filtered: 1, Invalid: 2, DuplicateEmail: 1, Orphaned: 0 });
    expect((await system.http('/api/reconciliations/latest')).body).toEqual(report);
    const csv = await system.http(`/api/reconciliations/${runId}?format=csv`);
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toMatch(/text\/csv/u);
    expect(String(csv.body).split('\r\n')[0]).toBe('category,customerId,customerNumber,ipaasCustomerId,errorCode,field,from,to');
    expect((await system.http('/api/reconciliations/20990101T000000Z-abcdef')).status).toBe(404);
  }, 60_000);
});
