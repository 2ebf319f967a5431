/** Business Central SystemIds are GUIDs of any version (e.g. "f2a5738a-44e3-ea11-bb43-000d3a2feca1"), so no RFC version check. */
export const GUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/iu;

export function isGuid(value: string): boolean {
  return GUID_PATTERN.test(value);
}

/** Canonical form used for keys: lower case, no braces. */
export function normalizeGuid(value: string): string {
  return value.trim().replace(/^\{|\}$/gu, '').toLowerCase();
}
