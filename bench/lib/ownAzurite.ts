import { freePort, startAzurite, type RunningAzurite } from '../../dev/azurite';
import { log } from './machine';

/**
 * Runs `work` on an Azurite of its own, in memory, stopped afterwards. The sections that write 100,000 rows or
 * messages (initial load, reconciliation) use one, so neither slows the other nor the sections after them: an
 * in-memory Azurite keeps what it was given until it stops, and its requests slow down as it grows.
 */
export async function withOwnAzurite<T>(what: string, work: (azurite: RunningAzurite) => Promise<T>): Promise<T> {
  const ports = { blob: await freePort(), queue: await freePort(), table: await freePort() };
  log(`${what}: starting an Azurite of its own on ports ${ports.blob}/${ports.queue}/${ports.table}`);
  const azurite = await startAzurite({ ports });
  try {
    return await work(azurite);
  } finally {
    await azurite.stop();
  }
}
