/**
 * Agreement between the deployment files (azure.yaml, .funcignore, infra/, docs/) and the code. Azure is not
 * reachable from tests, so this is what keeps `azd up` correct: every setting shared/config.ts reads is
 * provisioned, secrets come only from Key Vault, no storage key appears anywhere, the package azd uploads
 * is exactly the built bundle, and every KQL query reads the log lines the code really writes.
 */
import { lstatSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';
import { parse } from 'yaml';
import { appBundleOptions, compiledConsole } from '../../scripts/bundle';
import { ConfigError, DEFAULT_POLL_SCHEDULE, DEFAULT_SUBSCRIPTION_SCHEDULE, loadConfig, SETTING_NAMES } from '../../shared/config';
import { SERVICE_OUTAGE_EVENT, serviceOutageLine, STRANDED_MESSAGES_EVENT, TIMER_EVENT, TRANSFER_EVENT, transferEventLine, type StrandedMessagesEvent, type TimerRunEvent } from '../../shared/telemetry';
import { emptyCounts, RECONCILIATION_EVENT, runEventLine } from '../../shared/reconcile';
import { CATCH_UP_QUEUE, POISON_QUEUE, SYNC_QUEUE } from '../../shared/queueNames';
import { API_ERROR_CODES } from '../../shared/http/apiErrors';
import { SUBSCRIPTION_STATE_KEY } from '../../shared/sync/ensureSubscription';
import { TRANSFERS_BY_TIME_TABLE, TRANSFERS_TABLE } from '../../shared/storage/transferStore';
import { LINKS_TABLE } from '../../shared/storage/linkStore';
import { SYNC_STATE_TABLE } from '../../shared/storage/leaseStore';

const ROOT = path.resolve(__dirname, '..', '..');
const read = (relative: string): string => readFileSync(path.join(ROOT, relative), 'utf8');

/** Settings that hold secrets: Key Vault only, @secure() parameters, never plain app-setting values. */
const SECRET_SETTINGS = ['BC_CLIENT_SECRET', 'IPAAS_API_TOKEN', 'WEBHOOK_CLIENT_STATE'];
/** A setting whose name looks like this is a secret and must be listed above. */
const SECRET_NAME = /SECRET|TOKEN|PASSWORD|CLIENT_STATE|API_KEY|CONNECTION_STRING/u;
/** Host storage: provided through the identity (AzureWebJobsStorage__*), not through a parameter. */
const isStorageSetting = (name: string): boolean => name === 'AzureWebJobsStorage' || name.startsWith('AzureWebJobsStorage__');

/** Platform settings Bicep may set beyond the app's own: host storage, Application Insights, identity, Node. */
const PLATFORM_SETTINGS = new Set([
  'AzureWebJobsStorage__blobServiceUri',
  'AzureWebJobsStorage__queueServiceUri',
  'AzureWebJobsStorage__tableServiceUri',
  'AzureWebJobsStorage__credential',
  'AzureWebJobsStorage__clientId',
  'APPLICATIONINSIGHTS_CONNECTION_STRING',
  'APPLICATIONINSIGHTS_AUTHENTICATION_STRING',
  'AZURE_CLIENT_ID',
  'NODE_OPTIONS',
]);
/** Deprecated or rejected on Flex Consumption (runtime and scale live in functionAppConfig there). */
const FLEX_FORBIDDEN_SETTINGS = [
  'FUNCTIONS_WORKER_RUNTIME',
  'FUNCTIONS_EXTENSION_VERSION',
  'WEBSITE_RUN_FROM_PACKAGE',
  'WEBSITE_CONTENTSHARE',
  'WEBSITE_CONTENTAZUREFILECONNECTIONSTRING',
  'WEBSITE_NODE_DEFAULT_VERSION',
  'SCM_DO_BUILD_DURING_DEPLOYMENT',
  'ENABLE_ORYX_BUILD',
  'WEBSITE_TIME_ZONE',
  'TZ',
  'AzureWebJobsStorage',
];

/** The SubscriptionState line documented in docs/monitoring.md (the subscription timer emits it). */
const SUBSCRIPTION_STATE_EVENT = 'SubscriptionState';
const SUBSCRIPTION_STATE_FIELDS = ['action', 'subscriptionId', 'expirationDateTime', 'companyId', 'companyName'];
/** The fields of a TimerRun record, checked against the type the code fills. */
const TIMER_RUN_FIELDS = ['timer', 'outcome', 'durationMs', 'errorCode', 'message'] as const satisfies ReadonlyArray<keyof TimerRunEvent>;
const SUBSCRIPTION_STATE_ACTIONS = ['Created', 'Renewed', 'Recreated', 'Unchanged', 'Disabled', 'Failed'];

/** BC_TENANT_ID → bcTenantId: the Bicep parameter of an app setting. */
const parameterOf = (setting: string): string =>
  setting
    .toLowerCase()
    .split('_')
    .map((part, index) => (index === 0 ? part : `${part.charAt(0).toUpperCase()}${part.slice(1)}`))
    .join('');

const sorted = (values: Iterable<string>): string[] => [...values].sort();
const describeList = (values: Iterable<string>): string => sorted(values).join(', ') || '(none)';

// ------------------------------------------------------------------------------------------------------
// Settings of shared/config.ts
// ------------------------------------------------------------------------------------------------------

/** Required settings, from the code itself: what loadConfig names when nothing is set. */
/**
 * Settings loadConfig requires. In Azure the platform also provides IDENTITY_ENDPOINT (the managed identity),
 * which makes BC_CLIENT_SECRET optional there (BC_CREDENTIAL defaults to managedIdentity).
 */
function requiredSettings(env: Record<string, string> = {}): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return [...new Set(error.problems.map((problem) => problem.setting))];
    throw error;
  }
  throw new Error('loadConfig({}) accepted an empty environment: no setting is required?');
}

// ------------------------------------------------------------------------------------------------------
// Bicep
// ------------------------------------------------------------------------------------------------------

interface BicepParam {
  name: string;
  type: string;
  defaultValue: string | undefined;
  decorators: string[];
}

