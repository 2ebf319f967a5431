import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DEFAULT_MAX_DEQUEUE_COUNT, effectiveMaxDequeueCount, findHostJson } from '../../shared/hostJson';

describe('the poison handler reads the effective maxDequeueCount', () => {
  const directory = mkdtempSync(path.join(tmpdir(), 'hostjson-'));
  const file = path.join(directory, 'host.json');
  afterAll(() => rmSync(directory, { recursive: true, force: true }));

  test('the project host.json is found and its value used', () => {
    const found = findHostJson();
    expect(found).toBe(path.resolve(__dirname, '../../host.json'));
    expect(effectiveMaxDequeueCount({}, found)).toBe(5);
  });

  test('host.json value, then the app setting override, then the default', () => {
    writeFileSync(file, JSON.stringify({ version: '2.0', extensions: { queues: { maxDequeueCount: 8 } } }));
    expect(effectiveMaxDequeueCount({}, file)).toBe(8);
    expect(effectiveMaxDequeueCount({ AzureFunctionsJobHost__extensions__queues__maxDequeueCount: '3' }, file)).toBe(3);
    // A malformed override is ignored, as the host would refuse it.
    expect(effectiveMaxDequeueCount({ AzureFunctionsJobHost__extensions__queues__maxDequeueCount: 'three' }, file)).toBe(8);
    writeFileSync(file, JSON.stringify({ version: '2.0' }));
    expect(effectiveMaxDequeueCount({}, file)).toBe(DEFAULT_MAX_DEQUEUE_COUNT);
    expect(effectiveMaxDequeueCount({}, undefined)).toBe(DEFAULT_MAX_DEQUEUE_COUNT);
  });
});
