import { OVERLAP_KEYS_MAX, overlapKey, OverlapTracker } from '../../shared/sync/pollOverlap';

const MINUTE = 60_000;
const at = (ms: number) => new Date(Date.parse('2026-11-25T08:00:00.000Z') + ms).toISOString();
const customer = (index: number, modifiedMs: number) => ({ id: `00000000-0000-0000-0000-${String(index).padStart(12, '0')}`, lastModifiedDateTime: at(modifiedMs) });

test('a key names the customer and its change: another timestamp is another key', () => {
  const first = customer(1, 0);
  expect(overlapKey(first)).toBe(overlapKey({ ...first }));
  expect(overlapKey(first)).toHaveLength(11);
  expect(overlapKey({ ...first, lastModifiedDateTime: at(1) })).not.toBe(overlapKey(first));
  expect(overlapKey(customer(2, 0))).not.toBe(overlapKey(first));
});

test('only the customers whose change lies in the overlap before the watermark are kept', () => {
  const tracker = new OverlapTracker(2 * MINUTE, Date.parse(at(60 * MINUTE)));
  const old = customer(1, 0);
  const inside = customer(2, 29 * MINUTE);
  const newest = customer(3, 30 * MINUTE);
  for (const each of [old, inside, newest]) tracker.note(each);
  expect(tracker.keysFor(newest.lastModifiedDateTime).sort()).toEqual([overlapKey(inside), overlapKey(newest)].sort());
});

test('the watermark never passes the start of the pass, so changes after it stay in the overlap', () => {
  const tracker = new OverlapTracker(2 * MINUTE, Date.parse(at(10 * MINUTE)));
  const before = customer(1, 9 * MINUTE);
  const after = customer(2, 20 * MINUTE);
  tracker.note(before);
  tracker.note(after);
  expect(tracker.keysFor(at(10 * MINUTE)).sort()).toEqual([overlapKey(before), overlapKey(after)].sort());
});

test(`at most ${OVERLAP_KEYS_MAX} keys, the newest changes first, however many customers share the overlap`, () => {
  const tracker = new OverlapTracker(2 * MINUTE, Date.parse(at(60 * MINUTE)));
  const count = 3 * OVERLAP_KEYS_MAX + 7;
  const customers = Array.from({ length: count }, (_, index) => customer(index, 30 * MINUTE + index));
  for (const each of customers) tracker.note(each);
  const keys = tracker.keysFor(customers.at(-1)!.lastModifiedDateTime);
  expect(keys).toHaveLength(OVERLAP_KEYS_MAX);
  expect(new Set(keys)).toEqual(new Set(customers.slice(-OVERLAP_KEYS_MAX).map(overlapKey)));
});

test('a timestamp that is not one is not kept', () => {
  const tracker = new OverlapTracker(2 * MINUTE, Date.parse(at(60 * MINUTE)));
  tracker.note({ id: 'x', lastModifiedDateTime: 'yesterday' });
  expect(tracker.keysFor(at(0))).toEqual([]);
});
