/**
 * `npm run sync -- <id or number> [--company C] [--dry-run] [--json]`: one customer, now, from an operator's shell, against the
 * configured Business Central, iPaaS.com and storage (environment, then local.settings.json). Without --dry-run it
 * transfers the customer as a manual sync (recorded like any transfer); with --dry-run it prints the plan the
 * sync would carry out and writes nothing anywhere.
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { companyFlag, helpOrUsageError, readCommandLine, runAsProcess, type CommandLine } from './cli';
import { ConfigError, loadConfig, type Environment } from '../shared/config';
import { describeError, SyncError } from '../shared/errors';
import { isGuid, normalizeGuid } from '../shared/guid';
import { silentLogger } from '../shared/log';
import { loadMappingFile, MappingFileError, type CustomerMapping } from '../shared/mapping';
import { buildServices, type Services } from '../shared/services';
import type { TransferRecord } from '../shared/storage/types';
import { planSync, type SyncPlan } from '../shared/sync/planSync';
import { syncCustomer } from '../shared/sync/syncCustomer';
import { chooseMode, resolveSettings } from '../dev/settings';

export const USAGE = `Usage: npm run sync -- <customer id or number> [--company <GUID or name>] [--dry-run [--mapping <file>]] [--json]

Transfers one Business Central customer to iPaaS.com now, as a manual sync, and prints the transfer.
  <customer id or number>   the customer's GUID, or its number (e.g. 10000)
  --company <c>             the company (its GUID or configured name); needed only when several are configured
                            (BC_COMPANIES): a number always, an id when it exists in several companies
  --dry-run                 print what the sync would do (the plan) and write nothing: no iPaaS.com write,
                            no queue message, no transfer recorded
  --mapping <file>          with --dry-run: plan with this mapping collection file instead of the configured one
                            (CUSTOMER_MAPPING_FILE), to see what a mapping change would write before deploying it
  --json                    print JSON instead of text
  -h, --help                this text

Settings: the environment, then local.settings.json (as npm start). The sandbox of npm start has no settings to
use here; there, ask the running host: curl -X POST "http://localhost:7071/api/customers/by-number/10000/sync?dryRun=true"
`;

export interface SyncIo {
  env: Environment;
  out: (text: string) => void;
  err: (text: string) => void;
  /** Built from the settings unless given (tests). */
  services?: Services;
  /** Where a relative --mapping path is taken from (default: the current folder). */
  cwd?: string;
}

type Parsed = CommandLine<{ target: string; dryRun: boolean; json: boolean; mapping?: string; company?: string }>;

export function parseCommandLine(argv: readonly string[]): Parsed {
  const options = { 'dry-run': { type: 'boolean' }, json: { type: 'boolean' }, mapping: { type: 'string' }, company: { type: 'string' } } as const;
  return readCommandLine(
    argv,
    options,
    (values, positionals) => {
      if (positionals.length !== 1) return { kind: 'usageError', message: 'give exactly one customer id or number' };
      const target = (positionals[0] ?? '').trim();
      if (target === '' || target.length > 100) return { kind: 'usageError', message: 'the customer id or number must have 1 to 100 characters' };
      const mapping = values.mapping?.trim();
      if (values.mapping !== undefined && !mapping) return { kind: 'usageError', message: '--mapping needs a file' };
      if (mapping && values['dry-run'] !== true) {
        return { kind: 'usageError', message: '--mapping works with --dry-run only: a real transfer uses the deployed mapping (CUSTOMER_MAPPING_FILE)' };
      }
      const company = companyFlag(values.company);
      if ('error' in company) return { kind: 'usageError', message: company.error };
      return { kind: 'run', target, dryRun: values['dry-run'] === true, json: values.json === true, ...(mapping ? { mapping } : {}), ...company };
    },
    true,
  );
}

export function formatPlan(plan: SyncPlan, mappingFile?: string): string {
  const lines = [`Dry run for customer ${plan.customerNumber ?? '(no number)'} (${plan.customerId}): ${plan.outcome}${plan.errorCode ? ` ${plan.errorCode}` : ''}`];
  if (mappingFile) lines.push(`  mapping: ${mappingFile}`);
  if (plan.reason) lines.push(`  reason: ${plan.reason}`);
  if (plan.ipaasCustomerId) lines.push(`  iPaaS.com customer: ${plan.ipaasCustomerId}`);
  for (const change of plan.changes) lines.push(`  ${change.field}: ${JSON.stringify(change.from)} → ${JSON.stringify(change.to)}`);
  for (const address of plan.addressesToAdd) lines.push(`  + address ${Object.values(address).filter(Boolean).join(', ')}`);
  if (plan.outcome === 'Create' || plan.outcome === 'Update' || plan.outcome === 'Unchanged') {
    lines.push(`  external id link: ${plan.externalIdLink ? 'yes (UpdateExternalId)' : 'no'}`);
  }
  lines.push('Nothing was written.');
  return lines.join('\n');
}

