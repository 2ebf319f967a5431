import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';

export type Settings = Record<string, string>;

/** Settings whose absence (all of them) switches `npm start` to the sandbox. */
export const REMOTE_SETTINGS = [
  'BC_TENANT_ID',
  'BC_CLIENT_ID',
  'BC_CLIENT_SECRET',
  'BC_ENVIRONMENT',
  'BC_COMPANY_ID',
  'IPAAS_API_BASE_URL',
  'IPAAS_API_TOKEN',
] as const;

export const BUILT_IN_DEFAULTS: Settings = {
  FUNCTIONS_WORKER_RUNTIME: 'node',
  AzureWebJobsStorage: 'UseDevelopmentStorage=true',
};

const localSettingsSchema = z.looseObject({
  IsEncrypted: z.boolean().optional(),
  Values: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
});

/** Reads local.settings.json's Values when the file exists; a broken file is an error that names it. */
export function readLocalSettings(root: string): Settings {
  const file = path.join(root, 'local.settings.json');
  if (!existsSync(file)) return {};
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`local.settings.json is not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  const parsed = localSettingsSchema.safeParse(json);
  if (!parsed.success) throw new Error('local.settings.json must be { "Values": { "NAME": "value", ... } }');
  if (parsed.data.IsEncrypted) throw new Error('local.settings.json is encrypted; decrypt it (func settings decrypt) or use plain values');
  return Object.fromEntries(Object.entries(parsed.data.Values ?? {}).map(([key, value]) => [key, String(value)]));
}

/** Built-in defaults, then local.settings.json, then the process environment (highest); blank values count as unset. */
export function resolveSettings(root: string, env: NodeJS.ProcessEnv = process.env): Settings {
  const merged: Settings = { ...BUILT_IN_DEFAULTS };
  for (const source of [readLocalSettings(root), env]) {
    for (const [key, value] of Object.entries(source)) {
      if (value !== undefined && value.trim() !== '') merged[key] = value;
    }
  }
  return merged;
}

export type Mode = { kind: 'sandbox' } | { kind: 'real' } | { kind: 'incomplete'; missing: string[] };

/** BC_COMPANIES stands in for BC_COMPANY_ID (several companies); IPAAS_API_TOKEN is then still the default token. */
export function chooseMode(settings: Settings): Mode {
  const present = (name: string) => Boolean(settings[name]) || (name === 'BC_COMPANY_ID' && Boolean(settings.BC_COMPANIES));
  const missing = REMOTE_SETTINGS.filter((name) => !present(name));
  if (missing.length === REMOTE_SETTINGS.length) return { kind: 'sandbox' };
  if (missing.length === 0) return { kind: 'real' };
  return { kind: 'incomplete', missing: missing.map((name) => (name === 'BC_COMPANY_ID' ? 'BC_COMPANY_ID (or BC_COMPANIES)' : name)) };
}

/** The sandbox's companies: CRONUS USA with the seed scenarios, and, with two, CRONUS Canada (dev/sandbox/demoData.ts). */
export const SANDBOX_COMPANIES = {
  usa: { id: 'f64eba74-dacd-4854-a584-1834f68cfc3a', name: 'CRONUS USA, Inc.' },
  canada: { id: '2c9e4b1a-7f3d-4c8e-9a6b-5d0e1f2a3b4c', name: 'CRONUS Canada' },
} as const;
/** Canada's own iPaaS.com system id and API key, to show that each company may have its own. */
export const SANDBOX_CANADA_SYSTEM_ID = 1208;
export const SANDBOX_CANADA_TOKEN_SETTING = 'IPAAS_API_TOKEN_CANADA';

/**
 * Fixed sandbox identities; the hosts use the reserved .test domain so nothing real is ever reached. With
 * `companies: 2` (what `npm start` runs) BC_COMPANIES names CRONUS USA and CRONUS Canada, the latter with its own
 * mapping file (numbers prefixed CA-), iPaaS.com system id and token setting.
 */
export function sandboxSettings(port: number, clientState: string, companies: 1 | 2 = 1): Settings {
  const two: Settings =
    companies === 2
      ? {
          // BC_COMPANY_ID left blank (unset): BC_COMPANIES replaces it.
          BC_COMPANY_ID: '',
          BC_COMPANIES: JSON.stringify([
            { id: SANDBOX_COMPANIES.usa.id, name: SANDBOX_COMPANIES.usa.name },
            {
              id: SANDBOX_COMPANIES.canada.id,
              name: SANDBOX_COMPANIES.canada.name,
              ipaasSystemId: SANDBOX_CANADA_SYSTEM_ID,
              mappingFile: 'dev/sandbox/cronus-canada-mapping.json',
              ipaasApiTokenSetting: SANDBOX_CANADA_TOKEN_SETTING,
            },
          ]),
          [SANDBOX_CANADA_TOKEN_SETTING]: 'sandbox-ipaas-token-canada',
        }
      : {};
  return {
    BC_TENANT_ID: '5b0e3d58-7c1a-4f1e-9d2b-6a3c8e4f0a11',
    BC_CLIENT_ID: 'c7d1e2f3-a4b5-4c6d-8e9f-0a1b2c3d4e5f',
    BC_CLIENT_SECRET: 'sandbox-client-secret',
    BC_ENVIRONMENT: 'sandbox',
    BC_COMPANY_ID: SANDBOX_COMPANIES.usa.id,
    BC_API_BASE_URL: 'https://api.businesscentral.sandbox.test/v2.0',
    AZURE_AUTHORITY_HOST: 'https://login.sandbox.test',
    IPAAS_API_BASE_URL: 'https://api.ipaas.sandbox.test',
    IPAAS_API_TOKEN: 'sandbox-ipaas-token',
    // The sandbox iPaaS.com's Business Central subscription (GET /subscriptions/v2/Subscriptions lists it).
    IPAAS_SYSTEM_ID: '1207',
    WEBHOOK_CLIENT_STATE: clientState,
    WEBHOOK_NOTIFICATION_URL: `http://localhost:${port}/api/webhooks/business-central`,
    ...two,
  };
}
