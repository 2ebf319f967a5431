import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { importsOf } from '../../support/imports';
import { FAKE_IPAAS_ROUTES } from '../../../dev/fakes/ipaas';
import { IpaasRefusal } from '../../../dev/fakes/ipaas/errors';
import { FAKE_IPAAS_SUBSCRIPTIONS, IpaasStore } from '../../../dev/fakes/ipaas/store';

const root = join(__dirname, '..', '..', '..');
const fakeFiles = ['dev/fakes/ipaas.ts', ...readdirSync(join(root, 'dev/fakes/ipaas')).map((name) => `dev/fakes/ipaas/${name}`)];

describe('the iPaaS.com fake, split by concern', () => {
  it('is split into its front, routes, store, errors and description (test/fakes/independence.test.ts: none of them reaches the client)', () => {
    expect(fakeFiles).toEqual(expect.arrayContaining(['dev/fakes/ipaas/routes.ts', 'dev/fakes/ipaas/store.ts', 'dev/fakes/ipaas/errors.ts', 'dev/fakes/ipaas/description.ts']));
  });

  it('keeps the store free of HTTP: no msw import, refusals are values with status and code', () => {
    expect(importsOf('dev/fakes/ipaas/store.ts').filter((found) => found.specifier.startsWith('msw'))).toEqual([]);
    const store = new IpaasStore(() => new Date('2026-01-02T03:04:05Z'), FAKE_IPAAS_SUBSCRIPTIONS);
    store.createCustomer({ customer_number: 'C-1', email_address: 'a@contoso.example' });
    let refusal: unknown;
    try {
      store.createCustomer({ customer_number: 'c-1', email_address: 'b@contoso.example' });
    } catch (error) {
      refusal = error;
    }
    expect(refusal).toBeInstanceOf(IpaasRefusal);
    expect(refusal).toMatchObject({ status: 409, code: 'BIZL-1001' });
    expect(() => store.requireCustomer('abc')).toThrow(expect.objectContaining({ status: 404, code: 'NFND-1005' }));
  });

  it('exports its own route table through the front', () => {
    expect(FAKE_IPAAS_ROUTES.customers).toBe('/customers/v2/Customers');
    expect(readFileSync(join(root, 'dev/fakes/ipaas/routes.ts'), 'utf8')).toContain('export const FAKE_IPAAS_ROUTES');
  });
});
