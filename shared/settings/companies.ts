/** The companies a deployment serves: BC_COMPANIES (checked entry by entry) or BC_COMPANY_ID, with each company's token and mapping. */
import { z } from 'zod';
import { GUID_PATTERN } from '../guid';
import { MappingFileError } from '../mapping/mappingFile';
import { ConfigError, type Environment, blankToUndefined } from './configError';
import { type MappingConfig, loadCompanyMapping, loadMappingConfig } from './mapping';

/** One company of BC_COMPANIES (or the single company of BC_COMPANY_ID) with its own settings resolved. */
export interface CompanyConfig {
  /** The company's GUID, lower case. */
  id: string;
  /**
   * BC_COMPANIES `name`, used in routes, logs, telemetry and the console. With BC_COMPANY_ID there is no name to
   * read, and none is invented: the name is the id.
   */
  name: string;
  /** Position in BC_COMPANIES (0 for BC_COMPANY_ID). */
  index: number;
  ipaas: {
    /** `ipaasSystemId`, else IPAAS_SYSTEM_ID; undefined: no external id links. */
    systemId: number | undefined;
    /** The token: the setting `ipaasApiTokenSetting` names, else IPAAS_API_TOKEN. Never logged. */
    apiToken: string;
    /** Which setting holds the token (for messages and the doctor): `ipaasApiTokenSetting`, else IPAAS_API_TOKEN. */
    tokenSetting: string;
  };
  /** `mappingFile`, else CUSTOMER_MAPPING_FILE, else the shipped file; checked and compiled. */
  mapping: MappingConfig;
}

/**
 * The companies alone, as the host checks them at start (BC_COMPANIES or BC_COMPANY_ID with their mapping files
 * and token settings): a ConfigError naming the setting and the entry. Without BC_COMPANIES nothing is checked
 * here beyond what loadMappingConfig checks (a missing BC_COMPANY_ID is reported by health, as before).
 */
export function loadCompaniesConfig(env: Environment = process.env): CompanyConfig[] {
  const values = blankToUndefined(env);
  if (!values.BC_COMPANIES) return [];
  const mapping = loadMappingConfig(env);
  const { companies, problems } = loadCompanies(values, env, mapping, false);
  if (problems.length > 0) throw new ConfigError(problems);
  return companies;
}

/**
 * The companies' ids and names alone, read leniently (tools that need no other setting, e.g. `npm run replay`):
 * BC_COMPANIES entries with a GUID id, or BC_COMPANY_ID; [] when neither can be read.
 */
export function companyRefsOf(env: Environment): Array<{ id: string; name: string }> {
  const list = env.BC_COMPANIES?.trim();
  if (list) {
    try {
      const json: unknown = JSON.parse(list);
      if (!Array.isArray(json)) return [];
      return json.flatMap((entry: unknown) => {
        const { id, name } = (typeof entry === 'object' && entry !== null ? entry : {}) as { id?: unknown; name?: unknown };
        return typeof id === 'string' && GUID_PATTERN.test(id.trim()) ? [{ id: id.trim().toLowerCase(), name: typeof name === 'string' && name.trim() ? name.trim() : id.trim().toLowerCase() }] : [];
      });
    } catch {
      return [];
    }
  }
  const single = env.BC_COMPANY_ID?.trim();
  return single && GUID_PATTERN.test(single) ? [{ id: single.toLowerCase(), name: single.toLowerCase() }] : [];
}

/** Longest company name: it appears in routes, log lines and the console. */
export const MAX_COMPANY_NAME_LENGTH = 100;
/** Characters a company name may not hold: route delimiters (even URL-encoded, hosts may decode them) and controls. */
const FORBIDDEN_NAME_CHARS = /[/\\?#%\u0000-\u001f\u007f]/u;
const SETTING_NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,127}$/u;

const companyEntrySchema = z.strictObject(
  {
    id: z.string({ error: 'id is required (the company GUID)' }).trim().regex(GUID_PATTERN, 'id must be a GUID such as 3f2504e0-4f89-11d3-9a0c-0305e82c3301'),
    name: z
      .string({ error: 'name is required (a unique label used in routes, logs and the console)' })
      .trim()
      .min(1, 'name must not be empty')
      .max(MAX_COMPANY_NAME_LENGTH, `name must have at most ${MAX_COMPANY_NAME_LENGTH} characters`)
      .refine((name) => !FORBIDDEN_NAME_CHARS.test(name), 'name must not contain / \\ ? # % or control characters (it is used in routes)'),
    ipaasSystemId: z
      .union([z.number(), z.string().trim()], { error: 'ipaasSystemId must be a whole number greater than 0' })
      .transform(String)
      .pipe(z.string().regex(/^[1-9]\d{0,14}$/u, 'ipaasSystemId must be a whole number greater than 0 (the id of this company\'s Business Central system in iPaaS.com)').transform(Number))
      .optional(),
    mappingFile: z.string({ error: 'mappingFile must be a path' }).trim().min(1, 'mappingFile must not be empty').optional(),
    ipaasApiTokenSetting: z
      .string({ error: 'ipaasApiTokenSetting must be the name of another setting' })
      .trim()
      .regex(SETTING_NAME, 'ipaasApiTokenSetting must be the name of another setting (letters, digits, _ . -), not the token itself')
      .optional(),
  },
  { error: (issue) => (issue.code === 'unrecognized_keys' ? `unknown field(s) ${issue.keys.map((key) => `"${key}"`).join(', ')} (known: id, name, ipaasSystemId, mappingFile, ipaasApiTokenSetting)` : 'must be an object { "id", "name", ... }') },
);

