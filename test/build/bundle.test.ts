import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
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
    for (const file of ['host.json', 'package.json', 'dist']) cpSync(path.join(root, file), path.join(out, file), { recursive: true });
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
    const output = execFileSync(process.execPath, ['-e', probe], { cwd: out, env: { PATH: process.env.PATH ?? '' } }).toString();
    const names = JSON.parse(output.trim().split('\n').pop() ?? '[]') as string[];
    expect(names).toEqual(
      expect.arrayContaining(['businessCentralWebhook', 'manualSync', 'manualSyncByNumber', 'customerTransfers', 'transfers', 'health', 'healthDetails', 'syncWorker', 'poisonWorker', 'pollCustomers', 'subscriptionTimer']),
    );
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}, 60_000);
