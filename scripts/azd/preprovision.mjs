// azd preprovision hook (azure.yaml). Node only, no packages: it may run before `npm install`.
// A new environment gets a random suffix for the Function App name once, so the app's host name and
// therefore its webhook URL cannot be derived from the environment name, subscription and region.
// An environment that was provisioned before keeps its app (its name is in AZURE_FUNCTION_APP_NAME).
// The cost budget's start month is also set once (COST_BUDGET_START_DATE): Azure refuses to change it later.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

const suffix = process.env.FUNCTION_APP_NAME_SUFFIX?.trim();
const existingApp = process.env.AZURE_FUNCTION_APP_NAME?.trim();
const inPipeline = Boolean(process.env.CI || process.env.GITHUB_ACTIONS || process.env.TF_BUILD);
const budgetStart = process.env.COST_BUDGET_START_DATE?.trim();
const budgetOn = (process.env.COST_BUDGET_AMOUNT?.trim() || '100') !== '0';
const azdEnvSet = (name, value) => execFileSync('azd', ['env', 'set', name, value], { stdio: 'inherit', shell: process.platform === 'win32' });

if (budgetOn && budgetStart && !/^\d{4}-\d{2}-01$/u.test(budgetStart)) {
  console.error(`preprovision: COST_BUDGET_START_DATE is "${budgetStart}"; it must be the first day of a month, yyyy-MM-01 (the month the budget was created).`);
  process.exit(1);
}
if (budgetOn && !budgetStart) {
  if (inPipeline) {
    // A pipeline starts from an empty azd environment: this month's date would differ from the budget's next month.
    console.error('preprovision: COST_BUDGET_START_DATE is not set. Set the pipeline variable to the value of `azd env get-value COST_BUDGET_START_DATE` from the environment you deployed from (or COST_BUDGET_AMOUNT=0 for no budget).');
    process.exit(1);
  }
  const now = new Date();
  const month = `${now.getUTCFullYear()}-${String(now.getUTCMonth() + 1).padStart(2, '0')}-01`;
  azdEnvSet('COST_BUDGET_START_DATE', month);
  console.log(`preprovision: the cost budget starts ${month} (COST_BUDGET_START_DATE, kept for this environment).`);
}

if (!suffix && !existingApp && inPipeline) {
  // A pipeline starts from an empty azd environment each run: a new suffix would mean a new app each time.
  console.error('preprovision: FUNCTION_APP_NAME_SUFFIX is not set. Set the pipeline variable to the value of `azd env get-value FUNCTION_APP_NAME_SUFFIX` from the environment you deployed from.');
  process.exit(1);
}

if (!suffix && !existingApp) {
  // 8 characters of [a-z0-9]: about 41 bits, and Function App names allow lowercase letters and digits.
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const generated = [...randomBytes(8)].map((byte) => alphabet[byte % alphabet.length]).join('');
  azdEnvSet('FUNCTION_APP_NAME_SUFFIX', generated);
  console.log(`preprovision: the Function App will be func-<token>-${generated} (its webhook URL is not guessable from the environment name).`);
} else if (suffix) {
  console.log(`preprovision: Function App name suffix ${suffix}.`);
} else {
  console.log(`preprovision: keeping the existing Function App ${existingApp}.`);
}
