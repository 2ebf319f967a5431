import { clientStateMatches, collectionResourcePath, parseResource, planNotification, type NotificationPlan } from '../../shared/sync/notifications';

const COMPANY = 'b18aed47-c385-49d2-b954-dbdf8ad71780';
const OTHER_COMPANY = 'f64eba74-dacd-4854-a584-1834f68cfc3a';
const SECRET = 'someClientState-0123456789';
const settings = { clientState: SECRET, companyId: COMPANY };

function entry(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    subscriptionId: 'webhookCustomersId',
    clientState: SECRET,
    expirationDateTime: '2026-11-28T12:50:30Z',
    resource: `api/v2.0/companies(${COMPANY})/customers(130bbd17-dbb9-4790-9b12-2b0e9c9d22c3)`,
    changeType: 'created',
    lastModifiedDateTime: '2026-11-25T12:54:26.057Z',
    ...overrides,
  };
}

function accepted(plan: NotificationPlan) {
  if (plan.outcome !== 'accepted') throw new Error(`expected accepted, got ${JSON.stringify(plan)}`);
  return plan;
}

describe('planNotification', () => {
  test('a documented notification: items ignored, created enqueued, deleted recorded, filtered collection paged', () => {
    const body = {
      value: [
        entry({
          subscriptionId: 'webhookItemsId',
          resource: `api/v2.0/companies(${COMPANY})/items(26814998-936a-401c-81c1-0e848a64971d)`,
          changeType: 'updated',
        }),
        entry(),
        entry({ resource: `api/v2.0/companies(${COMPANY})/customers(4b4f31f0-dc1c-4033-b2aa-ab03ca1d6ebc)`, changeType: 'deleted' }),
        entry({
          resource: `/api/v2.0/companies(${COMPANY})/customers?$filter=lastModifiedDateTime%20gt%202026-11-25T11:00:00Z`,
          changeType: 'collection',
        }),
      ],
    };
    const plan = accepted(planNotification(body, settings));
    expect(plan.customers).toEqual([{ customerId: '130bbd17-dbb9-4790-9b12-2b0e9c9d22c3', changeType: 'created' }]);
    expect(plan.deleted).toEqual(['4b4f31f0-dc1c-4033-b2aa-ab03ca1d6ebc']);
    expect(plan.collections).toEqual([`/api/v2.0/companies(${COMPANY})/customers?$filter=lastModifiedDateTime%20gt%202026-11-25T11:00:00Z`]);
    expect(plan.ignored).toBe(1);
  });

  test('resource with and without a leading slash, upper-case ids and absolute URLs name the same customer', () => {
    const id = '130BBD17-DBB9-4790-9B12-2B0E9C9D22C3';
    const plan = accepted(
      planNotification(
        {
          value: [
            entry({ resource: `/api/v2.0/companies(${COMPANY.toUpperCase()})/customers(${id})`, changeType: 'updated' }),
            entry({ resource: `api/v2.0/companies(${COMPANY})/customers(${id.toLowerCase()})`, changeType: 'updated' }),
            entry({ resource: `https://api.businesscentral.dynamics.com/v2.0/tenant/production/api/v2.0/companies(${COMPANY})/customers(${id})`, changeType: 'updated' }),
          ],
        },
        settings,
      ),
    );
    expect(plan.customers).toEqual([{ customerId: id.toLowerCase(), changeType: 'updated' }]);
  });

  test('duplicates collapse to one customer with the latest change type', () => {
    const resource = `api/v2.0/companies(${COMPANY})/customers(130bbd17-dbb9-4790-9b12-2b0e9c9d22c3)`;
    const plan = accepted(
      planNotification(
        {
          value: [
            entry({ resource, changeType: 'updated', lastModifiedDateTime: '2026-11-25T12:00:02Z' }),
            entry({ resource, changeType: 'created', lastModifiedDateTime: '2026-11-25T12:00:01Z' }),
            entry({ resource, changeType: 'updated', lastModifiedDateTime: '2026-11-25T12:00:02Z' }),
          ],
        },
        settings,
      ),
    );
    expect(plan.customers).toEqual([{ customerId: '130bbd17-dbb9-4790-9b12-2b0e9c9d22c3', changeType: 'updated' }]);
  });

  test('created then deleted in one POST is a delete, not a sync', () => {
    const resource = `api/v2.0/companies(${COMPANY})/customers(130bbd17-dbb9-4790-9b12-2b0e9c9d22c3)`;
    const plan = accepted(
      planNotification(
        {
          value: [
            entry({ resource, changeType: 'created', lastModifiedDateTime: '2026-11-25T12:00:01Z' }),
            entry({ resource, changeType: 'deleted', lastModifiedDateTime: '2026-11-25T12:00:05Z' }),
          ],
        },
        settings,
      ),
    );
    expect(plan.customers).toEqual([]);
    expect(plan.deleted).toEqual(['130bbd17-dbb9-4790-9b12-2b0e9c9d22c3']);
  });

  test('other companies, other entities, child resources and unknown change types are ignored', () => {
    const plan = accepted(
      planNotification(
        {
          value: [
            entry({ resource: `api/v2.0/companies(${OTHER_COMPANY})/customers(130bbd17-dbb9-4790-9b12-2b0e9c9d22c3)` }),
            entry({ resource: `api/v2.0/companies(${OTHER_COMPANY})/customers`, changeType: 'collection' }),
            entry({ resource: `api/v2.0/companies(${COMPANY})/vendors(130bbd17-dbb9-4790-9b12-2b0e9c9d22c3)` }),
            entry({ resource: `api/v2.0/companies(${COMPANY})/customers(130bbd17-dbb9-4790-9b12-2b0e9c9d22c3)/contacts` }),
            entry({ resource: `api/v2.0/companies(${COMPANY})/customers(not-a-guid)` }),
            entry({ changeType: 'renamed' }),
          ],
        },
        settings,
      ),
    );
    expect(plan).toMatchObject({ customers: [], collections: [], deleted: [], ignored: 6 });
  });

  test('any subscriptionId string is accepted, extra properties are tolerated', () => {
    const plan = accepted(planNotification({ value: [entry({ subscriptionId: '', extra: { nested: true } })], '@odata.context': 'x' }, settings));
    expect(plan.customers).toHaveLength(1);
  });

  test('an empty value array is a valid notification with nothing to do', () => {
    expect(planNotification({ value: [] }, settings)).toEqual({ outcome: 'accepted', customers: [], collections: [], deleted: [], ignored: 0 });
  });

  test('a bare collection (a delete was among the changes) makes filtered passes redundant', () => {
    const bare = `/api/v2.0/companies(${COMPANY})/customers`;
    const plan = accepted(
      planNotification(
        {
          value: [
            entry({ resource: `${bare}?$filter=lastModifiedDateTime%20gt%202026-11-25T11:00:00Z`, changeType: 'collection' }),
            entry({ resource: bare.slice(1), changeType: 'collection' }),
          ],
        },
        settings,
      ),
    );
    expect(plan.collections).toEqual([bare]);
  });

  test.each([
    ['a missing clientState', { clientState: undefined }],
    ['a wrong clientState', { clientState: 'wrong' }],
    ['an almost-right clientState (same length, one character off)', { clientState: `${SECRET.slice(0, -1)}X` }],
    ['a non-string clientState', { clientState: 42 }],
  ])('%s in any entry makes the whole notification unauthorized', (_name, overrides) => {
    const plan = planNotification({ value: [entry(), entry(overrides)] }, settings);
    expect(plan).toEqual({ outcome: 'unauthorized' });
  });

  test('clientState is checked before the shape, so a caller without the secret learns nothing about the schema', () => {
    expect(planNotification({ value: [{ clientState: 'guess' }] }, settings)).toEqual({ outcome: 'unauthorized' });
    const plan = planNotification({ value: [{ clientState: SECRET }] }, settings);
    expect(plan.outcome).toBe('invalid');
  });

  test.each([
    ['not an object', 'hello'],
    ['null', null],
    ['no value array', { values: [] }],
    ['value not an array', { value: {} }],
  ])('a body that is %s is invalid', (_name, body) => {
    const plan = planNotification(body, settings);
    expect(plan.outcome).toBe('invalid');
  });

  test('an entry without resource is invalid and the reason names the field but no value', () => {
    const plan = planNotification({ value: [entry({ resource: undefined })] }, settings);
    expect(plan.outcome).toBe('invalid');
    if (plan.outcome === 'invalid') {
      expect(plan.reason).toContain('value.0.resource');
      expect(plan.reason).not.toContain(SECRET);
    }
  });
});

