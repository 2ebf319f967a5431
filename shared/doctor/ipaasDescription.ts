import type { Config } from '../config';
import { describeError } from '../errors';
import { ipaasPathContracts, unusedPathNames, type IpaasPathContract } from '../ipaas/contract';
import { IPAAS_CLIENT_ID_HEADER, IPAAS_PATH_NAMES, type IpaasPathName } from '../ipaas/paths';
import type { IpaasCustomerInput } from '../ipaas/types';
import { ADDRESS_WIRE_FIELDS } from '../ipaas/wire';
import { parameterCount, readApiDescription, sameShape, type ApiDescription, type DescribedOperation, type SchemaNode } from './openapi';

/**
 * The iPaaS.com half of the doctor that reads the tenant's own API descriptions: each service serves its OpenAPI
 * document at `{base}/{service}/swagger/v2/swagger.json` (docs/external-apis.md). For every path name of
 * IPAAS_PATHS it finds the documented operation of the same shape (parameter names ignored) and method, checks
 * the fields the client writes and reads against its schemas, and, where it is missing, names the documented
 * alternative; it also tells which IPAAS_ADDRESS_MODE the description supports. Reads only; judges only.
 */

/** Where a service's description is, below the API base URL. */
export const descriptionPath = (service: string): string => `/${service}/swagger/v2/swagger.json`;

/** A description is a document of a few hundred kilobytes; anything far larger is not one. */
const MAX_DESCRIPTION_BYTES = 20 * 1024 * 1024;

export interface ServiceDescription {
  service: string;
  url: string;
  /** Whether it was read with the API token or only without one. */
  access: 'token' | 'anonymous';
  description: ApiDescription;
}

export interface IpaasDescriptions {
  /** The descriptions read, by service. */
  read: Map<string, ServiceDescription>;
  /** Why a service's description could not be read, by service. */
  unread: Map<string, string>;
}

/** The services the configured paths live in (the first path segment). */
export function servicesOf(config: Pick<Config['ipaas'], 'paths' | 'addressMode'>): string[] {
  const unused = unusedPathNames(config.addressMode);
  return [...new Set(IPAAS_PATH_NAMES.filter((name) => !unused.includes(name)).map((name) => config.paths[name].split('/')[1] ?? ''))].filter(Boolean);
}

/** Reads each service's description: with the API token first, then without (whether it needs one is not known). */
export async function fetchIpaasDescriptions(config: Config['ipaas'], timeoutMs: number): Promise<IpaasDescriptions> {
  const read = new Map<string, ServiceDescription>();
  const unread = new Map<string, string>();
  const base = config.apiBaseUrl.replace(/\/+$/u, '');
  const clientId: Record<string, string> = config.clientId ? { [IPAAS_CLIENT_ID_HEADER]: config.clientId } : {};
  await Promise.all(
    servicesOf(config).map(async (service) => {
      const url = `${base}${descriptionPath(service)}`;
      const attempts: Array<['token' | 'anonymous', Record<string, string>]> = [
        ['token', { Authorization: `Bearer ${config.apiToken}`, ...clientId }],
        ['anonymous', clientId],
      ];
      const failures: string[] = [];
      for (const [access, headers] of attempts) {
        const outcome = await fetchJson(url, headers, timeoutMs);
        if ('problem' in outcome) {
          failures.push(`${access === 'token' ? 'with the token' : 'without'}: ${outcome.problem}`);
          continue;
        }
        const description = readApiDescription(service, outcome.json);
        if ('problem' in description) {
          failures.push(`${access === 'token' ? 'with the token' : 'without'}: ${description.problem}`);
          continue;
        }
        read.set(service, { service, url, access, description });
        return;
      }
      unread.set(service, failures.join('; '));
    }),
  );
  return { read, unread };
}

async function fetchJson(url: string, headers: Record<string, string>, timeoutMs: number): Promise<{ json: unknown } | { problem: string }> {
  let response: Response;
  try {
    // Not followed: a redirect would carry the token elsewhere.
    response = await fetch(url, { headers: { Accept: 'application/json', ...headers }, signal: AbortSignal.timeout(timeoutMs), redirect: 'manual' });
  } catch (error) {
    return { problem: `no answer (${describeError(error)})` };
  }
  if (response.status !== 200) {
    await response.text().catch(() => '');
    return { problem: `HTTP ${response.status}` };
  }
  const length = Number(response.headers.get('content-length') ?? 0);
  if (length > MAX_DESCRIPTION_BYTES) return { problem: `too large (${length} bytes)` };
  const text = await response.text();
  if (text.length > MAX_DESCRIPTION_BYTES) return { problem: `too large (${text.length} characters)` };
  try {
    return { json: JSON.parse(text) as unknown };
  } catch {
    return { problem: 'not JSON' };
  }
}

