/**
 * A small reader of Bicep source for the deployment tests: no Bicep CLI runs in the tests, so the rules the
 * Bicep linter enforces in CI (.github/workflows/azure-dev.yml) and that a test can check are checked here,
 * on the text, with the linter's own definitions (disallowed hosts, secret-looking names).
 */

export interface ScannedBicep {
  /** The source without comments, each string literal's text blanked (interpolations kept as code). */
  code: string;
  /** The text of every string literal, interpolations left out. */
  strings: string[];
}

/** Splits Bicep source into code and string literals, dropping comments. */
export function scanBicep(source: string): ScannedBicep {
  const strings: string[] = [];
  let i = 0;

  const readCode = (untilBrace: boolean): string => {
    let out = '';
    let depth = 0;
    while (i < source.length) {
      const rest = source.startsWith.bind(source);
      const char = source[i] ?? '';
      if (rest('//', i)) {
        while (i < source.length && source[i] !== '\n') i += 1;
      } else if (rest('/*', i)) {
        const end = source.indexOf('*/', i + 2);
        i = end < 0 ? source.length : end + 2;
      } else if (rest("'''", i)) {
        const end = source.indexOf("'''", i + 3);
        strings.push(source.slice(i + 3, end < 0 ? source.length : end));
        out += "''";
        i = end < 0 ? source.length : end + 3;
      } else if (char === "'") {
        i += 1;
        out += `'${readString()}'`;
      } else if (char === '{') {
        depth += 1;
        out += char;
        i += 1;
      } else if (char === '}') {
        if (untilBrace && depth === 0) {
          i += 1;
          return out;
        }
        depth -= 1;
        out += char;
        i += 1;
      } else {
        out += char;
        i += 1;
      }
    }
    return out;
  };

  /** After the opening quote: returns the code of its interpolations; the literal text goes to `strings`. */
  const readString = (): string => {
    let text = '';
    let code = '';
    while (i < source.length) {
      const char = source[i] ?? '';
      if (char === '\\') {
        text += source[i + 1] ?? '';
        i += 2;
      } else if (char === '$' && source[i + 1] === '{') {
        i += 2;
        code += ` \${${readCode(true)}} `;
      } else if (char === "'") {
        i += 1;
        break;
      } else {
        text += char;
        i += 1;
      }
    }
    strings.push(text);
    return code;
  };

  const code = readCode(false);
  return { code, strings };
}

export interface Declaration {
  kind: 'param' | 'var' | 'output' | 'resource' | 'module' | 'other';
  name: string;
  /** Everything after the declaration's name (type, `=`, value), comments removed. */
  body: string;
  decorators: string[];
}

/** Top-level declarations, as the Bicep formatter writes them: each starts at the beginning of a line. */
export function declarations(source: string): Declaration[] {
  const lines = scanBicep(source).code.split('\n');
  const result: Declaration[] = [];
  let decorators: string[] = [];
  let current: Declaration | undefined;
  for (const line of lines) {
    if (/^@/u.test(line)) {
      current = undefined;
      decorators.push(line.trim());
      continue;
    }
    const start = /^(param|var|output|resource|module|type|func|targetScope|import|metadata)\b\s*([A-Za-z_]\w*)?(.*)$/u.exec(line);
    if (start) {
      const keyword = start[1] ?? '';
      const kind = (['param', 'var', 'output', 'resource', 'module'] as const).find((candidate) => candidate === keyword) ?? 'other';
      current = { kind, name: start[2] ?? '', body: start[3] ?? '', decorators };
      decorators = [];
      result.push(current);
      continue;
    }
    if (current) current.body += `\n${line}`;
    else if (decorators.length > 0 && /^\s/u.test(line)) decorators[decorators.length - 1] += `\n${line}`;
  }
  return result;
}

/** The linter's default disallowed hosts (rule no-hardcoded-env-urls); `environment()` gives each cloud's own. */
export const DISALLOWED_HOSTS = [
  'api.loganalytics.io',
  'azuredatalakeanalytics.net',
  'azuredatalakestore.net',
  'batch.core.windows.net',
  'core.windows.net',
  'database.windows.net',
  'datalake.azure.net',
  'gallery.azure.com',
  'graph.windows.net',
  'login.microsoftonline.com',
  'management.azure.com',
  'management.core.windows.net',
  'region.asazure.windows.net',
  'trafficmanager.net',
  'vault.azure.net',
];

/** The linter's test for a parameter name that looks like a secret (rule secure-secrets-in-params). */
export const looksSecret = (name: string): boolean =>
  /password|pwd|secret|accountkey|acctkey/iu.test(name) && !/secretpermissions|secretversion|secretur[il]|secretname/iu.test(name);

const mentions = (text: string, name: string): boolean => new RegExp(`(?<![\\w.])${name}\\b`, 'u').test(text);

/**
 * Symbols whose value derives from a @secure() parameter: the parameters themselves and every variable whose
 * expression mentions one of them (transitively). Stricter than the linter, which looks at outputs only.
 */
export function secureDerived(decls: readonly Declaration[]): Set<string> {
  const tainted = new Set(decls.filter((decl) => decl.kind === 'param' && decl.decorators.some((decorator) => decorator.startsWith('@secure()'))).map((decl) => decl.name));
  for (let changed = true; changed; ) {
    changed = false;
    for (const decl of decls) {
      if (decl.kind !== 'var' || tainted.has(decl.name)) continue;
      if ([...tainted].some((name) => mentions(decl.body, name))) {
        tainted.add(decl.name);
        changed = true;
      }
    }
  }
  return tainted;
}

/** Outputs whose expression mentions a value derived from a @secure() parameter. */
export function outputsWithSecrets(source: string): string[] {
  const decls = declarations(source);
  const tainted = secureDerived(decls);
  return decls.filter((decl) => decl.kind === 'output' && [...tainted].some((name) => mentions(decl.body, name))).map((decl) => decl.name);
}

/** Parameters and variables never used in their own file (rules no-unused-params, no-unused-vars). */
export function unusedSymbols(source: string): string[] {
  const decls = declarations(source);
  const code = scanBicep(source).code;
  return decls
    .filter((decl) => decl.kind === 'param' || decl.kind === 'var')
    .filter((decl) => [...code.matchAll(new RegExp(`(?<![\\w.])${decl.name}\\b`, 'gu'))].length < 2)
    .map((decl) => `${decl.kind} ${decl.name}`);
}
