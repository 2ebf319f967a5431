/**
 * Docs that match the code, the part a machine can check: every repository path the README and docs/*.md name in
 * backticks (`shared/sync/syncCustomer.ts`, `dev/fakes/`) exists. A file moved or split without its docs fails here.
 * Paths with placeholders or wildcards (`mappings/<name>.json`, `dist/chunks/*`) are examples, not claims.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');
const ROOMS = /^(?:shared|functions|dev|scripts|console|test|bench|infra|startup|docs|mappings|\.ci)\//u;

function namedPaths(markdown: string): string[] {
  return [...markdown.matchAll(/`([^`\s]+)`/gu)]
    .map((match) => (match[1] ?? '').replace(/[.,;:]+$/u, '').split('#')[0] ?? '')
    .filter((candidate) => ROOMS.test(candidate) && !/[*{}<>|$]/u.test(candidate));
}

describe('the docs name only paths that exist', () => {
  const documents = ['README.md', ...readdirSync(path.join(ROOT, 'docs')).filter((name) => name.endsWith('.md')).map((name) => `docs/${name}`)];

  it.each(documents)('%s', (document) => {
    const missing = namedPaths(readFileSync(path.join(ROOT, document), 'utf8')).filter((named) => !existsSync(path.join(ROOT, named)));
    expect(missing).toEqual([]);
  });

  it('reads a named path the way a reader does (the rule itself)', () => {
    expect(namedPaths('see `shared/reconcile/steps.ts`, `dev/fakes/` and `npm test`; `mappings/<name>.json`')).toEqual(['shared/reconcile/steps.ts', 'dev/fakes/']);
  });
});
