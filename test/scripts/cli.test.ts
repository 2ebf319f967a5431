/** The command-line reading every script shares (scripts/cli.ts): strict flags, -h everywhere, usage errors alike. */
import { companyFlag, helpOrUsageError, readCommandLine } from '../../scripts/cli';
import { parseCommandLine as parseReplay } from '../../scripts/replay';
import { parseCommandLine as parseReconcile } from '../../scripts/reconcile';

const options = { fix: { type: 'boolean' }, company: { type: 'string' } } as const;
const read = (argv: string[], positionals = false) => readCommandLine(argv, options, (values, rest) => ({ kind: 'run', values, rest }), positionals);

describe('readCommandLine', () => {
  it('answers -h and --help before anything else', () => {
    expect(read(['-h'])).toEqual({ kind: 'help' });
    expect(read(['--fix', '--help'])).toEqual({ kind: 'help' });
  });

  it('refuses an unknown flag, a missing value and, unless allowed, a positional', () => {
    expect(read(['--fixx'])).toMatchObject({ kind: 'usageError', message: expect.stringContaining('--fixx') });
    expect(read(['--company'])).toMatchObject({ kind: 'usageError', message: expect.stringContaining('--company') });
    expect(read(['10000'])).toEqual({ kind: 'usageError', message: "Unexpected argument '10000'. This command does not take positional arguments" });
    expect(read(['10000'], true)).toEqual({ kind: 'run', values: {}, rest: ['10000'] });
  });

  it('hands the typed flags to the command', () => {
    expect(read(['--fix', '--company', 'CRONUS'])).toEqual({ kind: 'run', values: { fix: true, company: 'CRONUS' }, rest: [] });
  });
});

describe('the commands read alike', () => {
  it('reconcile and replay both refuse a positional and answer -h', () => {
    expect(parseReconcile(['now'])).toMatchObject({ kind: 'usageError' });
    expect(parseReplay(['now'])).toMatchObject({ kind: 'usageError' });
    expect(parseReconcile(['-h'])).toEqual({ kind: 'help' });
    expect(parseReplay(['-h'])).toEqual({ kind: 'help' });
  });

  it('--company needs a value that is not blank', () => {
    expect(companyFlag(undefined)).toEqual({});
    expect(companyFlag(' CRONUS USA ')).toEqual({ company: 'CRONUS USA' });
    expect(companyFlag('  ')).toEqual({ error: '--company needs a company GUID or name' });
    expect(parseReconcile(['--company', ' '])).toEqual({ kind: 'usageError', message: '--company needs a company GUID or name' });
  });

  it('help goes to stdout with 0, a usage error to stderr with 2, the usage after it', () => {
    const lines: string[] = [];
    const io = { out: (text: string) => lines.push(`out ${text}`), err: (text: string) => lines.push(`err ${text}`) };
    expect(helpOrUsageError('replay', { kind: 'help' }, 'Usage: x', io)).toBe(0);
    expect(helpOrUsageError('replay', { kind: 'usageError', message: 'bad' }, 'Usage: x', io)).toBe(2);
    expect(helpOrUsageError('replay', { kind: 'run' }, 'Usage: x', io)).toBeUndefined();
    expect(lines).toEqual(['out Usage: x', 'err replay: bad\n\nUsage: x']);
  });
});
