import type { Reading, SensorSummary } from '@opc-lite/protocol';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { expectedLoss, findProblems, type CheckInput } from './check.js';
import type { SeenReading } from './observers.js';
import { truthKey } from './workload.js';

/** Sensor `a` sent sender-seqs 1..5 (value 10·s, ts 1000 + s); sensor `default` sent 1..2. */
function world(): { truth: Map<string, Map<string, number>>; sent: Map<string, Reading[]> } {
  const truth = new Map<string, Map<string, number>>();
  const sent = new Map<string, Reading[]>();
  for (const [name, count] of [
    ['a', 5],
    ['default', 2],
  ] as const) {
    const keys = new Map<string, number>();
    const readings: Reading[] = [];
    for (let s = 1; s <= count; s++) {
      keys.set(truthKey(1000 + s, 10 * s), s);
      readings.push({ name, value: 10 * s, timestampMs: 1000 + s, seq: s });
    }
    truth.set(name, keys);
    sent.set(name, readings);
  }
  return { truth, sent };
}

function summaries(stored: ReadonlyMap<string, readonly Reading[]>): SensorSummary[] {
  return [...stored]
    .filter(([, readings]) => readings.length > 0)
    .map(([name, readings]) => {
      const last = readings.at(-1)!;
      return { name, count: readings.length, lastTimestampMs: last.timestampMs, lastValue: last.value };
    });
}

/** Everything sent is stored with seq = sender-seq; `a` seqs 2 and 4 and `default` seq 1 were shown. */
function healthy(): CheckInput {
  const { truth, sent } = world();
  const stored = new Map(sent);
  const a = sent.get('a')!;
  const seen: SeenReading[] = [
    { ...a[1]!, via: 'PUB *' },
    { ...a[3]!, via: 'GET' },
    { ...sent.get('default')![0]!, via: 'HIST' },
  ];
  return { truth, seen, polled: [10, 20], stored, list: summaries(stored) };
}

