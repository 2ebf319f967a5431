import { z } from 'zod';
import { SyncError } from '../errors';
import type { HttpResponse } from '../http/httpClient';
import { redact } from '../log';

/** Text of an error body's field when it is text; anything else is ignored (an error body never fails to parse). */
const errorText = z.unknown().optional().transform((value) => (typeof value === 'string' ? value : undefined));

/** `{ error: { code, message } }`: the two texts read when present, any type tolerated. */
export const bcErrorBodySchema = z.looseObject({
  error: z.looseObject({ code: errorText, message: errorText }),
});

/** OAuth errors that retrying cannot fix: wrong tenant, client id, secret or scope. */
const CREDENTIAL_ERRORS = /^(invalid_client|unauthorized_client|invalid_scope|invalid_resource|invalid_request|invalid_grant|unsupported_grant_type|invalid_tenant)\b/u;

/** `{ error: { code, message } }` as text for error messages, with personal data and secrets masked. */
export function describeBusinessCentralError(body: unknown): string | undefined {
  const parsed = bcErrorBodySchema.safeParse(body);
  if (!parsed.success) return undefined;
  const { code, message } = parsed.data.error;
  const text = [code, message].filter((part): part is string => typeof part === 'string' && part.length > 0).join(': ');
  if (text.length === 0) return undefined;
  const clean = redact(text);
  return clean.length > 300 ? `${clean.slice(0, 299)}…` : clean;
}

/** The `error.code` of a Business Central error body, when it has one. */
export function errorCodeOf(body: unknown): string | undefined {
  const parsed = bcErrorBodySchema.safeParse(body);
  return parsed.success ? parsed.data.error.code : undefined;
}

/** A Business Central error that retrying cannot fix. */
export function final(message: string): SyncError {
  return new SyncError('BusinessCentralError', message, { transient: false });
}

export function throwFinal(message: string): never {
  throw final(message);
}

/** Validates a response body; the error names the field, never its value (values are personal data). */
export function parseReply<T extends z.ZodType>(schema: T, body: unknown, what: string): z.output<T> {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = issue && issue.path.length > 0 ? `field '${issue.path.join('.')}'` : 'the body';
  return throwFinal(`Business Central ${what} is malformed: ${field} ${issue?.message ?? 'is invalid'}`);
}

/** A 404 where the resource must exist: the URL is wrong (tenant, environment or company), which retrying cannot fix. */
export function unexpected404(method: string, url: string, response: HttpResponse): SyncError {
  const detail = describeBusinessCentralError(response.body);
  return new SyncError(
    'BusinessCentralError',
    `Business Central ${method} ${new URL(url).pathname} answered 404${detail ? `: ${detail}` : ''}; check BC_TENANT_ID, BC_ENVIRONMENT and BC_COMPANY_ID`,
    { transient: false, status: 404 },
  );
}

/**
 * Entra ID rejecting the app (wrong tenant, client id, secret or scope) will not pass on retry: a final
 * Configuration error naming the OAuth error and AADSTS code only, never the description or the secret.
 */
export function credentialFailure(error: unknown): SyncError | undefined {
  if (!(error instanceof SyncError)) return undefined;
  // Duck-typed: the identity library's errors may come from another realm (jest, bundlers).
  const causeMessage: unknown = typeof error.cause === 'object' && error.cause !== null ? (error.cause as { message?: unknown }).message : undefined;
  if (typeof causeMessage !== 'string') return undefined;
  const oauth = CREDENTIAL_ERRORS.exec(causeMessage);
  if (!oauth) return undefined;
  const aadsts = /AADSTS(\d+)/u.exec(causeMessage);
  return new SyncError(
    'Configuration',
    `Business Central: Entra ID refused the client credentials (${oauth[1]}${aadsts ? `, AADSTS${aadsts[1]}` : ''}); check BC_TENANT_ID, BC_CLIENT_ID and BC_CLIENT_SECRET (or, with BC_CREDENTIAL=managedIdentity, the app registration's federated credential)`,
    // An expired secret refuses every customer alike: the sync holds the work until the credentials work again.
    { transient: true, outage: { service: 'businessCentral', kind: 'auth' } },
  );
}
