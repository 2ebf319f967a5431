import { planCompanyNotifications } from '../../shared/sync/notifications';

const SECRET = 'company-client-state-0123456789';
const US = 'b18aed47-c385-49d2-b954-dbdf8ad71780';
const CA = '2c9e4b1a-7f3d-4c8e-9a6b-5d0e1f2a3b4c';
const ELSEWHERE = '7e1f0c2d-3a4b-4c5d-8e6f-9a0b1c2d3e4f';
const A = '130bbd17-dbb9-4790-9b12-2b0e9c9d22c3';
const B = '4b4f31f0-dc1c-4033-b2aa-ab03ca1d6ebc';

const entry = (company: string, tail: string, changeType = 'updated') => ({
  subscriptionId: 'sub',
  clientState: SECRET,
  resource: `api/v2.0/companies(${company})/customers${tail}`,
  changeType,
  lastModifiedDateTime: '2026-11-25T12:00:00Z',
});

test('one POST with several companies is split by the company in resource; a company not configured is counted and ignored', () => {
  const plan = planCompanyNotifications(
    {
      value: [
        entry(US, `(${A})`, 'created'),
        entry(CA.toUpperCase(), `(${A})`),
        entry(CA, `(${B})`, 'deleted'),
        entry(CA, '?$filter=lastModifiedDateTime%20gt%202026-11-25T11:00:00Z', 'collection'),
        entry(ELSEWHERE, `(${A})`),
        { ...entry(US, `(${B})`), resource: `api/v2.0/companies(${US})/items(${B})` },
      ],
    },
    { clientState: SECRET, companyIds: [US, CA] },
  );
  expect(plan).toEqual({
    outcome: 'accepted',
    ignored: 2,
    otherCompanies: 1,
    companies: [
      { companyId: US, plan: { outcome: 'accepted', customers: [{ customerId: A, changeType: 'created' }], collections: [], deleted: [], ignored: 0 } },
      {
        companyId: CA,
        plan: {
          outcome: 'accepted',
          customers: [{ customerId: A, changeType: 'updated' }],
          collections: [`/api/v2.0/companies(${CA})/customers?$filter=lastModifiedDateTime%20gt%202026-11-25T11:00:00Z`],
          deleted: [B],
          ignored: 0,
        },
      },
    ],
  });
});

test('the clientState of every entry is checked first, whatever company it names', () => {
  expect(planCompanyNotifications({ value: [entry(US, `(${A})`), { ...entry(ELSEWHERE, `(${A})`), clientState: 'guess' }] }, { clientState: SECRET, companyIds: [US, CA] })).toEqual({
    outcome: 'unauthorized',
  });
});
