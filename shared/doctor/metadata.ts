import { XMLParser } from 'fast-xml-parser';
import { BC_CUSTOMER_PROPERTIES_READ } from '../businessCentral/types';
import type { CustomerMapping } from '../mapping/mappingFile';
import { mappingSources } from '../mapping/customerMapping';
import { reconcileSelect } from '../reconcile/expected';

/**
 * Business Central's own description of its API: every environment serves `{root}/$metadata` (EDMX, OData CSDL
 * XML). The doctor reads the `customer` entity type's properties and whether `subscriptions` exist, and holds
 * them against what the code reads: the client's customer fields (every sync and the poll), the reconciliation's
 * `$select`, and each source of the mapping file, in API v2.0 names as the normalizer reads them. Parsed
 * tolerantly: namespaces, prefixes and unknown elements are ignored.
 */

export interface EdmEntityType {
  name: string;
  properties: Set<string>;
}

export interface EdmModel {
  entityTypes: EdmEntityType[];
  /** Entity set name → its entity type's name (namespace dropped). */
  entitySets: Map<string, string>;
}

const ARRAYS = new Set(['Schema', 'EntityType', 'Property', 'NavigationProperty', 'EntitySet', 'EntityContainer', 'Singleton', 'ComplexType']);

type Node = Record<string, unknown>;
const isNode = (value: unknown): value is Node => typeof value === 'object' && value !== null && !Array.isArray(value);
const list = (value: unknown): Node[] => (Array.isArray(value) ? value.filter(isNode) : isNode(value) ? [value] : []);
const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

/** The entity types and sets of an EDMX document; throws when the text is not one. */
export function parseEdmx(xml: string): EdmModel {
  const parser = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '',
    removeNSPrefix: true,
    processEntities: false,
    isArray: (name, _path, _leaf, isAttribute) => !isAttribute && ARRAYS.has(name),
  });
  let document: unknown;
  try {
    document = parser.parse(xml) as unknown;
  } catch (error) {
    throw new Error(`not XML (${error instanceof Error ? error.message : String(error)})`);
  }
  const root = isNode(document) ? document.Edmx : undefined;
  const services = isNode(root) ? root.DataServices : undefined;
  const schemas = isNode(services) ? list(services.Schema) : [];
  if (schemas.length === 0) throw new Error('not an EDMX document (no edmx:Edmx / edmx:DataServices / Schema)');
  const entityTypes: EdmEntityType[] = [];
  const entitySets = new Map<string, string>();
  for (const schema of schemas) {
    for (const type of list(schema.EntityType)) {
      const name = text(type.Name);
      if (!name) continue;
      const properties = new Set<string>();
      for (const property of [...list(type.Property), ...list(type.NavigationProperty)]) {
        const propertyName = text(property.Name);
        if (propertyName) properties.add(propertyName);
      }
      entityTypes.push({ name, properties });
    }
    for (const container of list(schema.EntityContainer)) {
      for (const set of [...list(container.EntitySet), ...list(container.Singleton)]) {
        const name = text(set.Name);
        const type = text(set.EntityType) ?? text(set.Type);
        if (name) entitySets.set(name, (type ?? '').split('.').pop() ?? '');
      }
    }
  }
  return { entityTypes, entitySets };
}

/** The entity type named so (Business Central writes `customer`), case ignored only when no exact match exists. */
export function entityType(model: EdmModel, name: string): EdmEntityType | undefined {
  return model.entityTypes.find((type) => type.name === name) ?? model.entityTypes.find((type) => type.name.toLowerCase() === name.toLowerCase());
}

export interface MetadataVerdict {
  status: 'pass' | 'warn' | 'fail';
  detail: string;
  fix: string | null;
}

/**
 * The customer entity against what the code and the mapping read, and `subscriptions` (the webhook) against
 * whether a webhook is configured. A property the mapping reads that is missing names the mapping entry.
 */
export function judgeMetadata(model: EdmModel, mapping: CustomerMapping, webhookConfigured: boolean): MetadataVerdict {
  const customer = entityType(model, 'customer');
  const subscriptionsExist = model.entitySets.has('subscriptions') || entityType(model, 'subscription') !== undefined;
  if (!customer) {
    return {
      status: 'fail',
      detail: `$metadata has no "customer" entity type (${model.entityTypes.length} entity types)`,
      fix: 'BC_API_BASE_URL must point at Business Central\'s API v2.0 (the default https://api.businesscentral.dynamics.com/v2.0); the sync reads its standard customers API',
    };
  }
  const has = (property: string): boolean => customer.properties.has(property);
  const problems: string[] = [];
  const codeMissing = BC_CUSTOMER_PROPERTIES_READ.filter((property) => !has(property));
  if (codeMissing.length > 0) problems.push(`the sync and the poll read ${codeMissing.join(', ')}`);
  const select = reconcileSelect(mapping);
  const selectMissing = select.filter((property) => !has(property) && !codeMissing.includes(property));
  if (selectMissing.length > 0) problems.push(`the reconciliation's $select names ${selectMissing.join(', ')}`);
  const entries = mappingSources(mapping)
    .map((entry) => ({ ...entry, missing: entry.properties.filter((property) => !has(property)) }))
    .filter((entry) => entry.missing.length > 0);
  for (const entry of entries) problems.push(`mapping ${entry.entry} (${entry.sources.join(', ')}) reads ${entry.missing.join(', ')}`);
  if (problems.length > 0) {
    const fixes: string[] = [];
    if (entries.length > 0) fixes.push(`Change the mapping entries ${entries.map((entry) => entry.entry).join(', ')} in ${mapping.file} (CUSTOMER_MAPPING_FILE) to fields this environment has, or remove them`);
    if (codeMissing.length > 0 || selectMissing.length > 0) fixes.push('BC_API_BASE_URL must point at Business Central\'s standard API v2.0, whose customers entity has these properties');
    return { status: 'fail', detail: `the customer entity lacks properties: ${problems.join('; ')}`, fix: fixes.join('; ') };
  }
  const used = new Set([...BC_CUSTOMER_PROPERTIES_READ, ...select, ...mappingSources(mapping).flatMap((entry) => entry.properties)]);
  const summary = `the customer entity has all ${used.size} properties the sync, the poll, the $select and the mapping read`;
  if (!subscriptionsExist) {
    return webhookConfigured
      ? { status: 'fail', detail: `${summary}, but $metadata has no "subscriptions": webhooks cannot be created`, fix: 'Set WEBHOOK_NOTIFICATION_URL=none (polling only), or use an environment whose API offers subscriptions' }
      : { status: 'warn', detail: `${summary}; $metadata has no "subscriptions", so changes can arrive by polling only`, fix: 'Nothing to do while WEBHOOK_NOTIFICATION_URL is unset' };
  }
  return { status: 'pass', detail: `${summary}; "subscriptions" exist`, fix: null };
}
