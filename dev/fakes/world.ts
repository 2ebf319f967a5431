import type { RequestHandler } from 'msw';
import type { Config } from '../../shared/config';
import { FakeBusinessCentral, type FakeBusinessCentralOptions } from './businessCentral';
import { FakeEntraId } from './entraId';
import { FakeIpaas, type FakeIpaasOptions } from './ipaas';

/** Entra ID, Business Central and iPaaS.com fakes wired to one configuration, ready for an msw server. */
export interface FakeWorld {
  entra: FakeEntraId;
  businessCentral: FakeBusinessCentral;
  ipaas: FakeIpaas;
  handlers: RequestHandler[];
}

/** `options` for the Business Central fake, `ipaasOptions` for the iPaaS.com one (its address API, descriptions, client id). */
export function createFakeWorld(config: Config, options: Partial<FakeBusinessCentralOptions> = {}, ipaasOptions: Partial<FakeIpaasOptions> = {}): FakeWorld {
  const bc = config.businessCentral;
  const entra = new FakeEntraId({ authorityHost: bc.authorityHost, tenantId: bc.tenantId, clientId: bc.clientId, clientSecret: bc.clientSecret });
  const businessCentral = new FakeBusinessCentral({
    apiBaseUrl: bc.apiBaseUrl,
    tenantId: bc.tenantId,
    environment: bc.environment,
    companyId: bc.companyId,
    entra,
    ...options,
  });
  const ipaas = new FakeIpaas({ apiBaseUrl: config.ipaas.apiBaseUrl, apiToken: config.ipaas.apiToken, ...ipaasOptions });
  return { entra, businessCentral, ipaas, handlers: [...entra.handlers, ...businessCentral.handlers, ...ipaas.handlers] };
}
