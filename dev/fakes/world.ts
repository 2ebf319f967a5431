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

/**
 * `options` for the Business Central fake, `ipaasOptions` for the iPaaS.com one (its address API, descriptions,
 * client id, subscriptions). With several companies (BC_COMPANIES) the Business Central fake holds each of them,
 * and the iPaaS.com fake accepts each company's token.
 */
export function createFakeWorld(config: Config, options: Partial<FakeBusinessCentralOptions> = {}, ipaasOptions: Partial<FakeIpaasOptions> = {}): FakeWorld {
  const bc = config.businessCentral;
  const entra = new FakeEntraId({ authorityHost: bc.authorityHost, tenantId: bc.tenantId, clientId: bc.clientId, clientSecret: bc.clientSecret });
  const [first, ...others] = config.companies;
  const businessCentral = new FakeBusinessCentral({
    apiBaseUrl: bc.apiBaseUrl,
    tenantId: bc.tenantId,
    environment: bc.environment,
    companyId: bc.companyId,
    entra,
    ...(others.length > 0 && first ? { companyName: first.name, otherCompanies: others.map((company) => ({ id: company.id, name: company.name })) } : {}),
    ...options,
  });
  const otherApiTokens = [...new Set(config.companies.map((company) => company.ipaas.apiToken))].filter((token) => token !== config.ipaas.apiToken);
  const ipaas = new FakeIpaas({ apiBaseUrl: config.ipaas.apiBaseUrl, apiToken: config.ipaas.apiToken, ...(otherApiTokens.length > 0 ? { otherApiTokens } : {}), ...ipaasOptions });
  return { entra, businessCentral, ipaas, handlers: [...entra.handlers, ...businessCentral.handlers, ...ipaas.handlers] };
}
