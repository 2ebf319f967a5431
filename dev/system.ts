import path from 'node:path';
import type { LogLevel } from '@azure/functions';
import { setupServer, type SetupServerApi } from 'msw/node';
import { loadConfig } from '../shared/config';
import { offsetClock } from '../shared/clock';
import { resetServices, useClock } from '../shared/services';
import { startAzurite, type AzuritePorts, type RunningAzurite } from './azurite';
import { createFakeWorld, type FakeWorld } from './fakes/world';
import { startLocalHost, type InvocationEvent, type LocalHost, type LocalHostOptions } from './host/localHost';
import { seedDemoData, TWO_COMPANY_IPAAS_SUBSCRIPTIONS } from './sandbox/demoData';
import { ChangeNotifier } from './sandbox/notifier';
import { sandboxRoutes } from './sandbox/routes';
import { chooseMode, resolveSettings, sandboxSettings, type Mode, type Settings } from './settings';

export const PROJECT_ROOT = path.resolve(__dirname, '..');
/** The sandbox's webhook secret unless WEBHOOK_CLIENT_STATE is set: fixed so the README's webhook example works. */
export const SANDBOX_CLIENT_STATE = 'sandbox-client-state-0001';

export interface SystemOptions {
  /** HTTP port of the local host (7071 like func start; 0 for any). */
  port?: number;
  /** Settings on top of defaults, local.settings.json and the environment (tests use this). */
  overrides?: Settings;
  /** Start Azurite in memory when storage is the development storage (default true). */
  startAzurite?: boolean;
  /** Ports for that Azurite instead of the development storage's 10000-10002 (LOCAL_AZURITE_PORTS). */
  azuritePorts?: AzuritePorts;
  /** Seed the sandbox with the demo customers (default true). */
  seedDemo?: boolean;
  /** Delay before the sandbox Business Central notifies the webhook of a change. */
  notifyDelayMs?: number;
  /** An msw server already running in this process (jest), to add the fakes to instead of starting one. */
  mockServer?: SetupServerApi;
  /** Use the sandbox even though Business Central / iPaaS.com settings exist (tests whose environment sets them). */
  sandbox?: boolean;
  /** The sandbox's companies: 1 (CRONUS USA; the default) or 2 (with CRONUS Canada, as `npm start` runs it). */
  sandboxCompanies?: 1 | 2;
  /** The sandbox's fakes from an earlier start, kept (tests that restart the host with other settings); nothing is seeded. */
  world?: FakeWorld;
  log?: (level: LogLevel, message: string) => void;
  onInvocation?: (event: InvocationEvent) => void;
  listen?: LocalHostOptions['listen'];
}

export interface RunningSystem {
  mode: 'sandbox' | 'real';
  host: LocalHost;
  settings: Settings;
  /** The fakes and the webhook notifier, in sandbox mode. */
  sandbox?: { world: FakeWorld; notifier: ChangeNotifier };
  azurite?: RunningAzurite;
  stop(): Promise<void>;
}

/**
 * Starts the whole product locally: settings (defaults < local.settings.json < environment < overrides),
 * Azurite in memory when needed, the sandbox fakes when no Business Central / iPaaS.com settings exist,
 * and the local Functions host with the app's own registrations.
 */
