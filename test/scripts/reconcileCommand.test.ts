/**
 * `npm run reconcile` without local Business Central / iPaaS.com settings: in a project folder with a deployed azd
 * environment it runs in that app (as `npm run replay` reads `azd env get-values`), with the function key the Azure
 * CLI gives; with --local, or without a deployed environment, against the sandbox of `npm start`.
 */
import { http, HttpResponse } from 'msw';
import { REMOTE_SETTINGS } from '../../dev/settings';
import { chooseRemoteTarget, main } from '../../scripts/reconcile';
import { emptyCounts } from '../../shared/reconcile';
import { startMockServer } from '../support/msw';

const APP = 'https://func-abc123-x7k2.azurewebsites.net';
const azd = () => ({
  AZURE_ENV_NAME: 'bc-sync-prod',
  SERVICE_API_URI: APP,
  AZURE_RESOURCE_GROUP: 'rg-bc-sync-prod',
  AZURE_FUNCTION_APP_NAME: 'func-abc123-x7k2',
});

describe('chooseRemoteTarget', () => {
  test('the deployed app of the selected azd environment; --local or no environment: the local host', () => {
    expect(chooseRemoteTarget(false, {}, azd)).toEqual({ kind: 'deployed', baseUrl: APP, environment: 'bc-sync-prod', resourceGroup: 'rg-bc-sync-prod', app: 'func-abc123-x7k2' });
    expect(chooseRemoteTarget(true, {}, azd)).toEqual({ kind: 'sandbox', baseUrl: 'http://localhost:7071' });
    expect(chooseRemoteTarget(false, { LOCAL_HOST_PORT: '7072' }, () => null)).toEqual({ kind: 'sandbox', baseUrl: 'http://localhost:7072' });
    // An environment that was never deployed has no app to ask.
    expect(chooseRemoteTarget(false, {}, () => ({ AZURE_ENV_NAME: 'new' }))).toMatchObject({ kind: 'sandbox' });
  });
});

describe('against the deployed app', () => {
  const seen: Array<{ method: string; key: string | null }> = [];
  const report = {
    runId: '20261207T000000Z-abcdef',
    status: 'Completed',
    startedAt: '2026-12-07T00:00:00.000Z',
    finishedAt: '2026-12-07T00:01:00.000Z',
    counts: { ...emptyCounts(), InSync: 3 },
    items: [],
    fix: false,
    enqueued: 0,
    trigger: 'http',
    progress: { phase: 'done', ipaasPagesRead: 1, ipaasTotalPages: 1, ipaasCustomers: 3, businessCentralPagesRead: 1, businessCentralCustomers: 3 },
    error: null,
  };
  startMockServer(
    http.post(`${APP}/api/reconciliations`, ({ request }) => {
      seen.push({ method: 'POST', key: request.headers.get('x-functions-key') });
      return HttpResponse.json({ runId: report.runId }, { status: 202 });
    }),
    http.get(`${APP}/api/reconciliations/${report.runId}`, ({ request }) => {
      seen.push({ method: 'GET', key: request.headers.get('x-functions-key') });
      return HttpResponse.json(report);
    }),
  );

  test('starts the run there with its function key, follows it and prints the summary', async () => {
    const saved = { ...process.env };
    const lines: string[] = [];
    const log = jest.spyOn(console, 'log').mockImplementation((...parts: unknown[]) => void lines.push(parts.join(' ')));
    const write = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      for (const name of REMOTE_SETTINGS) delete process.env[name];
      const keys: string[] = [];
      const code = await main([], { azdValues: azd, functionKey: (group, app) => (keys.push(`${group}/${app}`), 'the-function-key') });
      expect(code).toBe(0);
      expect(keys).toEqual(['rg-bc-sync-prod/func-abc123-x7k2']);
      expect(seen[0]).toEqual({ method: 'POST', key: 'the-function-key' });
      expect(seen.slice(1).every((request) => request.method === 'GET' && request.key === 'the-function-key')).toBe(true);
      expect(lines.join('\n')).toContain(`Deployed app:     ${APP}, from the azd environment bc-sync-prod`);
      expect(lines.join('\n')).toContain('Everything is in sync.');
    } finally {
      log.mockRestore();
      write.mockRestore();
      for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
      Object.assign(process.env, saved);
    }
  });

  test('says how to sign in when the Azure CLI cannot read the key', async () => {
    const saved = { ...process.env };
    const errors: string[] = [];
    const error = jest.spyOn(console, 'error').mockImplementation((...parts: unknown[]) => void errors.push(parts.join(' ')));
    const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      for (const name of REMOTE_SETTINGS) delete process.env[name];
      const code = await main([], {
        azdValues: azd,
        functionKey: () => {
          throw new Error('az: not logged in');
        },
      });
      expect(code).toBe(2);
      expect(errors.join('\n')).toContain('az login');
    } finally {
      error.mockRestore();
      log.mockRestore();
      Object.assign(process.env, saved);
    }
  });
});