// ---- Judging the paths ------------------------------------------------------------------------------------------

export type FindingStatus = 'pass' | 'warn' | 'fail';

export interface PathFinding {
  name: IpaasPathName;
  method: string;
  /** The configured template. */
  configured: string;
  status: FindingStatus;
  /** What was found, e.g. "documented", or why it fails. */
  summary: string;
  /** Warnings about fields and queries (status warn), or the reason of a fail. */
  notes: string[];
  /** The documented operation the configured path matches. */
  documented: DescribedOperation | undefined;
  /** The template the description documents for this name (the configured one when it matches), with `{id}`. */
  documentedTemplate: string | undefined;
}

export interface PathJudgement {
  /** One per path name whose service has a description. */
  findings: PathFinding[];
  /** Path names whose service has no description (to be probed). */
  undescribed: IpaasPathName[];
  /** Path names not used in this address mode. */
  unused: IpaasPathName[];
}

/** The mapping's customer destinations as the client's field keys (`FirstName` → `firstName`). */
export function mappedCustomerFields(config: Pick<Config, 'mapping'>): Array<keyof IpaasCustomerInput> {
  return config.mapping.mapping.fields.map((field) => field.key);
}

export function judgePaths(config: Pick<Config, 'ipaas' | 'mapping'>, descriptions: IpaasDescriptions): PathJudgement {
  const sendsAddresses = config.mapping.mapping.addresses !== null;
  const contracts = ipaasPathContracts({ customerFields: mappedCustomerFields(config), addressMode: config.ipaas.addressMode, sendsAddresses });
  const findings: PathFinding[] = [];
  const undescribed: IpaasPathName[] = [];
  for (const contract of contracts) {
    const configured = config.ipaas.paths[contract.name];
    const service = configured.split('/')[1] ?? '';
    const described = descriptions.read.get(service) ?? descriptions.read.get(contract.service);
    if (!described) {
      undescribed.push(contract.name);
      continue;
    }
    findings.push(judgePath(contract, configured, operationsOf(descriptions)));
  }
  return { findings, undescribed, unused: unusedPathNames(config.ipaas.addressMode, sendsAddresses) };
}

function operationsOf(descriptions: IpaasDescriptions): DescribedOperation[] {
  return [...descriptions.read.values()].flatMap((entry) => entry.description.operations);
}

function judgePath(contract: IpaasPathContract, configured: string, operations: DescribedOperation[]): PathFinding {
  const base = { name: contract.name, method: contract.method, configured };
  const samePath = operations.filter((operation) => sameShape(operation.path, configured));
  const match = samePath.find((operation) => operation.method === contract.method);
  if (match) {
    const { failures, warnings } = compareFields(contract, match);
    const template = templateOf(match.path, contract);
    if (failures.length > 0) return { ...base, status: 'fail', summary: `${contract.method} ${match.path}: ${failures.join('; ')}`, notes: failures, documented: match, documentedTemplate: template };
    return {
      ...base,
      status: warnings.length > 0 ? 'warn' : 'pass',
      summary: `${contract.method} ${match.path}`,
      notes: warnings,
      documented: match,
      documentedTemplate: template,
    };
  }
  const alternative = findAlternative(contract, operations);
  const where = alternative ? `; documented: ${contract.method} ${alternative.path}` : '; the description documents no alternative';
  const problem =
    samePath.length > 0
      ? `${contract.method} ${configured} is documented for ${[...new Set(samePath.map((operation) => operation.method))].join(', ')} only${where}`
      : `${contract.method} ${configured} is not in the description${where}`;
  return { ...base, status: 'fail', summary: problem, notes: [problem], documented: undefined, documentedTemplate: alternative ? templateOf(alternative.path, contract) : undefined };
}

/** Our template for a documented path: its one parameter renamed `{id}` (the name the client fills). */
function templateOf(path: string, contract: IpaasPathContract): string {
  if (contract.placeholders.length === 0) return path;
  return path.replace(/\{[^}]*\}/u, '{id}');
}

/** The fields of a reply the client reads: a list's items, or the object itself. */
function replyObject(contract: IpaasPathContract, reply: SchemaNode | undefined): SchemaNode | undefined {
  if (!reply || reply.unknown) return undefined;
  return contract.reply === 'list' ? reply.items : reply;
}

