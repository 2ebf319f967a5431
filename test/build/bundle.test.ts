import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import { appBundleOptions, compiledConsole, SINGLE_COPY_PACKAGES } from '../../scripts/bundle';

const root = path.resolve(__dirname, '../..');

/** Files the module `file` imports statically (`import ... from"./x.mjs"`, as esbuild writes them), recursively. */
function staticImports(file: string, seen = new Set<string>()): Set<string> {
  if (seen.has(file)) return seen;
  seen.add(file);
  const source = readFileSync(file, 'utf8');
  // Dynamic imports are import("..."), with a parenthesis; static ones are `from"..."` or a bare `import"..."`.
  for (const match of source.matchAll(/(?:\bfrom\s*|\bimport\s*)["'](\.{1,2}\/[^"']+\.mjs)["']/gu)) {
    staticImports(path.resolve(path.dirname(file), match[1]!), seen);
  }
  return seen;
}

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
  { name: 'status', trigger: 'httpTrigger', on: 'status' },
  { name: 'customerTransfersByNumber', trigger: 'httpTrigger', on: 'customers/by-number/{number}/transfers' },
  { name: 'companyManualSync', trigger: 'httpTrigger', on: 'companies/{company}/customers/{id}/sync' },
  { name: 'companyManualSyncByNumber', trigger: 'httpTrigger', on: 'companies/{company}/customers/by-number/{number}/sync' },
  { name: 'companyCustomerTransfers', trigger: 'httpTrigger', on: 'companies/{company}/customers/{id}/transfers' },
  { name: 'companyCustomerTransfersByNumber', trigger: 'httpTrigger', on: 'companies/{company}/customers/by-number/{number}/transfers' },
  { name: 'console', trigger: 'httpTrigger', on: 'console/{asset?}' },
  { name: 'syncWorker', trigger: 'queueTrigger', on: 'customer-sync' },
  { name: 'poisonWorker', trigger: 'queueTrigger', on: 'customer-sync-poison' },
  { name: 'catchUpWorker', trigger: 'queueTrigger', on: 'customer-catchup' },
  { name: 'pollCustomers', trigger: 'timerTrigger', on: 'schedule' },
  { name: 'subscriptionTimer', trigger: 'timerTrigger', on: 'schedule' },
  { name: 'startReconciliation', trigger: 'httpTrigger', on: 'reconciliations' },
  { name: 'reconciliationReport', trigger: 'httpTrigger', on: 'reconciliations/{runId}' },
  { name: 'reconcileWorker', trigger: 'queueTrigger', on: 'reconcile' },
  { name: 'reconcileTimer', trigger: 'timerTrigger', on: 'schedule' },
  { name: 'transferRetention', trigger: 'timerTrigger', on: 'schedule' },
  { name: 'retryTransfers', trigger: 'timerTrigger', on: 'schedule' },
  { name: 'outageWatch', trigger: 'timerTrigger', on: 'schedule' },
  { name: 'catchUpPoisonWorker', trigger: 'queueTrigger', on: 'customer-catchup-poison' },
  { name: 'reconcilePoisonWorker', trigger: 'queueTrigger', on: 'reconcile-poison' },
  { name: 'sweepPoisonQueues', trigger: 'timerTrigger', on: 'schedule' },
];

const byName = (a: Registration, b: Registration): number => a.name.localeCompare(b.name);

