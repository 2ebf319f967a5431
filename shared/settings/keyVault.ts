/** Key Vault references the platform could not resolve, which arrive as their own text. */
import { type Environment } from './configError';

/** A Key Vault reference the platform could not resolve arrives as its literal text; never use that as a secret. */
export function unresolvedKeyVaultReferences(env: Environment): Array<{ setting: string; problem: string }> {
  return Object.entries(env)
    .filter(([, value]) => value?.trim().startsWith('@Microsoft.KeyVault('))
    .map(([setting]) => ({
      setting,
      problem: 'is an unresolved Key Vault reference (check the app\'s identity has "Key Vault Secrets User" and the secret exists)',
    }));
}
