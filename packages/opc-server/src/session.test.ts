import { afterEach, describe, expect, it, vi } from 'vitest';
import { Hub } from './hub.js';
import { Session, type SessionCloseReason, type SessionLimits } from './session.js';
import { Counters } from './stats.js';
import { SensorStore } from './store.js';
import { duplexPair } from './testing/duplex-pair.js';
import { LineClient } from './testing/line-client.js';
import { WriteScheduler } from './write-scheduler.js';

const NOW = 1_764_316_800_000;

function setup(
  limits: Partial<SessionLimits> = {},
  options: { highWaterMark?: number; onFellBehind?: (session: Session) => void } = {},
) {
  const store = new SensorStore({ historyCapacity: 5, now: () => NOW });
  const hub = new Hub<Session>(store);
  const counters = new Counters();
  const { onFellBehind, ...pairOptions } = options;
  const [serverEnd, clientEnd] = duplexPair(pairOptions);
  const closes: SessionCloseReason[] = [];
  const slow: number[] = [];
  const session = new Session(
    serverEnd,
    {
      store,
      hub,
      counters,
      // Unlike the default per-turn clock, one that fake timers move within a turn.
      clock: { now: () => performance.now() },
      limits: { idleTimeoutMs: 0, ...limits },
      onClose: (_s, reason) => closes.push(reason),
      onSlowConsumer: (s) => slow.push(s.id),
      ...(onFellBehind && { onFellBehind }),
    },
    { id: 7, remote: 'memory' },
  );
  const client = new LineClient(clientEnd);
  const ingest = (name: string, value: number, timestampMs = Number.NaN, senderSeq = -1): void => {
    const sensor = store.ingest(name, value, timestampMs, senderSeq);
    if (sensor) hub.publish(sensor);
  };
  return { store, hub, counters, session, client, serverEnd, clientEnd, ingest, closes, slow };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('Session: commands (PROTOCOL.md "TCP commands and replies")', () => {
  it('answers PING with PONG, case-insensitively', async () => {
    const { client } = setup();
    client.send('PING\nping\r\n');
    expect(await client.take(2)).toEqual(['PONG', 'PONG']);
  });

  it('answers the legacy n with nan before any reading of sensor default', async () => {
    const { client } = setup();
    client.send('n');
    expect(await client.next()).toBe('nan');
  });

  it('answers the legacy n at once with the latest value of sensor default', async () => {
    const { client, ingest } = setup();
    ingest('default', 0.1);
    ingest('default', 0.35);
    ingest('other', 9);
    client.send('n');
    expect(await client.next()).toBe('0.35');
  });

  it('answers nnn with three values, and consumes a CR/LF after an n', async () => {
    const { client, ingest, counters } = setup();
    ingest('default', 1e-5);
    client.send('nnn');
    expect(await client.take(3)).toEqual(['0.00001', '0.00001', '0.00001']);
    client.send('n\r\nN\nPING\n');
    expect(await client.take(3)).toEqual(['0.00001', '0.00001', 'PONG']);
    expect(counters.polls).toBe(5);
  });

  it('answers GET with VAL, or ERR not-found', async () => {
    const { client, ingest } = setup();
    ingest('ramp', 0.5, 1_764_316_800_125);
    client.send('GET ramp\nGET nope\n');
    expect(await client.take(2)).toEqual(['VAL ramp 0.5 1764316800125 1', 'ERR not-found nope']);
  });

  it('answers LIST with one SENSOR line per matching sensor, then END', async () => {
    const { client, ingest } = setup();
    ingest('ramp1', 1, 10);
    ingest('ramp1', 2, 11);
    ingest('ramp2', 3, 12);
    ingest('temp', 4, 13);
    client.send('LIST\n');
    expect(await client.until('END')).toEqual([
      'SENSOR ramp1 2 11 2',
      'SENSOR ramp2 1 12 3',
      'SENSOR temp 1 13 4',
      'END',
    ]);
    client.send('LIST ramp*\nLIST zz*\n');
    expect(await client.until('END')).toEqual(['SENSOR ramp1 2 11 2', 'SENSOR ramp2 1 12 3', 'END']);
    expect(await client.next()).toBe('END');
  });

  it('answers HIST with up to n VAL lines, oldest first, then END', async () => {
    const { client, ingest } = setup();
    for (let i = 1; i <= 7; i++) ingest('a', i, i);
    client.send('HIST a 2\nHIST a\nHIST nope 3\n');
    expect(await client.until('END')).toEqual(['VAL a 6 6 6', 'VAL a 7 7 7', 'END']);
    // Without n: everything held (history capacity 5).
    expect(await client.until('END')).toEqual([
      'VAL a 3 3 3',
      'VAL a 4 4 4',
      'VAL a 5 5 5',
      'VAL a 6 6 6',
      'VAL a 7 7 7',
      'END',
    ]);
    expect(await client.next()).toBe('ERR not-found nope');
  });

  it('caps HIST at maxHistoryReply', async () => {
    const { client, ingest } = setup({ maxHistoryReply: 2 });
    for (let i = 1; i <= 4; i++) ingest('a', i, i);
    client.send('HIST a 100\n');
    expect(await client.until('END')).toEqual(['VAL a 3 3 3', 'VAL a 4 4 4', 'END']);
  });

  it('answers SUB with OK, then the backlog, then live readings as PUB', async () => {
    const { client, ingest, hub, session } = setup();
    for (let i = 1; i <= 3; i++) ingest('ramp', i / 10, i);
    ingest('temp', 20, 5);
    client.send('SUB ramp 2\n');
    expect(await client.take(3)).toEqual(['OK SUB ramp', 'PUB ramp 0.2 2 2', 'PUB ramp 0.3 3 3']);
    expect(hub.subscriptionsOf(session)).toBe(1);
    ingest('ramp', 0.4, 4);
    ingest('temp', 21, 6);
    expect(await client.next()).toBe('PUB ramp 0.4 4 4');
  });

  it('sends no backlog without a backlog argument', async () => {
    const { client, ingest } = setup();
    ingest('a', 1, 1);
    client.send('SUB a\nPING\n');
    expect(await client.take(2)).toEqual(['OK SUB a', 'PONG']);
  });

  it('covers sensors that appear after SUB *', async () => {
    const { client, ingest } = setup();
    client.send('SUB *\n');
    expect(await client.next()).toBe('OK SUB *');
    ingest('new1', 1, 1);
    ingest('new2', 2, 2);
    expect(await client.take(2)).toEqual(['PUB new1 1 1 1', 'PUB new2 2 2 1']);
  });

  it('delivers a reading once to a client subscribed with overlapping patterns', async () => {
    const { client, ingest } = setup();
    client.send('SUB *\nSUB ramp*\n');
    expect(await client.take(2)).toEqual(['OK SUB *', 'OK SUB ramp*']);
    ingest('ramp', 1, 1);
    ingest('other', 2, 2);
    client.send('PING\n');
    expect(await client.take(3)).toEqual(['PUB ramp 1 1 1', 'PUB other 2 2 1', 'PONG']);
  });

  it('answers UNSUB with the number of subscriptions removed and stops the pushes', async () => {
    const { client, ingest } = setup();
    client.send('SUB a\nSUB b\nUNSUB a\nUNSUB zzz\n');
    expect(await client.take(4)).toEqual(['OK SUB a', 'OK SUB b', 'OK UNSUB 1', 'OK UNSUB 0']);
    ingest('a', 1, 1);
    ingest('b', 2, 2);
    expect(await client.next()).toBe('PUB b 2 2 1');
    client.send('UNSUB\n');
    expect(await client.next()).toBe('OK UNSUB 1');
    ingest('b', 3, 3);
    client.send('PING\n');
    expect(await client.next()).toBe('PONG');
  });

  it('answers STATS with STAT lines, then END', async () => {
    const { client, ingest } = setup();
    ingest('a', 1);
    client.send('n\nSTATS\n');
    expect(await client.next()).toBe('nan');
    const lines = await client.until('END');
    expect(lines.at(-1)).toBe('END');
    const stats: Record<string, string> = Object.fromEntries(
      lines.slice(0, -1).map((l) => l.split(' ').slice(1) as [string, string]),
    );
    expect(stats).toMatchObject({ sensors: '1', clients: '1', commands: '2', polls: '1', history_capacity: '5' });
    for (const line of lines.slice(0, -1)) expect(line).toMatch(/^STAT [a-z_]+ \d+$/);
  });

  it('answers QUIT with BYE and ends the stream', async () => {
    const { client, closes } = setup();
    client.send('PING\nQUIT\nPING\n');
    expect(await client.rest()).toEqual(['PONG', 'BYE']);
    await client.closed;
    await vi.waitFor(() => expect(closes).toEqual(['quit']));
  });

  it('answers replies to pipelined commands in order', async () => {
    const { client, ingest } = setup();
    ingest('default', 2);
    ingest('x', 3, 3);
    client.send('PING\nGET x\nnLIST\nbogus\nHIST x 1\nn');
    expect(await client.take(9)).toEqual([
      'PONG',
      'VAL x 3 3 1',
      '2',
      'SENSOR default 1 1764316800000 2',
      'SENSOR x 1 3 3',
      'END',
      'ERR unknown-command bogus',
      'VAL x 3 3 1',
      'END',
    ]);
    expect(await client.next()).toBe('2');
  });

  it('decodes commands however the bytes are chunked', async () => {
    const { client } = setup();
    for (const ch of 'PI') client.send(ch);
    client.send('NG\r');
    client.send('\nGET');
    client.send(' a\n');
    expect(await client.take(2)).toEqual(['PONG', 'ERR not-found a']);
  });

  it('answers an unknown verb and bad arguments with ERR and stays open', async () => {
    const { client, counters } = setup();
    client.send('FROB x\nGET\nGET bad!name\nHIST a 0\nSUB\nPING\n');
    const lines = await client.take(6);
    expect(lines[0]).toBe('ERR unknown-command FROB');
    for (const line of lines.slice(1, 5)) expect(line).toMatch(/^ERR bad-args /);
    expect(lines[5]).toBe('PONG');
    expect(counters.commandErrors).toBe(5);
  });

  it('closes the connection after ERR line-too-long', async () => {
    const { client, closes } = setup({ maxLineBytes: 32 });
    client.send('PING\nGET ' + 'a'.repeat(100) + '\nPING\n');
    const lines = await client.rest();
    expect(lines[0]).toBe('PONG');
    expect(lines[1]).toMatch(/^ERR line-too-long/);
    expect(lines).toHaveLength(2);
    await vi.waitFor(() => expect(closes).toEqual(['line-too-long']));
  });

  it('closes the connection after ERR too-many-subscriptions', async () => {
    const { client, closes, hub } = setup({ maxSubscriptionsPerClient: 2 });
    client.send('SUB a\nSUB a\nSUB b\nSUB c\nPING\n');
    const lines = await client.rest();
    expect(lines.slice(0, 3)).toEqual(['OK SUB a', 'OK SUB a', 'OK SUB b']);
    expect(lines[3]).toMatch(/^ERR too-many-subscriptions /);
    expect(lines).toHaveLength(4);
    await vi.waitFor(() => expect(closes).toEqual(['too-many-subscriptions']));
    expect(hub.subscriptionCount).toBe(0);
  });

  it('answers what a half-closed peer sent, then ends', async () => {
    const { client, ingest, closes } = setup();
    ingest('default', 0.5);
    client.stream.end('n');
    expect(await client.rest()).toEqual(['0.5']);
    await vi.waitFor(() => expect(closes).toEqual(['peer-closed']));
  });

  it('removes its subscriptions and counts itself out when the stream closes', async () => {
    const { client, hub, counters, session } = setup();
    client.send('SUB *\n');
    await client.next();
    expect(counters.clients).toBe(1);
    client.stream.destroy();
    await vi.waitFor(() => expect(session.closed).toBe(true));
    expect(hub.subscriptionCount).toBe(0);
    expect(counters.clients).toBe(0);
    expect(counters.clientsTotal).toBe(1);
  });
});

describe('Session: output', () => {
  it('coalesces the lines of one event-loop turn into one write', async () => {
    const { client, ingest, serverEnd } = setup();
    client.send('SUB *\n');
    await client.next();
    const write = vi.spyOn(serverEnd, 'write');
    for (let i = 1; i <= 100; i++) ingest('a', i, i);
    const lines = await client.take(100);
    expect(lines[99]).toBe('PUB a 100 100 100');
    expect(write).toHaveBeenCalledTimes(1);
  });

  it('sends a SUB backlog up to the budget and counts the rest of it as dropped', async () => {
    const { client, ingest, counters, session, store } = setup({ outboundBudgetBytes: 100 }, { highWaterMark: 64 });
    for (const name of ['a', 'b', 'c']) for (let i = 1; i <= 5; i++) ingest(name, i, i);
    expect(store.historyCapacity).toBe(5);
    client.stream.pause();
    client.send('SUB * 5\n');
    await vi.waitFor(() => expect(counters.pushesSent + counters.pushesDropped).toBe(15));
    expect(counters.pushesSent).toBeGreaterThan(0);
    expect(counters.pushesDropped).toBeGreaterThan(0);
    expect(session.dropped).toBe(counters.pushesDropped);
    expect(session.pendingBytes).toBeLessThanOrEqual(100);
    client.stream.resume();
    const lines = await client.take(1 + counters.pushesSent);
    expect(lines[0]).toBe('OK SUB *');
    // What went out is the start of the backlog, in order: a's readings, then b's, then c's.
    const backlog = ['a', 'b', 'c'].flatMap((name) => [1, 2, 3, 4, 5].map((i) => `PUB ${name} ${i} ${i} ${i}`));
    expect(lines.slice(1)).toEqual(backlog.slice(0, counters.pushesSent));
  });

  it('drops pushes past the outbound budget, counts them, and still answers commands', async () => {
    const { client, ingest, counters, session } = setup(
      { outboundBudgetBytes: 2000, drainTimeoutMs: 60_000 },
      { highWaterMark: 256 },
    );
    client.send('SUB *\n');
    expect(await client.next()).toBe('OK SUB *');
    client.stream.pause();
    for (let i = 1; i <= 500; i++) ingest('a', i, i);
    expect(counters.pushesDropped).toBeGreaterThan(0);
    expect(session.dropped).toBe(counters.pushesDropped);
    expect(counters.pushesSent + counters.pushesDropped).toBe(500);
    expect(session.pendingBytes).toBeLessThanOrEqual(2000);
    client.send('PING\n');
    client.stream.resume();
    const lines = await client.until('PONG');
    // Delivered pushes arrive in order, with a seq jump where readings were dropped.
    const seqs = lines.filter((l) => l.startsWith('PUB')).map((l) => Number(l.split(' ')[4]));
    expect(seqs.length).toBe(counters.pushesSent);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(seqs.at(-1)).toBeLessThan(500);
  });

  it('disconnects a client that does not drain within drainTimeoutMs', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { client, ingest, counters, closes, slow, session, serverEnd } = setup(
      { outboundBudgetBytes: 4000, drainTimeoutMs: 5000 },
      { highWaterMark: 512 },
    );
    client.send('SUB *\n');
    expect(await client.next()).toBe('OK SUB *');
    client.stream.pause();
    for (let i = 1; i <= 1000; i++) ingest('flood', i, i);
    await vi.waitFor(() => expect(serverEnd.writableLength).toBeGreaterThan(512));
    vi.advanceTimersByTime(4999);
    expect(session.closed).toBe(false);
    vi.advanceTimersByTime(1);
    await vi.waitFor(() => expect(session.closed).toBe(true));
    expect(closes).toEqual(['slow-consumer']);
    expect(slow).toEqual([7]);
    expect(counters.slowConsumerDisconnects).toBe(1);
  });

  it('reports itself behind when a write does not go through, and evict() disconnects it as a slow consumer', async () => {
    const reported: boolean[] = [];
    const { client, ingest, counters, closes, slow, session } = setup(
      { outboundBudgetBytes: 4000 },
      { highWaterMark: 512, onFellBehind: (s) => reported.push(s.behind) },
    );
    client.send('SUB *\n');
    expect(await client.next()).toBe('OK SUB *');
    expect(session.behind).toBe(false);
    client.stream.pause();
    for (let i = 1; i <= 1000; i++) ingest('flood', i, i);
    await vi.waitFor(() => expect(reported.length).toBeGreaterThan(0));
    expect(reported[0]).toBe(true);
    expect(session.behind).toBe(true);

    session.evict();
    await vi.waitFor(() => expect(session.closed).toBe(true));
    expect(closes).toEqual(['slow-consumer']);
    expect(slow).toEqual([7]);
    expect(counters).toMatchObject({ slowConsumerDisconnects: 1, outboundEvictions: 1 });
    session.evict(); // already closed: nothing more is counted
    expect(counters.outboundEvictions).toBe(1);
  });

  it('keeps a client that drains in time', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { client, ingest, session, counters } = setup(
      { outboundBudgetBytes: 4000, drainTimeoutMs: 5000 },
      { highWaterMark: 512 },
    );
    client.send('SUB *\n');
    await client.next();
    client.stream.pause();
    for (let i = 1; i <= 1000; i++) ingest('flood', i, i);
    await vi.waitFor(() => expect(session.pendingBytes).toBeGreaterThan(512));
    vi.advanceTimersByTime(4000);
    client.stream.resume();
    await vi.waitFor(() => expect(session.pendingBytes).toBe(0));
    vi.advanceTimersByTime(10_000);
    client.send('PING\n');
    await client.until('PONG');
    expect(session.closed).toBe(false);
    expect(counters.slowConsumerDisconnects).toBe(0);
  });

  it('stops reading commands from a client that does not read its replies', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { client, session, counters } = setup(
      { outboundBudgetBytes: 1000, drainTimeoutMs: 5000 },
      { highWaterMark: 256 },
    );
    client.stream.pause();
    const burst = 'PING\n'.repeat(200);
    // One burst per event-loop turn, as TCP would deliver them.
    for (let i = 0; i < 20; i++) {
      client.send(burst);
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(session.pendingBytes).toBeGreaterThan(1000);
    expect(counters.commands).toBeLessThan(4000);
    vi.advanceTimersByTime(5000);
    await vi.waitFor(() => expect(session.closed).toBe(true));
    expect(counters.slowConsumerDisconnects).toBe(1);
  });
});

