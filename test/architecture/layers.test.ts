/**
 * Imports go down only. shared/ is the library every room above uses (functions/, startup/, console/, dev/, scripts/,
 * bench/, test/); it never imports any of them, nor the Functions runtime, by any kind of import: static,
 * `export … from`, dynamic `import()` or `require`. A dynamic import or require whose argument is not a string literal
 * is refused too, since nobody can tell where it leads.
 */
import { importsOf, importsOfSource, resolveSpecifier, sourceFiles, type SourceImport } from '../support/imports';

const ABOVE_SHARED = ['console', 'dev', 'scripts', 'bench', 'functions', 'test', 'startup', 'index'];
const RUNTIME_PACKAGES = /^@azure\/functions(?:-core)?$/u;

function upwardImports(file: string, imports: SourceImport[]): string[] {
  return imports.flatMap((found) => {
    const where = `${file}:${found.line} ${found.kind} ${found.specifier}`;
    if (!found.literal) return [`${where}: not a string literal`];
    if (RUNTIME_PACKAGES.test(found.specifier)) return [`${where}: the Functions runtime belongs to functions/`];
    const target = resolveSpecifier(file, found.specifier);
    if (target === undefined || target.startsWith('shared/')) return [];
    const room = target.split('/')[0] ?? target;
    return [`${where}: reaches ${ABOVE_SHARED.includes(room) ? 'up into' : 'out to'} ${target}`];
  });
}

describe('shared/ imports nothing above it', () => {
  it('every file of shared/', () => {
    const files = sourceFiles('shared');
    expect(files.length).toBeGreaterThan(50);
    expect(files.flatMap((file) => upwardImports(file, importsOf(file)))).toEqual([]);
  });

  it('would see each kind of import reaching up (the rule itself, on made-up lines)', () => {
    const file = 'shared/console/compiled.ts';
    const lines = [
      "import { buildConsoleAssets } from '../../console/build';",
      "import type { World } from '../../dev/fakes/world';",
      "export { bundle } from '../../scripts/bundle';",
      "const bench = await import('../../bench/lib/figures.js');",
      "const { buildConsoleAssets } = require('../../console/build') as Compiler;",
      "import '../../functions/console';",
      "const helpers = require('../../test/support/sync');",
      "const app = await import(appPath);",
      "import { app } from '@azure/functions';",
      "import { startTelemetry } from '../../startup/telemetry';",
    ];
    for (const line of lines) expect({ line, found: upwardImports(file, importsOfSource(line)).length }).toEqual({ line, found: 1 });
    expect(upwardImports(file, importsOfSource("import type { ConsoleAssets } from './files';\nimport { z } from 'zod';"))).toEqual([]);
  });
});
