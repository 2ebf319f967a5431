import path from 'node:path';
import { startLocalHost, type LocalHost } from '../../dev/host/localHost';
import { main as doctorCli } from '../../scripts/doctor';
import { testStorageConnectionString } from '../support/storage';

/** `npm run doctor -- --sandbox` while the local host runs: the sandbox's fakes in the doctor's process, the host's webhook. */
let host: LocalHost | undefined;
beforeAll(async () => {
  host = await startLocalHost({ root: path.resolve(__dirname, '../..'), port: 0, listen: { queues: false, timers: false }, log: () => {} });
});
afterAll(async () => {
  await host?.stop();
});

test('passes (with warnings for what only a real deployment has) and exits 0', async () => {
  const out: string[] = [];
  const env = { LOCAL_HOST_PORT: String(host!.port), AzureWebJobsStorage: testStorageConnectionString() };
  const code = await doctorCli(['--sandbox', '--json'], { env, out: (text) => out.push(text), err: (text) => out.push(text) });
  const report = JSON.parse(out.join('')) as { ok: boolean; checks: Array<{ id: string; status: string }> };
  expect(report.checks.filter((check) => check.status === 'fail')).toEqual([]);
  expect(Object.fromEntries(report.checks.map((check) => [check.id, check.status]))).toMatchObject({
    'bc-token': 'pass',
    'webhook-url': 'warn',
    'webhook-handshake': 'pass',
    'ipaas-system-id': 'pass',
    'ipaas-paths': 'pass',
    storage: 'pass',
  });
  expect(code).toBe(0);
});