/**
 * The deployable package is host.json, package.json and dist/ without node_modules: the bundle must load
 * on its own and register every function, as the Functions worker will load it (an ES module, by import()).
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
      const hooks = [];
      const original = Module._resolveFilename;
      Module._resolveFilename = function (request, ...rest) {
        return request === '@azure/functions-core' ? 'functions-core-probe' : original.call(this, request, ...rest);
      };
      require.cache['functions-core-probe'] = { id: 'functions-core-probe', filename: 'functions-core-probe', loaded: true, exports: {
        setProgrammingModel() {}, registerHook(name, callback) { hooks.push({ name, callback }); return { dispose() {} }; }, log() {},
        registerFunction(metadata) {
          const trigger = Object.values(metadata.bindings).find((binding) => binding.direction === 'in' && /Trigger$/.test(binding.type));
          names.push({ name: metadata.name, trigger: trigger && trigger.type, on: trigger && (trigger.route ?? trigger.queueName ?? 'schedule') });
          return { dispose() {} };
        },
      } };
      const { pathToFileURL } = require('node:url');
      const path = require('node:path');
      const main = path.join(process.cwd(), require('./package.json').main);
      // Then every chunk the handlers load on first use: each must find what it requires (Node's built-ins) without node_modules.
      const chunks = require('node:fs').readdirSync(path.join(path.dirname(main), 'chunks')).filter((file) => file.endsWith('.mjs'));
      import(pathToFileURL(main).href)
        // As the worker does once the entry has loaded: the appStart hooks (the mapping file is checked there).
        .then(() => hooks.filter((hook) => hook.name === 'appStart').reduce((done, hook) => done.then(() => hook.callback({ hookData: {}, appHookData: {} })), Promise.resolve()))
        .then(() => Promise.all(chunks.map((file) => import(pathToFileURL(path.join(path.dirname(main), 'chunks', file)).href))))
        .then(() => console.log(JSON.stringify(names)), (error) => { console.error(error); process.exit(1); });
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

describe('what a cold start loads (after the build above)', () => {
  const main = path.join(root, (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { main: string }).main);

  it('is the registrations and @azure/functions only: the Azure SDKs, zod and the API clients load on first use', () => {
    const files = [...staticImports(main)];
    const bytes = files.reduce((sum, file) => sum + statSync(file).size, 0);
    const source = files.map((file) => readFileSync(file, 'utf8')).join('\n');
    // @azure/functions alone is about 80 KiB minified.
    expect(bytes).toBeLessThan(160 * 1024);
    // CronPattern: croner, which only the settings schema uses (timer registrations check NCRONTAB without it).
    for (const marker of ['TableClient', 'QueueClient', 'ClientSecretCredential', 'ZodError', 'odata.maxpagesize', 'CronPattern']) expect(source).not.toContain(marker);
  });

  it('carries the operator console compiled, in a chunk: not loaded at start, and without its builder', () => {
    const chunks = path.join(path.dirname(main), 'chunks');
    const chunkText = readdirSync(chunks)
      .filter((file) => file.endsWith('.mjs'))
      .map((file) => readFileSync(path.join(chunks, file), 'utf8'))
      .join('\n');
    expect(chunkText).toContain('Customer sync console');
    expect(chunkText).toContain('console:first-render');
    const startup = [...staticImports(main)].map((file) => readFileSync(file, 'utf8')).join('\n');
    expect(startup).not.toContain('console:first-render');
    for (const text of [chunkText, startup]) {
      expect(text).not.toContain('console/build');
      expect(text).not.toMatch(/from\s*["']esbuild["']|require\(["']esbuild["']\)/u);
    }
  });

  it('carries zod with its English messages only', () => {
    const chunks = path.join(path.dirname(main), 'chunks');
    const all = [main, ...readdirSync(chunks).filter((file) => file.endsWith('.mjs')).map((file) => path.join(chunks, file))]
      .map((file) => readFileSync(file, 'utf8'))
      .join('\n');
    expect(all).toContain('Invalid input');
    // From zod's German and French locales.
    expect(all).not.toContain('Ungültige Eingabe');
    expect(all).not.toContain('Entrée invalide');
  });
});

describe('telemetry in the bundle', () => {
  it('holds one copy of @azure/core-tracing and of each OpenTelemetry package', async () => {
    const out = mkdtempSync(path.join(tmpdir(), 'bundle-meta-'));
    try {
      // As `npm run build` bundles (scripts/build.ts).
      const options = appBundleOptions(path.join(root, 'index.ts'), out, { sourcemap: false });
      const result = await build({ ...options, plugins: [...(options.plugins ?? []), compiledConsole()], write: false });
      const copies = new Map<string, Set<string>>();
      for (const input of Object.keys(result.metafile?.inputs ?? {})) {
        const last = [...input.matchAll(/node_modules\/((?:@[^/]+\/)?[^/]+)/gu)].at(-1);
        if (!last?.[1] || !SINGLE_COPY_PACKAGES.test(last[1])) continue;
        const folder = input.slice(0, (last.index ?? 0) + last[0].length);
        copies.set(last[1], new Set([...(copies.get(last[1]) ?? []), folder]));
      }
      expect(copies.has('@azure/core-tracing')).toBe(true);
      expect(copies.has('@opentelemetry/api')).toBe(true);
      expect([...copies.keys()].filter((name) => name.startsWith('@opentelemetry/')).length).toBeGreaterThan(10);
      const twice = [...copies].filter(([, folders]) => folders.size > 1).map(([name, folders]) => `${name}: ${[...folders].join(', ')}`);
      expect(twice).toEqual([]);

      // Dependencies where they belong: every runtime dependency is in the bundle (a package only scripts use, such
      // as cli-progress, is a devDependency), and the app's own code imports no devDependency.
      const bundled = new Set(Object.keys(result.metafile?.inputs ?? {}).flatMap((input) => [...input.matchAll(/node_modules\/((?:@[^/]+\/)?[^/]+)/gu)].map((match) => match[1] ?? '')));
      const manifest = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
      expect(Object.keys(manifest.dependencies).filter((name) => !bundled.has(name))).toEqual([]);
      const ownImports = Object.entries(result.metafile?.inputs ?? {})
        .filter(([input]) => !input.includes('node_modules'))
        .flatMap(([input, { imports }]) => imports.map((entry) => ({ input, specifier: entry.original ?? entry.path })))
        .filter(({ specifier }) => /^(?:@[\w-]+\/)?[\w-]/u.test(specifier) && !specifier.startsWith('node:'));
      const fromDev = ownImports.filter(({ specifier }) => Object.keys(manifest.devDependencies).some((name) => specifier === name || specifier.startsWith(`${name}/`)));
      expect(fromDev.map(({ input, specifier }) => `${input} imports ${specifier}`)).toEqual([]);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 60_000);

  it('registers the Functions hooks once when Application Insights starts, with the Azure SDK traced', () => {
    // After the build of the first test. The entry loads, its appStart hooks start Azure Monitor (towards a closed
    // local port), and the worker stand-in counts the hooks: one preInvocation (ours), none from the distro.
    const probe = `
      const Module = require('node:module');
      const hooks = [];
      const original = Module._resolveFilename;
      Module._resolveFilename = function (request, ...rest) {
        return request === '@azure/functions-core' ? 'functions-core-probe' : original.call(this, request, ...rest);
      };
      require.cache['functions-core-probe'] = { id: 'functions-core-probe', filename: 'functions-core-probe', loaded: true, exports: {
        setProgrammingModel() {}, registerHook(name, callback) { hooks.push({ name, callback }); return { dispose() {} }; }, log() {},
        registerFunction() { return { dispose() {} }; },
      } };
      const warnings = [];
      console.warn = (...args) => warnings.push(args.join(' '));
      const { pathToFileURL } = require('node:url');
      import(pathToFileURL(${JSON.stringify(path.join(root, 'dist', 'index.mjs'))}).href)
        .then(() => hooks.filter((hook) => hook.name === 'appStart').reduce((done, hook) => done.then(() => hook.callback({ hookData: {}, appHookData: {} })), Promise.resolve()))
        .then(() => { console.log(JSON.stringify({ hooks: hooks.map((hook) => hook.name), warnings })); process.exit(0); }, (error) => { console.error(error); process.exit(1); });
    `;
    const output = execFileSync(process.execPath, ['-e', probe], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', APPLICATIONINSIGHTS_CONNECTION_STRING: 'InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=http://127.0.0.1:9/;LiveEndpoint=http://127.0.0.1:9/' },
      timeout: 30_000,
    }).toString();
    const { hooks, warnings } = JSON.parse(output.trim().split('\n').pop() ?? '{}') as { hooks: string[]; warnings: string[] };
    expect(hooks.filter((name) => name === 'preInvocation')).toHaveLength(1);
    expect(hooks.filter((name) => name === 'log')).toHaveLength(1);
    expect(warnings.filter((line) => line.includes('Azure SDK calls will not be traced'))).toEqual([]);
    const chunks = readdirSync(path.join(root, 'dist', 'chunks')).filter((file) => file.endsWith('.mjs'));
    const text = chunks.map((file) => readFileSync(path.join(root, 'dist', 'chunks', file), 'utf8')).join('\n');
    expect(text).not.toContain('Failed to propagate context in Azure Functions');
  }, 60_000);
});
