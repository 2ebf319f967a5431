/**
 * `npm run reconcile [-- --fix] [--out FILE]`: where Business Central and iPaaS.com disagree, one line per category.
 *
 * With Business Central and iPaaS.com settings (environment, then local.settings.json) the comparison runs in this
 * process against those services and the storage in AzureWebJobsStorage. Without them, in a project folder with a
 * deployed azd environment (`azd env get-values`, as `npm run replay` reads it), it runs in the deployed app: through
 * POST /api/reconciliations with a function key (Azure CLI), following the run. Otherwise, or with --local, it asks
 * the sandbox of a running `npm start` (its fakes live in that process) the same way.
 * Exit code: 0 everything in sync, 1 not, 2 on error.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { companyFlag, helpOrUsageError, readCommandLine, runAsProcess, type CommandLine } from './cli';
import { SingleBar } from 'cli-progress';
import { ConfigError, loadConfig } from '../shared/config';
import { describeError } from '../shared/errors';
import { consoleLogger, silentLogger } from '../shared/log';
import {
  advanceReconciliation,
  cancelReconciliation,
  CUSTOMER_CATEGORIES,
  outOfSyncCount,
  reportSchema,
  reportToCsv,
  startReconciliation,
  type ReconcileReport,
} from '../shared/reconcile';
import { buildServices } from '../shared/services';
import { describeStorage } from '../shared/storage';
import { chooseMode, readLocalSettings, resolveSettings } from '../dev/settings';
import { readAzdValues, type AzdValues } from '../dev/operatorStorage';
import { execFileSync } from 'node:child_process';

const ROOT = path.resolve(__dirname, '..');

export const USAGE = `Usage: npm run reconcile [-- --fix] [--company <GUID or name>] [--out report.json|report.csv] [--local]

Compares every Business Central customer with iPaaS.com (what the mapping would write against what iPaaS.com
holds) and prints how many are InSync, Missing, Drifted, Unlinked, DuplicateEmail, Invalid or Filtered, and
how many links point at deleted Business Central customers (Orphaned).

Options:
  --fix           also enqueue the Missing and Drifted customers for transfer (source "reconcile")
  --company <c>   only this company (its GUID or configured name); default: every configured company, each counted
  --out <file>    also write the full report: JSON when the name ends in .json, CSV when it ends in .csv
  --local         against the sandbox of a running \`npm start\`, even where an azd environment is deployed
  -h, --help      this text

Where it runs: with the Business Central and iPaaS.com settings (environment, then local.settings.json) against
those services and AzureWebJobsStorage; without them in the app of the selected azd environment (after \`azd up\`,
signed in with \`az login\` to read its function key); otherwise against the sandbox of a running \`npm start\`
(LOCAL_HOST_URL, default http://localhost:7071).
Exit code: 0 everything in sync, 1 something is not, 2 the reconciliation could not run.
`;

export type ParsedCommand = CommandLine<{ fix: boolean; local: boolean; out: { file: string; format: 'json' | 'csv' } | undefined; company?: string }>;

export function parseCommandLine(argv: readonly string[]): ParsedCommand {
  return readCommandLine(argv, { fix: { type: 'boolean' }, out: { type: 'string' }, local: { type: 'boolean' }, company: { type: 'string' } }, (values) => {
    let out: { file: string; format: 'json' | 'csv' } | undefined;
    if (values.out !== undefined) {
      const extension = path.extname(values.out).toLowerCase();
      if (extension !== '.json' && extension !== '.csv') return { kind: 'usageError', message: `--out ${values.out}: the file name must end in .json or .csv` };
      out = { file: values.out, format: extension === '.json' ? 'json' : 'csv' };
    }
    const company = companyFlag(values.company);
    if ('error' in company) return { kind: 'usageError', message: company.error };
    return { kind: 'run', fix: values.fix ?? false, local: values.local ?? false, out, ...company };
  });
}

// ---- Output -------------------------------------------------------------------------------------------------

const MEANING: Record<string, string> = {
  InSync: 'iPaaS.com holds what the mapping would write',
  Missing: 'passes filter and validation, not in iPaaS.com',
  Drifted: 'in iPaaS.com with other values',
  Unlinked: 'in iPaaS.com (by email or number), never linked (EmailInUse: linked to another customer)',
  DuplicateEmail: 'several iPaaS.com customers share the email',
  Invalid: 'would fail validation',
  Filtered: 'excluded by the mapping filter',
  Orphaned: 'links whose Business Central customer is gone',
};

/** The summary table (counts) and the first items, by id and number only: names and emails go to --out, not the terminal. */
export function formatSummary(report: ReconcileReport, maxItems = 20): string {
  const names = [...CUSTOMER_CATEGORIES, 'Orphaned'] as const;
  const width = Math.max(...names.map((name) => name.length));
  const countWidth = Math.max(...names.map((name) => String(report.counts[name]).length));
  const lines = ['', `Reconciliation ${report.runId} ${report.status} (${report.progress.businessCentralCustomers} Business Central customers, ${report.progress.ipaasCustomers} iPaaS.com customers)`, ''];
  lines.push(`  ${'category'.padEnd(width)}  ${'count'.padStart(Math.max(countWidth, 5))}  meaning`);
  for (const name of names) lines.push(`  ${name.padEnd(width)}  ${String(report.counts[name]).padStart(Math.max(countWidth, 5))}  ${MEANING[name]}`);
  if (report.items.length > 0) {
    lines.push('', `Customers that differ${report.items.length > maxItems ? ` (first ${maxItems} of ${report.items.length}; --out writes all)` : ''}:`);
    for (const item of report.items.slice(0, maxItems)) {
      const detail = item.errorCode ?? (item.changes.length > 0 ? item.changes.map((change) => change.field).join(', ') : '');
      const company = item.companyName ? `[${item.companyName}] ` : '';
      lines.push(`  ${item.category.padEnd(width)}  ${company}${(item.customerNumber ?? '(no number)').padEnd(12)} ${item.customerId ?? ''}  ${item.ipaasCustomerId ? `iPaaS.com ${item.ipaasCustomerId}  ` : ''}${detail}`);
    }
  }
  if (report.companies) {
    lines.push('', 'Per company:');
    for (const company of report.companies) {
      const out = outOfSyncCount(company.counts);
      lines.push(`  ${company.companyName}: ${out === 0 ? 'in sync' : `${out} not in sync`} (${names.filter((name) => company.counts[name] > 0).map((name) => `${name} ${company.counts[name]}`).join(', ') || 'no customers'})`);
    }
  }
  const behind = outOfSyncCount(report.counts);
  lines.push('', behind === 0 ? 'Everything is in sync.' : `${behind} customer${behind === 1 ? '' : 's'} not in sync.`);
  if (report.fix) lines.push(`Enqueued ${report.enqueued} customer${report.enqueued === 1 ? '' : 's'} (Missing and Drifted) for transfer with source "reconcile".`);
  return lines.join('\n');
}

