import { randomBytes, randomUUID } from 'node:crypto';
import { http, HttpResponse, type RequestHandler } from 'msw';
import { FaultInjector } from './faults';

/** The one scope this project asks for (client-credentials flow against Business Central). */
export const BUSINESS_CENTRAL_DEFAULT_SCOPE = 'https://api.businesscentral.dynamics.com/.default';

export interface FakeEntraIdOptions {
  /** e.g. https://login.entra.test (the AZURE_AUTHORITY_HOST the client uses). */
  authorityHost: string;
  /** The directory the app lives in; any tenant segment is accepted when absent. */
  tenantId?: string;
  clientId: string;
  clientSecret: string;
  /** Scopes the app may request; defaults to the Business Central `.default` scope. */
  allowedScopes?: string[];
  /** Lifetime of issued tokens in seconds; Entra issues 3599 for app tokens. */
  expiresInSeconds?: number;
  now?: () => Date;
}

interface IssuedToken {
  tenantId: string;
  scope: string;
  expiresAt: number;
}

/**
 * In-memory Microsoft Entra ID for the client-credentials flow, serving exactly what @azure/identity
 * (MSAL node) requests with `disableInstanceDiscovery: true` (observed, not guessed):
 *   GET  {authorityHost}/{tenant}/v2.0/.well-known/openid-configuration
 *   POST {authorityHost}/{tenant}/oauth2/v2.0/token   (form: client_id, client_secret, scope, grant_type)
 * Errors use Entra's OAuth error body (`error`, `error_description` starting with an AADSTS code,
 * `error_codes`, trace and correlation ids) and the status Entra uses for each case.
 */
export class FakeEntraId {
  readonly handlers: RequestHandler[];
  readonly faults = new FaultInjector();
  tokensIssued = 0;
  /** Every request that reached the fake, by endpoint. */
  readonly requests = { total: 0, discovery: 0, token: 0 };

  private readonly origin: string;
  private readonly basePath: string;
  private readonly tokens = new Map<string, IssuedToken>();
  private readonly allowedScopes: string[];
  private readonly expiresInSeconds: number;
  private readonly now: () => Date;

  constructor(private readonly options: FakeEntraIdOptions) {
    const authority = new URL(options.authorityHost);
    this.origin = authority.origin;
    this.basePath = authority.pathname.replace(/\/+$/u, '');
    this.allowedScopes = options.allowedScopes ?? [BUSINESS_CENTRAL_DEFAULT_SCOPE];
    this.expiresInSeconds = options.expiresInSeconds ?? 3599;
    this.now = options.now ?? (() => new Date());
    this.handlers = [http.all(({ request }) => this.owns(request.url), ({ request }) => this.handle(request))];
  }

  /** True for a token this fake issued that has not expired or been revoked. */
  isValidToken(token: string): boolean {
    const issued = this.tokens.get(token);
    return issued !== undefined && issued.expiresAt > this.now().getTime();
  }

  /** The tenant and scope a valid token was issued for. */
  tokenInfo(token: string): { tenantId: string; scope: string } | undefined {
    const issued = this.tokens.get(token);
    return issued && issued.expiresAt > this.now().getTime() ? { tenantId: issued.tenantId, scope: issued.scope } : undefined;
  }

  /** Invalidates every issued token (as a revoked consent or rotated key would). */
  revokeAll(): void {
    this.tokens.clear();
  }

  private owns(url: string): boolean {
    const parsed = new URL(url);
    return parsed.origin === this.origin && parsed.pathname.startsWith(`${this.basePath}/`);
  }

  private async handle(request: Request): Promise<Response> {
    this.requests.total += 1;
    const fault = await this.faults.apply(request, (status) =>
      oauthError(status >= 500 || status === 429 ? 'temporarily_unavailable' : 'invalid_request', 50196, 'The server is temporarily unavailable.'),
    );
    if (fault) return fault;

    const segments = new URL(request.url).pathname.slice(this.basePath.length + 1).split('/');
    const [tenant, ...rest] = segments;
    const route = rest.join('/');
    if (!tenant) return new HttpResponse(null, { status: 404 });
    if (route === 'v2.0/.well-known/openid-configuration' && request.method === 'GET') {
      this.requests.discovery += 1;
      if (!this.knowsTenant(tenant)) return this.tenantNotFound(tenant);
      return HttpResponse.json(this.openIdConfiguration(tenant));
    }
    if (route === 'oauth2/v2.0/token') {
      this.requests.token += 1;
      if (request.method !== 'POST') {
        return errorResponse(400, 'invalid_request', 900561, 'The endpoint only accepts POST requests.');
      }
      if (!this.knowsTenant(tenant)) return this.tenantNotFound(tenant);
      return this.token(tenant, request);
    }
    return new HttpResponse(null, { status: 404 });
  }

