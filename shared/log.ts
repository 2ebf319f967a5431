import { createHash } from 'node:crypto';

/** Minimal logger port: InvocationContext, console and test spies all fit it. */
export interface Logger {
  info(message: string, ...details: unknown[]): void;
  warn(message: string, ...details: unknown[]): void;
  error(message: string, ...details: unknown[]): void;
}

export const consoleLogger: Logger = {
  info: (message, ...details) => console.info(message, ...details),
  warn: (message, ...details) => console.warn(message, ...details),
  error: (message, ...details) => console.error(message, ...details),
};

export const silentLogger: Logger = { info: () => {}, warn: () => {}, error: () => {} };

/**
 * Masks an email for logs: first character of the local part, then a short stable hash so two
 * log lines about the same address can be correlated without revealing it ("r…@c…#1a2b3c").
 */
export function maskEmail(email: string | null | undefined): string {
  if (!email) return '(none)';
  const at = email.lastIndexOf('@');
  const digest = createHash('sha256').update(email.trim().toLowerCase()).digest('hex').slice(0, 6);
  if (at <= 0) return `…#${digest}`;
  return `${email[0]}…@${email[at + 1] ?? ''}…#${digest}`;
}

// Each email pattern starts only where its run of characters starts (the lookbehind), so text without a
// match costs linear time instead of rescanning from every position (error texts can be long).
const EMAIL_PATTERN = /(?<![^\s@"'<>(),;:])[^\s@"'<>(),;:]+@[^\s@"'<>(),;:]+\.[^\s@"'<>(),;:]+/gu;
/** RFC 5322 quoted local parts ("jane doe"@example.com), which the plain pattern cannot start inside. */
const QUOTED_EMAIL_PATTERN = /"[^"\r\n]{1,64}"@[^\s@"'<>(),;:]+\.[^\s@"'<>(),;:]+/gu;
/** Emails percent-encoded in a URL a remote service echoed back (jane.doe%40example.com). */
const ENCODED_EMAIL_PATTERN = /(?<![A-Za-z0-9._~!$*+'%-])(?:[A-Za-z0-9._~!$*+'-]|%[0-9A-Fa-f]{2})+%40(?:[A-Za-z0-9~-]|%[0-9A-Fa-f]{2})+(?:\.(?:[A-Za-z0-9~-]|%[0-9A-Fa-f]{2})+)+/gu;
const BEARER_PATTERN = /(bearer\s+)[A-Za-z0-9\-._~+/]+=*/giu;
// Only after an Authorization header name: "basic" is also an ordinary word.
const BASIC_PATTERN = /(authorization"?\s*[:=]\s*"?basic\s+)[A-Za-z0-9+/]+=*/giu;
const SECRET_NAMES = 'client_secret|access_token|refresh_token|id_token|AccountKey|clientState|password|api_?key';
const SECRET_PARAM_PATTERN = new RegExp(`((?:${SECRET_NAMES}|code|sig)=)[^&;\\s"]+`, 'giu');
/** The same names as JSON fields ("clientState": "..."), as an echoed request or token reply carries them. */
const SECRET_FIELD_PATTERN = new RegExp(`("(?:${SECRET_NAMES}|apiToken|token|authorization)"\\s*:\\s*")(?:[^"\\\\]|\\\\.)*"`, 'giu');

const MAX_REDACTED_LENGTH = 20_000;

function maskEncodedEmail(match: string): string {
  let decoded = match;
  try {
    decoded = decodeURIComponent(match);
  } catch {
    // A malformed escape: mask the text as it stands.
  }
  return maskEmail(decoded);
}

/** Removes emails (plain, quoted or percent-encoded), bearer and basic credentials and secret-looking parameters or JSON fields from free text before it is logged or stored. */
export function redact(text: string): string {
  // Error texts are for people: beyond this length the rest is dropped rather than scanned.
  const bounded = text.length > MAX_REDACTED_LENGTH ? `${text.slice(0, MAX_REDACTED_LENGTH)}…[truncated]` : text;
  return bounded
    .replace(BEARER_PATTERN, '$1[redacted]')
    .replace(BASIC_PATTERN, '$1[redacted]')
    .replace(SECRET_FIELD_PATTERN, '$1[redacted]"')
    .replace(SECRET_PARAM_PATTERN, '$1[redacted]')
    .replace(QUOTED_EMAIL_PATTERN, (match) => maskEmail(match))
    .replace(ENCODED_EMAIL_PATTERN, maskEncodedEmail)
    .replace(EMAIL_PATTERN, (match) => maskEmail(match));
}
