import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';

/** The Functions host's own default when host.json does not set it. */
export const DEFAULT_MAX_DEQUEUE_COUNT = 5;
const OVERRIDE = 'AzureFunctionsJobHost__extensions__queues__maxDequeueCount';

const hostJsonSchema = z.looseObject({
  extensions: z.looseObject({ queues: z.looseObject({ maxDequeueCount: z.coerce.number().int().min(1).optional() }).optional() }).optional(),
});

/** host.json of the app: next to package.json at the app root (the bundle lives in dist/, the sources one level down). */
export function findHostJson(starts: readonly string[] = [process.cwd(), __dirname]): string | undefined {
  for (const start of starts) {
    let directory = path.resolve(start);
    for (let depth = 0; depth < 4; depth += 1) {
      const candidate = path.join(directory, 'host.json');
      if (existsSync(candidate)) return candidate;
      const parent = path.dirname(directory);
      if (parent === directory) break;
      directory = parent;
    }
  }
  return undefined;
}

/**
 * The queue trigger's effective maxDequeueCount, as the Functions host computes it: the app setting
 * AzureFunctionsJobHost__extensions__queues__maxDequeueCount over host.json over the default (5).
 * A value that is not a whole number ≥ 1 is ignored (the host would refuse to start with it anyway).
 */
export function effectiveMaxDequeueCount(env: Record<string, string | undefined> = process.env, hostJsonPath: string | undefined = findHostJson()): number {
  const override = env[OVERRIDE]?.trim();
  if (override && /^\d+$/u.test(override) && Number(override) >= 1) return Number(override);
  if (hostJsonPath) {
    try {
      const parsed = hostJsonSchema.safeParse(JSON.parse(readFileSync(hostJsonPath, 'utf8')));
      const value = parsed.success ? parsed.data.extensions?.queues?.maxDequeueCount : undefined;
      if (value !== undefined) return value;
    } catch {
      // Unreadable host.json: the host would not run either; fall back to its default.
    }
  }
  return DEFAULT_MAX_DEQUEUE_COUNT;
}
