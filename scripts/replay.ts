/**
 * `npm run replay -- <selector> [options]`: replays failed transfers from an operator's shell, exactly as
 * POST /api/transfers/replay does, against the storage dev/operatorStorage.ts resolves (never the local
 * Azurite unless asked with --local). See docs/reliability.md.
 */
import path from 'node:path';
import { helpOrUsageError, readCommandLine, runAsProcess, type CommandLine } from './cli';
import { ConfigError, companyRefsOf, type StorageConfig } from '../shared/config';
import { ERROR_CODES, describeError } from '../shared/errors';
import { consoleLogger } from '../shared/log';
import { createStorage } from '../shared/storage';
import { MAX_REPLAY_PER_CALL, parseReplayRequest, replayTransfers, type ReplayResult } from '../shared/sync/replay';
import { resolveOperatorStorage } from '../dev/operatorStorage';
import { resolveSettings } from '../dev/settings';

export const USAGE = `Usage: npm run replay -- <selector> [options]

Re-enqueues customers whose latest transfer failed to the customer-sync queue (source "replay").
The sync is idempotent: replaying a customer twice does no harm.

Selector (exactly one):
  --customer <id>       a Business Central customer id (GUID); repeat for several (at most ${MAX_REPLAY_PER_CALL})
  --error-code <code>   customers whose latest transfer failed with this code, e.g. RetriesExhausted
  --all                 customers whose latest transfer failed, whatever the code

Options:
  --company <c>         only this company (GUID, or a name of BC_COMPANIES); default: every company
  --include-poison      also move the messages waiting in customer-sync-poison back to customer-sync
  --dry-run             show what would be replayed; change nothing
  --local               use local.settings.json or the local Azurite (as npm start)
  -h, --help            this text

At most ${MAX_REPLAY_PER_CALL} customers per run; run again once they are processed when more remain.
Storage: AzureWebJobsStorage from the environment, else the selected azd environment's storage account
(after azd up, signed in with az or azd), else AzureWebJobsStorage in local.settings.json; the local
Azurite only with --local. The first line printed says which. With BC_COMPANIES (environment or
local.settings.json) each customer is judged and replayed in its own company.
Error codes: ${ERROR_CODES.join(', ')}.

Examples:
  npm run replay -- --error-code RetriesExhausted --dry-run
  npm run replay -- --error-code RetriesExhausted --include-poison
  npm run replay -- --customer 3f2504e0-4f89-11d3-9a0c-0305e82c3301 --customer 5c1d2e3f-0a1b-4c2d-8e3f-4a5b6c7d8e9f
`;

export type ParsedCommand = CommandLine<{ body: Record<string, unknown>; local: boolean }>;

/** Flags → the replay route's JSON body; the route's own validation then applies to both. */
export function parseCommandLine(argv: readonly string[]): ParsedCommand {
  const options = {
    customer: { type: 'string', multiple: true },
    'error-code': { type: 'string' },
    all: { type: 'boolean' },
    'include-poison': { type: 'boolean' },
    'dry-run': { type: 'boolean' },
    local: { type: 'boolean' },
    company: { type: 'string' },
  } as const;
  return readCommandLine(argv, options, (values) => {
    const body: Record<string, unknown> = {};
    if (values.customer) body.customerIds = values.customer;
    if (values['error-code'] !== undefined) body.errorCode = values['error-code'];
    if (values.all) body.all = true;
    if (values['include-poison']) body.includePoisonQueue = true;
    if (values['dry-run']) body.dryRun = true;
    // The route's own validation judges the company (and everything else) for both.
    if (values.company !== undefined) body.company = values.company;
    return { kind: 'run', body, local: values.local === true };
  });
}

/** The lines printed after a run. */
export function formatResult(result: ReplayResult): string {
  const lines = [`${result.dryRun ? 'Dry run: ' : ''}${result.message}`];
  for (const customerId of result.customerIds) lines.push(`  ${customerId}`);
  for (const skip of result.skipped) lines.push(`  skipped ${skip.customerId}: ${skip.reason}`);
  if (result.poison) {
    lines.push(
      result.dryRun
        ? `Poison queue: about ${result.poison.waiting ?? 0} messages waiting (they would be moved back to customer-sync).`
        : `Poison queue: ${result.poison.requeued} messages moved back to customer-sync, ${result.poison.unreadable} unreadable left in place.`,
    );
  }
  return lines.join('\n');
}

export async function main(argv: readonly string[]): Promise<number> {
  const command = parseCommandLine(argv);
  if (command.kind !== 'run') return helpOrUsageError('replay', command, USAGE) ?? 2;
  const parsed = parseReplayRequest(command.body);
  if (!parsed.ok) {
    // The route's wording names body fields; say it in flags here.
    const message = parsed.error
      .replace(/"customerIds", "errorCode" or "all": true/u, '--customer, --error-code or --all')
      .replace(/\bcustomerIds\b/gu, '--customer')
      .replace(/\berrorCode\b/gu, '--error-code');
    console.error(`replay: ${message}\n\n${USAGE}`);
    return 2;
  }
  let connection: StorageConfig;
  try {
    const resolved = resolveOperatorStorage({ root: path.resolve(__dirname, '..'), local: command.local });
    connection = resolved.connection;
    console.log(`Storage: ${resolved.description}`);
  } catch (error) {
    console.error(`replay: ${error instanceof ConfigError ? error.message : describeError(error)}`);
    return 2;
  }
  // The companies of BC_COMPANIES, when the settings name several: customers are then replayed in their company.
  const companies = companyRefsOf(resolveSettings(path.resolve(__dirname, '..')));
  const storage = createStorage(connection, undefined, companies.length > 1 ? { companies } : {});
  let company: string | undefined;
  if (parsed.request.company !== undefined) {
    const wanted = parsed.request.company.toLowerCase();
    company = companies.find((candidate) => candidate.id === wanted || candidate.name.toLowerCase() === wanted)?.id ?? (/^[0-9a-f-]{36}$/u.test(wanted) ? wanted : undefined);
    if (!company) {
      console.error(`replay: --company ${parsed.request.company}: not a company GUID nor a name of BC_COMPANIES`);
      return 2;
    }
  }
  try {
    const result = await replayTransfers(
      {
        transfers: storage.transfers,
        ...(companies.length > 1
          ? { companies: { ids: companies.map((candidate) => candidate.id), transfersOf: (id: string) => storage.forCompany(companies.find((candidate) => candidate.id === id) ?? { id, name: id }).transfers } }
          : {}),
        ...(company ? { company } : {}),
        failedTransfers: storage.failedTransfers,
        syncQueue: storage.syncQueue,
        poisonQueue: storage.poisonQueue,
        logger: { ...consoleLogger, info: () => {} },
      },
      parsed.request,
    );
    console.log(formatResult(result));
    return 0;
  } catch (error) {
    console.error(`replay failed: ${describeError(error)}. Nothing or only part was replayed; running it again is safe.`);
    return 1;
  }
}

if (require.main === module) runAsProcess('replay', () => main(process.argv.slice(2)), 1);
