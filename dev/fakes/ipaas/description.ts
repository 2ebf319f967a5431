import type { FakeIpaasModel, FakeIpaasRoute } from './routes';

/**
 * The API descriptions the iPaaS.com fake serves, as every iPaaS.com service does at
 * `{base}/{service}/swagger/v2/swagger.json` (docs/external-apis.md): written from the fake's own route table and
 * its own models (the API notes), never from the client's paths or wire schemas, so a description can disagree with
 * the client the way a tenant's can. ASP.NET / Swashbuckle style: paths relative to the service (`/v2/Customer/{customerId}`),
 * models under `components.schemas` (OpenAPI 3) or `definitions` (Swagger 2.0), referenced with `$ref`, responses
 * built with `allOf` over the request model.
 */

export const FAKE_IPAAS_DESCRIPTION_FORMATS = ['openapi3', 'swagger2', 'none'] as const;
export type FakeIpaasDescriptionFormat = (typeof FAKE_IPAAS_DESCRIPTION_FORMATS)[number];

/** Where a service's description is served, below the API base URL. */
export const descriptionPath = (service: string): string => `/${service}/swagger/v2/swagger.json`;

type Schema = Record<string, unknown>;

const text: Schema = { type: 'string', nullable: true };
const int64: Schema = { type: 'integer', format: 'int64' };
const flag: Schema = { type: 'boolean' };
const dateTime: Schema = { type: 'string', format: 'date-time' };

/** The fake's models, from the API notes; with nested addresses the customer models carry the collection `addresses`. */
function models(nestedAddresses: boolean, ref: (model: FakeIpaasModel) => Schema): Record<FakeIpaasModel, Schema> {
  const addresses = (item: FakeIpaasModel): Schema => (nestedAddresses ? { addresses: { type: 'array', nullable: true, items: ref(item) } } : {});
  return {
    CustomerRequest: {
      type: 'object',
      required: ['customer_number', 'email_address'],
      properties: {
        customer_number: { type: 'string' },
        first_name: text,
        last_name: text,
        email_address: { type: 'string' },
        company: text,
        comment: text,
        external_ids: { type: 'array', nullable: true, items: ref('ExternalIdResponse') },
        custom_fields: { type: 'array', nullable: true, items: { type: 'object' } },
        // An address sent back with its id is kept; one without is added.
        ...addresses('AddressResponse'),
      },
      additionalProperties: false,
    },
    CustomerResponse: {
      allOf: [ref('CustomerRequest'), { type: 'object', properties: { id: int64, created_datetime: dateTime, updated_datetime: dateTime, ...addresses('AddressResponse') } }],
    },
    AddressRequest: {
      type: 'object',
      properties: {
        customer_id: { ...int64, nullable: true },
        address_1: text,
        address_2: text,
        city: text,
        region: text,
        country: text,
        postal_code: text,
        phone_number: text,
        is_primary_billing: flag,
        is_primary_shipping: flag,
      },
      additionalProperties: false,
    },
    AddressResponse: { allOf: [ref('AddressRequest'), { type: 'object', properties: { id: int64 } }] },
    ExternalIdRequest: {
      type: 'object',
      required: ['table_name', 'system_id', 'external_id', 'internal_id'],
      properties: { table_name: { type: 'string' }, system_id: int64, external_id: { type: 'string' }, internal_id: { type: 'string' } },
    },
    ExternalIdResponse: { type: 'object', properties: { table_name: text, system_id: int64, external_id: text, internal_id: text } },
    // iPaaS.com's SubscriptionGetAllResponse: id and type are int64.
    SubscriptionGetAllResponse: {
      type: 'object',
      properties: { id: int64, type: int64, name: text, description: text, value: text, attached_items_count: { type: 'integer', format: 'int32' }, image_url: text },
    },
  };
}

const SERVICE_MODELS: Record<string, readonly FakeIpaasModel[]> = {
  customers: ['CustomerRequest', 'CustomerResponse', 'AddressRequest', 'AddressResponse', 'ExternalIdRequest', 'ExternalIdResponse'],
  subscriptions: ['SubscriptionGetAllResponse'],
};

