import { describe, expect, it } from 'vitest';
import type { HistoryReader } from './history.js';
import { Hub } from './hub.js';
import { Session, type SessionLimits } from './session.js';
import { Counters } from './stats.js';
import { SensorStore } from './store.js';
import { duplexPair } from './testing/duplex-pair.js';
import { LineClient } from './testing/line-client.js';

const NOW = 1_764_316_800_000;

function setup(
  limits: Partial<SessionLimits> = {},
  options: { historyCapacity?: number; maxSensors?: number; history?: HistoryReader } = {},
) {
  const store = new SensorStore({
    historyCapacity: options.historyCapacity ?? 100,
    ...(options.maxSensors !== undefined && { maxSensors: options.maxSensors }),
    now: () => NOW,
  });
  const hub = new Hub<Session>(store);
  const counters = new Counters();
  const [serverEnd, clientEnd] = duplexPair();
  const session = new Session(serverEnd, {
    store,
    hub,
    counters,
    now: () => NOW,
    limits: { idleTimeoutMs: 0, ...limits },
    ...(options.history && { history: options.history }),
  });
  const client = new LineClient(clientEnd);
  const ingest = (name: string, value: number, timestampMs: number): void => {
    const sensor = store.ingest(name, value, timestampMs, -1);
    if (sensor) hub.publish(sensor);
  };
  return { store, hub, counters, session, client, ingest };
}