describe('Session: held commands and the end of a session', () => {
  it('holds pipelined commands at the budget plus one reply, then answers them all in order once the client reads', async () => {
    const { client, session, ingest, counters } = setup({ outboundBudgetBytes: 2000 }, { highWaterMark: 256 });
    for (let i = 0; i < 5; i++) ingest('big', i);
    const oneReply = 5 * 'VAL big 0 1764316800000 1\n'.length + 'END\n'.length;
    client.stream.pause();
    client.send('HIST big\n'.repeat(100)); // one chunk: 100 replies of ~135 bytes
    let maxPending = 0;
    for (let turn = 0; turn < 20; turn++) {
      await new Promise((resolve) => setImmediate(resolve));
      maxPending = Math.max(maxPending, session.pendingBytes);
    }
    expect(counters.commands).toBeLessThan(100);
    expect(maxPending).toBeLessThanOrEqual(2000 + oneReply);

    client.stream.resume();
    const lines = await client.take(100 * 6);
    expect(lines.filter((l) => l === 'END')).toHaveLength(100);
    expect(lines.slice(0, 6)).toEqual([0, 1, 2, 3, 4].map((v) => `VAL big ${v} ${NOW} ${v + 1}`).concat('END'));
    expect(counters.commands).toBe(100);
  });

  it('bounds what the sessions of one scheduler queue per turn by maxOutboundBytes, and answers everything in the end', async () => {
    const oneReply = 5 * 'VAL big 0 1764316800000 1\n'.length + 'END\n'.length;
    /** Ten clients each pipelining 4 HIST in the same turn; the most queued before any write pass. */
    const run = async (maxOutboundBytes: number): Promise<{ mostQueued: number; ends: number[] }> => {
      const store = new SensorStore({ historyCapacity: 5, now: () => NOW });
      for (let i = 0; i < 5; i++) store.ingest('big', i, Number.NaN, -1);
      const scheduler = new WriteScheduler();
      let queued = 0;
      let mostQueued = 0;
      Object.defineProperty(scheduler, 'queuedBytes', {
        get: () => queued,
        set: (v: number) => {
          queued = v;
          mostQueued = Math.max(mostQueued, v);
        },
      });
      const context = {
        store,
        hub: new Hub<Session>(store),
        scheduler,
        limits: { idleTimeoutMs: 0, maxOutboundBytes },
      };
      const clients = Array.from({ length: 10 }, () => {
        const [serverEnd, clientEnd] = duplexPair();
        new Session(serverEnd, context);
        return new LineClient(clientEnd);
      });
      for (const client of clients) client.send('HIST big\n'.repeat(4));
      const ends = await Promise.all(
        clients.map(async (client) => (await client.take(4 * 6)).filter((line) => line === 'END').length),
      );
      return { mostQueued, ends };
    };

    const unbounded = await run(0);
    expect(unbounded.mostQueued).toBe(40 * oneReply); // all forty replies built in one turn
    const bounded = await run(3 * oneReply);
    expect(bounded.mostQueued).toBeLessThanOrEqual(3 * oneReply + oneReply);
    expect(bounded.ends).toEqual(Array.from({ length: 10 }, () => 4)); // spread over turns, nothing lost or starved
  });

  it('ends a half-closed client only after answering the commands it held', async () => {
    const { client, session, ingest, closes } = setup({ outboundBudgetBytes: 1000 }, { highWaterMark: 256 });
    for (let i = 0; i < 5; i++) ingest('big', i);
    client.stream.pause();
    client.stream.end('HIST big\n'.repeat(50));
    await new Promise((resolve) => setImmediate(resolve));
    client.stream.resume();
    const lines = await client.take(50 * 6);
    expect(lines.filter((l) => l === 'END')).toHaveLength(50);
    await vi.waitFor(() => expect(session.closed).toBe(true));
    expect(closes).toEqual(['peer-closed']);
  });

  it('sends a reply in full after QUIT even when the client reads it slowly, with closeGraceMs 0', async () => {
    const { client, session, ingest, closes } = setup({ closeGraceMs: 0 }, { highWaterMark: 256 });
    for (let i = 0; i < 5; i++) ingest('big', i);
    client.stream.pause();
    client.send('HIST big\nHIST big\nQUIT\n');
    await new Promise((resolve) => setTimeout(resolve, 20)); // the reply waits in the stream, unread
    expect(session.closed).toBe(false);
    client.stream.resume();
    const lines = await client.take(13);
    expect(lines.filter((l) => l.startsWith('VAL'))).toHaveLength(10);
    expect(lines.at(-1)).toBe('BYE');
    await vi.waitFor(() => expect(session.closed).toBe(true));
    expect(closes).toEqual(['quit']);
  });

  it('destroys a client that stops reading its last reply after QUIT, after drainTimeoutMs without progress', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { client, session, ingest } = setup({ closeGraceMs: 0, drainTimeoutMs: 1000 }, { highWaterMark: 64 });
    for (let i = 0; i < 5; i++) ingest('big', i);
    client.stream.pause();
    client.send('HIST big\n'.repeat(20) + 'QUIT\n');
    await vi.waitFor(() => expect(session.closing).toBe(true));
    vi.advanceTimersByTime(999);
    expect(session.closed).toBe(false);
    vi.advanceTimersByTime(1);
    await vi.waitFor(() => expect(session.closed).toBe(true));
  });
});

