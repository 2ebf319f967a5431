import { randomUUID } from 'node:crypto';
import type { TokenCredential } from '@azure/identity';
import { createBusinessCentralClient } from '../businessCentral/client';
import { BUSINESS_CENTRAL_SCOPE, createBusinessCentralCredential } from '../businessCentral/credentials';
import type { BusinessCentralApi } from '../businessCentral/types';
import { ConfigError, loadConfig, loadStorageConfig, type CompanyConfig, type Config, type Environment } from '../config';
import { describeError, SyncError } from '../errors';
import { createIpaasClient } from '../ipaas/client';
import { IPAAS_CLIENT_ID_HEADER, IPAAS_PATH_METHODS, IPAAS_PATH_NAMES, IPAAS_PATH_PLACEHOLDERS, IPAAS_QUERY, ipaasUrl, type IpaasPathName } from '../ipaas/paths';
import { parseIpaasErrors } from '../ipaas/wire';
import { fetchIpaasDescriptions, judgeAddressMode, judgePaths, suggestedPaths, type IpaasDescriptions } from './ipaasDescription';
import { judgeMetadata, parseEdmx } from './metadata';
import { redact } from '../log';
import { pingStorage } from '../storage';

/**
 * `npm run doctor` and `GET /api/health/details?deep=true`: read-only checks of a deployment against the
 * configured Business Central, Entra ID, iPaaS.com and storage, for every configured company (its Business Central
 * company, poll query, subscription, mapping file, iPaaS.com token and system id). Each check says what it found and, when it
 * fails, which setting or permission to change. Nothing is written anywhere: every request is a GET (plus the
 * Entra ID token request and the webhook handshake, which Business Central itself sends on every renewal).
 *
 * Both services describe themselves, and the doctor reads those descriptions: Business Central's `$metadata`
 * (./metadata.ts) and iPaaS.com's OpenAPI documents (./ipaasDescription.ts), so every path, method and field the
 * product relies on is settled against the tenant's own API before any customer flows; where iPaaS.com publishes
 * no description, the paths are probed as before.
 */

export type CheckStatus = 'pass' | 'fail' | 'warn' | 'skip';

export interface DoctorCheck {
  /** Stable id, e.g. `bc-token`. */
  id: string;
  title: string;
  status: CheckStatus;
  /** What was found (never a secret). */
  detail: string;
  /** For fail and warn: the setting or permission to change. */
  fix: string | null;
}

export interface DoctorReport {
  ok: boolean;
  checks: DoctorCheck[];
}

export interface DoctorOptions {
  /** Timeout of each request the doctor makes itself (default 15 s). */
  timeoutMs?: number;
  /** Accept an http:// WEBHOOK_NOTIFICATION_URL on localhost (the sandbox); it is a warning instead of a failure. */
  allowLocalWebhook?: boolean;
  /** Replaces the Entra ID credential built from the settings (tests). */
  credential?: TokenCredential;
}

const DEFAULT_TIMEOUT_MS = 15_000;

/** Runs every check in order; a check whose prerequisite failed is skipped, naming it. */
export async function runDoctor(env: Environment, options: DoctorOptions = {}): Promise<DoctorReport> {
  const checks: DoctorCheck[] = [];
  const add = (check: DoctorCheck): DoctorCheck => {
    checks.push(check);
    return check;
  };

  let config: Config | undefined;
  try {
    config = loadConfig(env);
    add(pass('settings', 'Settings', 'every setting is present and valid'));
  } catch (error) {
    const problems = error instanceof ConfigError ? error.problems : [{ setting: '(settings)', problem: describeError(error) }];
    add(
      fail(
        'settings',
        'Settings',
        problems.map((problem) => `${problem.setting} ${problem.problem}`).join('; '),
        `Set ${[...new Set(problems.map((problem) => problem.setting))].join(', ')} (local.settings.json or the environment locally, azd env set / app settings in Azure)`,
      ),
    );
  }

  if (!config) {
    for (const [id, title] of CHECK_TITLES) if (id !== 'settings' && id !== 'storage') add(skip(id, title, 'settings are not valid'));
    add(await storageCheck(() => loadStorageConfig(env)));
    return report(checks);
  }
  checks.push(...(await runChecks(config, options)));
  return report(checks);
}

/**
 * Every check of one configuration after the settings themselves: Business Central (for every configured company:
 * reachable, the poll's query, $metadata against its mapping, its subscription, its mapping file), the webhook,
 * iPaaS.com (every company's token and system id; the descriptions, paths and address mode once) and storage.
 */
