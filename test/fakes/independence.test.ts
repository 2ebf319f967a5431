/**
 * The fakes of Business Central, Entra ID and iPaaS.com are built from the APIs' documented behaviour, never from the
 * client's code: a client with a wrong path, a wrong wire field or a wrong paging rule must fail against them. So no
 * file under dev/fakes/ (the fronts, their rooms, faults.ts, world.ts, anything added later) may reach the client code,
 * its paths or its wire schemas, by any kind of import: static, `export … from`, dynamic `import()` or `require`.
 *
 * The one way out of dev/fakes/ is a type-only import of the app's own vocabulary, which carries no path, schema or
 * code at run time: `Config` (world.ts builds the fakes for a configuration) and the domain types of
 * shared/ipaas/types.ts (camelCase, what tests inspect the fake's store with; the wire's snake_case stays in the fake).
 */
import { importsOf, importsOfSource, resolveSpecifier, sourceFiles, type SourceImport } from '../support/imports';

const TYPE_ONLY_ALLOWED = new Set(['shared/config', 'shared/ipaas/types']);
/** Packages the fakes may use: Node, msw for the HTTP front, zod for their own request checks. */
const PACKAGE_ALLOWED = /^(node:|msw$|msw\/|zod$)/u;

function violations(file: string, imports: SourceImport[]): string[] {
  return imports.flatMap((found) => {
    const where = `${file}:${found.line} ${found.kind} ${found.specifier}`;
    if (!found.literal) return [`${where}: not a string literal, so nobody can tell where it leads`];
    const target = resolveSpecifier(file, found.specifier);
    if (target === undefined) return PACKAGE_ALLOWED.test(found.specifier) ? [] : [`${where}: package outside the fakes' list`];
    if (target.startsWith('dev/fakes/')) return [];
    if (found.kind === 'type' && TYPE_ONLY_ALLOWED.has(target)) return [];
    return [`${where}: leaves dev/fakes/ for ${target}`];
  });
}

describe('the fakes never reach the client code', () => {
  const files = sourceFiles('dev/fakes');

  it('covers both fakes, their rooms, the fault injector and the world', () => {
    expect(files).toEqual(
      expect.arrayContaining([
        'dev/fakes/businessCentral.ts',
        'dev/fakes/businessCentral/odataQuery.ts',
        'dev/fakes/ipaas.ts',
        'dev/fakes/ipaas/routes.ts',
        'dev/fakes/entraId.ts',
        'dev/fakes/faults.ts',
        'dev/fakes/world.ts',
      ]),
    );
  });

  it('imports nothing outside dev/fakes/ but packages and type-only domain vocabulary', () => {
    expect(files.flatMap((file) => violations(file, importsOf(file)))).toEqual([]);
  });

  it('would see every way a fake could reach the client (the rule itself, on made-up files)', () => {
    const sneaky: Array<[string, string]> = [
      ['dev/fakes/faults.ts', "import { ipaasRoutePattern } from '../../shared/ipaas/paths';"],
      ['dev/fakes/world.ts', "export { customerWire } from '../../shared/ipaas/wire';"],
      ['dev/fakes/world.ts', "export * from '../../shared/businessCentral/odata';"],
      ['dev/fakes/ipaas/routes.ts', "const paths = await import('../../../shared/ipaas/paths.js');"],
      ['dev/fakes/businessCentral.ts', "const { BusinessCentralClient } = require('../../shared/businessCentral/client');"],
      ['dev/fakes/businessCentral/http.ts', "import '../../../shared/businessCentral/client';"],
      ['dev/fakes/ipaas/store.ts', 'const wire = require(wirePath);'],
      ['dev/fakes/ipaas/store.ts', "import { type IpaasCustomer } from '../../../shared/ipaas/types';"],
      ['dev/fakes/ipaas/store.ts', "import type {\n  IpaasCustomerInput,\n} from '../../../shared/ipaas/client';"],
    ];
    for (const [file, source] of sneaky) expect({ source, found: violations(file, importsOfSource(source)).length }).toEqual({ source, found: 1 });
    // What is allowed stays allowed.
    expect(violations('dev/fakes/world.ts', importsOfSource("import type { Config } from '../../shared/config';\nimport { http } from 'msw';"))).toEqual([]);
  });
});
