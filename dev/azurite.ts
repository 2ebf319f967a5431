import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, connect } from 'node:net';
import path from 'node:path';

/** The well-known Azurite development account key. */
export const DEV_ACCOUNT_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export interface AzuritePorts {
  blob: number;
  queue: number;
  table: number;
}

export const DEFAULT_AZURITE_PORTS: AzuritePorts = { blob: 10000, queue: 10001, table: 10002 };

export interface RunningAzurite {
  ports: AzuritePorts;
  connectionString(account?: string): string;
  stop(): Promise<void>;
}

export function azuriteConnectionString(ports: AzuritePorts, account = 'devstoreaccount1', key = DEV_ACCOUNT_KEY): string {
  const base = 'http://127.0.0.1';
  return (
    `DefaultEndpointsProtocol=http;AccountName=${account};AccountKey=${key};` +
    `BlobEndpoint=${base}:${ports.blob}/${account};QueueEndpoint=${base}:${ports.queue}/${account};` +
    `TableEndpoint=${base}:${ports.table}/${account};`
  );
}

export async function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A port the OS says is free right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, timeoutMs: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`Azurite exited with code ${child.exitCode} before it was ready`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`Azurite did not open port ${port} within ${timeoutMs} ms`);
}

/**
 * Runs Azurite's CLI (argv[1]) and ends it when its stdin closes, i.e. when the process that started it is gone,
 * however it ended; unref'd so that stdin alone does not keep Azurite alive after its own SIGTERM shutdown.
 */
const EXIT_WITH_PARENT = "process.stdin.on('end', () => process.exit(0)).resume().unref(); require(process.argv[1]);";

/**
 * Starts Azurite in memory (blob, queue, table) as a child process. Fails with a clear message when
 * a port is taken. `accounts` adds storage accounts beside devstoreaccount1 (all with the dev key).
 * `ownProcessGroup` (npm start): a terminal's Ctrl-C reaches only us, so Azurite is stopped after the host's
 * last storage calls rather than dying under them (which left shutdown waiting on storage retries); it still
 * ends with this process.
 */
export async function startAzurite(options: { ports?: AzuritePorts; accounts?: string[]; ownProcessGroup?: boolean } = {}): Promise<RunningAzurite> {
  const ports = options.ports ?? DEFAULT_AZURITE_PORTS;
  for (const [service, port] of Object.entries(ports)) {
    if (!(await isPortFree(port))) {
      throw new Error(
        `Azurite cannot start: port ${port} (${service}) is already in use. Stop whatever uses it ` +
          '(another Azurite or npm start?), or give npm start other ports: LOCAL_AZURITE_PORTS=20000,20001,20002.',
      );
    }
  }
  const accounts = ['devstoreaccount1', ...(options.accounts ?? [])].map((name) => `${name}:${DEV_ACCOUNT_KEY}`).join(';');
  const entry = path.join(path.dirname(require.resolve('azurite/package.json')), 'dist', 'src', 'azurite.js');
  const detached = options.ownProcessGroup === true;
  const child = spawn(
    process.execPath,
    [
      ...(detached ? ['-e', EXIT_WITH_PARENT] : []),
      entry,
      '--silent',
      '--inMemoryPersistence',
      '--skipApiVersionCheck',
      '--disableProductStyleUrl',
      '--blobHost', '127.0.0.1', '--blobPort', String(ports.blob),
      '--queueHost', '127.0.0.1', '--queuePort', String(ports.queue),
      '--tableHost', '127.0.0.1', '--tablePort', String(ports.table),
    ],
    { env: { ...process.env, AZURITE_ACCOUNTS: accounts }, stdio: [detached ? 'pipe' : 'ignore', 'ignore', 'pipe'], detached, windowsHide: true },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-2000);
  });
  try {
    await Promise.all([waitForPort(ports.blob, 20_000, child), waitForPort(ports.queue, 20_000, child), waitForPort(ports.table, 20_000, child)]);
  } catch (error) {
    child.kill('SIGKILL');
    throw new Error(`${error instanceof Error ? error.message : String(error)}${stderr ? `\n${stderr}` : ''}`);
  }
  return {
    ports,
    connectionString: (account) => azuriteConnectionString(ports, account),
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        child.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        child.kill('SIGTERM');
      }),
  };
}
