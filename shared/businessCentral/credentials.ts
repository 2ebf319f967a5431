import { ClientAssertionCredential, ClientSecretCredential, ManagedIdentityCredential, type TokenCredential } from '@azure/identity';
import { DEFAULT_AUTHORITY_HOST, type Config } from '../config';
import { serverOf, withDependencySpan } from '../observability';

/** The client-credentials scope for Business Central online, whatever the API base URL. */
export const BUSINESS_CENTRAL_SCOPE = 'https://api.businesscentral.dynamics.com/.default';
/** A cached token is replaced this long before it expires. */
const TOKEN_REFRESH_MARGIN_MS = 5 * 60_000;

/**
 * The credential for the settings. `clientSecret`: ClientSecretCredential. `managedIdentity`: the app
 * registration's client-assertion flow, the assertion being a managed-identity token for the token-exchange
 * audience, which the registration's federated credential trusts. Instance discovery only works against
 * Microsoft's public cloud host.
 */
export function createBusinessCentralCredential(config: Config['businessCentral']): TokenCredential {
  const publicCloud = sameOrigin(config.authorityHost, DEFAULT_AUTHORITY_HOST);
  const options = { authorityHost: config.authorityHost, ...(publicCloud ? {} : { disableInstanceDiscovery: true }) };
  if (config.credential === 'clientSecret') return new ClientSecretCredential(config.tenantId, config.clientId, config.clientSecret, options);
  const identity = new ManagedIdentityCredential(config.managedIdentityClientId ? { clientId: config.managedIdentityClientId } : {});
  const audience = tokenExchangeAudience(config.authorityHost);
  return new ClientAssertionCredential(
    config.tenantId,
    config.clientId,
    async () => {
      const token = await identity.getToken(`${audience}/.default`);
      if (!token) throw new Error('the managed identity returned no token for the token exchange');
      return token.token;
    },
    options,
  );
}

/** The audience a federated credential expects, per cloud (Entra ID documents one per national cloud). */
export function tokenExchangeAudience(authorityHost: string): string {
  const host = URL.canParse(authorityHost) ? new URL(authorityHost).hostname : '';
  if (host.endsWith('.microsoftonline.us')) return 'api://AzureADTokenExchangeUSGov';
  if (host.endsWith('.chinacloudapi.cn')) return 'api://AzureADTokenExchangeChina';
  return 'api://AzureADTokenExchange';
}

/**
 * The Authorization header for Business Central: one token request at a time (concurrent first calls share it
 * instead of each asking Entra ID), the token kept until shortly before it expires, so a token request (and its
 * dependency in telemetry) is a real one.
 */
export class BusinessCentralToken {
  private pendingToken: Promise<string> | undefined;
  private cachedToken: { header: string; refreshAt: number } | undefined;

  constructor(
    private readonly credential: TokenCredential,
    private readonly authorityHost: string,
    private readonly timeoutMs: number,
  ) {}

  authorization(): Promise<string> {
    if (this.pendingToken === undefined) {
      const pending: Promise<string> = this.acquireToken().finally(() => {
        if (this.pendingToken === pending) this.pendingToken = undefined;
      });
      this.pendingToken = pending;
    }
    return this.pendingToken;
  }

  /** A revoked or otherwise refused token is not used again: the next request asks for a new one. */
  forget(): void {
    this.cachedToken = undefined;
  }

  private async acquireToken(): Promise<string> {
    const cached = this.cachedToken;
    if (cached && Date.now() < cached.refreshAt) return cached.header;
    const token = await withDependencySpan({ service: 'Entra ID', name: 'token', server: serverOf(this.authorityHost) }, async () => {
      // The timeout keeps a hung authority from blocking a slot forever.
      const issued = await this.credential.getToken(BUSINESS_CENTRAL_SCOPE, { abortSignal: AbortSignal.timeout(this.timeoutMs) });
      if (!issued) throw new Error('the credential returned no token');
      return issued;
    });
    const header = `Bearer ${token.token}`;
    const refreshAt = Math.min(token.refreshAfterTimestamp ?? Number.POSITIVE_INFINITY, token.expiresOnTimestamp - TOKEN_REFRESH_MARGIN_MS);
    this.cachedToken = { header, refreshAt };
    return header;
  }
}

function sameOrigin(a: string, b: string): boolean {
  try {
    return new URL(a).origin === new URL(b).origin;
  } catch {
    return false;
  }
}
