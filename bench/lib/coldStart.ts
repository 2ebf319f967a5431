import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { appBundleOptions, CHUNK_DIR, ENTRY_FILE, loadedAtStart } from '../../scripts/bundle';
import { percentile } from './stats';

const ROOT = path.resolve(__dirname, '..', '..');
const IMPORT_TIMEOUT_MS = 60_000;

/** Bundles bench/minimalApp.ts the way the app is bundled; returns its entry. */
export async function buildMinimalApp(): Promise<string> {
  const outdir = path.join(ROOT, '.bench', 'minimal-app');
  await build(appBundleOptions(path.join(ROOT, 'bench', 'minimalApp.ts'), outdir));
  return path.join(outdir, ENTRY_FILE);
}

export function appEntry(): string {
  return path.join(ROOT, 'dist', ENTRY_FILE);
}

/**
 * Imports `entry` in a fresh node process and returns the milliseconds the import took, timed inside that
 * process around the import alone. '@azure/functions-core' (the worker's API, which only the Functions worker
 * provides) is a stub that accepts every registration, as the worker does, so @azure/functions registers each
 * function for real (its metadata built, the handler kept) instead of running in its test mode, which skips them
 * and writes a warning line per function (30 lines for the app, 1 for the minimal app: not what Azure does).
 */
const CORE_STUB =
  "const M=require('module'),load=M._load,done={dispose(){}};" +
  'const core={log(){},setProgrammingModel(){},registerHook(){return done},registerFunction(){return done}};' +
  "M._load=function(request,...rest){return request==='@azure/functions-core'?core:load.call(this,request,...rest)};";

function importOnce(entry: string): number {
  const script =
    CORE_STUB +
    'const t=process.hrtime.bigint();import(process.argv[1]).then(()=>{process.stdout.write(JSON.stringify({ms:Number(process.hrtime.bigint()-t)/1e6}))},' +
    "(e)=>{process.stdout.write(JSON.stringify({error:String(e&&e.message||e).split('\\n')[0]}))})";
  const child = spawnSync(process.execPath, ['-e', script, pathToFileURL(entry).href], {
    cwd: path.dirname(entry),
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '' },
    // An import that hangs must not hold the bench (spawnSync blocks its event loop, deadlines included).
    timeout: IMPORT_TIMEOUT_MS,
  });
  if (child.error) throw new Error(`importing ${path.relative(ROOT, entry)} did not finish within ${IMPORT_TIMEOUT_MS / 1000} s: ${child.error.message}`);
  let parsed: { ms?: number; error?: string };
  try {
    parsed = JSON.parse(child.stdout) as { ms?: number; error?: string };
  } catch {
    throw new Error(`the timing process printed no result (exit ${child.status}): ${child.stderr.split('\n').slice(0, 3).join(' | ')}`);
  }
  if (parsed.error !== undefined || parsed.ms === undefined) throw new Error(`${path.relative(ROOT, entry)} does not load: ${parsed.error}`);
  return parsed.ms;
}

export interface ColdStart {
  appMs: number[];
  minimalMs: number[];
  appP50: number;
  minimalP50: number;
  ratio: number;
}

/**
 * `runs` fresh imports of each entry, alternated (app, minimal, app, ...) so that the load other jobs put on
 * the machine falls on both alike; the ratio of the medians is the figure, absolute times are not.
 */
export function measureColdStart(app: string, minimal: string, runs: number): ColdStart {
  for (const entry of [app, minimal]) if (!existsSync(entry)) throw new Error(`${path.relative(ROOT, entry)} does not exist`);
  // One untimed import each warms the file cache.
  importOnce(app);
  importOnce(minimal);
  const appMs: number[] = [];
  const minimalMs: number[] = [];
  for (let run = 0; run < runs; run += 1) {
    appMs.push(importOnce(app));
    minimalMs.push(importOnce(minimal));
  }
  const appP50 = percentile(appMs, 50);
  const minimalP50 = percentile(minimalMs, 50);
  return { appMs, minimalMs, appP50, minimalP50, ratio: appP50 / minimalP50 };
}

/** Bytes of JavaScript in the built app: what a cold start loads (the entry and its static imports) and every file. */
export function bundleSizes(entry: string): { startBytes: number; startFiles: number; totalBytes: number; files: number } {
  const dir = path.dirname(entry);
  const files = [entry, ...readdirSync(path.join(dir, CHUNK_DIR)).filter((file) => file.endsWith('.mjs')).map((file) => path.join(dir, CHUNK_DIR, file))];
  const atStart = loadedAtStart(entry);
  return { startBytes: atStart.bytes, startFiles: atStart.files, totalBytes: files.reduce((sum, file) => sum + statSync(file).size, 0), files: files.length };
}
