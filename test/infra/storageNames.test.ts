/**
 * Every queue, table and blob container the code reads or writes is created by infra/modules/storage.bicep, and
 * nothing else is. The queue names come from the code itself: every string shared/queueNames.ts exports, and every
 * queue a function is bound to (as the Functions host receives the registrations), so a poison queue that gets a
 * reader, or a queue added later, fails here until Bicep creates it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { loadFunctionApp } from '../../dev/host/loadApp';
import * as queueNames from '../../shared/queueNames';
import { RECONCILIATIONS_CONTAINER } from '../../shared/storage/reconcileStore';
import { TRANSFERS_TABLE } from '../../shared/storage/transferStore';

const ROOT = path.resolve(__dirname, '..', '..');
const storageBicep = readFileSync(path.join(ROOT, 'infra/modules/storage.bicep'), 'utf8');

/** `var name = [ 'a' \n 'b' ]` → ['a', 'b']. */
function bicepStringArray(variable: string): string[] {
  const match = new RegExp(`^var\\s+${variable}\\s*=\\s*\\[([^\\]]*)\\]`, 'mu').exec(storageBicep);
  if (!match?.[1]) throw new Error(`infra/modules/storage.bicep: var ${variable} = [...] not found`);
  return [...match[1].matchAll(/'([^']*)'/gu)].map((item) => item[1] ?? '');
}

const sorted = (values: Iterable<string>): string[] => [...new Set(values)].sort();

/** The names shared/storage/* exports as `<X>_TABLE` or `<X>_CONTAINER` (where the storage code names what it uses). */
function storageExports(suffix: '_TABLE' | '_CONTAINER'): string[] {
  const folder = path.join(ROOT, 'shared', 'storage');
  return readdirSync(folder)
    .filter((file) => file.endsWith('.ts'))
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    .flatMap((file) => Object.entries(require(path.join(folder, file)) as Record<string, unknown>))
    .filter(([name, value]) => name.endsWith(suffix) && typeof value === 'string')
    .map(([, value]) => value as string);
}

/** The queues of the function registrations (queue triggers, and queue output bindings should any appear). */
function boundQueues(): string[] {
  return loadFunctionApp(ROOT).flatMap((registration) =>
    Object.values(registration.metadata.bindings)
      .filter((binding) => binding.type === 'queueTrigger' || binding.type === 'queue')
      .map((binding) => {
        if (typeof binding.queueName !== 'string' || binding.queueName === '') throw new Error(`${registration.metadata.name}: a queue binding without queueName`);
        return binding.queueName;
      }),
  );
}

describe('infra/modules/storage.bicep creates what the code uses', () => {
  const named: string[] = (Object.values(queueNames) as unknown[]).filter((value): value is string => typeof value === 'string');
  const bound = boundQueues();

  it('reads the code: the names of shared/queueNames.ts and the queues the functions are bound to', () => {
    expect(named).toEqual(expect.arrayContaining(['customer-sync', 'customer-sync-poison', 'customer-catchup', 'reconcile']));
    expect(bound).toEqual(expect.arrayContaining(['customer-sync', 'customer-sync-poison']));
  });

  it('every queue, and no other', () => {
    const needed = sorted([...named, ...bound]);
    const created = sorted(bicepStringArray('queueNames'));
    const missing = needed.filter((name) => !created.includes(name));
    const extra = created.filter((name) => !needed.includes(name));
    if (missing.length > 0) throw new Error(`The code uses queues ${missing.join(', ')}: add them to queueNames in infra/modules/storage.bicep`);
    if (extra.length > 0) throw new Error(`infra/modules/storage.bicep creates queues ${extra.join(', ')} that no code uses`);
  });

  it('every table and blob container the storage code names (its <X>_TABLE and <X>_CONTAINER exports)', () => {
    const tables = storageExports('_TABLE');
    const containers = storageExports('_CONTAINER');
    expect(tables).toContain(TRANSFERS_TABLE);
    expect(containers).toContain(RECONCILIATIONS_CONTAINER);
    expect(sorted(bicepStringArray('tableNames'))).toEqual(sorted(tables));
    expect(sorted(bicepStringArray('containerNames'))).toEqual(sorted(containers));
  });
});