/** A progress bar on a terminal, one line per checkpoint otherwise. */
export function progressReporter(stream: NodeJS.WriteStream): { update(report: ReconcileReport): void; stop(): void } {
  if (stream.isTTY) {
    const bar = new SingleBar(
      { format: '{phase} |{bar}| {value}/{total} {unit}', hideCursor: true, clearOnComplete: true, stream, barsize: 30 },
    );
    let started = false;
    let phase = '';
    return {
      update(report) {
        const { progress } = report;
        const reading = progress.phase === 'ipaas';
        const label = reading ? 'iPaaS.com        ' : progress.phase === 'businessCentral' ? 'Business Central ' : 'Report           ';
        const value = reading ? progress.ipaasPagesRead : progress.businessCentralCustomers;
        // Business Central does not say how many customers it has; iPaaS.com's count is the estimate until passed.
        const total = reading ? progress.ipaasTotalPages ?? 1 : Math.max(progress.ipaasCustomers, progress.businessCentralCustomers, 1);
        const unit = reading ? 'pages' : 'customers';
        if (!started) {
          bar.start(total, value, { phase: label, unit });
          started = true;
        } else if (phase !== progress.phase) {
          bar.setTotal(total);
        }
        phase = progress.phase;
        bar.setTotal(total);
        bar.update(value, { phase: label, unit });
      },
      stop() {
        if (started) bar.stop();
      },
    };
  }
  return {
    update({ progress }) {
      stream.write(
        `progress: ${progress.phase}: iPaaS.com ${progress.ipaasPagesRead}/${progress.ipaasTotalPages ?? '?'} pages (${progress.ipaasCustomers} customers), ` +
          `Business Central ${progress.businessCentralPagesRead} pages (${progress.businessCentralCustomers} customers)\n`,
      );
    },
    stop() {},
  };
}

function writeOut(report: ReconcileReport, out: { file: string; format: 'json' | 'csv' }): void {
  writeFileSync(out.file, out.format === 'json' ? `${JSON.stringify(report, null, 2)}\n` : reportToCsv(report));
  console.log(`Report written to ${out.file} (${out.format.toUpperCase()}, ${report.items.length} items).`);
}

// ---- Running ----------------------------------------------------------------------------------------------

type Outcome = { report: ReconcileReport } | { error: string };