function bicepParams(source: string): BicepParam[] {
  const params: BicepParam[] = [];
  const lines = source.split('\n');
  let decorators: string[] = [];
  for (let index = 0; index < lines.length; index += 1) {
    const line = (lines[index] ?? '').trim();
    if (line.startsWith('@')) {
      // A decorator may span lines (@allowed([...]), @metadata({...})): read until its brackets close.
      let text = line;
      while ((text.match(/[([{]/gu)?.length ?? 0) > (text.match(/[)\]}]/gu)?.length ?? 0) && index + 1 < lines.length) {
        index += 1;
        text += `\n${(lines[index] ?? '').trim()}`;
      }
      decorators.push(text);
      continue;
    }
    const param = /^param\s+([A-Za-z_]\w*)\s+([A-Za-z]\w*)(?:\s*=\s*(.+))?$/u.exec(line);
    if (param?.[1] && param[2]) {
      params.push({ name: param[1], type: param[2], defaultValue: param[3]?.trim(), decorators });
      decorators = [];
    } else if (line !== '' && !line.startsWith('//')) {
      decorators = [];
    }
  }
  return params;
}

const bicepOutputs = (source: string): string[] => [...source.matchAll(/^output\s+([A-Za-z_]\w*)\s+\w+\s*=/gmu)].map((match) => match[1] ?? '');

/** `{ name: 'X' / value: expr }` entries: how main.bicep writes app settings. */
function bicepAppSettings(source: string): Map<string, string> {
  const settings = new Map<string, string>();
  for (const match of source.matchAll(/^\s*name:\s*'([^']+)'\s*\n\s*value:\s*(.+?)\s*$/gmu)) {
    const name = match[1] ?? '';
    if (settings.has(name)) throw new Error(`infra/main.bicep sets app setting ${name} twice`);
    settings.set(name, match[2] ?? '');
  }
  return settings;
}

interface BicepModule {
  symbol: string;
  file: string;
  params: string[];
}

/**
 * `module x 'file' = { ... params: { a: ... } }` blocks, read by indentation as the Bicep formatter writes them:
 * a module ends at a line `}`, its parameters are the keys one level inside `params: {`.
 */
function bicepModules(source: string): BicepModule[] {
  const modules: BicepModule[] = [];
  const lines = source.split('\n');
  lines.forEach((line, start) => {
    const header = /^module\s+([A-Za-z_]\w*)\s+'([^']+)'\s*=\s*(?:if\s*\(.*\)\s*)?\{\s*$/u.exec(line);
    if (!header) return;
    const end = lines.findIndex((candidate, index) => index > start && candidate === '}');
    if (end < 0) throw new Error(`infra/main.bicep: module ${header[1] ?? ''} has no closing "}" at the start of a line (format it with bicep format)`);
    const body = lines.slice(start + 1, end);
    const paramsAt = body.findIndex((candidate) => /^\s*params:\s*\{\s*$/u.test(candidate));
    const params: string[] = [];
    if (paramsAt >= 0) {
      const indent = (body[paramsAt] ?? '').length - (body[paramsAt] ?? '').trimStart().length;
      for (const candidate of body.slice(paramsAt + 1)) {
        const depth = candidate.length - candidate.trimStart().length;
        if (candidate.trim() === '}' && depth === indent) break;
        const key = depth === indent + 2 ? /^\s*([A-Za-z_]\w*)\s*:/u.exec(candidate) : null;
        if (key?.[1]) params.push(key[1]);
      }
    }
    modules.push({ symbol: header[1] ?? '', file: header[2] ?? '', params });
  });
  return modules;
}

/** `var name = [ 'a' \n 'b' ]` → ['a', 'b']. */
function bicepStringArray(source: string, variable: string): string[] {
  const match = new RegExp(`^var\\s+${variable}\\s*=\\s*\\[([^\\]]*)\\]`, 'mu').exec(source);
  if (!match?.[1]) throw new Error(`var ${variable} = [...] not found`);
  return [...match[1].matchAll(/'([^']*)'/gu)].map((item) => item[1] ?? '');
}

// ------------------------------------------------------------------------------------------------------
// azure.yaml
// ------------------------------------------------------------------------------------------------------

type YamlValue = string | boolean | number | null | YamlValue[] | { [key: string]: YamlValue };

const asMap = (value: YamlValue | undefined, what: string): { [key: string]: YamlValue } => {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`azure.yaml: ${what} must be a mapping`);
  return value;
};

// ------------------------------------------------------------------------------------------------------
// .funcignore, matched the way azd matches it (github.com/denormal/go-gitignore, then a recursive walk
// that skips excluded folders). Its "*" crosses "/" in anchored name patterns, unlike git.
// ------------------------------------------------------------------------------------------------------

interface IgnorePattern {
  text: string;
  negated: boolean;
  anchored: boolean;
  directoryOnly: boolean;
  kind: 'name' | 'path';
  glob: string;
}

function fnmatch(glob: string, value: string, pathname: boolean): boolean {
  let source = '';
  for (let i = 0; i < glob.length; i += 1) {
    const char = glob[i] ?? '';
    if (char === '*') source += pathname ? '[^/]*' : '.*';
    else if (char === '?') source += pathname ? '[^/]' : '.';
    else if (char === '[') {
      const end = glob.indexOf(']', i + 2);
      if (end < 0) source += '\\[';
      else {
        const set = glob.slice(i + 1, end).replace(/^!/u, '^').replace(/\\/gu, '\\\\');
        source += `[${set}]`;
        i = end;
      }
    } else if (char === '\\' && i + 1 < glob.length) {
      i += 1;
      source += (glob[i] ?? '').replace(/[.*+?^${}()|[\]\\/]/gu, '\\$&');
    } else source += char.replace(/[.*+?^${}()|[\]\\/]/gu, '\\$&');
  }
  return new RegExp(`^${source}$`, 'u').test(value);
}

function parseFuncignore(text: string): IgnorePattern[] {
  const patterns: IgnorePattern[] = [];
  for (const raw of text.split('\n')) {
    let line = raw.replace(/\s+$/u, '');
    if (line === '' || line.startsWith('#')) continue;
    const negated = line.startsWith('!');
    if (negated) line = line.slice(1);
    const anchored = line.startsWith('/');
    if (anchored) line = line.slice(1);
    const directoryOnly = line.endsWith('/');
    if (directoryOnly) line = line.slice(0, -1);
    if (line.includes('**')) throw new Error(`.funcignore: "${raw}": "**" patterns are not modelled by this test; list the paths instead`);
    patterns.push({ text: raw, negated, anchored, directoryOnly, kind: line.includes('/') ? 'path' : 'name', glob: line });
  }
  return patterns;
}