describe('Session: RANGE (docs/PROTOCOL.md, "History: RANGE")', () => {
  it('answers with the VAL lines between from and to inclusive, in time order, then END', async () => {
    const { client, ingest } = setup();
    for (let i = 1; i <= 6; i++) ingest('a', i / 10, 1000 * i);
    ingest('b', 9, 2500);
    client.send('RANGE a 2000 4000\n');
    expect(await client.until('END')).toEqual(['VAL a 0.2 2000 2', 'VAL a 0.3 3000 3', 'VAL a 0.4 4000 4', 'END']);
  });

  it('orders readings whose timestamps went back by timestamp, then seq', async () => {
    const { client, ingest } = setup();
    ingest('a', 1, 3000);
    ingest('a', 2, 1000);
    ingest('a', 3, 3000);
    ingest('a', 4, 2000);
    client.send('RANGE a 0 5000\n');
    expect(await client.until('END')).toEqual([
      'VAL a 2 1000 2',
      'VAL a 4 2000 4',
      'VAL a 1 3000 1',
      'VAL a 3 3000 3',
      'END',
    ]);
  });

  it('resolves relative times with the server clock', async () => {
    const { client, ingest } = setup();
    ingest('a', 1, NOW - 7_200_000);
    ingest('a', 2, NOW - 120_000);
    ingest('a', 3, NOW - 60_000);
    ingest('a', 4, NOW - 250);
    ingest('a', 5, NOW);
    client.send('RANGE a -90s now\nRANGE a -2h -1m\nRANGE a -1d -1d\n');
    expect(await client.until('END')).toEqual([
      `VAL a 3 ${NOW - 60_000} 3`,
      `VAL a 4 ${NOW - 250} 4`,
      `VAL a 5 ${NOW} 5`,
      'END',
    ]);
    expect(await client.until('END')).toEqual([
      `VAL a 1 ${NOW - 7_200_000} 1`,
      `VAL a 2 ${NOW - 120_000} 2`,
      `VAL a 3 ${NOW - 60_000} 3`,
      'END',
    ]);
    expect(await client.next()).toBe('END');
  });

  it('cuts a reply past maxRangeReply with MORE, and a RANGE from there gives the rest once', async () => {
    const { client, ingest } = setup({ maxRangeReply: 3 });
    for (const [v, ts] of [
      [1, 10],
      [2, 20],
      [3, 30],
      [4, 30],
      [5, 40],
      [6, 50],
    ] as const)
      ingest('a', v, ts);
    client.send('RANGE a 0 100\n');
    // A cut never falls between two readings of the same timestamp.
    expect(await client.until('END')).toEqual(['VAL a 1 10 1', 'VAL a 2 20 2', 'MORE 30', 'END']);
    client.send('RANGE a 30 100\n');
    expect(await client.until('END')).toEqual(['VAL a 3 30 3', 'VAL a 4 30 4', 'VAL a 5 40 5', 'MORE 50', 'END']);
    client.send('RANGE a 50 100\n');
    expect(await client.until('END')).toEqual(['VAL a 6 50 6', 'END']);
  });

  it('answers a RANGE with points with one BUCKET line per non-empty bucket', async () => {
    const { client, ingest } = setup();
    for (const [v, ts] of [
      [1, 0],
      [3, 10],
      [2, 20],
      [8, 70],
      [4, 100],
    ] as const)
      ingest('a', v, ts);
    client.send('RANGE a 0 100 4\n');
    expect(await client.until('END')).toEqual([
      'BUCKET a 0 3 1 3 2 1 2',
      'BUCKET a 50 1 8 8 8 8 8',
      // 100 = to: in the last bucket.
      'BUCKET a 75 1 4 4 4 4 4',
      'END',
    ]);
  });

  it.each([
    ['RANGE a 2000 1000\n', 'ERR bad-args from is after to (2000 > 1000)'],
    ['RANGE a now -1m\n', `ERR bad-args from is after to (${NOW} > ${NOW - 60_000})`],
    ['RANGE a 0 1000 11\n', 'ERR bad-args at most 10 points'],
    ['RANGE nope 0 1000\n', 'ERR not-found nope'],
    ['RANGE a 0 soon\n', 'ERR bad-args invalid time: soon'],
    ['RANGE a 0\n', 'ERR bad-args usage: RANGE <name> <from> <to> [<points>]'],
  ])('answers %j with %j', async (command, reply) => {
    const { client, ingest, counters } = setup({ maxRangeReply: 10 });
    ingest('a', 1, 500);
    client.send(`${command}PING\n`);
    expect(await client.take(2)).toEqual([reply, 'PONG']);
    expect(counters.commandErrors).toBe(1);
  });

  it('reads through the history it is given', async () => {
    const calls: string[] = [];
    const history: HistoryReader = {
      range(sensor, from, to, limit, fn) {
        calls.push(`range ${sensor.name} ${from} ${to} ${limit}`);
        fn(7, 0.5, 3);
        return { more: 8 };
      },
      buckets(sensor, from, to, points, fn) {
        calls.push(`buckets ${sensor.name} ${from} ${to} ${points}`);
        fn(1, 2, 3, 4, 5, 6, 7);
        return 1;
      },
      after(sensor, seq, limit, fn) {
        calls.push(`after ${sensor.name} ${seq} ${limit}`);
        fn(9, 1.5, seq + 1);
        return 1;
      },
    };
    const { client, ingest } = setup({ maxRangeReply: 50 }, { history });
    ingest('a', 1, 1);
    client.send('RANGE a 0 -1s\nRANGE a 1 2 5\nAFTER a 1\nSUB a\n');
    expect(await client.take(8)).toEqual([
      'VAL a 0.5 7 3',
      'MORE 8',
      'END',
      'BUCKET a 1 2 3 4 5 6 7',
      'END',
      'OK AFTER a 1',
      'OK SUB a',
      'PUB a 1.5 9 2',
    ]);
    expect(calls).toEqual([`range a 0 ${NOW - 1000} 50`, 'buckets a 1 2 5', 'after a 1 50']);
  });
});

