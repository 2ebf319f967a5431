import { z } from 'zod';

/**
 * Reads a service's own API description, Swagger 2.0 or OpenAPI 3.x (ASP.NET / Swashbuckle style), into the little
 * the doctor compares: each operation's method and full path, its request body and reply schemas, its query
 * parameters. Local `$ref`s (`#/...`) are followed, `allOf` is merged, `oneOf`/`anyOf` are read as the union of
 * their members; a reference that goes nowhere or loops is an unknown schema, never a crash. Nothing is judged here.
 */

export type JsonObject = Record<string, unknown>;

const isObject = (value: unknown): value is JsonObject => typeof value === 'object' && value !== null && !Array.isArray(value);

const MAX_DEPTH = 32;
const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;

/** The top of a description: enough to tell its version and find its paths; the rest is walked as plain JSON. */
const documentSchema = z.looseObject({
  swagger: z.string().optional(),
  openapi: z.string().optional(),
  basePath: z.string().optional(),
  servers: z.array(z.looseObject({ url: z.string().optional() })).optional().catch(undefined),
  paths: z.record(z.string(), z.unknown()),
});

/** Follows a local `$ref` chain; undefined when it leads nowhere or loops. */
function deref(document: JsonObject, value: unknown, depth = 0): unknown {
  if (!isObject(value) || typeof value.$ref !== 'string') return value;
  if (depth > MAX_DEPTH || !value.$ref.startsWith('#/')) return undefined;
  let target: unknown = document;
  for (const raw of value.$ref.slice(2).split('/')) {
    const key = decodeURIComponent(raw).replace(/~1/gu, '/').replace(/~0/gu, '~');
    target = isObject(target) ? target[key] : undefined;
    if (target === undefined) return undefined;
  }
  return deref(document, target, depth + 1);
}

/** One schema, resolved on demand. */
export class SchemaNode {
  private readonly parts: JsonObject[];

  constructor(
    private readonly document: JsonObject,
    raw: unknown,
    private readonly depth = 0,
  ) {
    this.parts = depth > MAX_DEPTH ? [] : flatten(document, raw, depth);
  }

  /** Nothing known about it (no schema, or one made of unresolvable references). */
  get unknown(): boolean {
    return this.parts.length === 0 || this.parts.every((part) => Object.keys(part).every((key) => ['description', 'nullable', 'title', 'example'].includes(key)));
  }

  get kind(): 'array' | 'object' | 'scalar' | 'unknown' {
    if (this.unknown) return 'unknown';
    if (this.parts.some((part) => part.type === 'array' || part.items !== undefined)) return 'array';
    if (this.parts.some((part) => part.type === 'object' || part.properties !== undefined || part.additionalProperties !== undefined)) return 'object';
    return 'scalar';
  }

  /** Its properties (merged over allOf / oneOf / anyOf members). */
  get properties(): Map<string, SchemaNode> {
    const found = new Map<string, SchemaNode>();
    for (const part of this.parts) {
      if (!isObject(part.properties)) continue;
      for (const [name, schema] of Object.entries(part.properties)) if (!found.has(name)) found.set(name, new SchemaNode(this.document, schema, this.depth + 1));
    }
    return found;
  }

  /** Properties the schema requires (from the schema itself and its allOf members). */
  get required(): Set<string> {
    const names = new Set<string>();
    for (const part of this.parts) if (Array.isArray(part.required)) for (const name of part.required) if (typeof name === 'string') names.add(name);
    return names;
  }

  /** An array's items. */
  get items(): SchemaNode | undefined {
    const items = this.parts.map((part) => part.items).filter((value) => value !== undefined);
    return items.length === 0 ? undefined : new SchemaNode(this.document, { allOf: items }, this.depth + 1);
  }
}

/** A schema as the list of plain objects it is made of: `$ref` followed, `allOf`/`oneOf`/`anyOf` spread. */
function flatten(document: JsonObject, raw: unknown, depth: number): JsonObject[] {
  if (depth > MAX_DEPTH) return [];
  const schema = deref(document, raw);
  if (!isObject(schema)) return [];
  const members = ['allOf', 'oneOf', 'anyOf'].flatMap((key) => (Array.isArray(schema[key]) ? (schema[key] as unknown[]) : []));
  return [schema, ...members.flatMap((member) => flatten(document, member, depth + 1))];
}

export interface DescribedOperation {
  /** Upper case: GET, POST, PUT, ... */
  method: string;
  /** From the API base URL, e.g. `/customers/v2/Customer/{customerId}`. */
  path: string;
  request: SchemaNode | undefined;
  /** The schema of the first 2xx answer that has one. */
  reply: SchemaNode | undefined;
  /** Query parameter names. */
  query: string[];
}

