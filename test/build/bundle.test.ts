import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const root = path.resolve(__dirname, '../..');

interface Registration {
  name: string;
  trigger: string;
  /** The route of an HTTP function, the queue of a queue worker, 'schedule' for a timer. */
  on: string;
}

/** Every function the deployed app must register; a new function is added here on purpose. */
const EXPECTED: Registration[] = [
  { name: 'businessCentralWebhook', trigger: 'httpTrigger', on: 'webhooks/business-central' },
  { name: 'manualSync', trigger: 'httpTrigger', on: 'customers/{id}/sync' },
  { name: 'manualSyncByNumber', trigger: 'httpTrigger', on: 'customers/by-number/{number}/sync' },
  { name: 'customerTransfers', trigger: 'httpTrigger', on: 'customers/{id}/transfers' },
  { name: 'transfers', trigger: 'httpTrigger', on: 'transfers' },
  { name: 'replayTransfers', trigger: 'httpTrigger', on: 'transfers/replay' },
  { name: 'health', trigger: 'httpTrigger', on: 'health' },
  { name: 'healthDetails', trigger: 'httpTrigger', on: 'health/details' },
  { name: 'syncWorker', trigger: 'queueTrigger', on: 'customer-sync' },
  { name: 'poisonWorker', trigger: 'queueTrigger', on: 'customer-sync-poison' },
  { name: 'catchUpWorker', trigger: 'queueTrigger', on: 'customer-catchup' },
  { name: 'pollCustomers', trigger: 'timerTrigger', on: 'schedule' },
  { name: 'subscriptionTimer', trigger: 'timerTrigger', on: 'schedule' },
];

const byName = (a: Registration, b: Registration): number => a.name.localeCompare(b.name);

/**
 * The deployable package is host.json, package.json and dist/ without node_modules: the bundle must load
 * on its own and register every function, as the Functions worker will load it.
 */
test('the bundle loads without node_modules and registers exactly the expected functions', () => {
  const out = mkdtempSync(path.join(tmpdir(), 'bundle-'));
  try {
    execFileSync(process.execPath, [path.join(root, 'node_modules/tsx/dist/cli.mjs'), path.join(root, 'scripts/build.ts'), '--no-typecheck'], {
      cwd: root,
      stdio: 'pipe',
    });
    for (const file of ['host.json', 'package.json', 'dist', 'mappings']) cpSync(path.join(root, file), path.join(out, file), { recursive: true });
    // A stand-in for the worker's '@azure/functions-core' that lists what gets registered.
    const probe = `
      const Module = require('node:module');
      const names = [];
      const original = Module._resolveFilename;
      Module._resolveFilename = function (request, ...rest) {
        return request === '@azure/functions-core' ? 'functions-core-probe' : original.call(this, request, ...rest);
      };
      require.cache['functions-core-probe'] = { id: 'functions-core-probe', filename: 'functions-core-probe', loaded: true, exports: {
        setProgrammingModel() {}, registerHook() { return { dispose() {} }; }, log() {},
        registerFunction(metadata) {
          const trigger = Object.values(metadata.bindings).find((binding) => binding.direction === 'in' && /Trigger$/.test(binding.type));
          names.push({ name: metadata.name, trigger: trigger && trigger.type, on: trigger && (trigger.route ?? trigger.queueName ?? 'schedule') });
          return { dispose() {} };
        },
      } };
      require(require('node:path').join(process.cwd(), require('./package.json').main));
      console.log(JSON.stringify(names));
    `;
    // Started from another folder, as the worker may be: the default mapping file is found beside dist/.
    const output = execFileSync(process.execPath, ['-e', probe.replace('process.cwd()', JSON.stringify(out)).replace("'./package.json'", JSON.stringify(path.join(out, 'package.json')))], { cwd: tmpdir(), env: { PATH: process.env.PATH ?? '' } }).toString();
    const registered = JSON.parse(output.trim().split('\n').pop() ?? '[]') as Registration[];
    // Exactly these, each once: a function dropped from index.ts, registered twice or bound elsewhere fails here.
    expect([...registered].sort(byName)).toEqual([...EXPECTED].sort(byName));

    // A bad mapping file stops the app at load with one message naming the entry.
    writeFileSync(path.join(out, 'mappings', 'bad.json'), readFileSync(path.join(root, 'mappings', 'customer-to-ipaas.json'), 'utf8').replace('"source": "Name"', '"source": "Nmae"'));
    const failed = spawnSync(process.execPath, ['-e', probe], { cwd: out, env: { PATH: process.env.PATH ?? '', CUSTOMER_MAPPING_FILE: 'mappings/bad.json' } });
    expect(failed.status).not.toBe(0);
    expect(failed.stderr.toString()).toContain('CUSTOMER_MAPPING_FILE (mappings/bad.json: fields[1].source: unknown source "Nmae"');

    // Without the mappings folder in the package, the app refuses to start and says which file it looked for.
    rmSync(path.join(out, 'mappings'), { recursive: true });
    const missing = spawnSync(process.execPath, ['-e', probe], { cwd: out, env: { PATH: process.env.PATH ?? '' } });
    expect(missing.stderr.toString()).toContain('mappings/customer-to-ipaas.json: no such file');
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}, 60_000);
