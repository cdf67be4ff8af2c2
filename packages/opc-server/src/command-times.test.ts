import { afterEach, describe, expect, it, vi } from 'vitest';
import { COMMAND_TIME_BUCKETS, COMMAND_VERBS, CommandTimes, type CommandVerb } from './command-times.js';
import { Hub } from './hub.js';
import { Session } from './session.js';
import { SensorStore } from './store.js';
import { duplexPair } from './testing/duplex-pair.js';
import { LineClient } from './testing/line-client.js';

/** Verb → [bucket index of each command…] and sum in seconds, as `forEach` reports them. */
function snapshot(times: CommandTimes): Map<CommandVerb, { buckets: number[]; sum: number }> {
  const out = new Map<CommandVerb, { buckets: number[]; sum: number }>();
  times.forEach((verb, counts, sum) => {
    const buckets: number[] = [];
    counts.forEach((n, b) => {
      for (let k = 0; k < n; k++) buckets.push(b);
    });
    out.set(verb, { buckets, sum });
  });
  return out;
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('CommandTimes', () => {
  it('counts each command in the first bucket whose bound holds it, the bound itself included', () => {
    const times = new CommandTimes();
    times.record('poll', 0.004); // 4 µs
    times.record('poll', 0.005); // on the first bound
    times.record('range', 12); // 12 ms
    times.record('range', 60_000); // past every bound
    const seen = snapshot(times);
    expect(seen.get('poll')).toEqual({ buckets: [0, 0], sum: expect.closeTo(9e-6, 12) as number });
    expect(seen.get('range')?.buckets).toEqual([COMMAND_TIME_BUCKETS.indexOf(0.025), COMMAND_TIME_BUCKETS.length]);
    expect(seen.get('range')?.sum).toBeCloseTo(60.012, 9);
  });

  it('keeps each verb apart, AUTH and invalid lines included', () => {
    const times = new CommandTimes();
    COMMAND_VERBS.forEach((verb, i) => times.record(verb, 0.001, i + 1));
    const seen = snapshot(times);
    expect([...seen.keys()]).toEqual(COMMAND_VERBS);
    expect(COMMAND_VERBS).toContain('auth');
    COMMAND_VERBS.forEach((verb, i) => expect(seen.get(verb)?.buckets).toHaveLength(i + 1));
  });

  it('counts a run of commands at their mean, and skips verbs never seen', () => {
    const times = new CommandTimes();
    times.record('get', 0.2, 4); // 50 µs each
    const seen = snapshot(times);
    expect([...seen.keys()]).toEqual(['get']);
    expect(seen.get('get')).toEqual({ buckets: [3, 3, 3, 3], sum: expect.closeTo(0.0002, 12) as number });
  });
});

describe('Session: command times', () => {
  it('times each command by verb, and a pipelined run of constant-time ones between two clock reads', async () => {
    const store = new SensorStore({ historyCapacity: 5 });
    const hub = new Hub<Session>(store);
    const times = new CommandTimes();
    const [serverEnd, clientEnd] = duplexPair();
    new Session(serverEnd, { store, hub, commandTimes: times, limits: { idleTimeoutMs: 0 } });
    const client = new LineClient(clientEnd);
    // Every clock read is 1 ms after the one before.
    let clock = 0;
    const now = vi.spyOn(performance, 'now').mockImplementation(() => (clock += 1));
    client.send('PING\nPING\nPING\nLIST\nPING\nFOO\n');
    expect(await client.take(6)).toEqual(['PONG', 'PONG', 'PONG', 'END', 'PONG', expect.stringMatching(/^ERR /)]);
    // Runs: 3 PING, LIST, PING, the invalid line: five runs, six clock reads.
    expect(now).toHaveBeenCalledTimes(6);
    const seen = snapshot(times);
    const oneMs = COMMAND_TIME_BUCKETS.indexOf(0.001);
    const third = COMMAND_TIME_BUCKETS.indexOf(0.0005); // 1/3 ms each
    expect(seen.get('ping')).toEqual({ buckets: [third, third, third, oneMs], sum: 0.002 });
    expect(seen.get('list')).toEqual({ buckets: [oneMs], sum: 0.001 });
    expect(seen.get('invalid')).toEqual({ buckets: [oneMs], sum: 0.001 });
  });

  it('reads no clock when not given command times', async () => {
    const store = new SensorStore({ historyCapacity: 5 });
    const hub = new Hub<Session>(store);
    const [serverEnd, clientEnd] = duplexPair();
    new Session(serverEnd, { store, hub, clock: { now: () => 0 }, limits: { idleTimeoutMs: 0 } });
    const client = new LineClient(clientEnd);
    const now = vi.spyOn(performance, 'now');
    client.send('PING\nLIST\n');
    expect(await client.take(2)).toEqual(['PONG', 'END']);
    expect(now).not.toHaveBeenCalled();
  });
});
