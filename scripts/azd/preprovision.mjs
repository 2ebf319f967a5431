// azd preprovision hook (azure.yaml). Node only, no packages: it may run before `npm install`.
// A new environment gets a random suffix for the Function App name once, so the app's host name and
// therefore its webhook URL cannot be derived from the environment name, subscription and region.
// An environment that was provisioned before keeps its app (its name is in AZURE_FUNCTION_APP_NAME).
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

const suffix = process.env.FUNCTION_APP_NAME_SUFFIX?.trim();
const existingApp = process.env.AZURE_FUNCTION_APP_NAME?.trim();

if (!suffix && !existingApp && (process.env.CI || process.env.GITHUB_ACTIONS || process.env.TF_BUILD)) {
  // A pipeline starts from an empty azd environment each run: a new suffix would mean a new app each time.
  console.error('preprovision: FUNCTION_APP_NAME_SUFFIX is not set. Set the pipeline variable to the value of `azd env get-value FUNCTION_APP_NAME_SUFFIX` from the environment you deployed from.');
  process.exit(1);
}

if (!suffix && !existingApp) {
  // 8 characters of [a-z0-9]: about 41 bits, and Function App names allow lowercase letters and digits.
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const generated = [...randomBytes(8)].map((byte) => alphabet[byte % alphabet.length]).join('');
  execFileSync('azd', ['env', 'set', 'FUNCTION_APP_NAME_SUFFIX', generated], { stdio: 'inherit', shell: process.platform === 'win32' });
  console.log(`preprovision: the Function App will be func-<token>-${generated} (its webhook URL is not guessable from the environment name).`);
} else if (suffix) {
  console.log(`preprovision: Function App name suffix ${suffix}.`);
} else {
  console.log(`preprovision: keeping the existing Function App ${existingApp}.`);
}
