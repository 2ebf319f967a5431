/**
 * Catches secrets and personal data in logs: every line a suite produces (the host's log handler, the
 * console, a child process's output) is kept, then searched for each secret and each raw email address.
 */

export interface Needle {
  /** What the value is, for the failure message (never the value itself). */
  label: string;
  value: string;
}

export class LogCapture {
  readonly lines: string[] = [];

  add(line: string): void {
    this.lines.push(line);
  }

  /** Records every console call of this process (and keeps the output quiet) until the returned function is called. */
  captureConsole(): () => void {
    const methods = ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const;
    const spies = methods.map((method) =>
      jest.spyOn(console, method).mockImplementation((...args: unknown[]) => {
        this.add(`[console.${method}] ${args.map(stringify).join(' ')}`);
      }),
    );
    return () => {
      for (const spy of spies) spy.mockRestore();
    };
  }
}

function stringify(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value instanceof Error) return `${value.name}: ${value.message}\n${value.stack ?? ''}`;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** The settings that are secrets, as the functions read them. */
export function secretNeedles(env: Record<string, string | undefined> = process.env): Needle[] {
  return ['BC_CLIENT_SECRET', 'IPAAS_API_TOKEN', 'WEBHOOK_CLIENT_STATE']
    .map((name) => ({ label: `setting ${name}`, value: env[name] ?? '' }))
    .filter((needle) => needle.value.length >= 8);
}

/** The access tokens the fake Entra ID issued during the run. */
export function tokenNeedles(tokens: Iterable<string>): Needle[] {
  return [...tokens].map((value, index) => ({ label: `Entra access token #${index + 1}`, value }));
}

/** Each address as written and percent-encoded (as it would appear in a logged URL). Very short strings are not searched: they would match innocent text. */
export function emailNeedles(emails: Iterable<string>): Needle[] {
  const needles: Needle[] = [];
  let index = 0;
  for (const raw of emails) {
    index += 1;
    const email = raw.trim();
    if (email.length < 6 || !email.includes('@')) continue;
    needles.push({ label: `test email #${index}`, value: email });
    const encoded = encodeURIComponent(email);
    if (encoded !== email) needles.push({ label: `test email #${index} (percent-encoded)`, value: encoded });
  }
  return needles;
}

/** Where each needle occurs in the lines: "label in line N" entries; empty when clean. Emails compare case-insensitively. */
export function findLeaks(lines: readonly string[], needles: readonly Needle[]): string[] {
  const found: string[] = [];
  const lowered = lines.map((line) => line.toLowerCase());
  for (const needle of needles) {
    const value = needle.value.toLowerCase();
    const at = lowered.findIndex((line) => line.includes(value));
    if (at >= 0) found.push(`${needle.label} in log line ${at + 1}: ${excerpt(lines[at] ?? '', needle.value)}`);
  }
  return found;
}

/** The line around the hit with the secret itself blanked, so a failure report does not leak it again. */
function excerpt(line: string, value: string): string {
  const at = line.toLowerCase().indexOf(value.toLowerCase());
  const start = Math.max(0, at - 60);
  const text = line.slice(start, at) + '«LEAK»' + line.slice(at + value.length, at + value.length + 60);
  return JSON.stringify(text);
}