  private knowsTenant(tenant: string): boolean {
    return this.options.tenantId === undefined || tenant.toLowerCase() === this.options.tenantId.toLowerCase();
  }

  private tenantNotFound(tenant: string): Response {
    return errorResponse(
      400,
      'invalid_tenant',
      90002,
      `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`,
    );
  }

  private async token(tenant: string, request: Request): Promise<Response> {
    const contentType = request.headers.get('content-type') ?? '';
    if (!contentType.toLowerCase().startsWith('application/x-www-form-urlencoded')) {
      return errorResponse(400, 'invalid_request', 900144, "The request body must contain the following parameter: 'grant_type'.");
    }
    const form = new URLSearchParams(await request.text());
    const grantType = form.get('grant_type');
    const clientId = form.get('client_id');
    const clientSecret = form.get('client_secret');
    const scope = form.get('scope');
    if (!grantType) return errorResponse(400, 'invalid_request', 900144, "The request body must contain the following parameter: 'grant_type'.");
    if (grantType !== 'client_credentials') {
      return errorResponse(400, 'unsupported_grant_type', 70003, `The app requested an unsupported grant type '${grantType}'.`);
    }
    if (!clientId) return errorResponse(400, 'invalid_request', 900144, "The request body must contain the following parameter: 'client_id'.");
    if (clientId !== this.options.clientId) {
      return errorResponse(
        400,
        'unauthorized_client',
        700016,
        `Application with identifier '${clientId}' was not found in the directory '${tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant.`,
      );
    }
    if (!clientSecret) {
      return errorResponse(401, 'invalid_client', 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.");
    }
    if (clientSecret !== this.options.clientSecret) {
      return errorResponse(
        401,
        'invalid_client',
        7000215,
        `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${clientId}'.`,
      );
    }
    if (!scope) return errorResponse(400, 'invalid_request', 900144, "The request body must contain the following parameter: 'scope'.");
    const scopes = scope.split(' ').filter((s) => s.length > 0);
    if (scopes.length !== 1 || !scopes[0]!.endsWith('/.default')) {
      return errorResponse(
        400,
        'invalid_scope',
        1002012,
        `The provided value for scope ${scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
      );
    }
    if (!this.allowedScopes.includes(scopes[0]!)) {
      const resource = scopes[0]!.slice(0, -'/.default'.length);
      return errorResponse(
        400,
        'invalid_resource',
        500011,
        `The resource principal named ${resource} was not found in the tenant named ${tenant}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant.`,
      );
    }
    // Opaque, like any access token is to its client: MSAL does not parse app tokens.
    const accessToken = randomBytes(32).toString('base64url');
    this.tokens.set(accessToken, {
      tenantId: tenant.toLowerCase(),
      scope: scopes[0]!,
      expiresAt: this.now().getTime() + this.expiresInSeconds * 1000,
    });
    this.tokensIssued += 1;
    return HttpResponse.json(
      { token_type: 'Bearer', expires_in: this.expiresInSeconds, ext_expires_in: this.expiresInSeconds, access_token: accessToken },
      { headers: { 'Cache-Control': 'no-store, no-cache', Pragma: 'no-cache' } },
    );
  }

  private openIdConfiguration(tenant: string): Record<string, unknown> {
    const base = `${this.origin}${this.basePath}/${tenant}`;
    return {
      token_endpoint: `${base}/oauth2/v2.0/token`,
      token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
      jwks_uri: `${base}/discovery/v2.0/keys`,
      response_modes_supported: ['query', 'fragment', 'form_post'],
      subject_types_supported: ['pairwise'],
      id_token_signing_alg_values_supported: ['RS256'],
      response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
      scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
      issuer: `${base}/v2.0`,
      request_uri_parameter_supported: false,
      authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
      device_authorization_endpoint: `${base}/oauth2/v2.0/devicecode`,
      http_logout_supported: true,
      frontchannel_logout_supported: true,
      end_session_endpoint: `${base}/oauth2/v2.0/logout`,
      tenant_region_scope: 'EU',
      cloud_instance_name: new URL(this.origin).hostname,
    };
  }
}

function oauthError(error: string, code: number, description: string): Record<string, unknown> {
  const traceId = randomUUID();
  const correlationId = randomUUID();
  const timestamp = new Date().toISOString().replace('T', ' ').replace(/\.\d+Z$/u, 'Z');
  return {
    error,
    error_description: `AADSTS${code}: ${description} Trace ID: ${traceId} Correlation ID: ${correlationId} Timestamp: ${timestamp}`,
    error_codes: [code],
    timestamp,
    trace_id: traceId,
    correlation_id: correlationId,
    error_uri: `https://login.microsoftonline.com/error?code=${code}`,
  };
}

function errorResponse(status: number, error: string, code: number, description: string): Response {
  return HttpResponse.json(oauthError(error, code, description), { status, headers: { 'Cache-Control': 'no-store, no-cache' } });
}