/** Against the configured services, in this process, with the configured storage. */
async function runHere(settings: Record<string, string>, fix: boolean, company: string | undefined, reporter: ReturnType<typeof progressReporter>): Promise<Outcome> {
  let services;
  try {
    services = buildServices(loadConfig(settings));
  } catch (error) {
    return { error: error instanceof ConfigError ? error.message : describeError(error) };
  }
  console.log(`Business Central: ${services.config.businessCentral.apiBaseUrl} (environment ${services.config.businessCentral.environment})`);
  console.log(`iPaaS.com:        ${services.config.ipaas.apiBaseUrl}`);
  let companies = services.multiCompany ? services.companies : undefined;
  if (company !== undefined) {
    const chosen = services.company(company);
    if (!chosen) return { error: `--company ${company}: no configured company has this id or name (${services.companies.map((candidate) => `"${candidate.ref.name}"`).join(', ')})` };
    companies = [chosen];
  }
  if (companies) console.log(`Companies:        ${companies.map((candidate) => candidate.ref.name).join(', ')}`);
  const deps = services.reconcileDependencies({ ...consoleLogger, info: () => {}, warn: () => {} });
  const started = await startReconciliation(deps, { fix, trigger: 'command', ...(companies ? { companies: companies.map((candidate) => candidate.ref) } : {}) });
  if (!started.started) {
    return { error: `reconciliation ${started.runningRunId} is still running (one runs at a time); wait for it, or see GET /api/reconciliations/latest` };
  }
  let interrupted = false;
  const onSignal = () => {
    interrupted = true;
  };
  process.once('SIGINT', onSignal);
  try {
    const result = await advanceReconciliation(deps, started.runId, { onProgress: (report) => reporter.update(report), shouldStop: () => interrupted });
    if (result.outcome === 'completed') return { report: result.report };
    if (interrupted) {
      await cancelReconciliation(deps, started.runId, 'Stopped by the operator (Ctrl-C)');
      return { error: 'stopped (Ctrl-C); the run is marked Failed' };
    }
    if (result.outcome === 'notFound') return { error: `run ${started.runId} disappeared from storage` };
    return { error: `run ${started.runId} ended ${result.outcome}${'report' in result && result.report.error ? `: ${result.report.error}` : ''}` };
  } finally {
    process.removeListener('SIGINT', onSignal);
  }
}

/** Where a run without local Business Central / iPaaS.com settings happens: a deployed app, or the local sandbox. */
export type RemoteTarget =
  | { kind: 'deployed'; baseUrl: string; environment: string; resourceGroup: string; app: string }
  | { kind: 'sandbox'; baseUrl: string };

/** The deployed app of the selected azd environment (its outputs), unless --local; else the local host. */
export function chooseRemoteTarget(local: boolean, env: NodeJS.ProcessEnv, azdValues: AzdValues): RemoteTarget {
  const sandbox: RemoteTarget = { kind: 'sandbox', baseUrl: env.LOCAL_HOST_URL?.trim() || `http://localhost:${env.LOCAL_HOST_PORT?.trim() || '7071'}` };
  if (local) return sandbox;
  const azd = azdValues();
  const baseUrl = azd?.SERVICE_API_URI?.trim();
  const resourceGroup = azd?.AZURE_RESOURCE_GROUP?.trim();
  const app = azd?.AZURE_FUNCTION_APP_NAME?.trim();
  if (!baseUrl || !resourceGroup || !app) return sandbox;
  return { kind: 'deployed', baseUrl, environment: azd?.AZURE_ENV_NAME?.trim() ?? '', resourceGroup, app };
}

/** The deployed app's default function key, read with the Azure CLI as the signed-in operator. */
export type FunctionKeyReader = (resourceGroup: string, app: string) => string;
export const readFunctionKey: FunctionKeyReader = (resourceGroup, app) =>
  execFileSync('az', ['functionapp', 'keys', 'list', '-g', resourceGroup, '-n', app, '--query', 'functionKeys.default', '-o', 'tsv'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 60_000,
    shell: process.platform === 'win32',
  }).trim();

