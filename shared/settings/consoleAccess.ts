/** Who may open the operator console (CONSOLE_ACCESS), read on its own so a broken unrelated setting never locks operators out. */
import { z } from 'zod';
import { ConfigError, type Environment } from './configError';

export const CONSOLE_ACCESS_VALUES = ['open', 'signed-in', 'off'] as const;
export type ConsoleAccess = (typeof CONSOLE_ACCESS_VALUES)[number];
export const consoleAccessSetting = z.enum(CONSOLE_ACCESS_VALUES, { error: `must be one of ${CONSOLE_ACCESS_VALUES.join(', ')}` }).optional();

/**
 * Whether App Service Authentication is on for this app: the platform then sets WEBSITE_AUTH_ENABLED=True, and only
 * then does it remove X-MS-CLIENT-PRINCIPAL-* headers a client sends, so only then do those headers say who signed in.
 */
export function platformAuthenticationEnabled(env: Environment = process.env): boolean {
  return env.WEBSITE_AUTH_ENABLED?.trim().toLowerCase() === 'true';
}

/** What an operator is told when CONSOLE_ACCESS=signed-in but nothing signs anyone in. */
export const CONSOLE_SIGN_IN_MISSING =
  'The console needs sign-in, but App Service Authentication is off for this app (WEBSITE_AUTH_ENABLED is not true), so it cannot tell ' +
  'who you are. Turn sign-in on: `azd env set CONSOLE_CLIENT_ID <client id of an Entra ID app registration>` and `azd provision` ' +
  '(docs/deploy.md, "The operator console"). Or set CONSOLE_ACCESS=open (anyone who reaches the app) or off.';

/**
 * Who may open the operator console (GET /api/console): `open` (anyone who reaches it; the local default),
 * `signed-in` (a user signed in through App Service Authentication; the default in Azure, recognised by
 * WEBSITE_SITE_NAME) or `off`. Read alone, so a broken unrelated setting never locks operators out of the page
 * that shows it.
 */
export function loadConsoleAccess(env: Environment = process.env): ConsoleAccess {
  const raw = env.CONSOLE_ACCESS?.trim();
  if (!raw) return env.WEBSITE_SITE_NAME?.trim() ? 'signed-in' : 'open';
  const parsed = consoleAccessSetting.safeParse(raw);
  if (!parsed.success || !parsed.data) throw new ConfigError([{ setting: 'CONSOLE_ACCESS', problem: `must be one of ${CONSOLE_ACCESS_VALUES.join(', ')}` }]);
  return parsed.data;
}