function compareFields(contract: IpaasPathContract, operation: DescribedOperation): { failures: string[]; warnings: string[] } {
  const failures: string[] = [];
  const warnings: string[] = [];
  if (contract.writes.length > 0) {
    const request = operation.request;
    if (!request || request.unknown) warnings.push('the description shows no request body, so the fields sent could not be checked');
    else {
      const properties = request.properties;
      const missing = contract.writes.filter((field) => !properties.has(field));
      if (missing.length > 0 && properties.size > 0) warnings.push(`the request documents no ${missing.join(', ')}`);
      // An update sends back the whole record it read, so only a create-like body can lack a required field.
      if (contract.method === 'POST') {
        const unsent = [...request.required].filter((field) => !contract.writes.includes(field));
        if (unsent.length > 0) warnings.push(`the description requires ${unsent.join(', ')}, which the sync does not send`);
      }
    }
  }
  if (contract.reply !== 'none' && operation.reply && !operation.reply.unknown) {
    const kind = operation.reply.kind;
    if (contract.reply === 'list' && kind === 'object') failures.push('the documented reply is one object, the client reads a list');
    else if (contract.reply === 'object' && kind === 'array') failures.push('the documented reply is a list, the client reads one object');
    else {
      const object = replyObject(contract, operation.reply);
      const properties = object?.properties;
      if (properties && properties.size > 0) {
        const missing = contract.reads.filter((field) => !properties.has(field));
        if (missing.length > 0) warnings.push(`the reply documents no ${missing.join(', ')}`);
      }
    }
  } else if (contract.reply !== 'none' && contract.reads.length > 0) {
    warnings.push('the description shows no reply schema, so the fields read could not be checked');
  }
  if (contract.query.length > 0 && operation.query.length > 0) {
    const documented = new Set(operation.query.map((name) => name.toLowerCase()));
    const missing = contract.query.filter((name) => !documented.has(name.toLowerCase()));
    if (missing.length > 0) warnings.push(`the query parameter${missing.length > 1 ? 's' : ''} ${missing.join(', ')} ${missing.length > 1 ? 'are' : 'is'} not documented`);
  }
  return { failures, warnings };
}

/**
 * The documented operation that does what this path name is for: the same method and number of parameters, in
 * the same service, ranked by how many of the fields the client writes and reads its schemas have, whether its
 * reply is a list or one object as the client reads it, and whether its path says what it is for.
 */
function findAlternative(contract: IpaasPathContract, operations: DescribedOperation[]): DescribedOperation | undefined {
  let best: { operation: DescribedOperation; score: number } | undefined;
  for (const operation of operations) {
    if (operation.method !== contract.method || parameterCount(operation.path) !== contract.placeholders.length) continue;
    if ((operation.path.split('/')[1] ?? '').toLowerCase() !== contract.service.toLowerCase()) continue;
    let score = 0;
    const request = operation.request;
    if (contract.writes.length > 0 && request && !request.unknown) {
      const properties = request.properties;
      score += (4 * contract.writes.filter((field) => properties.has(field)).length) / contract.writes.length;
    }
    if (contract.reply !== 'none' && operation.reply && !operation.reply.unknown) {
      const kind = operation.reply.kind;
      if ((contract.reply === 'list') === (kind === 'array')) score += 2;
      const properties = replyObject(contract, operation.reply)?.properties;
      if (properties && contract.reads.length > 0) score += (4 * contract.reads.filter((field) => properties.has(field)).length) / contract.reads.length;
    }
    if (contract.words.test(operation.path)) score += 3;
    score -= operation.path.length / 1000;
    if (score >= 3 && (!best || score > best.score)) best = { operation, score };
  }
  return best?.operation;
}

/**
 * The IPAAS_PATHS value the descriptions document: every path name they document, with its documented template
 * (`{id}` for the parameter), so a tenant's paths are pinned to what it publishes. `missing`: names they do not.
 */
export function suggestedPaths(judgement: PathJudgement): { paths: Partial<Record<IpaasPathName, string>>; missing: IpaasPathName[] } {
  const paths: Partial<Record<IpaasPathName, string>> = {};
  const missing: IpaasPathName[] = [];
  for (const finding of judgement.findings) {
    if (finding.documentedTemplate) paths[finding.name] = finding.documentedTemplate;
    else missing.push(finding.name);
  }
  return { paths, missing: [...missing, ...judgement.undescribed] };
}

// ---- Address mode -------------------------------------------------------------------------------------------------

export interface AddressModeVerdict {
  status: FindingStatus | 'skip';
  detail: string;
  fix: string | null;
}

/** A property of a customer schema that is a list of addresses (its items have address fields). */
function addressCollectionOf(schema: SchemaNode | undefined): string | undefined {
  if (!schema || schema.unknown) return undefined;
  const addressFields = Object.values(ADDRESS_WIRE_FIELDS);
  for (const [name, property] of schema.properties) {
    const items = property.kind === 'array' ? property.items : undefined;
    const fields = items?.properties;
    if (fields && addressFields.filter((field) => fields.has(field)).length >= 2) return name;
  }
  return undefined;
}