export async function runChecks(cfg: Config, options: DoctorOptions = {}): Promise<DoctorCheck[]> {
  const checks: DoctorCheck[] = [];
  const add = (check: DoctorCheck): DoctorCheck => {
    checks.push(check);
    return check;
  };
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;

  // ---- Business Central --------------------------------------------------------------------------------
  // Every configured company is checked; the first company's checks keep their ids, the others' carry the company.
  const multi = cfg.companies.length > 1;
  // With several companies every company's checks name it (the first one's ids stay as they always were).
  const companies = cfg.companies.map((company, index) => ({ company, view: companyView(cfg, company), tag: multi ? { company, renamed: index > 0 } : undefined }));
  const credential = options.credential ?? createBusinessCentralCredential(cfg.businessCentral);
  const token = add(await businessCentralToken(cfg, credential));
  if (token.status === 'pass') {
    const environment = add(await environmentCheck(cfg, credential, timeoutMs));
    for (const { company, view, tag } of companies) {
      const bc = createBusinessCentralClient(view.businessCentral, { ...cfg.http, maxAttempts: 1 }, { credential });
      const reachable =
        environment.status === 'pass'
          ? add(forCompany(await companyCheck(view, credential, timeoutMs), tag))
          : add(forCompany(skip('bc-company', 'Business Central company', 'the environment is not reachable'), tag));
      if (reachable.status === 'pass') add(forCompany(await customersCheck(bc), tag));
      else add(forCompany(skip('bc-customers', 'Customers listable as the poll reads them', 'the company is not reachable'), tag));
      // $metadata is the environment's; each company's mapping is judged against it.
      if (environment.status === 'pass') add(forCompany(await metadataCheck(view, credential, timeoutMs), tag));
      else add(forCompany(skip('bc-metadata', titleOf('bc-metadata'), 'the environment is not reachable'), tag));
      if (environment.status === 'pass') add(forCompany(await subscriptionCheck(view, bc), tag));
      else add(forCompany(skip('bc-subscription', 'Webhook subscription', 'the environment is not reachable'), tag));
      if (multi) add(forCompany(mappingCheck(company), tag));
    }
  } else {
    add(skip('bc-environment', titleOf('bc-environment'), 'no Entra ID token for Business Central'));
    for (const { company, tag } of companies) {
      for (const id of ['bc-company', 'bc-customers', 'bc-metadata', 'bc-subscription']) add(forCompany(skip(id, titleOf(id), 'no Entra ID token for Business Central'), tag));
      if (multi) add(forCompany(mappingCheck(company), tag));
    }
  }

  // ---- Webhook ----------------------------------------------------------------------------------------------
  const url = add(webhookUrlCheck(cfg, options.allowLocalWebhook === true));
  if (cfg.webhook.notificationUrl && url.status !== 'fail') add(await handshakeCheck(cfg.webhook.notificationUrl, timeoutMs));
  else add(skip('webhook-handshake', titleOf('webhook-handshake'), cfg.webhook.notificationUrl ? 'the URL is not usable' : 'WEBHOOK_NOTIFICATION_URL is not set'));

  // ---- iPaaS.com ---------------------------------------------------------------------------------------------
  // The descriptions, paths and address mode are the same for every company (one tenant); each company's token and system id its own.
  const [first, ...others] = companies;
  const [ipaasToken, descriptions] = await Promise.all([ipaasTokenCheck(first!.view), fetchIpaasDescriptions(cfg.ipaas, timeoutMs)]);
  add(forCompany(ipaasToken, first!.tag));
  add(descriptionCheck(cfg, descriptions));
  const tokenAccepted = ipaasToken.status === 'pass';
  if (tokenAccepted) add(forCompany(await systemIdCheck(first!.view), first!.tag));
  else add(forCompany(skip('ipaas-system-id', titleOf('ipaas-system-id'), 'the iPaaS.com token is not accepted'), first!.tag));
  for (const { view, tag } of others) {
    const token = add(forCompany(await ipaasTokenCheck(view), tag));
    if (token.status === 'pass') add(forCompany(await systemIdCheck(view), tag));
    else add(forCompany(skip('ipaas-system-id', titleOf('ipaas-system-id'), 'the iPaaS.com token is not accepted'), tag));
  }
  // The descriptions judge the paths even when the token is refused (a wrong search path fails the token check too).
  if (tokenAccepted || descriptions.read.size > 0) add(await pathsCheck(cfg, descriptions, timeoutMs, tokenAccepted));
  else add(skip('ipaas-paths', titleOf('ipaas-paths'), 'the iPaaS.com token is not accepted and no API description could be read'));
  const mode = judgeAddressMode(cfg, descriptions);
  const modeTitle = titleOf('ipaas-address-mode');
  add(mode.status === 'skip' ? skip('ipaas-address-mode', modeTitle, mode.detail.replace(/^skipped: /u, '')) : { id: 'ipaas-address-mode', title: modeTitle, status: mode.status, detail: redact(mode.detail), fix: mode.fix });

  add(await storageCheck(() => cfg.storage));
  return checks;
}

/**
 * `npm run doctor -- --suggest-paths`: the IPAAS_PATHS value the tenant's API descriptions document, every path
 * name they document with its documented template, and the names they do not (left as configured).
 */