/** The last pattern that matches decides (go-gitignore's Relative()); undefined when none does. */
function matchIgnore(patterns: IgnorePattern[], relative: string, isDirectory: boolean): IgnorePattern | undefined {
  for (let i = patterns.length - 1; i >= 0; i -= 1) {
    const pattern = patterns[i];
    if (!pattern || (pattern.directoryOnly && !isDirectory)) continue;
    const matches =
      pattern.kind === 'path'
        ? fnmatch(pattern.glob, relative, true)
        : pattern.anchored
          ? fnmatch(pattern.glob, relative, false)
          : fnmatch(pattern.glob, path.posix.basename(relative), false);
    if (matches) return pattern;
  }
  return undefined;
}

const isExcluded = (patterns: IgnorePattern[], relative: string, isDirectory: boolean): boolean => {
  const match = matchIgnore(patterns, relative, isDirectory);
  return match !== undefined && !match.negated;
};

/** A path is packaged when neither it nor any folder above it is excluded (the walk never enters those). */
function isPackaged(patterns: IgnorePattern[], relative: string, isDirectory: boolean): boolean {
  const parts = relative.split('/');
  for (let depth = 1; depth < parts.length; depth += 1) {
    if (isExcluded(patterns, parts.slice(0, depth).join('/'), true)) return false;
  }
  return !isExcluded(patterns, relative, isDirectory);
}

/** The files azd would zip from the project folder (createDeployableZip for a function app). */
function packagedFiles(patterns: IgnorePattern[]): string[] {
  const files: string[] = [];
  const walk = (relativeDir: string): void => {
    for (const name of readdirSync(path.join(ROOT, relativeDir))) {
      const relative = relativeDir ? `${relativeDir}/${name}` : name;
      const absolute = path.join(ROOT, relative);
      const isDirectory = lstatSync(absolute).isSymbolicLink() ? statSync(absolute).isDirectory() : lstatSync(absolute).isDirectory();
      // azd's own rules: never the .azure folder, the ignore file itself, or local.settings.json.
      if ((name === '.azure' && isDirectory) || (name === '.funcignore' && !isDirectory) || (name === 'local.settings.json' && !isDirectory)) continue;
      if (isExcluded(patterns, relative, isDirectory)) continue;
      if (isDirectory) walk(relative);
      else files.push(relative);
    }
  };
  walk('');
  return files;
}

// ------------------------------------------------------------------------------------------------------
// KQL in the workbook, the alert rules and the docs
// ------------------------------------------------------------------------------------------------------

function workbookQueries(node: unknown): string[] {
  if (Array.isArray(node)) return node.flatMap(workbookQueries);
  if (typeof node !== 'object' || node === null) return [];
  return Object.entries(node).flatMap(([key, value]) => (key === 'query' && typeof value === 'string' ? [value] : workbookQueries(value)));
}

const bicepMultilineStrings = (source: string): string[] => [...source.matchAll(/'''([\s\S]*?)'''/gu)].map((match) => match[1] ?? '');
const kustoBlocks = (markdown: string): string[] => [...markdown.matchAll(/```kusto\n([\s\S]*?)```/gu)].map((match) => match[1] ?? '');

/** The fields a TransferCompleted line really has, from the code that writes it. */
function transferEventFields(): string[] {
  const line = transferEventLine(
    {
      transferId: 't-1',
      customerId: '3f2504e0-4f89-11d3-9a0c-0305e82c3301',
      // Every record the app writes names its company.
      companyId: 'b18aed47-c385-49d2-b954-dbdf8ad71780',
      companyName: 'CRONUS USA, Inc.',
      customerNumber: 'C0001',
      source: 'webhook',
      status: 'Failed',
      action: null,
      errorCode: 'MissingEmail',
      errorMessage: 'EMail is empty',
      ipaasCustomerId: null,
      addressesAdded: 0,
      attempt: 1,
      startedAt: '2026-01-01T00:00:01.000Z',
      finishedAt: '2026-01-01T00:00:02.000Z',
      durationMs: 1000,
      warnings: [],
    },
    { correlationId: 'c-1', enqueuedAt: '2026-01-01T00:00:00.000Z' },
  );
  const parsed: unknown = JSON.parse(line.slice(TRANSFER_EVENT.length + 1));
  if (typeof parsed !== 'object' || parsed === null) throw new Error('TransferCompleted carries no JSON object');
  return Object.keys(parsed);
}

/** The fields a ReconciliationRun line really has, from the code that writes it. */
function reconciliationEventFields(): string[] {
  const line = runEventLine({
    runId: '20260101T000000Z-abcdef',
    status: 'Completed',
    trigger: 'timer',
    fix: false,
    enqueued: 0,
    counts: emptyCounts(),
    startedAt: '2026-01-01T00:00:00.000Z',
    finishedAt: '2026-01-01T00:01:00.000Z',
  });
  return Object.keys(JSON.parse(line.slice(RECONCILIATION_EVENT.length + 1)) as object);
}

/** The fields a ServiceOutage line really has, from the code that writes it. */
function serviceOutageFields(): string[] {
  const line = serviceOutageLine({
    service: 'ipaas',
    companyId: 'b18aed47-c385-49d2-b954-dbdf8ad71780',
    companyName: 'CRONUS USA, Inc.',
    state: 'onHold',
    kind: 'auth',
    since: '2026-01-01T00:00:00.000Z',
    retryAt: null,
    downMs: 0,
    message: null,
    openings: 1,
    waiting: null,
  });
  return Object.keys(JSON.parse(line.slice(SERVICE_OUTAGE_EVENT.length + 1)) as object);
}

/** The fields of a StrandedMessages record (the type lists them; a new one added there must be added here). */
const STRANDED_MESSAGES_FIELDS = Object.keys({ queue: '', returnedTo: '', found: 0, moved: 0, left: 0, error: null } satisfies StrandedMessagesEvent);

