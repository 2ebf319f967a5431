import { badRequest, GUID, notFound } from './http';
import type { FilterableEntity } from './odataFilter';

/** OData v4 system query options and URL segments, as far as the fake supports them. */

export interface SystemQueryOptions {
  filter?: string;
  select?: string[];
  top?: number;
  skip?: number;
  skipToken?: string;
}

/** Reads the `$` options, rejecting unknown, repeated or malformed ones with Business Central's 400s. */
export function parseSystemQueryOptions(query: URLSearchParams, allowed: readonly string[], entity: FilterableEntity): SystemQueryOptions {
  const options: SystemQueryOptions = {};
  const seen = new Set<string>();
  for (const [key, value] of query) {
    // Non-$ parameters (company, tenant, aid) are custom query options the service tolerates.
    if (!key.startsWith('$')) continue;
    if (!allowed.includes(key)) throw badRequest(`The query parameter '${key}' is not supported.`);
    if (seen.has(key)) throw badRequest(`Query option '${key}' was specified more than once, but it must be specified at most once.`);
    seen.add(key);
    if (key === '$filter') options.filter = value;
    if (key === '$skiptoken') options.skipToken = value;
    if (key === '$top' || key === '$skip') {
      if (!/^\d+$/u.test(value)) throw badRequest(`Invalid value '${value}' for ${key} query option found. The ${key} query option requires a non-negative integer value.`);
      if (key === '$top') options.top = Number(value);
      else options.skip = Number(value);
    }
    if (key === '$select') {
      const fields = value.split(',').map((field) => field.trim());
      for (const field of fields) {
        if (!Object.hasOwn(entity.fields, field)) throw badRequest(`Could not find a property named '${field}' on type '${entity.typeName}'.`);
      }
      options.select = fields;
    }
  }
  return options;
}

/** `$select`: the named properties plus the ETag, which Business Central always returns. */
export function select(entity: object, fields: readonly string[] | undefined): Record<string, unknown> {
  const properties = entity as Readonly<Record<string, unknown>>;
  if (!fields) return { ...properties };
  return Object.fromEntries([['@odata.etag', properties['@odata.etag']], ...fields.map((field) => [field, properties[field]])]);
}

/** `Prefer: odata.maxpagesize=N` among other preferences; undefined when absent or not a positive integer. */
export function preferredPageSize(prefer: string | null): number | undefined {
  const match = /(?:^|[,;\s])odata\.maxpagesize\s*=\s*"?(\d+)"?/iu.exec(prefer ?? '');
  const size = match ? Number(match[1]) : undefined;
  return size !== undefined && size > 0 ? size : undefined;
}

/** `customers(<key>)` → name and raw key; 404 for anything that is not an entity set segment. */
export function parseSegment(segment: string): { name: string; key?: string } {
  const match = /^([A-Za-z$]+)(?:\((.*)\))?$/su.exec(segment);
  if (!match) throw notFound(segment);
  return match[2] === undefined ? { name: match[1]! } : { name: match[1]!, key: match[2] };
}

/** Entity keys of type Edm.Guid are unquoted in OData v4. */
export function parseGuidKey(key: string): string {
  if (!GUID.test(key)) throw badRequest('Bad Request - Error in query syntax.');
  return key.toLowerCase();
}

/** Edm.String keys are quoted, with '' for a quote. */
export function parseStringKey(key: string): string {
  const match = /^'((?:[^']|'')*)'$/su.exec(key);
  if (!match) throw badRequest('Bad Request - Error in query syntax.');
  return match[1]!.replace(/''/gu, "'");
}
