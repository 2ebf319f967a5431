import { http, HttpResponse } from 'msw';
import { FakeIpaas } from '../../dev/fakes/ipaas';
import { loadConfig } from '../../shared/config';
import { SyncError } from '../../shared/errors';
import { createIpaasClient } from '../../shared/ipaas/client';
import { parseIpaasErrors } from '../../shared/ipaas/wire';
import { startMockServer } from '../support/msw';

/**
 * iPaaS.com's error bodies carry a `CATEGORY-NNNN` code, a message and a help link, but the field names are not
 * published: the code is taken from wherever it is, the message kept, and no shape is refused.
 */
const SHAPES: Array<[string, unknown, { code: string; category: string | undefined; message: RegExp }]> = [
  ['code and message', { code: 'VALD-1049', message: 'First Name and/or Last Name are both empty', help_link: 'https://help.ipaas.com/VALD-1049' }, { code: 'VALD-1049', category: 'VALD', message: /First Name and\/or Last Name/u }],
  ['errorCode and message', { errorCode: 'NFND-1005', message: 'iPaaS.com Id not found' }, { code: 'NFND-1005', category: 'NFND', message: /Id not found/u }],
  ['.NET casing', { Code: 'BIZL-1003', Message: 'External Id must be unique', HelpLink: 'https://help.ipaas.com' }, { code: 'BIZL-1003', category: 'BIZL', message: /must be unique/u }],
  ['an errors array of objects', { errors: [{ code: 'BIZL-1001', message: 'A customer with this number exists' }] }, { code: 'BIZL-1001', category: 'BIZL', message: /number exists/u }],
  ['an errors array of strings', { errors: ['VALD-1017: Invalid System Id'] }, { code: 'VALD-1017', category: 'VALD', message: /Invalid System Id/u }],
  ['a nested error object', { error: { errorCode: 'AUTH-1001', message: 'The API key is expired' } }, { code: 'AUTH-1001', category: 'AUTH', message: /expired/u }],
  ['the code only in the message', { message: 'NFND-1005 iPaaS.com Id not found', status: 404 }, { code: 'NFND-1005', category: 'NFND', message: /Id not found/u }],
  ['plain text', 'INTL-1000: An internal error occurred', { code: 'INTL-1000', category: 'INTL', message: /internal error/u }],
  ['ASP.NET validation problem', { type: 'https://tools.ietf.org/html/rfc7231#section-6.5.1', title: 'One or more validation errors occurred.', status: 400, errors: { email_address: ['VALD-1004 not an email'] } }, { code: 'VALD-1004', category: 'VALD', message: /validation errors.*email_address/u }],
  ['a code of another form', { code: 404, message: 'Not Found' }, { code: '', category: undefined, message: /^404: Not Found$/u }],
  ['a code field that is not text', { code: { nested: true }, message: 'VALD-1002 The customer is not valid' }, { code: 'VALD-1002', category: 'VALD', message: /not valid/u }],
];

test.each(SHAPES)('%s: the code, its category and the message', (_name, body, expected) => {
  const [first] = parseIpaasErrors(body);
  expect(first).toEqual({ code: expected.code, category: expected.category, message: expect.stringMatching(expected.message) });
});

test('several codes are all found, once each', () => {
  const errors = parseIpaasErrors({ errors: [{ code: 'VALD-1049', message: 'a' }, { errorCode: 'VALD-1004', message: 'b' }, { code: 'VALD-1049', message: 'a' }] });
  expect(errors.map((error) => error.code)).toEqual(['VALD-1049', 'VALD-1004']);
});

test('bodies with nothing readable give no error and never throw', () => {
  for (const body of [undefined, null, '', 42, true, [], {}, { errors: 7 }, { message: null }, '<html><body>Bad gateway</body></html>', [1, 2]]) {
    expect(parseIpaasErrors(body)).toEqual([]);
  }
});

describe('the client keeps the code and the message of each shape', () => {
  const config = loadConfig(process.env);
  const fake = new FakeIpaas(config.ipaas);
  const server = startMockServer(...fake.handlers);
  afterEach(() => server.resetHandlers());

  test.each(SHAPES.filter(([, , expected]) => expected.code !== ''))('%s', async (_name, body, expected) => {
    server.use(http.post(`${config.ipaas.apiBaseUrl}/customers/v2/Customer`, () => (typeof body === 'string' ? new HttpResponse(body, { status: 422 }) : HttpResponse.json(body as Record<string, unknown>, { status: 422 }))));
    const client = createIpaasClient(config.ipaas, { ...config.http, maxAttempts: 1 });
    const error = await client.createCustomer({ customerNumber: '1', firstName: 'A', emailAddress: 'a@contoso.example' }).then(
      () => undefined,
      (failure: unknown) => failure,
    );
    expect(error).toBeInstanceOf(SyncError);
    expect((error as SyncError).remoteCodes).toContain(expected.code);
    expect((error as SyncError).message).toMatch(expected.message);
  });
});
