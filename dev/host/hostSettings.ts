import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';

/** host.json `hh:mm:ss` (optionally `d.hh:mm:ss` and fractions) → milliseconds. */
export function parseTimeSpan(value: string): number {
  const match = /^(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2}(?:\.\d+)?)$/u.exec(value.trim());
  if (!match) throw new Error(`"${value}" is not a time span of the form hh:mm:ss`);
  const [, days = '0', hours = '0', minutes = '0', seconds = '0'] = match;
  return Math.round(((Number(days) * 24 + Number(hours)) * 3600 + Number(minutes) * 60 + Number(seconds)) * 1000);
}

const hostJsonSchema = z.looseObject({
  extensions: z
    .looseObject({
      http: z.looseObject({ routePrefix: z.string().optional() }).optional(),
      queues: z
        .looseObject({
          maxPollingInterval: z.string().optional(),
          visibilityTimeout: z.string().optional(),
          batchSize: z.coerce.number().int().min(1).max(32).optional(),
          newBatchThreshold: z.coerce.number().int().min(0).optional(),
          maxDequeueCount: z.coerce.number().int().min(1).optional(),
          messageEncoding: z.enum(['base64', 'none']).optional(),
        })
        .optional(),
    })
    .optional(),
});

export interface HostSettings {
  routePrefix: string;
  queues: {
    maxPollingIntervalMs: number;
    visibilityTimeoutMs: number;
    batchSize: number;
    newBatchThreshold: number;
    maxDequeueCount: number;
    messageEncoding: 'base64' | 'none';
  };
}

const OVERRIDE_PREFIX = 'AzureFunctionsJobHost__';

/**
 * Reads host.json, then applies `AzureFunctionsJobHost__path__to__setting` environment overrides
 * exactly as the Functions host does (e.g. AzureFunctionsJobHost__extensions__queues__visibilityTimeout).
 */
export function loadHostSettings(root: string, env: Record<string, string | undefined> = process.env): HostSettings {
  const raw = JSON.parse(readFileSync(path.join(root, 'host.json'), 'utf8')) as Record<string, unknown>;
  for (const [key, value] of Object.entries(env)) {
    if (!key.startsWith(OVERRIDE_PREFIX) || value === undefined) continue;
    const segments = key.slice(OVERRIDE_PREFIX.length).split('__');
    let node: Record<string, unknown> = raw;
    for (const segment of segments.slice(0, -1)) {
      const next = node[segment];
      node[segment] = typeof next === 'object' && next !== null ? next : {};
      node = node[segment] as Record<string, unknown>;
    }
    node[segments[segments.length - 1] as string] = value;
  }
  const parsed = hostJsonSchema.parse(raw);
  const queues = parsed.extensions?.queues ?? {};
  const batchSize = queues.batchSize ?? 16;
  return {
    routePrefix: parsed.extensions?.http?.routePrefix ?? 'api',
    queues: {
      maxPollingIntervalMs: parseTimeSpan(queues.maxPollingInterval ?? '00:01:00'),
      visibilityTimeoutMs: parseTimeSpan(queues.visibilityTimeout ?? '00:00:00'),
      batchSize,
      newBatchThreshold: queues.newBatchThreshold ?? Math.floor(batchSize / 2),
      maxDequeueCount: queues.maxDequeueCount ?? 5,
      messageEncoding: queues.messageEncoding ?? 'base64',
    },
  };
}