describe('clientStateMatches', () => {
  test('equal strings match, anything else does not (including different lengths and non-strings)', () => {
    expect(clientStateMatches(SECRET, SECRET)).toBe(true);
    expect(clientStateMatches(`${SECRET}x`, SECRET)).toBe(false);
    expect(clientStateMatches(SECRET.slice(1), SECRET)).toBe(false);
    expect(clientStateMatches('', SECRET)).toBe(false);
    expect(clientStateMatches(undefined, SECRET)).toBe(false);
    expect(clientStateMatches(null, SECRET)).toBe(false);
  });
});

describe('parseResource / collectionResourcePath', () => {
  test('reads the company and the customer, or the collection query', () => {
    expect(parseResource(`api/v2.0/companies(${COMPANY})/customers(130bbd17-dbb9-4790-9b12-2b0e9c9d22c3)`)).toEqual({
      kind: 'customer',
      companyId: COMPANY,
      customerId: '130bbd17-dbb9-4790-9b12-2b0e9c9d22c3',
    });
    expect(parseResource(`/api/v2.0/companies(${COMPANY})/customers?$filter=x`)).toEqual({ kind: 'collection', companyId: COMPANY, query: '?$filter=x' });
    expect(parseResource('api/v2.0/companies(x)/items')).toEqual({ kind: 'other' });
  });

  test('collection paths are made relative with a leading slash, the query kept verbatim', () => {
    expect(collectionResourcePath(`api/v2.0/companies(${COMPANY})/customers?$filter=a%20gt%20b`)).toBe(`/api/v2.0/companies(${COMPANY})/customers?$filter=a%20gt%20b`);
    expect(collectionResourcePath(`https://host/v2.0/t/e/api/v2.0/companies(${COMPANY})/customers`)).toBe(`/api/v2.0/companies(${COMPANY})/customers`);
  });
});