/**
 * Which IPAAS_ADDRESS_MODE the description supports: `separate` needs an address endpoint (POST) and list (GET);
 * `nested` needs the address collection in the customer's create and update bodies and in its GET reply (to see
 * the addresses it has, so PreventDuplicate holds). A mode the description does not support is a ✗ recommending
 * the other.
 */
export function judgeAddressMode(config: Pick<Config, 'ipaas' | 'mapping'>, descriptions: IpaasDescriptions): AddressModeVerdict {
  const { addressMode: mode, addressCollection: collection } = config.ipaas;
  if (!config.mapping.mapping.addresses) return { status: 'pass', detail: `${mode}; the mapping sends no addresses`, fix: null };
  const customers = descriptions.read.get(config.ipaas.paths.createCustomer.split('/')[1] ?? 'customers') ?? descriptions.read.get('customers');
  if (!customers) return { status: 'skip', detail: 'skipped: no description of the customers service to judge by', fix: null };
  const operations = operationsOf(descriptions);
  const contracts = ipaasPathContracts({ customerFields: mappedCustomerFields(config), addressMode: 'separate' });
  const contract = (name: IpaasPathName): IpaasPathContract => contracts.find((candidate) => candidate.name === name)!;
  const documented = (name: IpaasPathName): DescribedOperation | undefined => {
    const finding = judgePath(contract(name), config.ipaas.paths[name], operations);
    return finding.documented ?? (finding.documentedTemplate ? operations.find((operation) => operation.method === contract(name).method && sameShape(operation.path, finding.documentedTemplate!)) : undefined);
  };
  const add = documented('addAddress');
  const list = documented('listAddresses');
  const create = documented('createCustomer');
  const update = documented('updateCustomer');
  const get = documented('getCustomer');
  const inCreate = addressCollectionOf(create?.request);
  const inUpdate = addressCollectionOf(update?.request);
  const inGet = addressCollectionOf(get?.reply);
  const endpoint = add && list ? `addresses are posted to ${add.path} and listed from ${list.path}` : undefined;
  const nestedCollection = inCreate ?? inUpdate;

  if (mode === 'separate') {
    if (endpoint) return { status: 'pass', detail: `separate: ${endpoint}${nestedCollection ? ` (the customer body also documents the collection "${nestedCollection}")` : ''}`, fix: null };
    if (nestedCollection) {
      return {
        status: 'fail',
        detail: `separate, but the description has no address ${add ? 'list' : 'endpoint'}; the customer's body carries the address collection "${nestedCollection}"`,
        fix: `Set IPAAS_ADDRESS_MODE=nested${nestedCollection !== collection ? ` and IPAAS_ADDRESS_COLLECTION=${nestedCollection}` : ''}: the addresses then travel inside the customer's create/update body`,
      };
    }
    return {
      status: 'fail',
      detail: 'the description documents neither an address endpoint nor an address collection of the customer: addresses cannot be sent',
      fix: 'Ask iPaaS.com how customer addresses are created for your tenant; until then remove "addresses" from the mapping file (CUSTOMER_MAPPING_FILE) to transfer customers without their addresses',
    };
  }
  // nested
  if (inCreate === collection && inUpdate === collection && inGet === collection) {
    return { status: 'pass', detail: `nested: the customer's create and update bodies and its reply carry the address collection "${collection}"`, fix: null };
  }
  if (nestedCollection && nestedCollection !== collection) {
    return { status: 'fail', detail: `nested, but the customer's address collection is documented as "${nestedCollection}", not "${collection}"`, fix: `Set IPAAS_ADDRESS_COLLECTION=${nestedCollection}` };
  }
  if (!inCreate || !inUpdate) {
    return {
      status: 'fail',
      detail: `nested, but the customer's ${!inCreate && !inUpdate ? 'create and update bodies document' : !inCreate ? 'create body documents' : 'update body documents'} no address collection "${collection}"${endpoint ? `; ${endpoint}` : ''}`,
      fix: endpoint ? 'Set IPAAS_ADDRESS_MODE=separate (or leave it unset)' : 'Ask iPaaS.com how customer addresses are created for your tenant; until then remove "addresses" from the mapping file',
    };
  }
  return {
    status: 'fail',
    detail: `nested, but the customer's reply (GET ${get?.path ?? config.ipaas.paths.getCustomer}) documents no "${collection}": the sync could not see the addresses a customer has, so PreventDuplicate could not hold`,
    fix: endpoint ? 'Set IPAAS_ADDRESS_MODE=separate (or leave it unset)' : 'Ask iPaaS.com whether the customer reply carries its addresses; until then remove "addresses" from the mapping file',
  };
}
