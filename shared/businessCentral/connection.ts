import type { TokenCredential } from '@azure/identity';
import type { Config } from '../config';
import { SyncError } from '../errors';
import { HttpClient, type HttpClientOptions, type HttpRequest, type HttpResponse, type RequestBudget } from '../http/httpClient';
import { BusinessCentralToken, createBusinessCentralCredential } from './credentials';
import { credentialFailure, describeBusinessCentralError } from './errors';

export interface BusinessCentralClientOptions {
  /** Waits between retries; tests pass a spy that resolves at once. */
  sleep?: (ms: number) => Promise<void>;
  onExchange?: HttpClientOptions['onExchange'];
  /** Replaces the ClientSecretCredential built from the settings (managed identity, tests). */
  credential?: TokenCredential;
  random?: () => number;
  /** The budget shared by every instance (BC_SHARED_BUDGET); each request takes one of its slots. */
  budget?: RequestBudget;
}

/** What the clients of one environment share: the token, the HTTP client with its cap and budget, the roots. */
export class BusinessCentralConnection {
  readonly http: HttpClient;
  /** `{base}/{tenant}/{environment}`: notification resources are relative to it. */
  readonly environmentRoot: string;
  /** `{environmentRoot}/api/v2.0` */
  readonly apiRoot: string;
  readonly apiOrigin: string;
  private readonly token: BusinessCentralToken;

  constructor(config: Config['businessCentral'], http: Config['http'], options: BusinessCentralClientOptions) {
    const base = config.apiBaseUrl.replace(/\/+$/u, '');
    this.apiOrigin = new URL(base).origin;
    this.environmentRoot = `${base}/${encodeURIComponent(config.tenantId)}/${encodeURIComponent(config.environment)}`;
    this.apiRoot = `${this.environmentRoot}/api/v2.0`;
    this.token = new BusinessCentralToken(options.credential ?? createBusinessCentralCredential(config), config.authorityHost, http.timeoutMs);
    this.http = new HttpClient({
      serviceName: 'Business Central',
      service: 'businessCentral',
      transientCode: 'BusinessCentralUnavailable',
      finalCode: 'BusinessCentralError',
      getAuthorization: () => this.token.authorization(),
      maxConcurrent: http.bcMaxConcurrent,
      ...(options.budget ? { budget: options.budget } : {}),
      timeoutMs: http.timeoutMs,
      retry: { maxAttempts: http.maxAttempts, baseDelayMs: http.retryBaseMs, maxDelayMs: http.retryMaxDelayMs },
      describeErrorBody: describeBusinessCentralError,
      ...(options.sleep ? { sleep: options.sleep } : {}),
      ...(options.random ? { random: options.random } : {}),
      ...(options.onExchange ? { onExchange: options.onExchange } : {}),
    });
  }

  async send(request: HttpRequest): Promise<HttpResponse> {
    try {
      return await this.http.send(request);
    } catch (error) {
      if (error instanceof SyncError && error.status === 401) this.token.forget();
      throw credentialFailure(error) ?? error;
    }
  }
}
