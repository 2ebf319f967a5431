import { HttpResponse } from 'msw';
import type { z } from 'zod';

/**
 * The iPaaS.com fake's error vocabulary: the body `{ "errors": [ { "code": "CATEGORY-NNNN", "message": "..." } ] }`
 * (docs/external-apis.md), the codes it uses per status, and the refusal the store raises without knowing HTTP.
 */

/** What the store refuses, with the status and code the service answers; the routes turn it into a response. */
export class IpaasRefusal extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'IpaasRefusal';
  }
}

/** The iPaaS.com error body this fake sends. */
export function ipaasErrorBody(code: string, message: string): { errors: Array<{ code: string; message: string }> } {
  return { errors: [{ code, message }] };
}

export function ipaasError(status: number, code: string, message: string): Response {
  return HttpResponse.json(ipaasErrorBody(code, message), { status });
}

export function refusalResponse(refusal: IpaasRefusal): Response {
  return ipaasError(refusal.status, refusal.code, refusal.message);
}

/** The code an injected fault of this status carries. */
export function errorCodeFor(status: number): string {
  if (status === 401) return 'AUTH-1001';
  if (status === 403) return 'AUTZ-1001';
  if (status === 404) return 'NFND-1001';
  if (status === 409) return 'BIZL-1000';
  if (status === 429) return 'INTL-1029';
  if (status >= 500) return 'INTL-1000';
  return 'VALD-1000';
}

/** The message an injected fault of this status carries. */
export function faultMessage(status: number): string {
  if (status === 429) return 'Too many requests; retry later';
  if (status >= 500) return 'An internal error occurred; retry later';
  return `Request failed with status ${status}`;
}

/** A model-binding error's text: every issue, unknown fields named. */
export function issuesOf(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const path = issue.path.map(String).join('.');
      return issue.code === 'unrecognized_keys' ? `unknown field(s) ${issue.keys.join(', ')}` : path && !issue.message.includes(path) ? `${path}: ${issue.message}` : issue.message;
    })
    .join('; ');
}

export function notFound(entity: string, id: string): IpaasRefusal {
  return new IpaasRefusal(404, 'NFND-1005', `${entity} ${id} was not found`);
}

export function duplicateNumber(customerNumber: string): IpaasRefusal {
  return new IpaasRefusal(409, 'BIZL-1001', `A customer with customer_number ${customerNumber} already exists`);
}