export async function startSystem(options: SystemOptions = {}): Promise<RunningSystem> {
  const port = options.port ?? 7071;
  const settings: Settings = { ...resolveSettings(PROJECT_ROOT), ...options.overrides };
  const mode: Mode = options.sandbox ? { kind: 'sandbox' } : chooseMode(settings);
  if (mode.kind === 'incomplete') {
    throw new Error(
      `Missing settings for a real Business Central and iPaaS.com: ${mode.missing.join(', ')}. ` +
        'Set all of them (local.settings.json or the environment) or none of them to use the sandbox.',
    );
  }
  if (mode.kind === 'sandbox') {
    const clientState = settings.WEBHOOK_CLIENT_STATE ?? SANDBOX_CLIENT_STATE;
    Object.assign(settings, sandboxSettings(port, clientState, options.sandboxCompanies ?? 1), options.overrides);
  }
  // The functions read their settings from the environment, as in Azure.
  Object.assign(process.env, settings);
  const config = loadConfig(process.env);
  // A host whose clock is off (fault tests run several hosts, one of them ahead): every service of this process uses it.
  useClock(offsetClock(clockOffsetMs(process.env)));
  resetServices();

  const stops: Array<() => Promise<void> | void> = [];
  const stop = async (): Promise<void> => {
    for (const step of stops.reverse()) await step();
  };
  try {
    let azurite: RunningAzurite | undefined;
    if (options.startAzurite !== false && settings.AzureWebJobsStorage === 'UseDevelopmentStorage=true') {
      azurite = await startAzurite({ ownProcessGroup: true, ...(options.azuritePorts ? { ports: options.azuritePorts } : {}) });
      stops.push(() => azurite?.stop());
      if (options.azuritePorts) {
        // "UseDevelopmentStorage=true" means the fixed ports; elsewhere the functions need the real endpoints.
        settings.AzureWebJobsStorage = azurite.connectionString();
        process.env.AzureWebJobsStorage = settings.AzureWebJobsStorage;
        resetServices();
      }
    }

    let sandbox: RunningSystem['sandbox'];
    if (mode.kind === 'sandbox') {
      const world = options.world ?? createFakeWorld(config, {}, config.companies.length > 1 ? { subscriptions: TWO_COMPANY_IPAAS_SUBSCRIPTIONS } : {});
      if (options.seedDemo !== false && !options.world) seedDemoData(world.businessCentral, world.ipaas);
      const notifier = new ChangeNotifier(world.businessCentral, { delayMs: options.notifyDelayMs ?? 2000 });
      stops.push(() => notifier.stop());
      if (options.mockServer) {
        options.mockServer.use(...world.handlers);
      } else {
        const server = setupServer(...world.handlers);
        server.listen({ onUnhandledRequest: 'bypass' });
        stops.push(() => server.close());
      }
      sandbox = { world, notifier };
    }

    const host = await startLocalHost({
      root: PROJECT_ROOT,
      port,
      ...(options.log ? { log: options.log } : {}),
      ...(options.onInvocation ? { onInvocation: options.onInvocation } : {}),
      ...(options.listen ? { listen: options.listen } : {}),
      ...(sandbox ? { extraRoutes: sandboxRoutes(sandbox.world, sandbox.notifier) } : {}),
    });
    stops.push(() => host.stop());
    if (mode.kind === 'sandbox' && port === 0 && !options.overrides?.WEBHOOK_NOTIFICATION_URL) {
      // With port 0 the port is known only now; the subscription must name the webhook where it really listens.
      settings.WEBHOOK_NOTIFICATION_URL = sandboxSettings(host.port, settings.WEBHOOK_CLIENT_STATE ?? SANDBOX_CLIENT_STATE, options.sandboxCompanies ?? 1).WEBHOOK_NOTIFICATION_URL!;
      process.env.WEBHOOK_NOTIFICATION_URL = settings.WEBHOOK_NOTIFICATION_URL;
      resetServices();
    }
    return { mode: mode.kind, host, settings, ...(sandbox ? { sandbox } : {}), ...(azurite ? { azurite } : {}), stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * LOCAL_CLOCK_OFFSET_MS (local host only): how far this host's clock is from the machine's, in milliseconds
 * (positive: ahead). For fault tests that run several hosts on one storage account; 0 when unset.
 */
export function clockOffsetMs(env: Record<string, string | undefined>): number {
  const raw = env.LOCAL_CLOCK_OFFSET_MS?.trim();
  if (!raw) return 0;
  const offset = Number(raw);
  if (!Number.isInteger(offset) || Math.abs(offset) > 24 * 3600_000) {
    throw new Error(`LOCAL_CLOCK_OFFSET_MS must be a whole number of milliseconds within a day either way, got "${raw}"`);
  }
  return offset;
}
