import { BcHttpError, badRequest, GUID } from './http';

/**
 * The `$filter` subset the fake understands, written from the OData v4 rules and Business Central's own error
 * answers, not from the client's query builder (so a client that builds a wrong filter fails a test):
 * `<property> <eq|ne|gt|ge|lt|le> <literal>` joined with `and`. Anything else (`or`, `not`, parentheses,
 * functions) is answered with a 400, never silently ignored.
 */

export type FieldKind = 'string' | 'datetime' | 'guid' | 'number' | 'boolean';

/** What the parser needs to know about an entity type: its properties and their kinds. */
export interface FilterableEntity {
  /** As Business Central names it in errors, e.g. `Microsoft.NAV.customer`. */
  typeName: string;
  /** The table behind it, e.g. `Customer`, for Application_FilterErrorException messages. */
  tableName: string;
  fields: Readonly<Record<string, FieldKind>>;
  /** Code fields: a filter value longer than the field is rejected, as Business Central does. */
  codeFieldLengths?: Readonly<Record<string, number>>;
}

export type EntityPredicate = (entity: object) => boolean;

const OPERATORS = new Set(['eq', 'ne', 'gt', 'ge', 'lt', 'le']);
const DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?(Z|[+-]\d{2}:\d{2})$/u;

type Token = { type: 'string'; value: string; position: number } | { type: 'word'; value: string; position: number };

/** Parses a `$filter` into a predicate over the entity's properties; throws a 400 BcHttpError as Business Central would. */
export function parseFilter(text: string, entity: FilterableEntity): EntityPredicate {
  const tokens = tokenize(text);
  if (tokens.length === 0) throw badRequest('The $filter expression must not be empty.');
  const comparisons: EntityPredicate[] = [];
  let index = 0;
  for (;;) {
    const [property, operator, literal] = [tokens[index], tokens[index + 1], tokens[index + 2]];
    if (!property || property.type !== 'word' || !operator || operator.type !== 'word' || !literal) {
      throw badRequest(`Syntax error at position ${(property ?? tokens.at(-1))?.position ?? 0} in '${text}'.`);
    }
    const kind = Object.hasOwn(entity.fields, property.value) ? entity.fields[property.value] : undefined;
    if (kind === undefined) throw badRequest(`Could not find a property named '${property.value}' on type '${entity.typeName}'.`);
    if (!OPERATORS.has(operator.value)) throw badRequest(`Syntax error at position ${operator.position} in '${text}'.`);
    comparisons.push(comparison(entity, property.value, kind, operator.value, literal));
    index += 3;
    if (index === tokens.length) return (candidate) => comparisons.every((test) => test(candidate));
    const joiner = tokens[index]!;
    if (joiner.type !== 'word' || joiner.value !== 'and') {
      throw badRequest(`Syntax error at position ${joiner.position} in '${text}': only 'and' is supported between comparisons.`);
    }
    index += 1;
  }
}

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let index = 0;
  while (index < text.length) {
    const char = text[index]!;
    if (/\s/u.test(char)) {
      index += 1;
    } else if (char === "'") {
      const start = index;
      let value = '';
      index += 1;
      for (;;) {
        if (index >= text.length) throw badRequest(`Syntax error: unterminated string literal at position ${start} in '${text}'.`);
        if (text[index] === "'") {
          // '' inside a string literal is one quote.
          if (text[index + 1] === "'") {
            value += "'";
            index += 2;
            continue;
          }
          index += 1;
          break;
        }
        value += text[index];
        index += 1;
      }
      tokens.push({ type: 'string', value, position: start });
    } else if (char === '(' || char === ')' || char === ',') {
      throw badRequest(`Syntax error at position ${index} in '${text}': '${char}' is not supported here.`);
    } else {
      const start = index;
      while (index < text.length && !/[\s'(),]/u.test(text[index]!)) index += 1;
      tokens.push({ type: 'word', value: text.slice(start, index), position: start });
    }
  }
  return tokens;
}

/** One comparison, with the literal's OData v4 type checked against the property's. */
function comparison(entity: FilterableEntity, field: string, kind: FieldKind, operator: string, literal: Token): EntityPredicate {
  const incompatible = () =>
    badRequest(
      `A binary operator with incompatible types was detected. Found operand types 'Edm.${edmType(kind)}' and '${literal.type === 'string' ? 'Edm.String' : literal.value}' for operator kind '${operator}'.`,
    );
  let compare: (value: unknown) => number;
  if (kind === 'string') {
    if (literal.type !== 'string') throw incompatible();
    const maxLength = entity.codeFieldLengths?.[field];
    if (maxLength !== undefined && literal.value.length > maxLength) {
      throw new BcHttpError(
        400,
        'Application_FilterErrorException',
        `The filter "='${literal.value}'" is not valid for the ${field} field on the ${entity.tableName} table. The length of the string is ${literal.value.length}, but it must be less than or equal to ${maxLength} characters.`,
      );
    }
    // Business Central's SQL collation compares text case-insensitively.
    const expected = literal.value.toUpperCase();
    compare = (value) => {
      const actual = String(value).toUpperCase();
      return actual === expected ? 0 : actual < expected ? -1 : 1;
    };
  } else if (kind === 'datetime') {
    if (literal.type !== 'word' || !DATETIME.test(literal.value)) throw incompatible();
    const expected = Date.parse(literal.value);
    compare = (value) => Math.sign(Date.parse(String(value)) - expected);
  } else if (kind === 'guid') {
    if (literal.type !== 'word' || !GUID.test(literal.value)) throw incompatible();
    const expected = literal.value.toLowerCase();
    compare = (value) => {
      const actual = String(value).toLowerCase();
      return actual === expected ? 0 : actual < expected ? -1 : 1;
    };
  } else if (kind === 'number') {
    if (literal.type !== 'word' || !/^-?\d+(\.\d+)?$/u.test(literal.value)) throw incompatible();
    const expected = Number(literal.value);
    compare = (value) => Math.sign(Number(value) - expected);
  } else {
    if (literal.type !== 'word' || (literal.value !== 'true' && literal.value !== 'false')) throw incompatible();
    const expected = literal.value === 'true';
    compare = (value) => (value === expected ? 0 : Number(value) - Number(expected));
  }
  const accept: Record<string, (order: number) => boolean> = {
    eq: (order) => order === 0,
    ne: (order) => order !== 0,
    gt: (order) => order > 0,
    ge: (order) => order >= 0,
    lt: (order) => order < 0,
    le: (order) => order <= 0,
  };
  const test = accept[operator]!;
  return (candidate) => test(compare((candidate as Readonly<Record<string, unknown>>)[field]));
}

function edmType(kind: FieldKind): string {
  return { string: 'String', datetime: 'DateTimeOffset', guid: 'Guid', number: 'Decimal', boolean: 'Boolean' }[kind];
}
