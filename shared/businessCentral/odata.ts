/** OData v4 pieces the Business Central client needs, kept separate so each can be tested on its own. */

/** A string literal for $filter: single quotes doubled, as OData ABNF requires; nothing else needs escaping inside quotes. */
export function odataString(value: string): string {
  return `'${value.replace(/'/gu, "''")}'`;
}

/** A DateTimeOffset literal (unquoted in OData v4), normalized to UTC with milliseconds; undefined for unparseable input. */
export function odataDateTime(value: string): string | undefined {
  const time = Date.parse(value);
  return Number.isNaN(time) ? undefined : new Date(time).toISOString();
}

/**
 * A query string from name/value pairs. Values are percent-encoded whole (encodeURIComponent), so no
 * input can end the value, add a parameter (`&`, `=`), start a fragment (`#`) or smuggle an escape (`%`).
 */
export function formatQuery(params: ReadonlyArray<readonly [name: string, value: string]>): string {
  if (params.length === 0) return '';
  return `?${params.map(([name, value]) => `${name}=${encodeURIComponent(value)}`).join('&')}`;
}

/** `Prefer` header asking for server-driven paging of at most `pageSize` entities. */
export function maxPageSizePreference(pageSize: number): string {
  return `odata.maxpagesize=${pageSize}`;
}
