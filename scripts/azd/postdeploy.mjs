// azd postdeploy hook (azure.yaml). Node only, no packages. Against the app just deployed:
//  1. runs the subscription check once (the subscriptionTimer function, through the admin API), so the
//     Business Central webhook subscription exists now rather than at the next full hour;
//  2. prints the app's own preflight (GET /api/health/details?deep=true): one line per check, ✓ or ✗.
// It needs the Azure CLI (`az login`) to read the app's keys; without it, it prints the commands instead.
// Exit code 1 when a check fails (azure.yaml lets azd continue: the deployment itself succeeded).
import { execFileSync } from 'node:child_process';

const env = (name) => process.env[name]?.trim() ?? '';
const baseUrl = env('SERVICE_API_URI');
const group = env('AZURE_RESOURCE_GROUP');
const app = env('AZURE_FUNCTION_APP_NAME');
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function az(args) {
  return execFileSync('az', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], shell: process.platform === 'win32' }).trim();
}

async function request(url, init, attempts = 12) {
  // The app restarts after a deployment: give it up to two minutes to answer.
  for (let attempt = 1; ; attempt += 1) {
    try {
      const response = await fetch(url, { ...init, signal: AbortSignal.timeout(30_000) });
      if (response.status < 500 || attempt >= attempts) return response;
    } catch (error) {
      if (attempt >= attempts) throw error;
    }
    await sleep(10_000);
  }
}

async function main() {
  if (!baseUrl || !group || !app) {
    console.log('postdeploy: SERVICE_API_URI, AZURE_RESOURCE_GROUP or AZURE_FUNCTION_APP_NAME is not set; nothing to check.');
    return 0;
  }
  let masterKey;
  let functionKey;
  try {
    masterKey = az(['functionapp', 'keys', 'list', '-g', group, '-n', app, '--query', 'masterKey', '-o', 'tsv']);
    functionKey = az(['functionapp', 'keys', 'list', '-g', group, '-n', app, '--query', 'functionKeys.default', '-o', 'tsv']);
  } catch {
    console.log('postdeploy: the Azure CLI is not available or not signed in (az login), so the checks are skipped. Run them by hand:');
    console.log(`  MASTER_KEY=$(az functionapp keys list -g ${group} -n ${app} --query masterKey -o tsv)`);
    console.log(`  curl -X POST "${baseUrl}/admin/functions/subscriptionTimer" -H "x-functions-key: $MASTER_KEY" -H "Content-Type: application/json" -d '{}'`);
    console.log(`  curl -H "x-functions-key: <function key>" "${baseUrl}/api/health/details?deep=true"`);
    return 0;
  }

  const run = await request(`${baseUrl}/admin/functions/subscriptionTimer`, {
    method: 'POST',
    headers: { 'x-functions-key': masterKey, 'Content-Type': 'application/json' },
    body: '{}',
  });
  console.log(
    run.status === 202
      ? 'postdeploy: subscription check started (subscriptionTimer); its outcome is the SubscriptionState record in Application Insights.'
      : `postdeploy: could not start the subscription check (HTTP ${run.status}); it runs on its schedule anyway.`,
  );
  // Let the check create the subscription (Business Central calls the webhook back) before the preflight.
  await sleep(20_000);

  const health = await request(`${baseUrl}/api/health/details?deep=true`, { headers: { 'x-functions-key': functionKey } });
  let report;
  try {
    report = await health.json();
  } catch {
    console.log(`postdeploy: the app answered ${health.status} without a report.`);
    return 1;
  }
  const checks = Array.isArray(report?.checks) ? report.checks : [];
  console.log(`postdeploy: the deployed app says ${report?.status ?? 'nothing'} (HTTP ${health.status}):`);
  for (const check of checks) console.log(`  ${check.status === 'ok' ? '✓' : '✗'} ${check.name}${check.message ? `: ${check.message}` : ''}`);
  if (report?.status === 'ok') return 0;
  console.log('postdeploy: fix what is marked ✗ (docs/deploy.md, "Troubleshooting"), then run `azd hooks run postdeploy` again.');
  return 1;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(`postdeploy: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