describe('Session: AFTER and resumed SUB (docs/PROTOCOL.md, "Resume: AFTER")', () => {
  it('sends the readings after the point as the backlog of that sensor, then live ones', async () => {
    const { client, ingest } = setup();
    for (let i = 1; i <= 6; i++) ingest('a', i, i);
    for (let i = 1; i <= 3; i++) ingest('b', 10 * i, i);
    client.send('AFTER a 3\nSUB * 1\n');
    expect(await client.take(6)).toEqual([
      'OK AFTER a 3',
      'OK SUB *',
      'PUB a 4 4 4',
      'PUB a 5 5 5',
      'PUB a 6 6 6',
      // b has no point: the SUB's own backlog.
      'PUB b 30 3 3',
    ]);
    ingest('a', 7, 7);
    expect(await client.next()).toBe('PUB a 7 7 7');
  });

  it('resumes even with no backlog asked for, and sends nothing for a point that is up to date', async () => {
    const { client, ingest } = setup();
    for (let i = 1; i <= 3; i++) ingest('a', i, i);
    ingest('b', 1, 1);
    client.send('AFTER a 1\nAFTER b 1\nSUB *\nPING\n');
    expect(await client.take(6)).toEqual([
      'OK AFTER a 1',
      'OK AFTER b 1',
      'OK SUB *',
      'PUB a 2 2 2',
      'PUB a 3 3 3',
      'PONG',
    ]);
  });

  it('lets the SUB use up the points its pattern matches, and keeps the others for a later SUB', async () => {
    const { client, ingest } = setup();
    for (let i = 1; i <= 3; i++) ingest('a', i, i);
    for (let i = 1; i <= 3; i++) ingest('b', i, i);
    client.send('AFTER a 2\nAFTER b 1\nSUB a\nUNSUB a\nSUB a 2\nSUB b\n');
    expect(await client.take(10)).toEqual([
      'OK AFTER a 2',
      'OK AFTER b 1',
      'OK SUB a',
      'PUB a 3 3 3',
      'OK UNSUB 1',
      // The point for a is gone: the usual backlog.
      'OK SUB a',
      'PUB a 2 2 2',
      'PUB a 3 3 3',
      'OK SUB b',
      'PUB b 2 2 2',
    ]);
    expect(await client.next()).toBe('PUB b 3 3 3');
  });

  it('sends at most maxRangeReply readings per resumed sensor, oldest first', async () => {
    const { client, ingest } = setup({ maxRangeReply: 2 });
    for (let i = 1; i <= 6; i++) ingest('a', i, i);
    client.send('AFTER a 1\nSUB a\nPING\n');
    expect(await client.take(5)).toEqual(['OK AFTER a 1', 'OK SUB a', 'PUB a 2 2 2', 'PUB a 3 3 3', 'PONG']);
  });

  it('starts from what the history still holds when the point is older than it', async () => {
    const { client, ingest } = setup({}, { historyCapacity: 3 });
    for (let i = 1; i <= 6; i++) ingest('a', i, i);
    client.send('AFTER a 1\nSUB a\n');
    // Seqs 2 and 3 are gone: the jump from 1 to 4 shows it.
    expect(await client.take(5)).toEqual(['OK AFTER a 1', 'OK SUB a', 'PUB a 4 4 4', 'PUB a 5 5 5', 'PUB a 6 6 6']);
  });

  it('answers a point past the sensor latest seq with 0, and resumes from the start of what it holds', async () => {
    const { client, ingest } = setup();
    ingest('a', 1, 1);
    ingest('a', 2, 2);
    client.send('AFTER a 500\nSUB a\n');
    expect(await client.take(4)).toEqual(['OK AFTER a 0', 'OK SUB a', 'PUB a 1 1 1', 'PUB a 2 2 2']);
  });

  it('answers AFTER for an unknown sensor with not-found and records nothing', async () => {
    const { client, ingest } = setup();
    client.send('AFTER a 5\n');
    expect(await client.next()).toBe('ERR not-found a');
    ingest('a', 1, 1);
    client.send('SUB a\nPING\n');
    expect(await client.take(2)).toEqual(['OK SUB a', 'PONG']);
  });

  it('keeps one point per sensor: a second AFTER for it replaces the first', async () => {
    const { client, ingest } = setup();
    for (let i = 1; i <= 4; i++) ingest('a', i, i);
    client.send('AFTER a 0\nAFTER a 2\nSUB a\n');
    expect(await client.take(5)).toEqual(['OK AFTER a 0', 'OK AFTER a 2', 'OK SUB a', 'PUB a 3 3 3', 'PUB a 4 4 4']);
  });
});
