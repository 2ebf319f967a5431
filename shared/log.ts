import { createHmac, hkdfSync, randomBytes } from 'node:crypto';

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
 * The deployment's key for email masks and digests. Until the composition root sets it (from the settings), a
 * random key of this process: masks are then still unguessable, but only comparable within the process.
 */
let digestKey: Buffer = randomBytes(32);

/**
 * The key of a deployment, derived from a secret every instance of it already shares (WEBHOOK_CLIENT_STATE):
 * stable across instances and restarts, so an operator can match lines of different instances, and unknown to
 * anyone who reads the logs without the settings. No second secret to manage by hand.
 */
export function deriveEmailKey(deploymentSecret: string): Buffer {
  return Buffer.from(hkdfSync('sha256', deploymentSecret, 'customer-sync', 'email masks and digests v1', 32));
}

/** Sets the deployment's key (shared/services.ts, once the settings are loaded). */
export function useEmailKey(key: Uint8Array): void {
  if (key.length < 16) throw new Error('An email key needs at least 16 bytes');
  digestKey = Buffer.from(key);
}

/**
 * Keyed digest (HMAC-SHA256, hex) of an email as the sync compares it (NFC, trimmed, lower case): equal for equal
 * addresses within a deployment, and no way back to the address, nor a way to confirm a guess, without the key.
 */
export function emailDigest(email: string): string {
  return createHmac('sha256', digestKey).update(email.normalize('NFC').trim().toLowerCase()).digest('hex');
}

/**
 * Masks an email for logs: first character of the local part and of the domain, then a short keyed digest so two
 * log lines about the same address can be correlated without revealing it ("r…@c…#1a2b3c").
 */
export function maskEmail(email: string | null | undefined): string {
  if (!email) return '(none)';
  const at = email.lastIndexOf('@');
  const digest = emailDigest(email).slice(0, 6);
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
