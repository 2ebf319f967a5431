/**
 * Reads an OData collection page (`{ "@odata.context": …, "value": [ … ], "@odata.nextLink": … }`) from its text a
 * part at a time: `next(n)` finds the next n items of `value` by scanning the text (strings, escapes and nesting
 * followed, nothing else interpreted) and parses only those, so a page of 10,000 customers never exists as objects
 * all at once; `envelope()` parses the page without its items, for `@odata.nextLink`, wherever it stands in the text.
 *
 * Each item and the envelope go through JSON.parse, so what this accepts is what JSON.parse of the whole page would
 * (separators are checked strictly: one comma between items, none after the last). A scanner rather than a
 * streaming JSON parser: JSON.parse does the parsing, about four times faster than the incremental parsers in
 * JavaScript that were measured for this (docs/performance.md, "Initial load memory").
 */
export interface PageText {
  /** The next items of `value` (at most `count`), parsed; [] once every item was read. */
  next(count: number): unknown[];
  /** Whether every item of `value` has been read (then `envelope()` may be called). */
  readonly done: boolean;
  /** The page with `value` emptied, parsed (its @odata.nextLink and the like). Only once `done`. */
  envelope(): unknown;
}

/** Thrown for text that is not one complete JSON document. */
export class PageTextError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PageTextError';
  }
}

const QUOTE = 34;
const BACKSLASH = 92;
const OPEN_BRACE = 123;
const CLOSE_BRACE = 125;
const OPEN_BRACKET = 91;
const CLOSE_BRACKET = 93;
const COMMA = 44;
const COLON = 58;

const isSpace = (code: number): boolean => code === 32 || code === 10 || code === 13 || code === 9;

export function readPageText(text: string): PageText {
  const length = text.length;
  const incomplete = (): PageTextError => new PageTextError('the page ends before its JSON is complete');
  const invalid = (at: number): PageTextError => new PageTextError(`the page is not valid JSON (at character ${at})`);

  const skipSpace = (from: number): number => {
    let index = from;
    while (index < length && isSpace(text.charCodeAt(index))) index += 1;
    return index;
  };
  /** `from` is an opening quote; the index just after its closing quote. */
  const endOfString = (from: number): number => {
    for (let index = from + 1; index < length; index += 1) {
      const code = text.charCodeAt(index);
      if (code === BACKSLASH) index += 1;
      else if (code === QUOTE) return index + 1;
    }
    throw incomplete();
  };
  /** `from` is the first character of a value; the index just after it. */
  const endOfValue = (from: number): number => {
    const first = text.charCodeAt(from);
    if (first === QUOTE) return endOfString(from);
    if (first === OPEN_BRACE || first === OPEN_BRACKET) {
      let depth = 0;
      for (let index = from; index < length; index += 1) {
        const code = text.charCodeAt(index);
        if (code === QUOTE) index = endOfString(index) - 1;
        else if (code === OPEN_BRACE || code === OPEN_BRACKET) depth += 1;
        else if (code === CLOSE_BRACE || code === CLOSE_BRACKET) {
          depth -= 1;
          if (depth === 0) return index + 1;
        }
      }
      throw incomplete();
    }
    // A number or a literal: JSON.parse judges it.
    let index = from;
    while (index < length) {
      const code = text.charCodeAt(index);
      if (code === COMMA || code === CLOSE_BRACE || code === CLOSE_BRACKET || isSpace(code)) break;
      index += 1;
    }
    if (index === from) throw invalid(from);
    return index;
  };

  /** Where `value`'s array opens: -1 when the page has no `value` array (the envelope's check then refuses it). */
  const findItems = (): number => {
    let index = skipSpace(0);
    if (index >= length) throw incomplete();
    if (text.charCodeAt(index) !== OPEN_BRACE) return -1;
    index = skipSpace(index + 1);
    if (text.charCodeAt(index) === CLOSE_BRACE) return -1;
    for (;;) {
      if (index >= length) throw incomplete();
      if (text.charCodeAt(index) !== QUOTE) throw invalid(index);
      const keyEnd = endOfString(index);
      const key = text.slice(index + 1, keyEnd - 1);
      index = skipSpace(keyEnd);
      if (text.charCodeAt(index) !== COLON) throw index >= length ? incomplete() : invalid(index);
      index = skipSpace(index + 1);
      if (index >= length) throw incomplete();
      if (key === 'value' && text.charCodeAt(index) === OPEN_BRACKET) return index;
      index = skipSpace(endOfValue(index));
      const code = text.charCodeAt(index);
      if (code === COMMA) index = skipSpace(index + 1);
      else if (code === CLOSE_BRACE) return -1;
      else throw index >= length ? incomplete() : invalid(index);
    }
  };

  const itemsStart = findItems();
  let cursor = itemsStart + 1;
  let itemsEnd = -1;
  let done = itemsStart < 0;
  let first = true;

  return {
    get done() {
      return done;
    },
    next(count) {
      const items: unknown[] = [];
      while (!done && items.length < count) {
        cursor = skipSpace(cursor);
        if (cursor >= length) throw incomplete();
        if (first && text.charCodeAt(cursor) === CLOSE_BRACKET) {
          itemsEnd = cursor;
          done = true;
          break;
        }
        first = false;
        const end = endOfValue(cursor);
        try {
          items.push(JSON.parse(text.slice(cursor, end)) as unknown);
        } catch {
          throw invalid(cursor);
        }
        cursor = skipSpace(end);
        if (cursor >= length) throw incomplete();
        const code = text.charCodeAt(cursor);
        if (code === CLOSE_BRACKET) {
          itemsEnd = cursor;
          done = true;
        } else if (code === COMMA) cursor += 1;
        else throw invalid(cursor);
      }
      return items;
    },
    envelope() {
      if (!done) throw new Error('envelope() before every item was read');
      try {
        return JSON.parse(itemsStart < 0 ? text : `${text.slice(0, itemsStart)}[]${text.slice(itemsEnd + 1)}`) as unknown;
      } catch {
        throw new PageTextError('the page is not valid JSON (around its items)');
      }
    },
  };
}