describe('findProblems', () => {
  it('finds nothing when every reading shown is stored as shown', () => {
    expect(findProblems(healthy())).toEqual([]);
  });

  it('finds nothing when the unseen tail was lost (the log keeps a prefix)', () => {
    const input = healthy();
    const stored = new Map(input.stored);
    stored.set('a', input.stored.get('a')!.slice(0, 4));
    expect(findProblems({ ...input, stored, list: summaries(stored) })).toEqual([]);
  });

  it('reports a reading that was shown and is not stored', () => {
    const input = healthy();
    const stored = new Map(input.stored);
    stored.set('a', input.stored.get('a')!.slice(0, 3));
    expect(findProblems({ ...input, stored, list: summaries(stored) })).toEqual([
      'a: value 40 ts 1004 seq 4 was shown (GET) and is not stored',
    ]);
  });

  it('reports a seq stored as another reading than the one shown', () => {
    const input = healthy();
    const stored = new Map(input.stored);
    const a = [...input.stored.get('a')!];
    // seq 2 now holds what was sent as sender-seq 3 (as if seq 2 had been lost and reused)
    a.splice(1, 2, { name: 'a', value: 30, timestampMs: 1003, seq: 2 });
    a.splice(
      2,
      2,
      { name: 'a', value: 40, timestampMs: 1004, seq: 3 },
      { name: 'a', value: 50, timestampMs: 1005, seq: 4 },
    );
    stored.set('a', a);
    const problems = findProblems({ ...input, stored, list: summaries(stored) });
    expect(problems).toContain(
      'a: value 20 ts 1002 seq 2 was shown (PUB *), but seq 2 is stored as value 30 ts 1003 seq 2',
    );
    expect(problems).toContain(
      'a: value 40 ts 1004 seq 4 was shown (GET), but seq 4 is stored as value 50 ts 1005 seq 4',
    );
  });

  it('reports a duplicate seq, a seq out of order and a hole', () => {
    const input = healthy();
    const a = input.stored.get('a')!;
    const stored = new Map(input.stored);
    stored.set('a', [a[0]!, a[1]!, { ...a[2]!, seq: 2 }, a[4]!]);
    const problems = findProblems({ ...input, stored, list: summaries(stored) });
    expect(problems).toContain('a: seq 2 stored twice (value 20 ts 1002 seq 2 and value 30 ts 1003 seq 2)');
    expect(problems).toContain('a: seq 2 comes after seq 2 (seqs must rise with the timestamps sent)');
    expect(problems.some((p) => p.startsWith('a: seq 3 is missing'))).toBe(true);
  });

  it('reports a stored reading no sender sent, and one stored out of send order', () => {
    const input = healthy();
    const a = input.stored.get('a')!;
    const stored = new Map(input.stored);
    stored.set('a', [a[0]!, a[1]!, { ...a[2]!, value: 31 }, { ...a[4]!, seq: 4 }, { ...a[3]!, seq: 5 }]);
    const problems = findProblems({ ...input, stored, list: summaries(stored), seen: [] });
    expect(problems).toEqual([
      'a: stored value 31 ts 1003 seq 3, which no sender sent',
      'a: seq 5 holds sender-seq 4, not after the 5 before it',
    ]);
  });

  it('reports an answer to n that is not a stored value of default', () => {
    expect(findProblems({ ...healthy(), polled: [10, 25] })).toEqual([
      'default: the poll n answered 25, which is not stored',
    ]);
  });

  it('reports one seq shown as two different readings', () => {
    const input = healthy();
    const seen = [...input.seen, { name: 'a', value: 99, timestampMs: 1002, seq: 2, via: 'RANGE' }];
    expect(findProblems({ ...input, seen })).toEqual([
      'a: seq 2 was shown as value 20 ts 1002 seq 2 (PUB *) and as value 99 ts 1002 seq 2 (RANGE)',
    ]);
  });

  it('reports a LIST that disagrees with the readings', () => {
    const input = healthy();
    const list = input.list.map((s) => (s.name === 'a' ? { ...s, count: 6 } : s));
    expect(findProblems({ ...input, list })).toEqual(['a: LIST says count 6, RANGE holds 5 readings']);
    const wrongLast = input.list.map((s) => (s.name === 'a' ? { ...s, lastValue: 1 } : s));
    expect(findProblems({ ...input, list: wrongLast })).toEqual([
      'a: LIST says the latest is value 1 ts 1005, RANGE ends at value 50 ts 1005 seq 5',
    ]);
    expect(findProblems({ ...input, list: input.list.filter((s) => s.name !== 'a') })).toEqual([
      'a: 5 readings stored, but LIST does not name it',
      'a: clients were shown readings of it, but LIST does not name it',
    ]);
  });

  it('finds a problem whenever one reading shown is missing from what is stored', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 60 }), fc.nat(), (count, pick) => {
        const truth = new Map([['s', new Map<string, number>()]]);
        const readings: Reading[] = [];
        for (let s = 1; s <= count; s++) {
          truth.get('s')!.set(truthKey(s * 3, s / 8), s);
          readings.push({ name: 's', value: s / 8, timestampMs: s * 3, seq: s });
        }
        const seen = readings.map((r) => ({ ...r, via: 'PUB *' }));
        const all = new Map([['s', readings]]);
        expect(findProblems({ truth, seen, polled: [], stored: all, list: summaries(all) })).toEqual([]);
        const kept = new Map([['s', readings.filter((_, i) => i !== pick % count)]]);
        expect(findProblems({ truth, seen, polled: [], stored: kept, list: summaries(kept) }).length).toBeGreaterThan(
          0,
        );
      }),
    );
  });
});

describe('expectedLoss', () => {
  it('counts the sender-seqs missing between the first and the last stored, per sensor', () => {
    const { truth, sent } = world();
    const a = sent.get('a')!;
    // a: sender-seqs 2, 3, 5 stored (4 lost; 1 before the first stored is not counted); default: 1, 2
    const stored = new Map([
      ['a', [a[1]!, a[2]!, a[4]!]],
      ['default', sent.get('default')!],
    ]);
    expect(expectedLoss(truth, stored)).toEqual({ lost: 1, duplicate: 0, late: 0, restarts: 0 });
    expect(expectedLoss(truth, new Map(sent))).toEqual({ lost: 0, duplicate: 0, late: 0, restarts: 0 });
  });
});