/**
 * The companies: BC_COMPANIES (a JSON array) or BC_COMPANY_ID, exactly one of them. Every problem names the
 * setting and the entry (`BC_COMPANIES entry 2 ("CRONUS Canada"): ...`): a bad GUID, a duplicate id or name, a
 * token setting that is missing, a mapping file that does not load.
 */
export function loadCompanies(
  values: Record<string, string | undefined>,
  env: Environment,
  defaultMapping: MappingConfig | undefined,
  defaultMappingBroken: boolean,
): { companies: CompanyConfig[]; problems: Array<{ setting: string; problem: string }> } {
  const problems: Array<{ setting: string; problem: string }> = [];
  const single = values.BC_COMPANY_ID?.trim();
  const list = values.BC_COMPANIES?.trim();
  const systemId = parseSystemId(values.IPAAS_SYSTEM_ID);
  const globalToken = values.IPAAS_API_TOKEN?.trim() || undefined;
  const tokenNeeded = () => {
    if (!globalToken) problems.push({ setting: 'IPAAS_API_TOKEN', problem: 'is required' });
  };
  if (single && list) {
    problems.push({ setting: 'BC_COMPANIES', problem: 'and BC_COMPANY_ID are both set: keep exactly one (BC_COMPANIES for several companies, listing the BC_COMPANY_ID company first)' });
    return { companies: [], problems };
  }
  if (!list) {
    if (!single) problems.push({ setting: 'BC_COMPANY_ID', problem: 'is required (or BC_COMPANIES for several companies)' });
    tokenNeeded();
    // A malformed BC_COMPANY_ID is reported by the schema.
    if (!single || !GUID_PATTERN.test(single) || !defaultMapping || !globalToken) return { companies: [], problems };
    const id = single.toLowerCase();
    return { companies: [{ id, name: id, index: 0, ipaas: { systemId, apiToken: globalToken, tokenSetting: 'IPAAS_API_TOKEN' }, mapping: defaultMapping }], problems };
  }

  let json: unknown;
  try {
    json = JSON.parse(list);
  } catch {
    problems.push({ setting: 'BC_COMPANIES', problem: 'must be a JSON array such as [{"id":"<company GUID>","name":"CRONUS USA, Inc."}]' });
    return { companies: [], problems };
  }
  if (!Array.isArray(json) || json.length === 0) {
    problems.push({ setting: 'BC_COMPANIES', problem: 'must be a non-empty JSON array such as [{"id":"<company GUID>","name":"CRONUS USA, Inc."}]' });
    return { companies: [], problems };
  }
  const companies: CompanyConfig[] = [];
  const ids = new Map<string, number>();
  const names = new Map<string, number>();
  let globalTokenNeeded = false;
  json.forEach((raw: unknown, index) => {
    const rawName = typeof raw === 'object' && raw !== null && typeof (raw as { name?: unknown }).name === 'string' ? ((raw as { name: string }).name.trim()) : '';
    const entry = `entry ${index + 1}${rawName ? ` ("${rawName}")` : ''}`;
    const problem = (text: string) => problems.push({ setting: 'BC_COMPANIES', problem: `${entry}: ${text}` });
    const parsed = companyEntrySchema.safeParse(raw);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) problem(issue.message);
      return;
    }
    const { id: rawId, name, ipaasSystemId, mappingFile, ipaasApiTokenSetting } = parsed.data;
    const id = rawId.toLowerCase();
    const sameId = ids.get(id);
    if (sameId !== undefined) problem(`id ${id} is also entry ${sameId + 1}'s: each company once`);
    ids.set(id, index);
    const sameName = names.get(name.toLowerCase());
    if (sameName !== undefined) problem(`name "${name}" is also entry ${sameName + 1}'s: names must be unique (case is ignored)`);
    names.set(name.toLowerCase(), index);
    // A name shaped like a GUID would make `/api/companies/{company}/...` ambiguous.
    if (GUID_PATTERN.test(name) && name.toLowerCase() !== id) problem('name must not be a GUID (other than the company\'s own id)');
    let apiToken = globalToken;
    if (ipaasApiTokenSetting) {
      apiToken = env[ipaasApiTokenSetting]?.trim() || undefined;
      if (!apiToken) problem(`ipaasApiTokenSetting names ${ipaasApiTokenSetting}, which is not set (set it to this company's iPaaS.com API token, e.g. as a Key Vault reference)`);
    } else {
      globalTokenNeeded = true;
    }
    let mapping = defaultMapping;
    if (mappingFile) {
      try {
        mapping = loadCompanyMapping(mappingFile);
      } catch (error) {
        if (!(error instanceof MappingFileError)) throw error;
        problem(`mappingFile does not load (${error.message})`);
        mapping = undefined;
      }
    } else if (defaultMappingBroken) {
      // CUSTOMER_MAPPING_FILE's own problem is reported once, under its name.
      mapping = undefined;
    }
    if (!apiToken || !mapping) return;
    companies.push({
      id,
      name,
      index,
      ipaas: { systemId: ipaasSystemId ?? systemId, apiToken, tokenSetting: ipaasApiTokenSetting ?? 'IPAAS_API_TOKEN' },
      mapping,
    });
  });
  if (globalTokenNeeded) tokenNeeded();
  return { companies: problems.length > 0 ? [] : companies, problems };
}

function parseSystemId(value: string | undefined): number | undefined {
  const trimmed = value?.trim();
  return trimmed && /^[1-9]\d{0,14}$/u.test(trimmed) ? Number(trimmed) : undefined;
}
