import type { FieldKind, FilterableEntity } from './odataFilter';

/**
 * `{root}/$metadata`: the EDMX (OData CSDL 4.0 XML) every Business Central environment serves for API v2.0, as far
 * as the fake has entities: `company`, `customer` (its own field table, customerStore.ts) and `subscription`, in
 * the namespace Microsoft.NAV with `customers` contained in a company and `subscriptions` at the root. `omit` leaves
 * customer properties out, as an environment with a customised or older API would.
 */

const EDM_TYPES: Record<FieldKind, string> = {
  string: 'Edm.String',
  datetime: 'Edm.DateTimeOffset',
  guid: 'Edm.Guid',
  number: 'Edm.Decimal',
  boolean: 'Edm.Boolean',
};

const COMPANY_PROPERTIES: Record<string, string> = {
  id: 'Edm.Guid',
  systemVersion: 'Edm.String',
  timestamp: 'Edm.Int64',
  name: 'Edm.String',
  displayName: 'Edm.String',
  businessProfileId: 'Edm.String',
  systemCreatedAt: 'Edm.DateTimeOffset',
  systemCreatedBy: 'Edm.Guid',
  systemModifiedAt: 'Edm.DateTimeOffset',
  systemModifiedBy: 'Edm.Guid',
};

const SUBSCRIPTION_PROPERTIES: Record<string, string> = {
  subscriptionId: 'Edm.String',
  notificationUrl: 'Edm.String',
  resource: 'Edm.String',
  userId: 'Edm.Guid',
  lastModifiedDateTime: 'Edm.DateTimeOffset',
  clientState: 'Edm.String',
  expirationDateTime: 'Edm.DateTimeOffset',
};

const escape = (value: string): string => value.replace(/&/gu, '&amp;').replace(/"/gu, '&quot;').replace(/</gu, '&lt;');

function entityType(name: string, key: string, properties: Record<string, string>): string {
  const rows = Object.entries(properties).map(
    ([property, type]) => `        <Property Name="${escape(property)}" Type="${type}"${property === key ? ' Nullable="false"' : ''} />`,
  );
  return [`      <EntityType Name="${name}">`, `        <Key><PropertyRef Name="${key}" /></Key>`, ...rows].join('\n');
}

export interface MetadataOptions {
  /** Customer properties left out. */
  omit?: readonly string[];
  /** Leave `subscription` / `subscriptions` out. */
  withoutSubscriptions?: boolean;
}

export function edmx(customer: FilterableEntity, options: MetadataOptions = {}): string {
  const omit = new Set(options.omit ?? []);
  const customerProperties = Object.fromEntries(
    Object.entries(customer.fields)
      .filter(([name]) => !omit.has(name))
      .map(([name, kind]) => [name, EDM_TYPES[kind]]),
  );
  const types = [
    `${entityType('company', 'id', COMPANY_PROPERTIES)}\n        <NavigationProperty Name="customers" Type="Collection(Microsoft.NAV.customer)" ContainsTarget="true" />\n      </EntityType>`,
    `${entityType('customer', 'id', customerProperties)}\n      </EntityType>`,
    ...(options.withoutSubscriptions ? [] : [`${entityType('subscription', 'subscriptionId', SUBSCRIPTION_PROPERTIES)}\n      </EntityType>`]),
  ];
  return `<?xml version="1.0" encoding="utf-8"?>
<edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx">
  <edmx:DataServices>
    <Schema Namespace="Microsoft.NAV" xmlns="http://docs.oasis-open.org/odata/ns/edm">
${types.join('\n')}
      <EntityContainer Name="NAV">
        <EntitySet Name="companies" EntityType="Microsoft.NAV.company" />
${options.withoutSubscriptions ? '' : '        <EntitySet Name="subscriptions" EntityType="Microsoft.NAV.subscription" />\n'}      </EntityContainer>
    </Schema>
  </edmx:DataServices>
</edmx:Edmx>
`;
}
