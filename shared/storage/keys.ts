/** PartitionKey and RowKey values: any string made safe and reversible, customers keyed by their canonical GUID. */
import { createHash } from 'node:crypto';
import { isGuid, normalizeGuid } from '../guid';

const MAX_KEY_LENGTH = 512;
// Forbidden in PartitionKey/RowKey: / \ # ? and control characters; '%' is escaped too so the encoding is reversible.
// eslint-disable-next-line no-control-regex
const FORBIDDEN_KEY_CHARS = /[%/\\#?\u0000-\u001f\u007f-\u009f]/gu;

/**
 * Makes any string safe as a PartitionKey or RowKey: percent-encodes forbidden characters, maps
 * the empty string to "%" (which the encoding never produces otherwise), and shortens very long
 * values with a hash suffix (keys are limited to 1 KiB).
 */
export function toTableKey(value: string): string {
  if (value === '') return '%';
  const encoded = value.replace(FORBIDDEN_KEY_CHARS, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
  if (encoded.length <= MAX_KEY_LENGTH) return encoded;
  return `${encoded.slice(0, MAX_KEY_LENGTH - 65)}~${createHash('sha256').update(value).digest('hex')}`;
}

/** Partition key of a Business Central customer: GUIDs in canonical form, so case and braces never split a customer's rows. */
export function customerKey(customerId: string): string {
  const normalized = normalizeGuid(customerId);
  return toTableKey(isGuid(normalized) ? normalized : customerId);
}
