/** The one error every bad setting ends in: it names each setting and what is wrong with it. */


const SETTINGS_HINT = 'Set it in the Function App settings (Azure) or in local.settings.json / the environment (locally).';

export class ConfigError extends Error {
  constructor(
    readonly problems: Array<{ setting: string; problem: string }>,
    hint: string = SETTINGS_HINT,
  ) {
    super(`Invalid configuration: ${problems.map((p) => `${p.setting} ${p.problem}`).join('; ')}. ${hint}`);
    this.name = 'ConfigError';
  }
}

export type Environment = Record<string, string | undefined>;

/** App settings left empty in the portal arrive as "": treat them as absent so defaults apply. */
export function blankToUndefined(env: Environment): Record<string, string | undefined> {
  const result: Record<string, string | undefined> = {};
  for (const [key, value] of Object.entries(env)) result[key] = value === undefined || value.trim() === '' ? undefined : value;
  return result;
}