export function formatTransfer(transfer: TransferRecord): string {
  const lines = [
    `Transfer of customer ${transfer.customerNumber ?? '(no number)'} (${transfer.customerId}): ${transfer.status} ${transfer.errorCode ?? transfer.action ?? ''}`.trimEnd(),
  ];
  if (transfer.companyName && transfer.companyName !== transfer.companyId) lines.push(`  company: ${transfer.companyName} (${transfer.companyId})`);
  if (transfer.ipaasCustomerId) lines.push(`  iPaaS.com customer: ${transfer.ipaasCustomerId}`);
  if (transfer.addressesAdded > 0) lines.push(`  addresses added: ${transfer.addressesAdded}`);
  if (transfer.errorMessage) lines.push(`  ${transfer.status === 'Failed' ? 'error' : 'note'}: ${transfer.errorMessage}`);
  for (const warning of transfer.warnings) lines.push(`  warning: ${warning}`);
  return lines.join('\n');
}

export async function main(argv: readonly string[], io: SyncIo): Promise<number> {
  const command = parseCommandLine(argv);
  if (command.kind !== 'run') return helpOrUsageError('sync', command, USAGE, io) ?? 2;
  // Another mapping file (relative to the current folder), checked as at start before anything else happens.
  let mapping: CustomerMapping | undefined;
  if (command.mapping) {
    try {
      mapping = loadMappingFile(path.resolve(io.cwd ?? process.cwd(), command.mapping), command.mapping);
    } catch (error) {
      io.err(`sync: ${error instanceof MappingFileError ? error.message : describeError(error)}`);
      return 2;
    }
  }
  let services = io.services;
  if (!services) {
    if (chooseMode(io.env as Record<string, string>).kind === 'sandbox') {
      io.err(`sync: no Business Central / iPaaS.com settings found.\n\n${USAGE}`);
      return 2;
    }
    try {
      services = buildServices(loadConfig(io.env));
    } catch (error) {
      io.err(`sync: ${error instanceof ConfigError ? error.message : describeError(error)}`);
      return 2;
    }
  }
  try {
    const normalized = normalizeGuid(command.target);
    const named = command.company;
    let company = named !== undefined ? services.company(named) : services.multiCompany ? undefined : services.companies[0];
    if (named !== undefined && !company) {
      io.err(`sync: --company ${named}: no configured company has this id or name (${services.companies.map((candidate) => `"${candidate.ref.name}"`).join(', ')})`);
      return 2;
    }
    let customerId: string;
    if (isGuid(normalized)) {
      customerId = normalized;
      if (!company) {
        // Several companies and none named: the one whose Business Central has this id (a company copy keeps ids).
        const found = [];
        for (const candidate of services.companies) if (await candidate.businessCentral.getCustomer(customerId)) found.push(candidate);
        if (found.length !== 1) {
          io.err(
            found.length === 0
              ? `sync: no configured company has a customer with id ${customerId}`
              : `sync: customer ${customerId} exists in ${found.map((candidate) => `"${candidate.ref.name}"`).join(' and ')}: give --company`,
          );
          return found.length === 0 ? 1 : 2;
        }
        company = found[0]!;
      }
    } else {
      if (!company) {
        io.err(`sync: several companies are configured and numbers repeat across them: give --company (${services.companies.map((candidate) => `"${candidate.ref.name}"`).join(', ')})`);
        return 2;
      }
      const customer = await company.businessCentral.findCustomerByNumber(command.target);
      if (!customer) {
        io.err(`sync: no Business Central customer has the number ${command.target}${services.multiCompany ? ` in ${company.ref.name}` : ''}`);
        return 1;
      }
      customerId = customer.id;
    }
    const deps = { ...company.syncDependencies(silentLogger), ...(mapping ? { mapping } : {}) };
    if (command.dryRun) {
      const plan = await planSync(deps, customerId);
      io.out(command.json ? JSON.stringify(mapping ? { ...plan, mappingFile: command.mapping } : plan, null, 2) : formatPlan(plan, command.mapping));
      return 0;
    }
    const transfer = await syncCustomer(deps, { customerId, source: 'manual', correlationId: randomUUID(), attempt: 1 }).catch((error: unknown) => {
      // A transient failure is recorded too; from the shell there is no queue to retry it, so say so.
      if (error instanceof SyncError && error.transient) throw new SyncError(error.code, `${error.message}; run the command again later`, { transient: true });
      throw error;
    });
    io.out(command.json ? JSON.stringify(transfer, null, 2) : formatTransfer(transfer));
    return transfer.status === 'Failed' ? 1 : 0;
  } catch (error) {
    io.err(`sync failed: ${describeError(error)}`);
    return 1;
  }
}

if (require.main === module) {
  const env = resolveSettings(path.resolve(__dirname, '..'));
  runAsProcess('sync', () => main(process.argv.slice(2), { env, out: (text) => console.log(text), err: (text) => console.error(text) }), 1);
}
