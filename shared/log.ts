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

const EMAIL_PATTERN = /[^\s@"'<>(),;:]+@[^\s@"'<>(),;:]+\.[^\s@"'<>(),;:]+/gu;
const BEARER_PATTERN = /(bearer\s+)[A-Za-z0-9\-._~+/]+=*/giu;
const SECRET_PARAM_PATTERN = /((?:client_secret|access_token|code|sig|AccountKey|clientState)=)[^&;\s"]+/giu;

/** Removes emails, bearer tokens and secret-looking parameters from free text before it is logged or stored. */
export function redact(text: string): string {
  return text
    .replace(BEARER_PATTERN, '$1[redacted]')
    .replace(SECRET_PARAM_PATTERN, '$1[redacted]')
    .replace(EMAIL_PATTERN, (match) => maskEmail(match));
}
