/**
 * `npm run doctor [-- --json] [--sandbox]`: read-only preflight of this deployment against the configured Business
 * Central, Entra ID, iPaaS.com and storage (environment, then local.settings.json). One line per check, ✓ or ✗,
 * and under every ✗ the setting or permission to change. Exit 0 when nothing failed, 1 otherwise, 2 on bad usage.
 * Writes nothing anywhere. The checks are in shared/doctor/doctor.ts; GET /api/health/details?deep=true runs them too.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Environment } from '../shared/config';
import { describeError } from '../shared/errors';
import { formatDoctorReport, runDoctor } from '../shared/doctor/doctor';
import { startSandboxForDoctor } from '../dev/sandbox/doctor';
import { chooseMode, resolveSettings } from '../dev/settings';

export const USAGE = `Usage: npm run doctor [-- --json] [--sandbox]

Checks, read-only, that this deployment can work: settings, the Entra ID token for Business Central, the
environment and company, the customers query of the poll, the webhook subscription, the webhook URL and its
handshake, the iPaaS.com key, IPAAS_SYSTEM_ID, every iPaaS.com path, and storage.
  --json       print the report as JSON
  --sandbox    run against the sandbox of a running \`npm start\` (in-process fakes, its webhook on localhost:7071)
  -h, --help   this text

Exit code: 0 when no check failed (warnings allowed), 1 when one did, 2 on bad usage.
Settings: the environment, then local.settings.json (as npm start).`;

export interface DoctorIo {
  env: Environment;
  out: (text: string) => void;
  err: (text: string) => void;
}

export async function main(argv: readonly string[], io: DoctorIo): Promise<number> {
  let values: { json?: boolean; sandbox?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: { json: { type: 'boolean' }, sandbox: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    }));
  } catch (error) {
    io.err(`doctor: ${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    io.out(USAGE);
    return 0;
  }
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
    const report = await runDoctor(env, { allowLocalWebhook });
    io.out(values.json ? JSON.stringify(report, null, 2) : formatDoctorReport(report));
    return report.ok ? 0 : 1;
  } finally {
    stopSandbox?.();
  }
}

if (require.main === module) {
  const env = resolveSettings(path.resolve(__dirname, '..'));
  main(process.argv.slice(2), { env, out: (text) => console.log(text), err: (text) => console.error(text) }).then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(`doctor failed: ${describeError(error)}`);
      process.exit(1);
    },
  );
}
