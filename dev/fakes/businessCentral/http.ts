import { randomUUID } from 'node:crypto';
import { HttpResponse } from 'msw';

/** A request the fake answers with a Business Central error body (`{ error: { code, message } }`). */
export class BcHttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export function errorBody(code: string, message: string): { error: { code: string; message: string } } {
  // Business Central appends the correlation id to every error message.
  return { error: { code, message: `${message}  CorrelationId:  ${randomUUID()}.` } };
}

/** The error code Business Central sends with a status, for injected faults. */
export function faultCode(status: number): string {
  const codes: Record<number, string> = {
    400: 'BadRequest',
    401: 'Authentication_InvalidCredentials',
    404: 'BadRequest_ResourceNotFound',
    408: 'RequestTimeout',
    409: 'Request_EntityChanged',
    412: 'Request_EntityChanged',
    429: 'Application_TooManyRequests',
    500: 'Internal_ServerError',
    502: 'BadGateway',
    503: 'Application_ServiceUnavailable',
    504: 'GatewayTimeout',
  };
  return codes[status] ?? 'Internal_ServerError';
}

export function bcJson(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return HttpResponse.json(body as Record<string, unknown>, {
    status,
    headers: { 'Content-Type': 'application/json; odata.metadata=minimal; odata.streaming=true', 'OData-Version': '4.0', ...headers },
  });
}

export function bcError(status: number, code: string, message: string, headers: Record<string, string> = {}): Response {
  return bcJson(status, errorBody(code, message), headers);
}

export function badRequest(message: string): BcHttpError {
  return new BcHttpError(400, 'BadRequest', message);
}

export function notFound(segment: string): BcHttpError {
  return new BcHttpError(404, 'BadRequest_ResourceNotFound', `Resource not found for the segment '${segment}'.`);
}

export function methodNotAllowed(method: string): BcHttpError {
  return new BcHttpError(405, 'BadRequest_MethodNotAllowed', `'${method}' requests for this resource are not supported.`);
}

/** An OData weak ETag over a key and a row version, shaped like Business Central's. */
export function etag(key: string, rowVersion: number): string {
  const inner = `'${key.length};${Buffer.from(key).toString('base64')};${rowVersion};'`;
  return `W/"${Buffer.from(inner).toString('base64')}"`;
}

/** Like SQL rowversion: one counter for the whole database, so an ETag never repeats. */
export class RowVersions {
  private current = 0;

  next(): number {
    this.current += 1;
    return this.current;
  }
}

export const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/iu;
export const EMPTY_GUID = '00000000-0000-0000-0000-000000000000';
