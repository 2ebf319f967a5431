import { freePort, startAzurite, type RunningAzurite } from '../../dev/azurite';

/** One in-memory Azurite for the whole run, on free ports, with an account per jest worker for isolation. */
export const WORKER_ACCOUNTS = Array.from({ length: 8 }, (_, index) => `worker${index + 1}`);

declare global {
  // eslint-disable-next-line no-var
  var __AZURITE__: RunningAzurite | undefined;
}

export default async function globalSetup(): Promise<void> {
  const ports = { blob: await freePort(), queue: await freePort(), table: await freePort() };
  const azurite = await startAzurite({ ports, accounts: WORKER_ACCOUNTS });
  globalThis.__AZURITE__ = azurite;
  // Workers inherit the environment of the process that spawns them.
  process.env.TEST_AZURITE_PORTS = JSON.stringify(ports);
}
