import { PageTextError, readPageText } from '../../shared/businessCentral/pageText';

/** Every item of the page, read `count` at a time, and the envelope. */
function readAll(text: string, count: number): { parts: unknown[][]; envelope: unknown } {
  const reader = readPageText(text);
  const parts: unknown[][] = [];
  while (!reader.done) {
    const part = reader.next(count);
    if (part.length > 0) parts.push(part);
  }
  return { parts, envelope: reader.envelope() };
}

describe('readPageText', () => {
  test('hands the items over in parts and the envelope without them, whatever the order of the keys', () => {
    const page = {
      '@odata.context': 'https://api.businesscentral.dynamics.com/v2.0/$metadata#companies(1)/customers',
      value: [{ id: 'a', n: 1 }, { id: 'b', nested: { list: [1, [2]], s: 'x' } }, { id: 'c' }, { id: 'd' }, { id: 'e' }],
      '@odata.nextLink': 'https://api.businesscentral.dynamics.com/v2.0/customers?$skiptoken=e',
    };
    const { parts, envelope } = readAll(JSON.stringify(page), 2);
    expect(parts.map((part) => part.length)).toEqual([2, 2, 1]);
    expect(parts.flat()).toEqual(page.value);
    expect(envelope).toEqual({ ...page, value: [] });

    // The nextLink before the items (any key order is JSON): read all the same.
    const reordered = `{"@odata.nextLink":"${page['@odata.nextLink']}" , "value" : [ ${page.value.map((item) => JSON.stringify(item)).join(' ,\n')} ] }`;
    const again = readAll(reordered, 3);
    expect(again.parts.flat()).toEqual(page.value);
    expect(again.envelope).toEqual({ '@odata.nextLink': page['@odata.nextLink'], value: [] });
  });

  test('strings holding brackets, braces, commas and escaped quotes are one item', () => {
    const items = [{ displayName: 'A "quoted" }], {name', email: 'a\\b@contoso.com' }, 'plain [string]', 42, null, true, { x: 'é\u2028' }];
    const { parts } = readAll(JSON.stringify({ value: items }), 1);
    expect(parts.flat()).toEqual(items);
  });

  test('an empty page and a page without value', () => {
    expect(readAll('{"value":[]}', 10)).toEqual({ parts: [], envelope: { value: [] } });
    expect(readAll(' { "value" : [ ] , "@odata.nextLink" : "n" } ', 10)).toEqual({ parts: [], envelope: { value: [], '@odata.nextLink': 'n' } });
    // No items to read: the envelope is the page as it is (the caller's schema refuses it).
    expect(readAll('{"error":{"code":"x"}}', 10)).toEqual({ parts: [], envelope: { error: { code: 'x' } } });
    expect(readAll('[1,2]', 10)).toEqual({ parts: [], envelope: [1, 2] });
  });

  test.each([
    ['a trailing comma', '{"value":[{"id":"a"},]}'],
    ['a missing comma', '{"value":[{"id":"a"} {"id":"b"}]}'],
    ['a bad item', '{"value":[{"id":a}]}'],
    ['a bad literal', '{"value":[tru]}'],
    ['a bad envelope', '{"value":[1],,"x":1}'],
  ])('%s is refused as invalid JSON', (_label, text) => {
    expect(() => readAll(text, 10)).toThrow(PageTextError);
    expect(() => readAll(text, 10)).toThrow(/not valid JSON/u);
  });

  test.each([
    ['cut inside the items', '{"value":[{"id":"a"},{"id":"b"'],
    ['cut inside a string', '{"value":[{"id":"a\\"'],
    ['cut after the items', '{"value":[{"id":"a"}'],
    ['empty', '  '],
  ])('a page %s is refused as incomplete', (_label, text) => {
    expect(() => readAll(text, 10)).toThrow(/ends before its JSON is complete|not valid JSON/u);
  });

  test('each part is parsed only when asked for: a bad item after the first part does not stop the first', () => {
    const reader = readPageText('{"value":[{"id":"a"},{"id":"b"},{"id":oops}]}');
    expect(reader.next(2)).toEqual([{ id: 'a' }, { id: 'b' }]);
    expect(reader.done).toBe(false);
    expect(() => reader.next(2)).toThrow(PageTextError);
  });
});