export async function suggestIpaasPaths(config: Config, options: Pick<DoctorOptions, 'timeoutMs'> = {}): Promise<{
  paths: Partial<Record<IpaasPathName, string>>;
  missing: IpaasPathName[];
  unread: Map<string, string>;
}> {
  const descriptions = await fetchIpaasDescriptions(config.ipaas, options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  const suggestion = suggestedPaths(judgePaths(config, descriptions));
  return { ...suggestion, unread: descriptions.unread };
}

/** The settings as one company sees them: its id, its iPaaS.com token and system id, its mapping. */
function companyView(config: Config, company: CompanyConfig): Config {
  return {
    ...config,
    businessCentral: { ...config.businessCentral, companyId: company.id },
    ipaas: { ...config.ipaas, apiToken: company.ipaas.apiToken, systemId: company.ipaas.systemId },
    mapping: company.mapping,
  };
}

/** A check of one of several companies: its title names the company, its fix the BC_COMPANIES entry; its id too, but for the first company. */
function forCompany(check: DoctorCheck, tag: { company: CompanyConfig; renamed: boolean } | undefined): DoctorCheck {
  if (!tag) return check;
  const { company } = tag;
  const fix = check.fix
    ?.replace(/\bBC_COMPANY_ID\b/gu, `BC_COMPANIES entry ${company.index + 1} id`)
    .replace(/\bIPAAS_SYSTEM_ID\b/gu, `BC_COMPANIES entry ${company.index + 1} ipaasSystemId (or IPAAS_SYSTEM_ID)`)
    .replace(/\bIPAAS_API_TOKEN\b/gu, company.ipaas.tokenSetting);
  return { ...check, id: tag.renamed ? `${check.id}:${company.id}` : check.id, title: `${check.title} (${company.name})`, fix: fix ?? null };
}

/** Each company's mapping file was loaded and checked with the settings; the doctor says which file it is. */
function mappingCheck(company: CompanyConfig): DoctorCheck {
  const file = company.mapping.isDefault ? 'the shipped mapping file' : company.mapping.file;
  return pass('mapping', 'Mapping file', `${file} loads (filter, ${company.mapping.mapping.fields.length} fields, every expression compiled)`);
}

const CHECK_TITLES: ReadonlyArray<[string, string]> = [
  ['settings', 'Settings'],
  ['bc-token', 'Entra ID token for Business Central'],
  ['bc-environment', 'Business Central environment'],
  ['bc-company', 'Business Central company'],
  ['bc-customers', 'Customers listable as the poll reads them'],
  ['bc-metadata', 'Business Central $metadata'],
  ['bc-subscription', 'Webhook subscription'],
  ['webhook-url', 'WEBHOOK_NOTIFICATION_URL'],
  ['webhook-handshake', 'Webhook answers the handshake'],
  ['ipaas-token', 'iPaaS.com API token'],
  ['ipaas-description', 'iPaaS.com API descriptions'],
  ['ipaas-system-id', 'IPAAS_SYSTEM_ID'],
  ['ipaas-paths', 'iPaaS.com paths'],
  ['ipaas-address-mode', 'IPAAS_ADDRESS_MODE'],
  ['storage', 'Storage'],
];

function titleOf(id: string): string {
  return CHECK_TITLES.find(([candidate]) => candidate === id)?.[1] ?? id;
}

function report(checks: DoctorCheck[]): DoctorReport {
  return { ok: checks.every((check) => check.status !== 'fail'), checks };
}

function pass(id: string, title: string, detail: string): DoctorCheck {
  return { id, title, status: 'pass', detail, fix: null };
}
function fail(id: string, title: string, detail: string, fix: string): DoctorCheck {
  return { id, title, status: 'fail', detail: redact(detail), fix };
}
function warn(id: string, title: string, detail: string, fix: string): DoctorCheck {
  return { id, title, status: 'warn', detail: redact(detail), fix };
}
function skip(id: string, title: string, reason: string): DoctorCheck {
  return { id, title, status: 'skip', detail: `skipped: ${reason}`, fix: null };
}

// ---- Business Central checks -----------------------------------------------------------------------------

async function businessCentralToken(config: Config, credential: TokenCredential): Promise<DoctorCheck> {
  const id = 'bc-token';
  const title = titleOf(id);
  try {
    const token = await credential.getToken(BUSINESS_CENTRAL_SCOPE);
    if (!token?.token) return fail(id, title, 'Entra ID returned no token', 'Check BC_TENANT_ID, BC_CLIENT_ID and BC_CLIENT_SECRET');
    return pass(id, title, `token issued for app ${config.businessCentral.clientId} in tenant ${config.businessCentral.tenantId}`);
  } catch (error) {
    const text = error instanceof Error ? error.message : String(error);
    const code = /AADSTS(\d+)/u.exec(text)?.[1];
    if (code === '7000215' || code === '7000222' || code === '7000218') {
      return fail(id, title, `Entra ID refused the client secret (AADSTS${code})`, 'BC_CLIENT_SECRET is wrong or expired: create a new client secret in the app registration (Certificates & secrets) and set its Value (not its ID)');
    }
    if (code === '700016') {
      return fail(id, title, `Entra ID does not know the app (AADSTS${code})`, 'BC_CLIENT_ID must be the Application (client) ID of the app registration, in the tenant BC_TENANT_ID');
    }
    if (code === '90002' || code === '900023' || code === '90023') {
      return fail(id, title, `Entra ID does not know the tenant (AADSTS${code})`, 'BC_TENANT_ID must be the Directory (tenant) ID of the Business Central tenant');
    }
    if (code === '500011' || code === '1002012') {
      return fail(id, title, `Entra ID refused the scope (AADSTS${code})`, 'Grant the app the Dynamics 365 Business Central API permission API.ReadWrite.All (application) with admin consent');
    }
    return fail(id, title, `no token: ${firstLine(text)}`, 'Check BC_TENANT_ID, BC_CLIENT_ID, BC_CLIENT_SECRET and AZURE_AUTHORITY_HOST');
  }
}

interface RawReply {
  status: number;
  body: unknown;
  text: string;
  headers: Headers;
}

async function rawGet(url: string, headers: Record<string, string>, timeoutMs: number, method: 'GET' | 'POST' = 'GET'): Promise<RawReply> {
  const response = await fetch(url, { method, headers, signal: AbortSignal.timeout(timeoutMs), redirect: 'manual' });
  const text = await response.text();
  let body: unknown;
  try {
    body = text ? (JSON.parse(text) as unknown) : undefined;
  } catch {
    body = undefined;
  }
  return { status: response.status, body, text, headers: response.headers };
}

function businessCentralRoot(config: Config): string {
  const bc = config.businessCentral;
  return `${bc.apiBaseUrl.replace(/\/+$/u, '')}/${encodeURIComponent(bc.tenantId)}/${encodeURIComponent(bc.environment)}/api/v2.0`;
}

function bcError(reply: RawReply): string {
  const error = (reply.body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  const code = typeof error?.code === 'string' ? error.code : '';
  const message = typeof error?.message === 'string' ? error.message : '';
  return `HTTP ${reply.status}${code ? ` ${code}` : ''}${message ? `: ${firstLine(message)}` : ''}`;
}

async function bcGet(config: Config, credential: TokenCredential, path: string, timeoutMs: number): Promise<RawReply> {
  const token = await credential.getToken(BUSINESS_CENTRAL_SCOPE);
  return rawGet(`${businessCentralRoot(config)}${path}`, { Authorization: `Bearer ${token?.token ?? ''}`, Accept: 'application/json' }, timeoutMs);
}

async function environmentCheck(config: Config, credential: TokenCredential, timeoutMs: number): Promise<DoctorCheck> {
  const id = 'bc-environment';
  const title = titleOf(id);
  try {
    const reply = await bcGet(config, credential, '/companies', timeoutMs);
    if (reply.status === 200) {
      const count = Array.isArray((reply.body as { value?: unknown } | undefined)?.value) ? (reply.body as { value: unknown[] }).value.length : 0;
      return pass(id, title, `environment "${config.businessCentral.environment}" answers (${count} compan${count === 1 ? 'y' : 'ies'} visible to the app)`);
    }
    if (reply.status === 401 || reply.status === 403) {
      return fail(id, title, `Business Central refused the app: ${bcError(reply)}`, 'Add the app (BC_CLIENT_ID) on the Business Central page "Microsoft Entra applications", state Enabled, with permission sets that read customers and manage subscriptions (e.g. D365 BUS FULL ACCESS)');
    }
    if (reply.status === 404) {
      return fail(id, title, `environment "${config.businessCentral.environment}" not found: ${bcError(reply)}`, 'BC_ENVIRONMENT must be the environment name shown in the Business Central admin center (e.g. production), for tenant BC_TENANT_ID');
    }
    return fail(id, title, `unexpected answer: ${bcError(reply)}`, 'Check BC_API_BASE_URL, BC_TENANT_ID and BC_ENVIRONMENT');
  } catch (error) {
    return fail(id, title, `no answer: ${describeError(error)}`, 'Check BC_API_BASE_URL (default https://api.businesscentral.dynamics.com/v2.0) and the network');
  }
}

async function companyCheck(config: Config, credential: TokenCredential, timeoutMs: number): Promise<DoctorCheck> {
  const id = 'bc-company';
  const title = titleOf(id);
  const companyId = config.businessCentral.companyId;
  try {
    const reply = await bcGet(config, credential, `/companies(${companyId})`, timeoutMs);
    if (reply.status === 200) {
      const name = (reply.body as { name?: unknown } | undefined)?.name;
      return pass(id, title, `company ${companyId}${typeof name === 'string' ? ` ("${name}")` : ''}`);
    }
    let known = '';
    const list = await bcGet(config, credential, '/companies', timeoutMs).catch(() => undefined);
    const companies = (list?.body as { value?: Array<{ id?: unknown; name?: unknown }> } | undefined)?.value;
    if (Array.isArray(companies) && companies.length > 0) {
      known = `; companies in this environment: ${companies.map((company) => `${String(company.id)} ("${String(company.name)}")`).join(', ')}`;
    }
    return fail(id, title, `company ${companyId} not found: ${bcError(reply)}${known}`, `BC_COMPANY_ID must be the id (GUID) of one company of environment "${config.businessCentral.environment}"`);
  } catch (error) {
    return fail(id, title, `no answer: ${describeError(error)}`, 'Check BC_API_BASE_URL and the network');
  }
}

async function customersCheck(bc: BusinessCentralApi): Promise<DoctorCheck> {
  const id = 'bc-customers';
  const title = titleOf(id);
  try {
    // The poll's own request (same client method, $filter on lastModifiedDateTime, Prefer: odata.maxpagesize), from now: one small page.
    const iterator = bc.listCustomers({ modifiedSince: new Date(Date.now() - 60_000).toISOString(), pageSize: 1 })[Symbol.asyncIterator]();
    await iterator.next();
    await iterator.return?.();
    return pass(id, title, 'GET customers?$filter=lastModifiedDateTime gt … answers');
  } catch (error) {
    return fail(
      id,
      title,
      `the poll's request failed: ${describeError(error)}`,
      'Give the app (page "Microsoft Entra applications") a permission set that reads customers, e.g. D365 BUS FULL ACCESS or D365 CUSTOMER, VIEW',
    );
  }
}

/** `{root}/$metadata`: the customer entity against what the code and the mapping read, and subscriptions. */
async function metadataCheck(config: Config, credential: TokenCredential, timeoutMs: number): Promise<DoctorCheck> {
  const id = 'bc-metadata';
  const title = titleOf(id);
  const unreadFix = 'Give the app a permission set that reads the API (as for the checks above); without $metadata the doctor cannot compare the mapping\'s fields with this environment';
  let xml: string;
  try {
    const token = await credential.getToken(BUSINESS_CENTRAL_SCOPE);
    const response = await fetch(`${businessCentralRoot(config)}/$metadata`, {
      headers: { Authorization: `Bearer ${token?.token ?? ''}`, Accept: 'application/xml' },
      signal: AbortSignal.timeout(timeoutMs),
      redirect: 'manual',
    });
    xml = await response.text();
    if (response.status !== 200) return warn(id, title, `$metadata answered HTTP ${response.status}: the fields were not checked`, unreadFix);
  } catch (error) {
    return warn(id, title, `$metadata did not answer: ${describeError(error)}`, unreadFix);
  }
  let model;
  try {
    model = parseEdmx(xml);
  } catch (error) {
    return warn(id, title, `$metadata is ${describeError(error)}: the fields were not checked`, unreadFix);
  }
  const verdict = judgeMetadata(model, config.mapping.mapping, config.webhook.notificationUrl !== undefined);
  return { id, title, status: verdict.status, detail: redact(verdict.detail), fix: verdict.fix };
}

const sameUrl = (a: string, b: string): boolean => a.trim().replace(/\/+$/u, '').toLowerCase() === b.trim().replace(/\/+$/u, '').toLowerCase();

async function subscriptionCheck(config: Config, bc: BusinessCentralApi): Promise<DoctorCheck> {
  const id = 'bc-subscription';
  const title = titleOf(id);
  let subscriptions;
  try {
    subscriptions = await bc.listSubscriptions();
  } catch (error) {
    return fail(id, title, `subscriptions cannot be read: ${describeError(error)}`, 'Give the app a permission set that manages API subscriptions (page "Microsoft Entra applications"), e.g. D365 BUS FULL ACCESS');
  }
  const notificationUrl = config.webhook.notificationUrl;
  if (!notificationUrl) {
    return warn(id, title, `subscriptions readable (${subscriptions.length}); WEBHOOK_NOTIFICATION_URL is not set, so changes arrive by polling only`, 'Set WEBHOOK_NOTIFICATION_URL to the public https URL of /api/webhooks/business-central once the doctor passes');
  }
  const ours = subscriptions.filter(
    (subscription) => sameUrl(subscription.notificationUrl, notificationUrl) && sameUrl(subscription.resource.replace(/^\/?/u, '/'), bc.customersResource),
  );
  const [first] = ours;
  if (!first) {
    return warn(id, title, `subscriptions readable (${subscriptions.length}); none for ${bc.customersResource} at WEBHOOK_NOTIFICATION_URL yet`, 'The subscription timer creates it within the hour (SUBSCRIPTION_SCHEDULE); run the doctor again afterwards');
  }
  const expiresAt = Date.parse(first.expirationDateTime);
  if (!Number.isNaN(expiresAt) && expiresAt <= Date.now()) {
    return warn(id, title, `subscription ${first.subscriptionId} expired at ${first.expirationDateTime}`, 'The subscription timer renews it; check that it runs (SUBSCRIPTION_SCHEDULE) and that the webhook answers the handshake');
  }
  return pass(id, title, `subscription ${first.subscriptionId} present, expires ${first.expirationDateTime}`);
}

// ---- Webhook checks ----------------------------------------------------------------------------------------

function webhookUrlCheck(config: Config, allowLocal: boolean): DoctorCheck {
  const id = 'webhook-url';
  const title = titleOf(id);
  const url = config.webhook.notificationUrl;
  if (!url) return warn(id, title, 'not set: no webhook subscription, changes arrive by polling only', 'Set WEBHOOK_NOTIFICATION_URL to https://<your function app>/api/webhooks/business-central to receive changes within a minute');
  const parsed = new URL(url);
  const local = parsed.hostname === 'localhost' || parsed.hostname === '127.0.0.1';
  if (parsed.protocol !== 'https:') {
    if (allowLocal && local) return warn(id, title, `${url} is http on this machine: fine for the sandbox only`, 'Business Central calls only public https URLs: use the Function App URL in Azure');
    return fail(id, title, `${url} is not https`, 'WEBHOOK_NOTIFICATION_URL must be https (Business Central refuses http): https://<your function app>.azurewebsites.net/api/webhooks/business-central');
  }
  if (local) return fail(id, title, `${url} is on this machine`, 'WEBHOOK_NOTIFICATION_URL must be reachable from Business Central: the public https URL of the Function App');
  if (!parsed.pathname.replace(/\/+$/u, '').endsWith('/api/webhooks/business-central')) {
    return warn(id, title, `${url} does not end in /api/webhooks/business-central`, 'Check the path: the webhook function answers on /api/webhooks/business-central');
  }
  return pass(id, title, `${url} is https`);
}

async function handshakeCheck(url: string, timeoutMs: number): Promise<DoctorCheck> {
  const id = 'webhook-handshake';
  const title = titleOf(id);
  const token = `doctor-${randomUUID()}`;
  const target = new URL(url);
  target.searchParams.set('validationToken', token);
  try {
    // As Business Central does it: a POST with the token on the query string and no body (our webhook enqueues nothing for it).
    const reply = await rawGet(target.toString(), {}, timeoutMs, 'POST');
    if (reply.status === 200 && reply.text === token) return pass(id, title, 'answered 200 with the validationToken, as Business Central expects');
    const got = reply.status === 200 ? 'answered 200 but not with the token' : `answered HTTP ${reply.status}`;
    return fail(id, title, `${url}?validationToken=… ${got}`, 'WEBHOOK_NOTIFICATION_URL must point at this deployment\'s /api/webhooks/business-central (anonymous); check the URL, that the app is deployed and running, and that nothing (proxy, auth) sits in front of it');
  } catch (error) {
    return fail(id, title, `${url} did not answer: ${describeError(error)}`, 'WEBHOOK_NOTIFICATION_URL must be reachable from the internet: check the host name, that the app runs, and firewalls');
  }
}

// ---- iPaaS.com checks -----------------------------------------------------------------------------------------

async function ipaasTokenCheck(config: Config): Promise<DoctorCheck> {
  const id = 'ipaas-token';
  const title = titleOf(id);
  const ipaas = createIpaasClient(config.ipaas, { ...config.http, maxAttempts: 1 });
  try {
    // A search that cannot match (a reserved .invalid domain): reads nothing, proves the key and the search path.
    await ipaas.findCustomersByEmail(`doctor-${randomUUID()}@doctor.invalid`);
    return pass(id, title, 'accepted (a customer search that cannot match answered)');
  } catch (error) {
    const codes = error instanceof SyncError ? error.remoteCodes : [];
    const status = error instanceof SyncError ? error.status : undefined;
    if (status === 401 || codes.some((code) => code.startsWith('AUTH-'))) {
      return fail(id, title, `refused: ${describeError(error)}`, 'IPAAS_API_TOKEN is wrong or expired: create an API key in iPaaS.com (with a role that reads and writes customers) and set it');
    }
    if (status === 403 || codes.some((code) => code.startsWith('AUTZ-'))) {
      return fail(id, title, `not allowed: ${describeError(error)}`, 'Give the iPaaS.com API key a role with permission to read and write customers');
    }
    if (status === 404) {
      return fail(id, title, `the search path does not exist: ${describeError(error)}`, 'Check IPAAS_API_BASE_URL (e.g. https://api.ipaas.com) and IPAAS_PATHS searchCustomers');
    }
    return fail(id, title, `no usable answer: ${describeError(error)}`, 'Check IPAAS_API_BASE_URL (e.g. https://api.ipaas.com) and the network');
  }
}

async function systemIdCheck(config: Config): Promise<DoctorCheck> {
  const id = 'ipaas-system-id';
  const title = titleOf(id);
  const ipaas = createIpaasClient(config.ipaas, { ...config.http, maxAttempts: 1 });
  let subscriptions;
  try {
    subscriptions = await ipaas.listSubscriptions();
  } catch (error) {
    return fail(id, title, `GET subscriptions failed: ${describeError(error)}`, 'Give the API key a role that reads subscriptions, or check IPAAS_PATHS subscriptions');
  }
  const listing = subscriptions.map((subscription) => `${subscription.id}${subscription.name ? ` (${subscription.name})` : ''}`).join('; ');
  const systemId = config.ipaas.systemId;
  if (systemId === undefined) {
    return warn(id, title, `not set: customers will not be linked by external id in iPaaS.com. Subscriptions: ${listing || 'none'}`, 'Set IPAAS_SYSTEM_ID to the id of your Business Central subscription from the list above');
  }
  const found = subscriptions.find((subscription) => subscription.id === String(systemId));
  if (!found) {
    return fail(id, title, `${systemId} is not one of your subscriptions (${listing || 'none'})`, 'Set IPAAS_SYSTEM_ID to the id of your Business Central subscription from the list above');
  }
  return pass(id, title, found.name ? `${systemId} is "${found.name}"` : `${systemId} is one of your subscriptions`);
}

/** Whether the services' own descriptions could be read; without one, the paths of its service are probed. */
function descriptionCheck(config: Config, descriptions: IpaasDescriptions): DoctorCheck {
  const id = 'ipaas-description';
  const title = titleOf(id);
  const read = [...descriptions.read.values()].map(
    (entry) => `${entry.url} (${entry.description.version}, ${entry.description.operations.length} operation${entry.description.operations.length === 1 ? '' : 's'}${entry.access === 'anonymous' ? ', read without the token' : ''})`,
  );
  const unread = [...descriptions.unread.entries()].map(([service, reason]) => `${config.ipaas.apiBaseUrl}/${service}/swagger/v2/swagger.json (${reason})`);
  if (unread.length === 0) return pass(id, title, `read ${read.join(' and ')}`);
  const fix = `The paths of ${unread.length === 1 ? 'that service are' : 'those services are'} probed instead, which cannot tell a wrong method on a path shared with a GET: check IPAAS_API_BASE_URL (e.g. https://api.ipaas.com), or ask iPaaS.com for the description of your tenant`;
  if (read.length === 0) return warn(id, title, `no API description could be read: ${unread.join('; ')}`, fix);
  return warn(id, title, `read ${read.join(' and ')}; not read: ${unread.join('; ')}`, fix);
}

/**
 * Every path name against the tenant's API description of its service: a path of the same shape (parameter names
 * ignored) with the method the client sends, the fields it writes and reads (a missing path or method is a ✗
 * naming the documented alternative; a missing field a warning). A service without a description is probed:
 * see probePaths.
 */
async function pathsCheck(config: Config, descriptions: IpaasDescriptions, timeoutMs: number, probeAllowed: boolean): Promise<DoctorCheck> {
  const id = 'ipaas-paths';
  const title = titleOf(id);
  const judgement = judgePaths(config, descriptions);
  const failed = judgement.findings.filter((finding) => finding.status === 'fail');
  const warned = judgement.findings.filter((finding) => finding.status === 'warn');
  let probed: ProbeResult = { wrong: [], unsure: [] };
  if (judgement.undescribed.length > 0) {
    probed = probeAllowed ? await probePaths(config, judgement.undescribed, timeoutMs) : { wrong: [], unsure: judgement.undescribed.map((name) => `${name}: not probed (the token is not accepted)`) };
  }
  const unusedReason = config.mapping.mapping.addresses ? `IPAAS_ADDRESS_MODE=${config.ipaas.addressMode}` : 'a mapping without addresses';
  const unused = judgement.unused.length > 0 ? `; ${judgement.unused.join(', ')} not used with ${unusedReason}` : '';
  if (failed.length > 0 || probed.wrong.length > 0) {
    const lines = [...failed.map((finding) => `${finding.name}: ${finding.summary}`), ...probed.wrong.map((line) => `${line} (probed)`)];
    const documented = Object.fromEntries(failed.filter((finding) => finding.documentedTemplate).map((finding) => [finding.name, finding.documentedTemplate]));
    const fixes: string[] = [];
    if (Object.keys(documented).length > 0) {
      fixes.push(`Set IPAAS_PATHS to the documented paths: ${JSON.stringify(documented)} (npm run doctor -- --suggest-paths prints the whole value)`);
    }
    const undocumented = failed.filter((finding) => !finding.documentedTemplate).map((finding) => finding.name);
    if (undocumented.length > 0) fixes.push(`${undocumented.join(', ')}: the description documents no such operation; see IPAAS_ADDRESS_MODE below for addresses, else ask iPaaS.com`);
    if (probed.wrong.length > 0) {
      fixes.push(`Correct ${probed.wrong.map((line) => line.split(' ')[0]).join(', ')} in IPAAS_PATHS, e.g. {"${probed.wrong[0]?.split(' ')[0] ?? 'createCustomer'}":"/customers/v2/..."}`);
    }
    return fail(id, title, lines.join('; '), fixes.join('; '));
  }
  const described = judgement.findings.length;
  const probedNote = judgement.undescribed.length > 0 ? `${judgement.undescribed.length} probed (${judgement.undescribed.join(', ')})` : '';
  const describedNote = described > 0 ? `${described} documented as the client uses ${described === 1 ? 'it' : 'them'}` : '';
  const summary = [describedNote, probedNote].filter(Boolean).join(', ');
  if (warned.length > 0 || probed.unsure.length > 0) {
    const lines = [...warned.map((finding) => `${finding.name} (${finding.summary}): ${finding.notes.join('; ')}`), ...probed.unsure];
    return warn(id, title, `${summary}${unused}; but: ${lines.join('; ')}`, 'Nothing stops the sync; compare these fields with the tenant\'s description, and correct IPAAS_PATHS or the mapping file if a field the sync needs is named differently');
  }
  return pass(id, title, `${summary}${unused}`);
}

interface ProbeResult {
  wrong: string[];
  unsure: string[];
}

/**
 * The paths of a service without a description, without creating anything: a GET path is asked for a record that
 * cannot exist (id 0) and must answer anything but a bare 404; a write path is asked with GET, where 405 (method
 * not allowed) proves the route exists and, with an Allow header, that it takes our method. A bare 404 (no
 * iPaaS.com error code) is an unknown route: the path is wrong.
 */
async function probePaths(config: Config, names: readonly IpaasPathName[], timeoutMs: number): Promise<ProbeResult> {
  const wrong: string[] = [];
  const unsure: string[] = [];
  const headers = { Authorization: `Bearer ${config.ipaas.apiToken}`, Accept: 'application/json', ...(config.ipaas.clientId ? { [IPAAS_CLIENT_ID_HEADER]: config.ipaas.clientId } : {}) };
  for (const name of names) {
    const template = config.ipaas.paths[name];
    // The search is asked for an email that cannot exist, so it lists nothing.
    const query: Array<[string, string]> | undefined =
      name === 'searchCustomers' ? [[IPAAS_QUERY.action, IPAAS_QUERY.equals], [IPAAS_QUERY.emailAddress, 'doctor@doctor.invalid']] : undefined;
    const url = ipaasUrl(config.ipaas.apiBaseUrl, template, { id: '0' }, query);
    let reply: RawReply;
    try {
      reply = await rawGet(url, headers, timeoutMs);
    } catch (error) {
      wrong.push(`${name} (${template}): no answer (${describeError(error)})`);
      continue;
    }
    const verdict = pathVerdict(name, reply);
    if (verdict === 'wrong') wrong.push(`${name} (${IPAAS_PATH_METHODS[name]} ${template}): ${describeProbe(reply)}`);
    else if (verdict === 'unsure') unsure.push(`${name} (${template}): ${describeProbe(reply)}`);
  }
  return { wrong, unsure };
}

type PathVerdict = 'ok' | 'wrong' | 'unsure';

function pathVerdict(name: IpaasPathName, reply: RawReply): PathVerdict {
  const method = IPAAS_PATH_METHODS[name];
  const hasErrorCode = parseIpaasErrors(reply.body).some((error) => error.code !== '');
  const withId = IPAAS_PATH_PLACEHOLDERS[name].includes('id');
  if (reply.status === 404 && !hasErrorCode) return 'wrong';
  if (reply.status === 405) {
    if (method === 'GET') return 'wrong';
    const allow = reply.headers.get('allow');
    if (!allow) return 'ok';
    return allow.toUpperCase().split(/[\s,]+/u).includes(method) ? 'ok' : 'wrong';
  }
  if (reply.status === 401 || reply.status === 403 || reply.status >= 500) return 'unsure';
  if (method === 'GET') return 'ok';
  // A write route answered a GET: with {id}, a "not found" for record 0 shows a route at this path (PUT/POST share it
  // with a GET as REST routes do); without {id}, a GET answer proves a GET route, not the POST we need.
  if (withId && reply.status === 404) return 'ok';
  return 'unsure';
}

function describeProbe(reply: RawReply): string {
  const allow = reply.headers.get('allow');
  if (reply.status === 404) return 'GET answered a bare 404 (no such route)';
  if (reply.status === 405) return `GET answered 405${allow ? ` (Allow: ${allow})` : ''}`;
  if (reply.status < 300) return `GET answered ${reply.status}: a GET route, not proof that it takes the method needed`;
  return `GET answered HTTP ${reply.status}`;
}

// ---- Storage ------------------------------------------------------------------------------------------------

async function storageCheck(storage: () => Config['storage']): Promise<DoctorCheck> {
  const id = 'storage';
  const title = titleOf(id);
  let connection: Config['storage'];
  try {
    connection = storage();
  } catch (error) {
    return fail(id, title, describeError(error), 'Set AzureWebJobsStorage (or AzureWebJobsStorage__accountName for a managed identity)');
  }
  try {
    await pingStorage(connection);
    return pass(id, title, connection.connectionString ? 'tables and queues answer (connection string)' : `tables and queues answer (identity${connection.accountName ? `, account ${connection.accountName}` : ''})`);
  } catch (error) {
    return fail(
      id,
      title,
      describeError(error),
      'Check AzureWebJobsStorage; with identity-based access give the app\'s identity Storage Queue Data Contributor and Storage Table Data Contributor on the account',
    );
  }
}

function firstLine(text: string): string {
  const line = text.split('\n')[0] ?? '';
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}

// ---- Output -------------------------------------------------------------------------------------------------

const SYMBOL: Record<CheckStatus, string> = { pass: '✓', fail: '✗', warn: '!', skip: '-' };

/** One line per check; under each ✗ and ! the setting or permission to change. */
export function formatDoctorReport(result: DoctorReport): string {
  const lines: string[] = [];
  for (const check of result.checks) {
    lines.push(`${SYMBOL[check.status]} ${check.title}: ${check.detail}`);
    if (check.fix && (check.status === 'fail' || check.status === 'warn')) lines.push(`    → ${check.fix}`);
  }
  const failed = result.checks.filter((check) => check.status === 'fail').length;
  const warned = result.checks.filter((check) => check.status === 'warn').length;
  lines.push('', result.ok ? `Ready: every check passed${warned > 0 ? ` (${warned} warning${warned > 1 ? 's' : ''})` : ''}.` : `${failed} check${failed > 1 ? 's' : ''} failed: fix the settings above and run the doctor again.`);
  return lines.join('\n');
}
