/**
 * Every error code a transfer can carry has a resolution of its own in the console, so a failure group always
 * says what to do (and whether the data must be fixed before a replay); only a code this version does not know
 * falls back to the generic text.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { RESOLUTIONS, resolutionOf } from '../../console/resolutions';
import { ERROR_CODES } from '../../shared/errors';

test.each([...ERROR_CODES])('%s has a resolution of its own', (code) => {
  expect(RESOLUTIONS[code]).toBeDefined();
  expect(resolutionOf(code).resolution).not.toBe(resolutionOf('SomeFutureCode').resolution);
});

test('a failure of the data asks for a fix before the replay; a failure of a service does not', () => {
  for (const code of ['InvalidEmail', 'MissingEmail', 'DuplicateCustomerNumber', 'MissingRequiredField', 'MappingFailed']) expect([code, resolutionOf(code).needsDataFix]).toEqual([code, true]);
  for (const code of ['RetriesExhausted', 'IpaasUnavailable', 'StorageUnavailable', 'InternalError']) expect([code, resolutionOf(code).needsDataFix]).toEqual([code, false]);
});

test('docs/console.md shows each resolution as the console does', () => {
  const doc = readFileSync(path.resolve(__dirname, '..', '..', 'docs', 'console.md'), 'utf8');
  for (const [code, { resolution }] of Object.entries(RESOLUTIONS)) expect([code, doc.includes(`| \`${code}\` | ${resolution} |`)]).toEqual([code, true]);
});
