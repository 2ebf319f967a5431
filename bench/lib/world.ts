import { loadConfig, type Config } from '../../shared/config';
import { createFakeWorld, type FakeWorld } from '../../dev/fakes/world';
import { sandboxSettings } from '../../dev/settings';
import { TWO_COMPANY_IPAAS_SUBSCRIPTIONS } from '../../dev/sandbox/demoData';
import { serveFakes, type ServedFake, type TlsMaterial } from '../../dev/fakes/serve';

/** Fakes served on their own sockets plus the settings that point the product at them. */
export interface BenchWorld {
  world: FakeWorld;
  config: Config;
  /** Settings for the process under test (environment variables). */
  settings: Record<string, string>;
  close(): Promise<void>;
}

export interface BenchWorldOptions {
  tls: TlsMaterial;
  storageConnectionString: string;
  /** Added to every Business Central and iPaaS.com request (FaultInjector.latencyMs). */
  latencyMs: number;
  clientState: string;
}

/** Settings that would change what is measured if the caller's environment set them. */
const NEUTRALIZED = ['POLL_START_FROM', 'WEBHOOK_NOTIFICATION_URL', 'AzureWebJobsStorage__accountName', 'AzureWebJobsStorage__tableServiceUri', 'AzureWebJobsStorage__queueServiceUri'];

export async function startBenchWorld(options: BenchWorldOptions): Promise<BenchWorld> {
  const [bc, entra, ipaas] = await Promise.all([serveFakes(), serveFakes({ tls: options.tls }), serveFakes()]);
  const servers: ServedFake[] = [bc, entra, ipaas];
  const settings: Record<string, string> = {
    // Two companies, as `npm start` runs: the measured customers are CRONUS USA's; CRONUS Canada (empty) shows
    // what each further company costs (a poll that finds nothing: one Business Central request per company).
    ...sandboxSettings(0, options.clientState, 2),
    BC_API_BASE_URL: `${bc.origin}/v2.0`,
    AZURE_AUTHORITY_HOST: entra.origin,
    IPAAS_API_BASE_URL: ipaas.origin,
    AzureWebJobsStorage: options.storageConnectionString,
    FUNCTIONS_WORKER_RUNTIME: 'node',
  };
  for (const name of NEUTRALIZED) delete settings[name];
  const config = loadConfig(settings);
  const world = createFakeWorld(config, {}, { subscriptions: TWO_COMPANY_IPAAS_SUBSCRIPTIONS });
  bc.setHandlers(world.businessCentral.handlers);
  entra.setHandlers(world.entra.handlers);
  ipaas.setHandlers(world.ipaas.handlers);
  world.businessCentral.faults.latencyMs = options.latencyMs;
  world.ipaas.faults.latencyMs = options.latencyMs;
  return {
    world,
    config,
    settings,
    close: async () => {
      await Promise.all(servers.map((server) => server.close()));
    },
  };
}

/** The environment for a child process under test: the caller's, minus settings that would skew it, plus ours. */
export function childEnvironment(world: BenchWorld, tls: TlsMaterial, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of NEUTRALIZED) delete env[name];
  delete env.NODE_OPTIONS;
  return { ...env, ...world.settings, NODE_EXTRA_CA_CERTS: tls.certFile, ...extra };
}
