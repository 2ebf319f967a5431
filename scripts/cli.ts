/**
 * What every command of scripts/ (`npm run sync`, `replay`, `reconcile`) does the same way: read its flags strictly
 * with node:util parseArgs (-h/--help everywhere), answer --help and usage errors alike (exit code 2, the usage text
 * after the error), take `--company <GUID or name>`, and run as a process that exits with main's code.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { describeError } from '../shared/errors';

type Options = NonNullable<ParseArgsConfig['options']>;

export type CommandLine<T> = { kind: 'help' } | { kind: 'usageError'; message: string } | ({ kind: 'run' } & T);

/**
 * The flags of `argv` read against `options` (plus -h/--help), then turned into a command by `interpret`, which may
 * refuse with a usage error of its own.
 */
export function readCommandLine<const O extends Options, T>(
  argv: readonly string[],
  options: O,
  interpret: (values: ReturnType<typeof parseArgs<{ options: O; allowPositionals: true; strict: true }>>['values'], positionals: string[]) => CommandLine<T>,
  allowPositionals = false,
): CommandLine<T> {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], strict: true, allowPositionals: true, options: { ...options, help: { type: 'boolean', short: 'h' } } as O });
  } catch (error) {
    return { kind: 'usageError', message: error instanceof Error ? error.message : String(error) };
  }
  if ((parsed.values as { help?: boolean }).help) return { kind: 'help' };
  if (!allowPositionals && parsed.positionals.length > 0) return { kind: 'usageError', message: `Unexpected argument '${parsed.positionals[0] ?? ''}'. This command does not take positional arguments` };
  return interpret(parsed.values, parsed.positionals);
}

/** `--company <GUID or name>`: absent, or a non-empty value (which company it names is the command's to check). */
export function companyFlag(value: string | undefined): { company?: string } | { error: string } {
  if (value === undefined) return {};
  const company = value.trim();
  return company ? { company } : { error: '--company needs a company GUID or name' };
}

/**
 * Answers --help (usage on stdout, 0) and a usage error (`name: message`, then the usage, 2); undefined when the
 * command is to run.
 */
export function helpOrUsageError(name: string, command: CommandLine<unknown>, usage: string, io: { out(text: string): void; err(text: string): void } = { out: console.log, err: console.error }): number | undefined {
  if (command.kind === 'help') {
    io.out(usage);
    return 0;
  }
  if (command.kind === 'usageError') {
    io.err(`${name}: ${command.message}\n\n${usage}`);
    return 2;
  }
  return undefined;
}

/** Runs a command's main as the process: exits with its code, or with `failureCode` after `name failed: …`. */
export function runAsProcess(name: string, main: () => Promise<number>, failureCode: number): void {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(`${name} failed: ${describeError(error)}`);
      process.exit(failureCode);
    },
  );
}
