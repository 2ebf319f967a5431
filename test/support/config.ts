import { ConfigError, loadConfig } from '../../shared/config';

/** The message loadConfig refuses `env` with; fails the test when it accepts it or throws anything else. */
export function configProblem(env: Record<string, string | undefined>): string {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).message;
  }
  throw new Error('expected a ConfigError');
}
