import path from 'node:path';
import { build } from 'esbuild';
import { appBundleOptions } from './scripts/bundle';
(async () => {
  const root = process.cwd();
  const r = await build({ ...appBundleOptions(path.join(root, 'index.ts'), '/tmp/metaout'), write: true });
  const pkgs = new Map<string, Set<string>>();
  for (const input of Object.keys(r.metafile!.inputs)) {
    const all = [...input.matchAll(/node_modules\/((?:@[^/]+\/)?[^/]+)/g)];
    const last = all.at(-1); if (!last) continue;
    const dir = input.slice(0, last.index! + last[0].length);
    const name = last[1]!;
    if (!pkgs.has(name)) pkgs.set(name, new Set());
    pkgs.get(name)!.add(dir);
  }
  for (const [name, dirs] of [...pkgs].sort()) console.log(dirs.size > 1 ? 'DUP' : '   ', name, [...dirs].join(' | '));
})();
