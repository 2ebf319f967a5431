/**
 * The imports of a TypeScript source file, read from its text: static `import`/`export … from`, bare `import '…'`,
 * dynamic `import(…)` and `require(…)`. Architecture tests use it to check which way imports point; a dynamic import
 * or require whose argument is not a string literal is reported as such, since nobody can tell where it leads.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

export const ROOT = path.resolve(__dirname, '..', '..');

export type ImportKind = 'static' | 'type' | 'dynamic' | 'require';

export interface SourceImport {
  /** The specifier as written ('../shared/config', 'msw'), or the expression when it is not a literal. */
  specifier: string;
  kind: ImportKind;
  /** False for `import(variable)` and `require(variable)`. */
  literal: boolean;
  line: number;
}

/** Comments out of the way (strings are kept: specifiers live in them). */
function withoutComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//gu, (comment) => comment.replace(/[^\n]/gu, ' ')).replace(/(^|[^:'"`\\])\/\/[^\n]*/gu, '$1');
}

export function importsOfSource(source: string): SourceImport[] {
  const text = withoutComments(source);
  const lineAt = (index: number): number => text.slice(0, index).split('\n').length;
  const found: SourceImport[] = [];
  // import x from '…'; import { a, type b } from '…'; import type { T } from '…'; export { a } from '…'; export * from '…'
  for (const match of text.matchAll(/(?:^|[;\n])\s*(import|export)(\s+type\b)?\s[^;'"`]*?\bfrom\s*(['"])([^'"]+)\3/gu)) {
    found.push({ specifier: match[4] ?? '', kind: match[2] ? 'type' : 'static', literal: true, line: lineAt(match.index ?? 0) });
  }
  // import '…' (side effects only)
  for (const match of text.matchAll(/(?:^|[;\n])\s*import\s*(['"])([^'"]+)\1/gu)) {
    found.push({ specifier: match[2] ?? '', kind: 'static', literal: true, line: lineAt(match.index ?? 0) });
  }
  // import(…) and require(…), literal or not
  for (const match of text.matchAll(/(?<![\w$.])(import|require)\s*\(\s*([^)]*?)\s*\)/gu)) {
    const argument = match[2] ?? '';
    const literal = /^(['"`])([^'"`$]+)\1$/u.exec(argument);
    found.push({
      specifier: literal?.[2] ?? argument,
      kind: match[1] === 'import' ? 'dynamic' : 'require',
      literal: literal !== null,
      line: lineAt(match.index ?? 0),
    });
  }
  return found;
}

export function importsOf(file: string): SourceImport[] {
  return importsOfSource(readFileSync(path.join(ROOT, file), 'utf8'));
}

/** The repository-relative module a relative specifier names, without extension ('shared/ipaas/paths'); undefined for packages. */
export function resolveSpecifier(fromFile: string, specifier: string): string | undefined {
  if (!specifier.startsWith('.')) return undefined;
  const target = path.posix.normalize(path.posix.join(path.posix.dirname(fromFile), specifier));
  const withoutExtension = target.replace(/\.(?:m?js|ts)$/u, '');
  // A folder import means its index.
  return existsSync(path.join(ROOT, withoutExtension)) && statSync(path.join(ROOT, withoutExtension)).isDirectory() ? `${withoutExtension}/index` : withoutExtension;
}

/** Every .ts file below `dir` (repository-relative), recursively. */
export function sourceFiles(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const relative = `${dir}/${entry.name}`;
    if (entry.isDirectory()) return sourceFiles(relative);
    return /\.ts$/u.test(entry.name) && !entry.name.endsWith('.d.ts') ? [relative] : [];
  });
}
