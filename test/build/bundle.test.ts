import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const root = path.resolve(__dirname, '../..');

/**
 * The deployable package is host.json, package.json and dist/ without node_modules: the bundle must load
 * on its own and register every function, as the Functions worker will load it.
 */
test('the bundle loads without node_modules and registers every function', () => {
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
        registerFunction(metadata) { names.push(metadata.name); return { dispose() {} }; },
      } };
      require(require('node:path').join(process.cwd(), require('./package.json').main));
      console.log(JSON.stringify(names));
    `;
    // Started from another folder, as the worker may be: the default mapping file is found beside dist/.
    const output = execFileSync(process.execPath, ['-e', probe.replace('process.cwd()', JSON.stringify(out)).replace("'./package.json'", JSON.stringify(path.join(out, 'package.json')))], { cwd: tmpdir(), env: { PATH: process.env.PATH ?? '' } }).toString();
    const names = JSON.parse(output.trim().split('\n').pop() ?? '[]') as string[];
    expect(names).toEqual(
      expect.arrayContaining(['businessCentralWebhook', 'manualSync', 'manualSyncByNumber', 'customerTransfers', 'transfers', 'health', 'healthDetails', 'syncWorker', 'poisonWorker', 'pollCustomers', 'subscriptionTimer']),
    );

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
