import { loadOrNotConfigured } from '../../shared/http/apiErrors';
import { ConfigError } from '../../shared/config';

describe('loadOrNotConfigured', () => {
  test('hands back what loads', () => {
    const errors: string[] = [];
    expect(loadOrNotConfigured(() => 42, { error: (message) => errors.push(message) }, 'manual sync')).toEqual({ ok: true, value: 42 });
    expect(errors).toEqual([]);
  });

  test('unusable settings: 503 NotConfigured with Retry-After, logged with the route and the setting', () => {
    const errors: string[] = [];
    const result = loadOrNotConfigured(
      () => {
        throw new ConfigError([{ setting: 'IPAAS_API_TOKEN', problem: 'is required' }]);
      },
      { error: (message) => errors.push(message) },
      'manual sync',
    );
    expect(result).toEqual({
      ok: false,
      response: { status: 503, headers: { 'Retry-After': '60' }, jsonBody: { error: { code: 'NotConfigured', message: 'The service is not configured; try again later' } } },
    });
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^manual sync: settings are not usable: .*IPAAS_API_TOKEN/u);
  });
});
