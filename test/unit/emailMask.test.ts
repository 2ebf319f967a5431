/**
 * Email masks in logs are keyed per deployment: equal within one deployment (an operator can match lines of
 * different instances and restarts), different under another key, and without the key a guessed address cannot
 * be confirmed from a log line (an unkeyed hash of the address could be).
 */
import { createHash } from 'node:crypto';
import { loadConfig } from '../../shared/config';
import { deriveEmailKey, emailDigest, maskEmail, redact, useEmailKey } from '../../shared/log';
import { buildServices } from '../../shared/services';

const EMAILS = ['robert.townes@contoso.example', 'jane.doe@example.com', 'a@b.co', 'user@bücher.de', 'x+tag@sub.example.co.uk'];

afterAll(() => useEmailKey(deriveEmailKey(process.env.WEBHOOK_CLIENT_STATE ?? 'a test deployment secret')));

test('the same address gives the same mask within one deployment, however it is written', () => {
  useEmailKey(deriveEmailKey('deployment one secret value'));
  const mask = maskEmail('Robert.Townes@Contoso.example');
  expect(maskEmail(' robert.townes@contoso.example ')).toMatch(/#[0-9a-f]{6}$/u);
  expect(maskEmail('robert.townes@contoso.example').slice(-7)).toBe(mask.slice(-7));
  // NFD and NFC of one address are one address.
  expect(emailDigest('jos\u0065\u0301@example.com')).toBe(emailDigest('jos\u00e9@example.com'));
  // Another instance (or a restart) derives the same key from the same setting.
  const first = EMAILS.map((email) => maskEmail(email));
  useEmailKey(deriveEmailKey('deployment one secret value'));
  expect(EMAILS.map((email) => maskEmail(email))).toEqual(first);
});

test('another key gives other masks', () => {
  useEmailKey(deriveEmailKey('deployment one secret value'));
  const one = EMAILS.map((email) => emailDigest(email));
  useEmailKey(deriveEmailKey('deployment two secret value'));
  const two = EMAILS.map((email) => emailDigest(email));
  for (const [index, digest] of one.entries()) expect(two[index]).not.toBe(digest);
});

test('a mask holds no clear text and cannot be recomputed from a guess without the key', () => {
  useEmailKey(deriveEmailKey('deployment one secret value'));
  for (const email of EMAILS) {
    const mask = maskEmail(email);
    const [local = '', domain = ''] = email.split('@');
    // Only the first character of each part shows.
    if (local.length > 1) expect(mask).not.toContain(local.slice(1));
    expect(mask).not.toContain(domain.slice(1));
    // The unkeyed hash of the guessed address (what a mask used to be) does not match.
    const unkeyed = createHash('sha256').update(email.trim().toLowerCase()).digest('hex').slice(0, 6);
    expect(mask.endsWith(`#${unkeyed}`)).toBe(false);
  }
  expect(redact('customer jane.doe@example.com failed')).toBe(`customer ${maskEmail('jane.doe@example.com')} failed`);
});

test('the services key the masks from WEBHOOK_CLIENT_STATE: stable for the deployment, no new secret to manage', () => {
  const config = loadConfig(process.env);
  useEmailKey(deriveEmailKey('something else entirely'));
  const before = maskEmail('jane.doe@example.com');
  buildServices(config);
  const configured = maskEmail('jane.doe@example.com');
  expect(configured).not.toBe(before);
  useEmailKey(deriveEmailKey(config.webhook.clientState));
  expect(maskEmail('jane.doe@example.com')).toBe(configured);
});
