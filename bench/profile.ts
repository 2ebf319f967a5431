/**
 * Summarizes a V8 CPU profile (`BENCH_CPU_PROFILE=<dir> npm run bench -- --only floor` writes one per child
 * process): self time by function and by package or project folder, so where the CPU goes can be read without
 * DevTools.
 *
 *   npx tsx bench/profile.ts <file.cpuprofile> [--top 40] [--skip-seconds 10] [--until-seconds 60] [--per 200] [--match syncWorker] [--callers writev]
 *
 * `--skip-seconds` and `--until-seconds` keep a window of the profile (leave out module loading, warm-up); `--per n`
 * divides every time by n (customers in the window) to compare runs per customer; `--match` keeps only
 * samples whose stack holds a function whose name contains the text (the time spent under it, self time of its
 * callees included); `--callers` prints the stacks (six frames up) that the named function's self time came from.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

interface Args {
  file: string;
  top: number;
  skipMs: number;
  untilMs: number;
  per: number;
  match: string | undefined;
  callers: string | undefined;
}

function parseArgs(argv: string[]): Args {
  const [file, ...rest] = argv;
  if (!file) throw new Error('usage: npx tsx bench/profile.ts <file.cpuprofile> [--top 40] [--skip-seconds 10] [--match <function>]');
  const value = (flag: string): string | undefined => {
    const index = rest.indexOf(flag);
    return index >= 0 ? rest[index + 1] : undefined;
  };
  return {
    file,
    top: Number(value('--top') ?? 40),
    skipMs: Number(value('--skip-seconds') ?? 0) * 1000,
    untilMs: Number(value('--until-seconds') ?? Number.POSITIVE_INFINITY) * 1000,
    per: Number(value('--per') ?? 1),
    match: value('--match'),
    callers: value('--callers'),
  };
}

/** `node_modules/@scope/name` or `node_modules/name` → the package; a project file → its folder; Node's own → `node:`. */
function ownerOf(url: string): string {
  if (url === '') return '(native / V8)';
  if (url.startsWith('node:')) return 'node: (Node.js internals)';
  const modules = url.lastIndexOf('node_modules/');
  if (modules >= 0) {
    const [first, second] = url.slice(modules + 'node_modules/'.length).split('/');
    return first?.startsWith('@') ? `${first}/${second}` : (first ?? url);
  }
  const marker = url.indexOf('/issue-');
  const relative = marker >= 0 ? url.slice(url.indexOf('/', marker + 1) + 1) : url.replace(/^file:\/\//u, '');
  const parts = relative.split('/');
  return parts.length > 1 ? `${parts[0]}/${parts.length > 2 ? `${parts[1]}/` : ''}` : relative;
}

function main(): void {
  const { file, top, skipMs, untilMs, per, match, callers } = parseArgs(process.argv.slice(2));
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const underMatch = new Map<number, boolean>();
  const matches = (id: number): boolean => {
    if (!match) return true;
    const known = underMatch.get(id);
    if (known !== undefined) return known;
    const node = byId.get(id);
    const parentId = parent.get(id);
    const result = (node?.callFrame.functionName.includes(match) ?? false) || (parentId !== undefined && matches(parentId));
    underMatch.set(id, result);
    return result;
  };

  const selfByFunction = new Map<string, number>();
  const selfByOwner = new Map<string, number>();
  const byCallers = new Map<string, number>();
  const frameName = (id: number | undefined): string => {
    const frame = id === undefined ? undefined : byId.get(id)?.callFrame;
    return frame ? `${frame.functionName || '(anonymous)'}${frame.url ? ` ${path.basename(frame.url)}:${frame.lineNumber + 1}` : ''}` : '';
  };
  let total = 0;
  let elapsed = 0;
  profile.samples.forEach((id, index) => {
    const delta = profile.timeDeltas[index] ?? 0;
    elapsed += delta;
    if (elapsed / 1000 < skipMs || elapsed / 1000 >= untilMs || !matches(id)) return;
    const frame = byId.get(id)?.callFrame;
    if (!frame || frame.functionName === '(idle)' || frame.functionName === '(program)') return;
    total += delta;
    const where = frame.url ? `${path.basename(frame.url)}:${frame.lineNumber + 1}` : '';
    const key = `${frame.functionName || '(anonymous)'} ${where} [${ownerOf(frame.url)}]`;
    selfByFunction.set(key, (selfByFunction.get(key) ?? 0) + delta);
    const owner = frame.functionName === '(garbage collector)' ? '(garbage collector)' : ownerOf(frame.url);
    selfByOwner.set(owner, (selfByOwner.get(owner) ?? 0) + delta);
    if (callers && frame.functionName === callers) {
      const chain: string[] = [];
      for (let up = parent.get(id); up !== undefined && chain.length < 6; up = parent.get(up)) chain.push(frameName(up));
      const stack = chain.join(' < ');
      byCallers.set(stack, (byCallers.get(stack) ?? 0) + delta);
    }
  });
  const print = (title: string, entries: Map<string, number>, limit: number): void => {
    console.log(`\n${title}`);
    for (const [key, micros] of [...entries].sort((a, b) => b[1] - a[1]).slice(0, limit)) {
      const time = micros / 1000 / per;
      console.log(`${(per === 1 ? time.toFixed(0) : time.toFixed(3)).padStart(8)} ms ${((100 * micros) / total).toFixed(1).padStart(5)}%  ${key}`);
    }
  };
  const window = `${skipMs ? ` from ${skipMs / 1000} s` : ''}${Number.isFinite(untilMs) ? ` until ${untilMs / 1000} s` : ''}`;
  console.log(
    `${path.basename(file)}: ${(total / 1000).toFixed(0)} ms of CPU samples${window}${match ? ` under "${match}"` : ''} (idle excluded)` +
      (per === 1 ? '' : `; times below are per one of ${per}`),
  );
  print('self time by package / folder', selfByOwner, 25);
  print(`self time by function (top ${top})`, selfByFunction, top);
  if (callers) print(`where ${callers}'s self time came from`, byCallers, 15);
}

main();
