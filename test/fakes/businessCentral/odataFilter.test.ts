import { BcHttpError } from '../../../dev/fakes/businessCentral/http';
import { parseFilter, type FilterableEntity } from '../../../dev/fakes/businessCentral/odataFilter';

/**
 * The Business Central fake's `$filter` parser on its own (dev/fakes/businessCentral/odataFilter.ts). The HTTP
 * behaviour around it (400 bodies, paging with a filter) is in test/businessCentral/fake.test.ts.
 */
const ENTITY: FilterableEntity = {
  typeName: 'Microsoft.NAV.customer',
  tableName: 'Customer',
  fields: { number: 'string', type: 'string', id: 'guid', balanceDue: 'number', taxLiable: 'boolean', lastModifiedDateTime: 'datetime' },
  codeFieldLengths: { number: 20 },
};

const ROBERT = {
  number: "O'BRIEN",
  type: 'Person',
  id: '3f2504e0-4f89-11d3-9a0c-0305e82c3301',
  balanceDue: 12.5,
  taxLiable: true,
  lastModifiedDateTime: '2026-11-25T12:00:00Z',
};

const matches = (filter: string, entity: object = ROBERT): boolean => parseFilter(filter, ENTITY)(entity);

function rejection(filter: string): { status: number; code: string; message: string } {
  try {
    parseFilter(filter, ENTITY);
  } catch (error) {
    if (error instanceof BcHttpError) return { status: error.status, code: error.code, message: error.message };
    throw error;
  }
  throw new Error(`'${filter}' was accepted`);
}

describe('comparisons', () => {
  test.each([
    ["number eq 'O''BRIEN'", true],
    ["number eq 'o''brien'", true],
    ["number ne 'O''BRIEN'", false],
    ["number gt 'N'", true],
    ["number lt 'N'", false],
    ["type eq 'Company'", false],
    ['id eq 3F2504E0-4F89-11D3-9A0C-0305E82C3301', true],
    ['balanceDue ge 12.5', true],
    ['balanceDue gt 12.5', false],
    ['balanceDue le -1', false],
    ['taxLiable eq true', true],
    ['taxLiable eq false', false],
    ['lastModifiedDateTime gt 2026-11-25T11:00:00Z', true],
    ['lastModifiedDateTime gt 2026-11-25T12:30:00.1234567+01:00', true],
    ['lastModifiedDateTime gt 2026-11-25T12:00:00.000Z', false],
    ['lastModifiedDateTime ge 2026-11-25T12:00:00Z', true],
  ])('%s → %s', (filter, expected) => {
    expect(matches(filter)).toBe(expected);
  });

  test("'and' needs every comparison to hold", () => {
    expect(matches("type eq 'Person' and lastModifiedDateTime gt 2026-11-25T11:00:00Z")).toBe(true);
    expect(matches("type eq 'Person' and lastModifiedDateTime gt 2026-11-25T13:00:00Z")).toBe(false);
    expect(matches("type eq 'Person' and taxLiable eq true and number eq 'O''BRIEN'")).toBe(true);
  });

  test('whitespace between tokens does not matter, inside a string literal it does', () => {
    expect(matches("  type   eq 'Person'  ")).toBe(true);
    expect(matches("type eq 'Person '")).toBe(false);
  });
});

describe('rejections, as Business Central answers them (400)', () => {
  test.each([
    ['', /must not be empty/u],
    ["type eq 'Person' or type eq 'Company'", /only 'and' is supported/u],
    ["not type eq 'Person'", /Could not find a property named 'not'/u],
    ["(type eq 'Person')", /'\(' is not supported/u],
    ["startswith(number,'1')", /not supported/u],
    ["type eq 'Person", /unterminated string literal/u],
    ["type like 'Person'", /Syntax error at position 5/u],
    ["type eq 'Person' and", /Syntax error/u],
    ["unknownField eq 'x'", /Could not find a property named 'unknownField' on type 'Microsoft\.NAV\.customer'/u],
    ['type eq Person', /incompatible types/u],
    ["lastModifiedDateTime gt '2026-11-25T11:00:00Z'", /incompatible types.*Edm\.DateTimeOffset/u],
    ['lastModifiedDateTime gt 2026-11-25', /incompatible types/u],
    ["id eq 'not-a-guid'", /incompatible types.*Edm\.Guid/u],
    ['id eq not-a-guid', /incompatible types/u],
    ["balanceDue gt '1'", /incompatible types.*Edm\.Decimal/u],
    ['taxLiable eq 1', /incompatible types.*Edm\.Boolean/u],
  ])('%j', (filter, message) => {
    const answer = rejection(filter);
    expect(answer.status).toBe(400);
    expect(answer.message).toMatch(message);
  });

  test('a value longer than a code field is a FilterErrorException naming the field and table', () => {
    expect(rejection(`number eq '${'9'.repeat(21)}'`)).toEqual({
      status: 400,
      code: 'Application_FilterErrorException',
      message: expect.stringContaining('for the number field on the Customer table. The length of the string is 21, but it must be less than or equal to 20 characters'),
    });
    expect(matches(`number eq '${'9'.repeat(20)}'`)).toBe(false);
  });

  test('properties inherited from Object are not properties of the entity', () => {
    expect(rejection("constructor eq 'x'").message).toMatch(/Could not find a property named 'constructor'/u);
    expect(rejection("toString eq 'x'").message).toMatch(/Could not find a property named 'toString'/u);
  });
});