/** Starts the run where it happens (the deployed app, or the sandbox of a running `npm start`) and follows it. */
async function runRemote(
  target: RemoteTarget,
  headers: Record<string, string>,
  fix: boolean,
  company: string | undefined,
  reporter: ReturnType<typeof progressReporter>,
): Promise<Outcome> {
  const { baseUrl } = target;
  const api = `${baseUrl.replace(/\/+$/u, '')}/api/reconciliations`;
  let response: Response;
  try {
    response = await fetch(api, { method: 'POST', headers: { ...headers, 'Content-Type': 'application/json' }, body: JSON.stringify({ fix, ...(company ? { company } : {}) }) });
  } catch {
    return {
      error:
        target.kind === 'deployed'
          ? `the app at ${baseUrl} does not answer; check \`curl ${baseUrl}/api/health\`, or pass --local for the sandbox of \`npm start\``
          : `no local host answers at ${baseUrl}. Start the sandbox with \`npm start\` in another terminal, ` +
            'or set the Business Central and iPaaS.com settings (local.settings.json or the environment) to reconcile the real services',
    };
  }
  const started = (await response.json().catch(() => ({}))) as { runId?: string; error?: { code?: string; message?: string } };
  if (response.status !== 202 || !started.runId) {
    return { error: `POST ${api} answered ${response.status}: ${started.error?.message ?? 'no run id'}` };
  }
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 300));
    const reply = await fetch(`${api}/${started.runId}`, { headers }).catch(() => undefined);
    if (!reply) return { error: `${target.kind === 'deployed' ? 'the app' : 'the local host'} at ${baseUrl} stopped answering` };
    const parsed = reportSchema.safeParse(await reply.json().catch(() => undefined));
    if (reply.status !== 200 || !parsed.success) return { error: `GET ${api}/${started.runId} answered ${reply.status}` };
    const report = parsed.data as ReconcileReport;
    reporter.update(report);
    if (report.status === 'Completed') return { report };
    if (report.status === 'Failed') return { error: `run ${report.runId} failed: ${report.error ?? 'no reason given'}` };
  }
}

/** Where AzureWebJobsStorage comes from, so the command never uses another storage than the user thinks. */
function storageSource(env: NodeJS.ProcessEnv): string {
  if (env.AzureWebJobsStorage?.trim() || env.AzureWebJobsStorage__accountName?.trim()) return 'the environment';
  const local = readLocalSettings(ROOT);
  if (local.AzureWebJobsStorage?.trim() || local.AzureWebJobsStorage__accountName?.trim()) return 'local.settings.json';
  return 'the built-in default';
}

export async function main(
  argv: readonly string[],
  deps: { azdValues?: AzdValues; functionKey?: FunctionKeyReader } = {},
): Promise<number> {
  const command = parseCommandLine(argv);
  if (command.kind !== 'run') return helpOrUsageError('reconcile', command, USAGE) ?? 2;
  let settings: Record<string, string>;
  try {
    settings = resolveSettings(ROOT);
  } catch (error) {
    console.error(`reconcile: ${describeError(error)}`);
    return 2;
  }
  const mode = chooseMode(settings);
  if (mode.kind === 'incomplete') {
    console.error(`reconcile: missing settings for a real Business Central and iPaaS.com: ${mode.missing.join(', ')}. Set all of them or none (sandbox).`);
    return 2;
  }
  const reporter = progressReporter(process.stderr);
  let outcome: Outcome;
  if (mode.kind === 'real') {
    let storage: string;
    try {
      storage = describeStorage(loadConfig(settings).storage);
    } catch (error) {
      console.error(`reconcile: ${error instanceof ConfigError ? error.message : describeError(error)}`);
      return 2;
    }
    console.log(`Storage:          ${storage} (AzureWebJobsStorage from ${storageSource(process.env)})`);
    outcome = await runHere(settings, command.fix, command.company, reporter).catch((error: unknown) => ({ error: describeError(error) }));
  } else {
    const target = chooseRemoteTarget(command.local, process.env, deps.azdValues ?? readAzdValues);
    let headers: Record<string, string> = {};
    if (target.kind === 'deployed') {
      console.log(`Deployed app:     ${target.baseUrl}, from the azd environment ${target.environment} (--local for the sandbox of \`npm start\`)`);
      try {
        headers = { 'x-functions-key': (deps.functionKey ?? readFunctionKey)(target.resourceGroup, target.app) };
      } catch {
        console.error(
          `reconcile: could not read a function key of ${target.app} with the Azure CLI. Sign in with \`az login\` (the account that ran \`azd up\`), ` +
            'or start the run with POST /api/reconciliations (docs/deploy.md)',
        );
        return 2;
      }
    } else {
      console.log(`Sandbox:          the running \`npm start\` at ${target.baseUrl} (no Business Central / iPaaS.com settings)`);
      console.log(`Storage:          that host's storage (${describeStorage({ connectionString: settings.AzureWebJobsStorage ?? '' })})`);
    }
    outcome = await runRemote(target, headers, command.fix, command.company, reporter).catch((error: unknown) => ({ error: describeError(error) }));
  }
  reporter.stop();
  if ('error' in outcome) {
    console.error(`reconcile failed: ${outcome.error}`);
    return 2;
  }
  console.log(formatSummary(outcome.report));
  if (command.out) {
    try {
      writeOut(outcome.report, command.out);
    } catch (error) {
      console.error(`reconcile: could not write ${command.out.file}: ${describeError(error)}`);
      return 2;
    }
  }
  return outOfSyncCount(outcome.report.counts) === 0 ? 0 : 1;
}

if (require.main === module) runAsProcess('reconcile', () => main(process.argv.slice(2)), 2);

export { silentLogger };