/** Problems of one query: the prefix, the substring offset after it, and the fields it reads. */
/** The structured records the queries may read, with the fields the code gives them (customDimensions). */
function telemetryEvents(transferFields: readonly string[]): Array<{ event: string; variable: string; fields: readonly string[] }> {
  return [
    { event: TRANSFER_EVENT, variable: 't', fields: transferFields },
    { event: SUBSCRIPTION_STATE_EVENT, variable: 's', fields: SUBSCRIPTION_STATE_FIELDS },
    { event: TIMER_EVENT, variable: 'r', fields: TIMER_RUN_FIELDS },
    { event: RECONCILIATION_EVENT, variable: 'c', fields: reconciliationEventFields() },
    { event: SERVICE_OUTAGE_EVENT, variable: 'o', fields: serviceOutageFields() },
    { event: STRANDED_MESSAGES_EVENT, variable: 'p', fields: STRANDED_MESSAGES_FIELDS },
  ];
}

/**
 * A query reads a record as `where message == "<event>" | extend <variable> = customDimensions`, then only
 * `<variable>.<field>` for fields the record has. Parsing JSON out of the message is the old log-line
 * format, which Azure no longer receives.
 */
function kqlProblems(query: string, transferFields: readonly string[]): string[] {
  const problems: string[] = [];
  // The reconciliation run is still a log line (its own parser below); every other event is a structured record.
  if (!query.includes(RECONCILIATION_EVENT) && (/substring\(message/u.test(query) || /startswith "\w+ "/u.test(query))) problems.push('parses a log line (substring/startswith) instead of reading customDimensions');
  if (/itemCount/u.test(query)) problems.push('adds up itemCount, but nothing is sampled: count rows');
  for (const { event, variable, fields } of telemetryEvents(transferFields)) {
    if (!query.includes(`"${event}"`)) continue;
    if (!query.includes(`message == "${event}"`)) problems.push(`filters ${event} records without \`message == "${event}"\``);
    if (!new RegExp(`extend ${variable} = customDimensions\\b`, 'u').test(query)) problems.push(`reads ${event} without \`extend ${variable} = customDimensions\``);
    for (const match of query.matchAll(new RegExp(`\\b${variable}\\.([A-Za-z_]\\w*)`, 'gu'))) {
      const field = match[1] ?? '';
      if (!fields.includes(field)) problems.push(`reads ${variable}.${field}, which a ${event} record does not have (fields: ${fields.join(', ')})`);
    }
  }
  for (const match of query.matchAll(/customDimensions\.(\w+)/gu)) problems.push(`reads customDimensions.${match[1] ?? ''} directly; use the record's variable so the field is checked`);
  return problems;
}

// ------------------------------------------------------------------------------------------------------
// Tests
// ------------------------------------------------------------------------------------------------------

const mainBicep = read('infra/main.bicep');
const params = bicepParams(mainBicep);
const paramByName = new Map(params.map((param) => [param.name, param]));
const appSettings = bicepAppSettings(mainBicep);
const settings: readonly string[] = SETTING_NAMES;
const workbookJson = (): unknown => {
  try {
    return JSON.parse(read('infra/workbook.json'));
  } catch (error) {
    throw new Error(`infra/workbook.json is not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
};
const required = requiredSettings();
/** Required settings another setting replaces (exactly one of the pair is set): both are optional parameters in Bicep. */
const ALTERNATIVES: Readonly<Record<string, string>> = { BC_COMPANY_ID: 'BC_COMPANIES' };
/** What a deployment must provide: the Bicep parameters without default. */
const requiredInAzure = requiredSettings({ IDENTITY_ENDPOINT: 'http://localhost:8081/msi/token' }).filter((name) => !(name in ALTERNATIVES));
const appSettingNames = settings.filter((name) => !isStorageSetting(name));
const infraFiles = (): string[] => {
  const files: string[] = [];
  const walk = (relativeDir: string): void => {
    for (const name of readdirSync(path.join(ROOT, relativeDir))) {
      const relative = `${relativeDir}/${name}`;
      if (statSync(path.join(ROOT, relative)).isDirectory()) walk(relative);
      else files.push(relative);
    }
  };
  walk('infra');
  return files;
};

describe('the settings of shared/config.ts', () => {
  it('are exported by the schema, and the required ones (from loadConfig itself) are among them', () => {
    expect(settings.length).toBeGreaterThanOrEqual(10);
    const missing = required.filter((name) => !settings.includes(name));
    expect(missing).toEqual([]);
    expect(required).toEqual(expect.arrayContaining(['BC_TENANT_ID', 'BC_CLIENT_SECRET', 'IPAAS_API_TOKEN', 'WEBHOOK_CLIENT_STATE']));
  });

  it('that look secret are all handled as secrets', () => {
    const unhandled = settings.filter((name) => SECRET_NAME.test(name) && !SECRET_SETTINGS.includes(name));
    if (unhandled.length > 0) {
      throw new Error(`Settings ${describeList(unhandled)} look like secrets: add them to SECRET_SETTINGS here, to Key Vault in infra/modules/keyVault.bicep and as @secure() parameters`);
    }
    for (const secret of SECRET_SETTINGS) expect(settings).toContain(secret);
  });
});

describe('infra/main.bicep', () => {
  it('has a parameter for every setting, and one without default for every required setting', () => {
    const problems: string[] = [];
    for (const setting of appSettingNames) {
      const param = paramByName.get(parameterOf(setting));
      if (!param) problems.push(`${setting}: no \`param ${parameterOf(setting)}\``);
      else if (requiredInAzure.includes(setting) && param.defaultValue !== undefined) problems.push(`${setting} is required but param ${param.name} has a default (${param.defaultValue})`);
      else if (!requiredInAzure.includes(setting) && param.defaultValue !== "''") problems.push(`${setting} is optional: param ${param.name} should default to '' so the app's own default applies`);
    }
    expect(problems).toEqual([]);
  });

  it('sets every setting as an app setting from its parameter, and secrets only as Key Vault references', () => {
    const problems: string[] = [];
    for (const setting of appSettingNames) {
      const value = appSettings.get(setting);
      const param = parameterOf(setting);
      if (value === undefined) problems.push(`${setting}: not set as an app setting`);
      else if (SECRET_SETTINGS.includes(setting)) {
        if (!/^'@Microsoft\.KeyVault\(SecretUri=\$\{keyVault\.outputs\.\w+\}\)'$/u.test(value)) problems.push(`${setting} = ${value}: must be '@Microsoft.KeyVault(SecretUri=\${keyVault.outputs...})'`);
      } else if (value !== param) problems.push(`${setting} = ${value}: expected the parameter ${param}`);
    }
    expect(problems).toEqual([]);
  });

  it('sets no app setting the code does not know, except documented platform settings', () => {
    const unknown = [...appSettings.keys()].filter((name) => !appSettingNames.includes(name) && !PLATFORM_SETTINGS.has(name));
    if (unknown.length > 0) throw new Error(`App settings ${describeList(unknown)} are neither in shared/config.ts nor documented platform settings`);
    const forbidden = [...appSettings.keys()].filter((name) => FLEX_FORBIDDEN_SETTINGS.includes(name));
    if (forbidden.length > 0) throw new Error(`App settings ${describeList(forbidden)} are deprecated on Flex Consumption or would carry a storage key`);
  });

  it('uses identity-based host storage with the user-assigned identity, at the service URIs of this cloud', () => {
    // No account name: from it the host and the app would build public-cloud host names (core.windows.net).
    expect(appSettings.get('AzureWebJobsStorage__accountName')).toBeUndefined();
    for (const service of ['blob', 'queue', 'table']) expect(appSettings.get(`AzureWebJobsStorage__${service}ServiceUri`)).toBe(`storage.outputs.${service}ServiceUri`);
    expect(read('infra/modules/storage.bicep')).toMatch(/^output blobServiceUri string = storage\.properties\.primaryEndpoints\.blob$/mu);
    expect(appSettings.get('AzureWebJobsStorage__credential')).toBe("'managedidentity'");
    expect(appSettings.get('AzureWebJobsStorage__clientId')).toBe('identity.outputs.clientId');
    expect(appSettings.get('AZURE_CLIENT_ID')).toBe('identity.outputs.clientId');
    expect(appSettings.get('APPLICATIONINSIGHTS_AUTHENTICATION_STRING')).toBe("'ClientId=${identity.outputs.clientId};Authorization=AAD'");
  });

  it('declares secrets as @secure() parameters that reach only the Key Vault module', () => {
    const problems: string[] = [];
    for (const setting of SECRET_SETTINGS) {
      const name = parameterOf(setting);
      const param = paramByName.get(name);
      if (!param?.decorators.includes('@secure()')) problems.push(`param ${name} is not @secure()`);
      // Its declaration and `name: name` in the keyVault module's params; nothing else but whether it is set at all.
      const uses = [...mainBicep.matchAll(new RegExp(`\\b${name}\\b`, 'gu'))].length - [...mainBicep.matchAll(new RegExp(`^\\s*store\\w+:\\s*!empty\\(${name}\\)$`, 'gmu'))].length;
      if (uses !== 3) problems.push(`param ${name} is used ${uses - 1} times besides its declaration; pass it only to the keyVault module`);
      if (!new RegExp(`^\\s*${name}:\\s*${name}\\s*$`, 'mu').test(mainBicep)) problems.push(`param ${name} is not passed to the keyVault module`);
    }
    const keyVaultParams = bicepParams(read('infra/modules/keyVault.bicep'));
    for (const setting of SECRET_SETTINGS) {
      const param = keyVaultParams.find((candidate) => candidate.name === parameterOf(setting));
      if (!param?.decorators.includes('@secure()')) problems.push(`infra/modules/keyVault.bicep: param ${parameterOf(setting)} is not @secure()`);
    }
    expect(problems).toEqual([]);
  });

  it('sets keyVaultReferenceIdentity to the user-assigned identity and runs Node 22 on Flex Consumption', () => {
    const functionApp = read('infra/modules/functionApp.bicep');
    expect(functionApp).toMatch(/keyVaultReferenceIdentity:\s*identityId\b/u);
    expect(functionApp).toMatch(/type:\s*'UserAssigned'/u);
    expect(functionApp).toMatch(/name:\s*'FC1'\s*\n\s*tier:\s*'FlexConsumption'/u);
    expect(functionApp).toMatch(/authentication:\s*\{\s*type:\s*'UserAssignedIdentity'\s*userAssignedIdentityResourceId:\s*identityId/u);
    const runtime = /runtime:\s*\{\s*name:\s*'node'\s*version:\s*'(\d+)'/u.exec(functionApp);
    expect(runtime?.[1]).toBeDefined();
    // The bundle's target must not be newer than the Node version Azure runs.
    const buildTarget = /^export const BUNDLE_TARGET = 'node(\d+)';$/mu.exec(read('scripts/bundle.ts'));
    expect(buildTarget?.[1]).toBeDefined();
    expect(Number(runtime?.[1])).toBeGreaterThanOrEqual(Number(buildTarget?.[1]));
  });

  it('has outputs azd and the docs use, none of which feeds a setting by accident', () => {
    const outputs = bicepOutputs(mainBicep);
    expect(outputs).toEqual(
      expect.arrayContaining(['AZURE_LOCATION', 'AZURE_TENANT_ID', 'AZURE_RESOURCE_GROUP', 'AZURE_FUNCTION_APP_NAME', 'SERVICE_API_NAME', 'SERVICE_API_URI', 'WEBHOOK_URL', 'AZURE_KEY_VAULT_NAME', 'APPLICATIONINSIGHTS_NAME']),
    );
    // azd writes outputs into the environment, and parameters read the environment: an output named
    // like a setting would silently become that setting on the next provision.
    const clashes = outputs.filter((output) => settings.includes(output));
    expect(clashes).toEqual([]);
    expect(mainBicep).toMatch(/output WEBHOOK_URL string = 'https:\/\/\$\{functionApp\.outputs\.defaultHostName\}\/api\/webhooks\/business-central'/u);
    for (const secret of SECRET_SETTINGS) expect(mainBicep).not.toMatch(new RegExp(`^output .*\\b${parameterOf(secret)}\\b`, 'mu'));
  });

  it('passes every module exactly the parameters it declares, and reads only outputs it has', () => {
    const problems: string[] = [];
    const modules = bicepModules(mainBicep);
    expect(modules.length).toBeGreaterThanOrEqual(5);
    for (const module of modules) {
      const source = read(path.posix.join('infra', module.file));
      const declared = bicepParams(source);
      const unknownParams = module.params.filter((name) => !declared.some((param) => param.name === name));
      const missing = declared.filter((param) => param.defaultValue === undefined && !module.params.includes(param.name)).map((param) => param.name);
      if (unknownParams.length > 0) problems.push(`module ${module.symbol} (${module.file}) gets undeclared params ${describeList(unknownParams)}`);
      if (missing.length > 0) problems.push(`module ${module.symbol} (${module.file}) misses required params ${describeList(missing)}`);
      const outputs = bicepOutputs(source);
      for (const use of mainBicep.matchAll(new RegExp(`\\b${module.symbol}\\.outputs\\.([A-Za-z_]\\w*)`, 'gu'))) {
        if (!outputs.includes(use[1] ?? '')) problems.push(`${module.symbol}.outputs.${use[1] ?? ''} does not exist in ${module.file}`);
      }
    }
    expect(problems).toEqual([]);
  });
});