describe('Session: idle timeout', () => {
  it('ends a client with no subscription after idleTimeoutMs without a command', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    const { client, counters, closes } = setup({ idleTimeoutMs: 1000 });
    vi.advanceTimersByTime(600);
    client.send('PING\n');
    expect(await client.next()).toBe('PONG');
    vi.advanceTimersByTime(600); // 1200 ms since start, 600 since the command
    client.send('PING\n');
    expect(await client.next()).toBe('PONG');
    vi.advanceTimersByTime(1000);
    const lines = await client.rest();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^ERR idle-timeout /);
    expect(counters.idleDisconnects).toBe(1);
    await vi.waitFor(() => expect(closes).toEqual(['idle-timeout']));
  });

  it('never times out a subscriber, and starts counting again after UNSUB', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    const { client, session } = setup({ idleTimeoutMs: 1000 });
    client.send('SUB *\n');
    await client.next();
    vi.advanceTimersByTime(10_000);
    expect(session.closing).toBe(false);
    client.send('UNSUB\n');
    expect(await client.next()).toBe('OK UNSUB 1');
    vi.advanceTimersByTime(1000);
    expect((await client.rest())[0]).toMatch(/^ERR idle-timeout /);
  });

  it('never times out with idleTimeoutMs 0', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    const { session } = setup({ idleTimeoutMs: 0 });
    vi.advanceTimersByTime(10 * 60_000);
    expect(session.closing).toBe(false);
  });
});

describe('Session: shutdown', () => {
  it('sends ERR shutting-down and ends', async () => {
    const { client, session, closes } = setup();
    session.shutdown();
    expect(await client.rest()).toEqual(['ERR shutting-down server closing']);
    await vi.waitFor(() => expect(closes).toEqual(['shutting-down']));
  });
});
