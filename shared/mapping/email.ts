import isEmail from 'validator/lib/isEmail';

/**
 * Email format check with the `validator` package (RFC 5321/5322 based, widely used), configured as:
 * accepted: plus-addressing (a+tag@x.com), subdomains, any TLD of two or more letters (.museum, .photography),
 * internationalized domains in Unicode or punycode (user@bücher.de, user@xn--bcher-kva.de), UTF-8 local parts,
 * quoted local parts ("a b"@x.com);
 * rejected: invisible characters (zero-width, bidi controls, soft hyphen), no TLD (a@b), one-letter TLD, IP-literal domains (a@[127.0.0.1]), display names (Bob <b@x.com>),
 * spaces, consecutive or leading dots, labels starting with "-", local parts over 64 characters,
 * addresses over 254 characters.
 */
const OPTIONS = {
  allow_display_name: false,
  require_display_name: false,
  allow_utf8_local_part: true,
  require_tld: true,
  allow_ip_domain: false,
  allow_underscores: false,
  ignore_max_length: false,
  domain_specific_validation: false,
} as const;

/** Invisible format and control characters (zero-width, bidi marks and overrides, soft hyphen, BOM) disguise addresses. */
const INVISIBLE = /[\p{Cf}\p{Cc}]/u;

export function isValidEmail(email: string): boolean {
  return !INVISIBLE.test(email) && isEmail(email, OPTIONS);
}

/** The key emails are compared by: Unicode NFC, trimmed, lower case (mailbox providers treat addresses case-insensitively in practice). */
export function emailKey(email: string): string {
  return email.normalize('NFC').trim().toLowerCase();
}