describe('infra/ as a whole', () => {
  it('contains no storage account key, keyed connection string or listKeys()', () => {
    const offenders: string[] = [];
    for (const file of infraFiles()) {
      const text = read(file);
      for (const pattern of [/AccountKey/iu, /listKeys\s*\(/iu, /DefaultEndpointsProtocol=/iu, /SharedAccessSignature/iu, /\bprimaryKey\b/iu]) {
        if (pattern.test(text)) offenders.push(`${file} matches ${String(pattern)}`);
      }
    }
    expect(offenders).toEqual([]);
  });

  it('locks the storage account down and creates the queues and tables the code uses', () => {
    const storage = read('infra/modules/storage.bicep');
    expect(storage).toMatch(/allowSharedKeyAccess:\s*false/u);
    expect(storage).toMatch(/allowBlobPublicAccess:\s*false/u);
    expect(storage).toMatch(/minimumTlsVersion:\s*'TLS1_2'/u);
    // The queue names themselves: test/infra/storageNames.test.ts.
    expect(bicepStringArray(storage, 'queueNames')).toEqual(expect.arrayContaining([SYNC_QUEUE, POISON_QUEUE, CATCH_UP_QUEUE]));
    expect(sorted(bicepStringArray(storage, 'tableNames'))).toEqual(sorted([TRANSFERS_TABLE, LINKS_TABLE, SYNC_STATE_TABLE, TRANSFERS_BY_TIME_TABLE]));
  });

  it('grants the identity the data roles it needs, and Key Vault uses RBAC with soft delete', () => {
    const roles = read('infra/modules/roleAssignments.bicep');
    for (const role of ['b7e6dc6d-f1e8-4753-8033-0f276bb0955b', '974c5e8b-45b9-4653-ba55-5f855dd0fb88', '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3', '4633458b-17de-408a-b874-0445c86b69e6', '3913510d-42f4-4e42-8a64-420c390055eb']) {
      expect(roles).toContain(role);
    }
    const keyVault = read('infra/modules/keyVault.bicep');
    expect(keyVault).toMatch(/enableRbacAuthorization:\s*true/u);
    expect(keyVault).toMatch(/enableSoftDelete:\s*true/u);
    expect(read('infra/modules/monitoring.bicep')).toMatch(/DisableLocalAuth:\s*true/u);
  });

  it('main.parameters.json maps every parameter without default, and each setting to its azd variable', () => {
    const parameters: unknown = JSON.parse(read('infra/main.parameters.json'));
    const entries =
      typeof parameters === 'object' && parameters !== null && 'parameters' in parameters && typeof parameters.parameters === 'object' && parameters.parameters !== null
        ? (parameters.parameters as Record<string, unknown>)
        : {};
    const valueOf = (name: string): unknown => {
      const entry = entries[name];
      return typeof entry === 'object' && entry !== null && 'value' in entry ? entry.value : undefined;
    };
    const problems: string[] = [];
    for (const param of params.filter((candidate) => candidate.defaultValue === undefined)) {
      if (!(param.name in entries)) problems.push(`required param ${param.name} is missing`);
    }
    for (const setting of appSettingNames) {
      if (valueOf(parameterOf(setting)) !== `\${${setting}}`) problems.push(`${parameterOf(setting)} should be "\${${setting}}"`);
    }
    expect(valueOf('environmentName')).toBe('${AZURE_ENV_NAME}');
    expect(valueOf('location')).toBe('${AZURE_LOCATION}');
    const undeclared = Object.keys(entries).filter((name) => !paramByName.has(name));
    if (undeclared.length > 0) problems.push(`entries ${describeList(undeclared)} are not parameters of main.bicep`);
    expect(problems).toEqual([]);
  });
});

describe('azure.yaml and .funcignore', () => {
  const azureYaml = asMap(parse(read('azure.yaml')) as YamlValue, 'the document');
  const patterns = parseFuncignore(read('.funcignore'));

  it('define one function service built from the project folder and deployed without a remote build', () => {
    const services = asMap(azureYaml.services, 'services');
    expect(Object.keys(services)).toHaveLength(1);
    const [serviceName] = Object.keys(services);
    const service = asMap(services[serviceName ?? ''], `services.${serviceName ?? ''}`);
    expect(service.project).toBe('.');
    expect(service.host).toBe('function');
    expect(['ts', 'js', 'typescript', 'javascript']).toContain(service.language);
    // Only the bundle is uploaded; a remote build would need the sources and run `npm run build` on the server.
    if (service.remoteBuild !== false) throw new Error(`azure.yaml: services.${serviceName ?? ''}.remoteBuild must be false (it is ${String(service.remoteBuild)})`);
    // The package root must be the project folder, where host.json and package.json are.
    expect(service.dist).toBeUndefined();
    // azd deploys to the resource tagged with the service name.
    expect(mainBicep).toMatch(new RegExp(`^var serviceName = '${serviceName ?? ''}'$`, 'mu'));
    const requiredAzd = asMap(azureYaml.requiredVersions, 'requiredVersions').azd;
    const minimum = typeof requiredAzd === 'string' ? /^>=\s*(\d+)\.(\d+)\.(\d+)$/u.exec(requiredAzd) : null;
    expect(minimum).not.toBeNull();
    // 1.23.5 is the first azd that honours remoteBuild for Flex Consumption.
    const [major, minor, patch] = [Number(minimum?.[1]), Number(minimum?.[2]), Number(minimum?.[3])];
    expect(major * 1e6 + minor * 1e3 + patch).toBeGreaterThanOrEqual(1 * 1e6 + 23 * 1e3 + 5);
  });

  it('package exactly host.json, package.json, dist/ and the mapping files from the real tree', () => {
    const files = packagedFiles(patterns);
    const isMappingFile = (file: string): boolean => /^mappings\/[^/]+\.json$/u.test(file);
    const strays = files.filter((file) => file !== 'host.json' && file !== 'package.json' && !file.startsWith('dist/') && !isMappingFile(file));
    if (strays.length > 0) {
      throw new Error(`azd would upload ${describeList(strays.slice(0, 20))}${strays.length > 20 ? ` and ${strays.length - 20} more` : ''}: exclude them in .funcignore`);
    }
    expect(files).toEqual(expect.arrayContaining(['host.json', 'package.json']));
    // The app reads its mapping collection at start (CUSTOMER_MAPPING_FILE, relative to the package root).
    expect(files).toEqual(expect.arrayContaining(['mappings/customer-to-ipaas.json']));
  });

  it('keep the bundle package.json points at, its chunks and their source maps', () => {
    const main: unknown = (JSON.parse(read('package.json')) as { main?: unknown }).main;
    expect(main).toBe('dist/index.mjs');
    const excluded = [
      'host.json',
      'package.json',
      String(main),
      'dist/index.mjs.map',
      'dist/index.mjs.LEGAL.txt',
      'dist/chunks/services-ABCD1234.mjs',
      'dist/chunks/chunk-ABCD1234.mjs.map',
    ].filter((file) => !isPackaged(patterns, file, false));
    if (excluded.length > 0) throw new Error(`.funcignore excludes ${describeList(excluded)}, which the app needs at run time`);
  });

  it('keep every file the build really writes (built here in memory: tests run before `npm run build`)', async () => {
    const outdir = path.join(ROOT, 'dist');
    const options = appBundleOptions(path.join(ROOT, 'index.ts'), outdir);
    const result = await build({ ...options, write: false, plugins: [...(options.plugins ?? []), compiledConsole()] });
    const written = result.outputFiles.map((file) => path.relative(ROOT, file.path).split(path.sep).join('/'));
    const main: unknown = (JSON.parse(read('package.json')) as { main?: unknown }).main;
    expect(written).toContain(main);
    expect(written.some((file) => file.startsWith('dist/chunks/'))).toBe(true);
    const excluded = written.filter((file) => !isPackaged(patterns, file, false));
    if (excluded.length > 0) throw new Error(`.funcignore excludes ${describeList(excluded)}, which \`npm run build\` writes and the app loads`);
  }, 120_000);

  it('exclude node_modules contents but not the folder by name (azd rejects that with remoteBuild: false)', () => {
    const folderRule = matchIgnore(patterns, 'node_modules', true);
    if (folderRule) {
      throw new Error(`.funcignore line "${folderRule.text}" matches the node_modules folder itself, and azd refuses remoteBuild: false then; exclude its contents with /node_modules/*`);
    }
    for (const entry of ['node_modules/zod', 'node_modules/.bin', 'node_modules/@azure']) expect(isPackaged(patterns, entry, true)).toBe(false);
    expect(isPackaged(patterns, 'node_modules/.package-lock.json', false)).toBe(false);
  });

  it('exclude sources, tests, tools and local settings even where they do not exist yet', () => {
    const mustBeExcluded: Array<[string, boolean]> = [
      ['index.ts', false],
      ['functions', true],
      ['shared', true],
      ['test', true],
      ['dev', true],
      ['bench', true],
      ['docs', true],
      ['infra', true],
      ['scripts', true],
      ['tsconfig.json', false],
      ['local.settings.json', false],
      ['.git', true],
      ['.env', false],
    ];
    const included = mustBeExcluded.filter(([file, isDirectory]) => isPackaged(patterns, file, isDirectory)).map(([file]) => file);
    expect(included).toEqual([]);
  });

  it('use no "!" re-includes, which azd before 1.23.13 read as exclusions', () => {
    expect(patterns.filter((pattern) => pattern.negated).map((pattern) => pattern.text)).toEqual([]);
  });
});

describe('local.settings.sample.json', () => {
  it('lists every setting of the schema (host storage as AzureWebJobsStorage)', () => {
    const sample: unknown = JSON.parse(read('local.settings.sample.json'));
    const values = typeof sample === 'object' && sample !== null && 'Values' in sample && typeof sample.Values === 'object' && sample.Values !== null ? sample.Values : {};
    const listed = Object.keys(values);
    // AzureWebJobsStorage__accountName is the identity-based alternative to AzureWebJobsStorage, for Azure.
    const missing = settings.filter((name) => (isStorageSetting(name) ? !listed.includes('AzureWebJobsStorage') : !listed.includes(name)));
    expect(missing).toEqual([]);
  });
});

describe('queries on the log lines', () => {
  const transferFields = transferEventFields();
  const sources = (): Array<{ where: string; queries: string[] }> => [
    { where: 'infra/workbook.json', queries: workbookQueries(workbookJson()) },
    { where: 'infra/modules/alerts.bicep', queries: bicepMultilineStrings(read('infra/modules/alerts.bicep')) },
    { where: 'docs/monitoring.md', queries: kustoBlocks(read('docs/monitoring.md')) },
  ];

  it('exist: the workbook and the alert rules read TransferCompleted lines', () => {
    expect(transferFields).toEqual(expect.arrayContaining(['customerId', 'status', 'errorCode', 'latencyMs']));
    expect(transferFields).not.toContain('errorMessage');
    for (const { where, queries } of sources()) {
      expect(queries.length).toBeGreaterThan(0);
      if (!queries.some((query) => query.includes(`message == "${TRANSFER_EVENT}"`))) throw new Error(`${where}: no query reads ${TRANSFER_EVENT} records`);
    }
    const workbookText = read('infra/workbook.json');
    expect(workbookText).toContain('__APPLICATION_INSIGHTS_RESOURCE_ID__');
    expect(workbookQueries(workbookJson()).some((query) => query.includes(`message == "${SUBSCRIPTION_STATE_EVENT}"`))).toBe(true);
    expect(read('infra/modules/workbook.bicep')).toContain("loadTextContent('../workbook.json')");
  });

  it('parse the JSON after the prefix and read only fields the lines have', () => {
    const problems = sources().flatMap(({ where, queries }) => queries.flatMap((query, index) => kqlProblems(query, transferFields).map((problem) => `${where} query ${index + 1}: ${problem}`)));
    expect(problems).toEqual([]);
  });

  it('the workbook and an alert read ReconciliationRun lines; the drift alert has a threshold parameter', () => {
    expect(read('infra/workbook.json')).toContain(`${RECONCILIATION_EVENT} `);
    const drift = bicepMultilineStrings(read('infra/modules/alerts.bicep')).find((query) => query.includes(RECONCILIATION_EVENT));
    expect(drift).toContain('toint(r.Missing) + toint(r.Drifted)');
    expect(read('infra/modules/alerts.bicep')).toMatch(/threshold:\s*reconcileDriftThreshold/u);
    expect(read('infra/main.bicep')).toMatch(/reconcileDriftThreshold:\s*reconcileDriftAlertThreshold/u);
  });

  it('alert when a service is put on hold, in its own rule', () => {
    const source = read('infra/modules/alerts.bicep');
    const onHold = bicepMultilineStrings(source).find((query) => query.includes(`message == "${SERVICE_OUTAGE_EVENT}"`));
    expect(onHold).toContain('tostring(o.state) in ("onHold", "stillOnHold")');
    expect(source).toContain("resource serviceOnHoldAlert 'Microsoft.Insights/scheduledQueryRules");
  });

  it('alert on RetriesExhausted and on a parameterised spike of Failed transfers', () => {
    const [retries, failed] = bicepMultilineStrings(read('infra/modules/alerts.bicep'));
    expect(retries).toContain('"RetriesExhausted"');
    expect(failed).toContain('tostring(t.status) == "Failed"');
    expect(read('infra/modules/alerts.bicep')).toMatch(/threshold:\s*failedTransfersThreshold/u);
  });

  it('alert on any failed timer run and on two hours without a successful subscription check', () => {
    const alerts = read('infra/modules/alerts.bicep');
    const queries = bicepMultilineStrings(alerts);
    expect(queries.some((query) => query.includes('tostring(r.outcome) == "Failed"') && !query.includes('r.timer) =='))).toBe(true);
    expect(queries.some((query) => query.includes('tostring(r.timer) == "subscriptionTimer"') && query.includes('tostring(r.outcome) == "Succeeded"'))).toBe(true);
    expect(alerts).toMatch(/windowSize: 'PT2H'[\s\S]*?operator: 'LessThan'\s*threshold: 1/u);
    // The timers really report under the names the docs and alerts use.
    for (const timer of ['pollCustomers', 'subscriptionTimer']) expect(read(`functions/${timer}.ts`)).toContain(`runTimer('${timer}'`);
  });

  it('every alert rule has a runbook section in docs/monitoring.md', () => {
    const monitoring = read('docs/monitoring.md');
    const names = [...read('infra/modules/alerts.bicep').matchAll(/displayName: '([^']+)'/gu)].map((match) => match[1] ?? '');
    expect(names.length).toBeGreaterThanOrEqual(4);
    expect(names.filter((name) => !monitoring.includes(`### ${name}`))).toEqual([]);
  });
});

describe('docs', () => {
  const deploy = read('docs/deploy.md');
  const monitoring = read('docs/monitoring.md');

  it('deploy.md shows how to set every required setting and the defaults the code uses', () => {
    const missing = requiredInAzure.filter((name) => !isStorageSetting(name)).filter((name) => !new RegExp(`azd env set ${name}\\b`, 'u').test(deploy));
    expect(missing).toEqual([]);
    expect(deploy).toContain(DEFAULT_POLL_SCHEDULE);
    expect(deploy).toContain(DEFAULT_SUBSCRIPTION_SCHEDULE);
    for (const setting of appSettingNames) expect(deploy).toContain(`\`${setting}\``);
    expect(deploy).toContain('/api/webhooks/business-central');
    expect(deploy).toContain('az functionapp keys list');
    expect(deploy).toContain(SUBSCRIPTION_STATE_KEY);
  });

  it('monitoring.md documents the SubscriptionState line the subscription timer emits', () => {
    for (const field of SUBSCRIPTION_STATE_FIELDS) expect(monitoring).toContain(`\`${field}\``);
    for (const action of SUBSCRIPTION_STATE_ACTIONS) expect(monitoring).toContain(`\`${action}\``);
    expect(monitoring).toContain(`\`${SUBSCRIPTION_STATE_EVENT}\``);
    for (const field of TIMER_RUN_FIELDS) expect(monitoring).toContain(`\`${field}\``);
    for (const field of transferEventFields()) expect(monitoring).toContain(`\`${field}\``);
    expect(monitoring).toContain('POST /api/transfers/replay');
    expect(monitoring).toContain('npm run replay');
  });
});

describe('Cold start settings', () => {
  it('do not read the source maps at every start (only on demand, docs/performance.md)', () => {
    for (const file of ['infra/main.bicep', 'infra/modules/functionApp.bicep']) {
      expect(read(file)).not.toMatch(/value:\s*'[^'\n]*--enable-source-maps/u);
    }
  });
});

describe('HTTP API errors', () => {
  it('README documents every error code with its status, and no other', () => {
    const readme = read('README.md');
    const documented = new Map([...readme.matchAll(/^\| `([A-Za-z]+)` \| (\d{3}) \|/gmu)].map((match) => [match[1]!, Number(match[2])]));
    expect(Object.fromEntries(documented)).toEqual({ ...API_ERROR_CODES });
  });

  it('every function answers errors through apiError, never a bare { error: string }', () => {
    const offenders = readdirSync(path.join(ROOT, 'functions'))
      .filter((file) => /jsonBody:\s*\{\s*error:/u.test(read(`functions/${file}`)))
      .sort();
    expect(offenders).toEqual([]);
  });
});
