/**
 * `npm run doctor [-- --json] [--sandbox] [--suggest-paths]`: read-only preflight of this deployment against the
 * configured Business Central, Entra ID, iPaaS.com and storage (environment, then local.settings.json). One line
 * per check, ✓ or ✗, and under every ✗ the setting or permission to change. Exit 0 when nothing failed, 1
 * otherwise, 2 on bad usage. Writes nothing anywhere. The checks are in shared/doctor/doctor.ts;
 * GET /api/health/details?deep=true runs them too. `--suggest-paths` prints only the IPAAS_PATHS value the tenant's
 * API descriptions document.
 */
import path from 'node:path';
import { helpOrUsageError, readCommandLine, runAsProcess } from './cli';
import type { Environment } from '../shared/config';
import { describeError } from '../shared/errors';
import { ConfigError, loadConfig } from '../shared/config';
import { formatDoctorReport, runDoctor, suggestIpaasPaths } from '../shared/doctor/doctor';
import { startSandboxForDoctor } from '../dev/sandbox/doctor';
import { chooseMode, resolveSettings } from '../dev/settings';

export const USAGE = `Usage: npm run doctor [-- --json] [--sandbox] [--suggest-paths]

Checks, read-only, that this deployment can work: settings, the Entra ID token for Business Central, the
environment and company, the customers query of the poll, Business Central's $metadata against the fields the
sync and the mapping read, the webhook subscription, the webhook URL and its handshake, the iPaaS.com key, its
API descriptions, IPAAS_SYSTEM_ID, every iPaaS.com path (method and fields against the description, or probed
where there is none), IPAAS_ADDRESS_MODE, and storage.
  --json           print the report as JSON
  --sandbox        run against the sandbox of a running \`npm start\` (in-process fakes, its webhook on localhost:7071)
  --suggest-paths  print only the IPAAS_PATHS value the tenant's API descriptions document (notes go to stderr);
                   exit 1 when a path name is not documented or no description could be read
  -h, --help       this text

Exit code: 0 when no check failed (warnings allowed), 1 when one did, 2 on bad usage.
Settings: the environment, then local.settings.json (as npm start).`;

export interface DoctorIo {
  env: Environment;
  out: (text: string) => void;
  err: (text: string) => void;
}

export async function main(argv: readonly string[], io: DoctorIo): Promise<number> {
  const command = readCommandLine(argv, { json: { type: 'boolean' }, sandbox: { type: 'boolean' }, 'suggest-paths': { type: 'boolean' } }, (flags) => ({ kind: 'run', flags }));
  if (command.kind !== 'run') return helpOrUsageError('doctor', command, USAGE, io) ?? 2;
  const values = command.flags;
  let env = io.env;
  let allowLocalWebhook = false;
  let stopSandbox: (() => void) | undefined;
  if (values.sandbox) {
    // The sandbox's fakes live inside `npm start`; the doctor brings up the same fakes here, with the same settings,
    // and checks the running host's webhook.
    const sandbox = startSandboxForDoctor(io.env);
    env = sandbox.env;
    stopSandbox = sandbox.stop;
    allowLocalWebhook = true;
  } else if (chooseMode(env as Record<string, string>).kind === 'sandbox') {
    io.err('doctor: no Business Central / iPaaS.com settings found. Set them (local.settings.json or the environment), or run `npm run doctor -- --sandbox` while `npm start` runs the sandbox.');
    return 2;
  }
  try {
    if (values['suggest-paths']) return await suggestPaths(env, io);
    const report = await runDoctor(env, { allowLocalWebhook });
    io.out(values.json ? JSON.stringify(report, null, 2) : formatDoctorReport(report));
    return report.ok ? 0 : 1;
  } finally {
    stopSandbox?.();
  }
}

/** `--suggest-paths`: the JSON on stdout (to paste into IPAAS_PATHS), what changed and what is missing on stderr. */
async function suggestPaths(env: DoctorIo['env'], io: DoctorIo): Promise<number> {
  let config;
  try {
    config = loadConfig(env);
  } catch (error) {
    const problems = error instanceof ConfigError ? error.problems.map((problem) => `${problem.setting} ${problem.problem}`).join('; ') : describeError(error);
    io.err(`doctor: the settings are not valid, so no path can be suggested: ${problems}`);
    return 2;
  }
  const suggestion = await suggestIpaasPaths(config);
  const documented = Object.keys(suggestion.paths).length;
  const unread = [...suggestion.unread.entries()].map(([service, reason]) => `${service} (${reason})`);
  if (documented === 0) {
    io.err(`doctor: no API description could be read${unread.length > 0 ? `: ${unread.join('; ')}` : ''}; run \`npm run doctor\` to probe the paths instead`);
    return 1;
  }
  io.out(JSON.stringify(suggestion.paths));
  const notes: string[] = [`IPAAS_PATHS as the tenant's API descriptions document it (${documented} path name${documented === 1 ? '' : 's'}):`];
  for (const [name, template] of Object.entries(suggestion.paths)) {
    const current = config.ipaas.paths[name as keyof typeof config.ipaas.paths];
    if (current !== template) notes.push(`  ${name}: ${current} → ${template}`);
  }
  if (notes.length === 1) notes.push('  every configured path is already the documented one');
  if (suggestion.missing.length > 0) notes.push(`  not documented, left out (as configured): ${suggestion.missing.join(', ')}`);
  if (unread.length > 0) notes.push(`  descriptions not read: ${unread.join('; ')}`);
  io.err(notes.join('\n'));
  return suggestion.missing.length > 0 ? 1 : 0;
}

if (require.main === module) {
  const env = resolveSettings(path.resolve(__dirname, '..'));
  runAsProcess('doctor', () => main(process.argv.slice(2), { env, out: (text) => console.log(text), err: (text) => console.error(text) }), 1);
}
