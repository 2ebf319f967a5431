import { setupServer } from 'msw/node';
import { loadConfig, type Environment } from '../../shared/config';
import { createFakeWorld } from '../fakes/world';
import { sandboxSettings } from '../settings';
import { seedDemoData, TWO_COMPANY_IPAAS_SUBSCRIPTIONS } from './demoData';

/** The sandbox's settings with its fakes answering in this process (msw), for `npm run doctor -- --sandbox`. */
export function startSandboxForDoctor(base: Environment): { env: Environment; stop: () => void } {
  const port = Number(base.LOCAL_HOST_PORT ?? 7071);
  // The two companies of `npm start`.
  const env: Environment = { ...base, ...sandboxSettings(port, base.WEBHOOK_CLIENT_STATE ?? 'sandbox-client-state-0001', 2) };
  const world = createFakeWorld(loadConfig(env), {}, { subscriptions: TWO_COMPANY_IPAAS_SUBSCRIPTIONS });
  seedDemoData(world.businessCentral, world.ipaas);
  const server = setupServer(...world.handlers);
  server.listen({ onUnhandledRequest: 'bypass' });
  return { env, stop: () => server.close() };
}