const NUMERIC_PARAMS = new Set(['customerId', 'internalId', 'systemId']);
const JSON_TYPES = ['application/json', 'text/json', 'application/*+json'];

/** Swagger 2.0 has no `nullable`; its schemas say nothing about null. */
function withoutNullable(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(withoutNullable);
  if (typeof schema !== 'object' || schema === null) return schema;
  return Object.fromEntries(Object.entries(schema).filter(([key]) => key !== 'nullable').map(([key, value]) => [key, withoutNullable(value)]));
}

/** The description of one service (`customers`, `subscriptions`) of a route table, in the format asked for. */
export function fakeIpaasDescription(service: string, routes: readonly FakeIpaasRoute[], format: Exclude<FakeIpaasDescriptionFormat, 'none'>, nestedAddresses: boolean): Schema {
  const swagger2 = format === 'swagger2';
  const ref = (model: FakeIpaasModel): Schema => ({ $ref: swagger2 ? `#/definitions/${model}` : `#/components/schemas/${model}` });
  const all = models(nestedAddresses, ref);
  const schemas = Object.fromEntries((SERVICE_MODELS[service] ?? []).map((model) => [model, swagger2 ? withoutNullable(all[model]) : all[model]]));
  const prefix = `/${service}`;
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    if (!route.path.startsWith(`${prefix}/`)) continue;
    const relative = route.path.slice(prefix.length).replace(/:(\w+)/gu, '{$1}');
    const pathParams = [...route.path.matchAll(/:(\w+)/gu)].map((match) => match[1] ?? '');
    const reply = route.doc.response;
    const replySchema: Schema | undefined =
      reply === undefined ? undefined : reply === 'string' ? { type: 'string' } : typeof reply === 'string' ? ref(reply) : { type: 'array', items: ref(reply.list) };
    const status = route.operation === 'create' || route.operation === 'addAddress' ? '201' : '200';
    const operationId = `${route.method.toLowerCase()}${relative.replace(/[{}]/gu, '').replace(/\/(\w)/gu, (_m, c: string) => c.toUpperCase())}`;
    const parameters: Schema[] = [
      ...pathParams.map((name) =>
        swagger2
          ? { name, in: 'path', required: true, ...(NUMERIC_PARAMS.has(name) ? int64 : { type: 'string' }) }
          : { name, in: 'path', required: true, schema: NUMERIC_PARAMS.has(name) ? int64 : { type: 'string' } },
      ),
      ...(route.doc.query ?? []).map((name) => (swagger2 ? { name, in: 'query', type: 'string' } : { name, in: 'query', schema: { type: 'string' } })),
    ];
    let operation: Schema;
    if (swagger2) {
      operation = {
        tags: [service],
        summary: route.doc.summary,
        operationId,
        consumes: route.doc.request ? JSON_TYPES : undefined,
        produces: ['text/plain', 'application/json', 'text/json'],
        parameters: [...parameters, ...(route.doc.request ? [{ name: 'body', in: 'body', schema: ref(route.doc.request) }] : [])],
        responses: { [status]: { description: 'Success', ...(replySchema ? { schema: replySchema } : {}) } },
      };
    } else {
      operation = {
        tags: [service],
        summary: route.doc.summary,
        operationId,
        parameters,
        ...(route.doc.request ? { requestBody: { content: Object.fromEntries(JSON_TYPES.map((type) => [type, { schema: ref(route.doc.request!) }])) } } : {}),
        responses: {
          [status]: {
            description: 'Success',
            ...(replySchema ? { content: Object.fromEntries(['text/plain', 'application/json', 'text/json'].map((type) => [type, { schema: replySchema }])) } : {}),
          },
        },
      };
    }
    paths[relative] = { ...paths[relative], [route.method.toLowerCase()]: JSON.parse(JSON.stringify(operation)) as unknown };
  }
  const info = { title: `iPaaS.com ${service} API`, version: 'v2' };
  return swagger2
    ? { swagger: '2.0', info, basePath: prefix, paths, definitions: schemas }
    : { openapi: '3.0.1', info, paths, components: { schemas } };
}
