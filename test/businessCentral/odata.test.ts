import { formatQuery, maxPageSizePreference, odataDateTime, odataString } from '../../shared/businessCentral/odata';

describe('OData helpers', () => {
  test.each([
    ['10000', "'10000'"],
    ["O'BRIEN", "'O''BRIEN'"],
    ["''", "''''''"],
    ['', "''"],
  ])('odataString(%j) is %s', (value, literal) => {
    expect(odataString(value)).toBe(literal);
  });

  test('odataDateTime normalizes to UTC with milliseconds and refuses anything else', () => {
    expect(odataDateTime('2026-11-25T12:00:00+01:00')).toBe('2026-11-25T11:00:00.000Z');
    expect(odataDateTime('2026-11-25T11:00:00Z')).toBe('2026-11-25T11:00:00.000Z');
    expect(odataDateTime("2026' or 1 eq 1")).toBeUndefined();
    expect(odataDateTime('')).toBeUndefined();
  });

  test('formatQuery encodes every value whole, so no value can add a parameter or a fragment', () => {
    const query = formatQuery([['$filter', "number eq 'a&$top=1#x%27+/'"]]);
    expect(query).toBe("?$filter=number%20eq%20'a%26%24top%3D1%23x%2527%2B%2F'");
    expect([...new URLSearchParams(query.slice(1)).entries()]).toEqual([['$filter', "number eq 'a&$top=1#x%27+/'"]]);
    expect(formatQuery([])).toBe('');
  });

  test('maxPageSizePreference', () => {
    expect(maxPageSizePreference(1000)).toBe('odata.maxpagesize=1000');
  });
});