export interface ApiDescription {
  /** The service it describes (`customers`, `subscriptions`). */
  service: string;
  /** "OpenAPI 3.0.1" or "Swagger 2.0". */
  version: string;
  operations: DescribedOperation[];
}

/** Preferred media types of a body or reply, as ASP.NET lists several for one schema. */
function pickContent(content: unknown): unknown {
  if (!isObject(content)) return undefined;
  const types = Object.keys(content);
  const chosen =
    types.find((type) => type.toLowerCase() === 'application/json') ??
    types.find((type) => type.toLowerCase().includes('json')) ??
    types.find((type) => type.toLowerCase() === 'text/plain') ??
    types[0];
  const media = chosen === undefined ? undefined : content[chosen];
  return isObject(media) ? media.schema : undefined;
}

/** The path every path of the document is relative to: its basePath / server path, else the service's own `/{service}`. */
function prefixOf(service: string, document: z.output<typeof documentSchema>, paths: string[]): string {
  if (paths.length > 0 && paths.every((path) => path.toLowerCase().startsWith(`/${service.toLowerCase()}/`))) return '';
  const declared = document.swagger ? document.basePath : document.servers?.[0]?.url;
  if (declared) {
    const pathname = URL.canParse(declared, 'http://base.invalid') ? new URL(declared, 'http://base.invalid').pathname.replace(/\/+$/u, '') : '';
    if (pathname !== '') return pathname;
  }
  return `/${service}`;
}

/** A description as the doctor reads it, or why it cannot be one. */
export function readApiDescription(service: string, json: unknown): ApiDescription | { problem: string } {
  const parsed = documentSchema.safeParse(json);
  if (!parsed.success) return { problem: 'not an API description (no "paths" object)' };
  const document = parsed.data;
  const root = json as JsonObject;
  const version = document.openapi ? `OpenAPI ${document.openapi}` : document.swagger ? `Swagger ${document.swagger}` : undefined;
  if (!version) return { problem: 'not an API description (neither "openapi" nor "swagger" is given)' };
  const swagger2 = document.swagger !== undefined && document.openapi === undefined;
  const prefix = prefixOf(service, document, Object.keys(document.paths));
  const operations: DescribedOperation[] = [];
  for (const [path, rawItem] of Object.entries(document.paths)) {
    const item = deref(root, rawItem);
    if (!isObject(item)) continue;
    const shared = Array.isArray(item.parameters) ? item.parameters : [];
    for (const method of METHODS) {
      const operation = item[method];
      if (!isObject(operation)) continue;
      const parameters = [...shared, ...(Array.isArray(operation.parameters) ? operation.parameters : [])].map((parameter) => deref(root, parameter)).filter(isObject);
      let request: unknown;
      if (swagger2) request = parameters.find((parameter) => parameter.in === 'body')?.schema;
      else {
        const body = deref(root, operation.requestBody);
        request = isObject(body) ? pickContent(body.content) : undefined;
      }
      let reply: unknown;
      const responses = isObject(operation.responses) ? operation.responses : {};
      const statuses = Object.keys(responses)
        .filter((status) => /^2(\d\d|XX)$/iu.test(status))
        .sort();
      for (const status of statuses) {
        const response = deref(root, responses[status]);
        if (!isObject(response)) continue;
        const schema = swagger2 ? response.schema : pickContent(response.content);
        if (schema !== undefined) {
          reply = schema;
          break;
        }
      }
      operations.push({
        method: method.toUpperCase(),
        path: `${prefix}${path.startsWith('/') ? '' : '/'}${path}`,
        request: request === undefined ? undefined : new SchemaNode(root, request),
        reply: reply === undefined ? undefined : new SchemaNode(root, reply),
        query: parameters.filter((parameter) => parameter.in === 'query' && typeof parameter.name === 'string').map((parameter) => parameter.name as string),
      });
    }
  }
  return { service, version, operations };
}

/** A path's segments for comparison: literal segments lower-cased (ASP.NET routes ignore case), every `{name}` alike. */
export function pathShape(path: string): string[] {
  return path
    .replace(/\/+$/u, '')
    .split('/')
    .filter(Boolean)
    .map((segment) => (/^\{[^}]*\}$/u.test(segment) ? '{}' : segment.toLowerCase()));
}

export function sameShape(a: string, b: string): boolean {
  const left = pathShape(a);
  const right = pathShape(b);
  return left.length === right.length && left.every((segment, index) => segment === right[index]);
}

/** How many `{parameters}` a path has. */
export function parameterCount(path: string): number {
  return pathShape(path).filter((segment) => segment === '{}').length;
}
