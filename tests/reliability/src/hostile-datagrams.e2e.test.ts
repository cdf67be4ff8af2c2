/**
 * Hostile UDP input against the real server (PROTOCOL.md "UDP ingest": "no input of any size or
 * content may crash the server or corrupt another sensor"): every bad line is
 * dropped and counted under its reason, the good lines of the same datagram
 * still count, the sensor cap holds, and the server keeps answering TCP.
 */
import { randomBytes } from 'node:crypto';
import { REJECT_REASONS, parseDatagramToArray, type RejectReason } from '@opc-lite/protocol';
import type { OpcServerStats } from '@opc-lite/opc-server';
import { afterEach, describe, expect, it } from 'vitest';
import { recordFigures } from './testing/figures.js';
import { mib, settledMemory } from './testing/memory.js';
import { closeAllServers, startServer, type ServerFixture } from './testing/server.js';
import { TcpClient, pollOnce, statsOf } from './testing/tcp-client.js';
import { UdpSender } from './testing/udp.js';

afterEach(closeAllServers);

const statKey = (reason: RejectReason): keyof OpcServerStats => `rejected_${reason.replaceAll('-', '_')}`;

/** The reject counters by reason, as the server reports them. */
function rejected(stats: OpcServerStats): Record<RejectReason, number> {
  const out = {} as Record<RejectReason, number>;
  for (const reason of REJECT_REASONS) out[reason] = stats[statKey(reason)] ?? Number.NaN; // missing: fails
  return out;
}

/** Sends one datagram and waits until the server has read it. */
async function deliver(fixture: ServerFixture, udp: UdpSender, datagram: string | Uint8Array): Promise<void> {
  const before = fixture.server.stats().datagrams_received;
  await udp.send(fixture.port, datagram);
  await fixture.waitReceived(before + 1);
}

/** PING and a GET over TCP, answered: the server is still serving. */
async function expectServing(port: number, name: string, value: number): Promise<void> {
  const client = await TcpClient.connect(port);
  try {
    await client.send(`PING\nGET ${name}\n`);
    expect(await client.next()).toEqual({ kind: 'pong' });
    expect(await client.next()).toMatchObject({ kind: 'val', reading: { name, value } });
  } finally {
    client.destroy();
  }
}

const latin1 = (text: string): Buffer => Buffer.from(text, 'latin1');

// Each case is one datagram and what PROTOCOL.md "UDP ingest" says happens to it.
const CASES: readonly {
  what: string;
  datagram: string | Buffer;
  reasons: Partial<Record<RejectReason, number>>;
  accepted: number;
}[] = [
  {
    what: 'invalid UTF-8 in a name',
    datagram: Buffer.from([0x72, 0xff, 0xfe, 0x20, 0x31]),
    reasons: { 'bad-name': 1 },
    accepted: 0,
  },
  { what: 'invalid UTF-8 in a value', datagram: latin1('s \xc3\x28'), reasons: { 'bad-number': 1 }, accepted: 0 },
  {
    what: 'a UTF-16 surrogate encoded as UTF-8',
    datagram: Buffer.from([0xed, 0xa0, 0x80, 0x20, 0x31]),
    reasons: { 'bad-name': 1 },
    accepted: 0,
  },
  { what: 'a NUL byte in a name', datagram: latin1('s\x00 1'), reasons: { 'bad-name': 1 }, accepted: 0 },
  { what: 'a lone NUL byte', datagram: latin1('\x00'), reasons: { 'bad-number': 1 }, accepted: 0 },
  { what: 'a NUL byte after a value', datagram: latin1('s 1\x00'), reasons: { 'bad-number': 1 }, accepted: 0 },
  { what: 'a NUL byte as a timestamp', datagram: latin1('s 1 \x00'), reasons: { 'bad-timestamp': 1 }, accepted: 0 },
  {
    what: '1e400 (overflows to Infinity) in every form',
    datagram: '1e400\ns 1e400\ns:1e400|g',
    reasons: { 'bad-number': 3 },
    accepted: 0,
  },
  {
    what: 'NaN, nan, inf and Infinity',
    datagram: 'NaN\nnan\ninf\nInfinity\n-Infinity\ns NaN\ns:NaN|g',
    reasons: { 'bad-number': 7 },
    accepted: 0,
  },
  {
    what: '--1, 0x10 and other non-decimals',
    datagram: '--1\n0x10\n1_000\n+-1\n1e\n.\n-\n1..2\ns --1\ns 0x10\ns:0x10|g',
    reasons: { 'bad-number': 11 },
    accepted: 0,
  },
  { what: 'a name one byte over the limit', datagram: `${'a'.repeat(129)} 1`, reasons: { 'bad-name': 1 }, accepted: 0 },
  { what: 'a name at the limit', datagram: `${'a'.repeat(128)} 1`, reasons: {}, accepted: 1 },
  {
    what: 'a line one byte over maxLineBytes',
    datagram: 'x'.repeat(1025),
    reasons: { 'line-too-long': 1 },
    accepted: 0,
  },
  {
    what: 'StatsD types other than gauges',
    datagram: 's:1|c\ns:1|ms\ns:1|h\ns:1|s\ns:1|d',
    reasons: { 'unsupported-type': 5 },
    accepted: 0,
  },
  {
    what: 'a StatsD line without a type, and too many fields',
    datagram: 's:1\ns 1 2 3 4',
    reasons: { 'bad-syntax': 2 },
    accepted: 0,
  },
  { what: 'a timestamp in milliseconds', datagram: 's 1 1764316800125', reasons: { 'bad-timestamp': 1 }, accepted: 0 },
  {
    what: 'negative and huge sender sequences',
    datagram: 's 1 -1 -5\ns 1 -1 99999999999999999999',
    reasons: { 'bad-sequence': 2 },
    accepted: 0,
  },
  {
    what: 'bad lines between good ones',
    datagram: 'good 1\n1e400\ngood 2\nbad\x00name 3\ngood 3',
    reasons: { 'bad-number': 1, 'bad-name': 1 },
    accepted: 3,
  },
  { what: 'only blank lines', datagram: ' \t \r\n\r\n\n', reasons: {}, accepted: 0 },
];

describe('hostile datagrams', () => {
  it.each(CASES)('drops and counts $what, and keeps serving', async ({ datagram, reasons, accepted }) => {
    const fixture = await startServer();
    const udp = await UdpSender.open();
    try {
      await deliver(fixture, udp, 'alive 1');
      const before = fixture.server.stats();
      await deliver(fixture, udp, datagram);
      const after = fixture.server.stats();

      const expected = { ...Object.fromEntries(REJECT_REASONS.map((r) => [r, 0])), ...reasons };
      const delta = Object.fromEntries(REJECT_REASONS.map((r) => [r, rejected(after)[r] - rejected(before)[r]]));
      expect(delta).toEqual(expected);
      const total = Object.values(reasons).reduce((a, b) => a + b, 0);
      expect(after.readings_rejected - before.readings_rejected).toBe(total);
      expect(after.readings_accepted - before.readings_accepted).toBe(accepted);
      await expectServing(fixture.port, 'alive', 1);
    } finally {
      udp.close();
    }
  });

  it('counts the same rejections in STATS as the server API', async () => {
    const fixture = await startServer();
    const udp = await UdpSender.open();
    try {
      await deliver(fixture, udp, '1e400\nNaN\ns:1|c\nx\x00 1\ngood 5');
      const client = await TcpClient.connect(fixture.port);
      const stats = statsOf(await client.request('STATS\n'));
      client.destroy();
      expect(stats).toMatchObject({
        readings_accepted: 1,
        readings_rejected: 4,
        rejected_bad_number: 2,
        rejected_unsupported_type: 1,
        rejected_bad_name: 1,
      });
    } finally {
      udp.close();
    }
  });

  it('survives 65,507-byte datagrams: one line too long, or all short readings', async () => {
    const fixture = await startServer();
    const udp = await UdpSender.open();
    try {
      await deliver(fixture, udp, Buffer.alloc(65_507, 0x41));
      expect(fixture.server.stats().rejected_line_too_long).toBe(1);

      await deliver(fixture, udp, Buffer.alloc(65_507, 0x00));
      expect(fixture.server.stats().rejected_line_too_long).toBe(2);

      // 16,376 lines of `x 1\n` plus padding: every one is a reading.
      const lines = Math.floor(65_507 / 4);
      const full = Buffer.concat([Buffer.from('x 1\n'.repeat(lines)), Buffer.from(' '.repeat(65_507 - lines * 4))]);
      expect(full.length).toBe(65_507);
      await deliver(fixture, udp, full);
      expect(fixture.server.stats().readings_accepted).toBe(lines);
      expect(fixture.server.store.get('x')?.seq).toBe(lines);
      await expectServing(fixture.port, 'x', 1);
    } finally {
      udp.close();
    }
  });

  it('stores all 10,000 lines of one datagram, keeping only historyCapacity of them', async () => {
    const fixture = await startServer({ historyCapacity: 1000 });
    const udp = await UdpSender.open();
    try {
      // 4 bytes a line (`m 7\n`): 10,000 lines fit in 40,000 bytes.
      let datagram = '';
      for (let i = 1; i <= 10_000; i++) datagram += `m ${i % 10}\n`;
      await deliver(fixture, udp, datagram);
      expect(fixture.server.stats().readings_accepted).toBe(10_000);

      const client = await TcpClient.connect(fixture.port);
      const hist = await client.request('HIST m 5000\n');
      client.destroy();
      expect(hist).toHaveLength(1001);
      expect(hist[0]).toMatchObject({ kind: 'val', reading: { value: 1, seq: 9001 } });
      expect(hist[999]).toMatchObject({ kind: 'val', reading: { value: 0, seq: 10_000 } });
    } finally {
      udp.close();
    }
  });

  it('never holds more sensors than maxSensors under a flood of new names, and counts the rest', async () => {
    const maxSensors = 100;
    const fixture = await startServer({ maxSensors });
    let created = 0;
    fixture.server.on('sensor', () => created++);
    const udp = await UdpSender.open();
    try {
      const names = 20_000;
      const perDatagram = 500;
      const datagrams = function* (): Generator<string> {
        for (let i = 0; i < names; i += perDatagram) {
          let text = '';
          for (let j = i; j < i + perDatagram; j++) text += `flood.${j} ${j}\n`;
          yield text;
        }
      };
      const check = async (total: number): Promise<void> => {
        await fixture.waitReceived(total);
        expect(fixture.server.store.size).toBeLessThanOrEqual(maxSensors);
      };
      await udp.sendPaced(fixture.port, datagrams(), check, 0, 4);

      const stats = fixture.server.stats();
      expect(created).toBe(maxSensors);
      expect(stats.sensors).toBe(maxSensors);
      expect(stats.readings_accepted).toBe(maxSensors);
      expect(stats.rejected_too_many_sensors).toBe(names - maxSensors);

      // The sensors already known keep working; new ones are still refused.
      await deliver(fixture, udp, 'flood.0 42\nflood.99 43\nbrand.new 44');
      expect(fixture.server.stats().rejected_too_many_sensors).toBe(names - maxSensors + 1);
      await expectServing(fixture.port, 'flood.0', 42);
      const client = await TcpClient.connect(fixture.port);
      const list = await client.request('LIST\n');
      client.destroy();
      expect(list.filter((r) => r.kind === 'sensor')).toHaveLength(maxSensors);
    } finally {
      udp.close();
    }
  });

  it('treats __proto__, constructor and other Object.prototype names as ordinary sensors, without pollution', async () => {
    const names = [
      '__proto__',
      'constructor',
      'prototype',
      'toString',
      'hasOwnProperty',
      'valueOf',
      '__defineGetter__',
      '__proto__.polluted',
      'constructor.prototype.polluted',
    ];
    const prototypeKeys = Reflect.ownKeys(Object.prototype);
    const fixture = await startServer();
    const udp = await UdpSender.open();
    try {
      await deliver(fixture, udp, names.map((name, i) => `${name} ${i + 1}`).join('\n'));
      await deliver(fixture, udp, '__proto__:7|g\nconstructor:8|g');
      expect(fixture.server.stats()).toMatchObject({ sensors: names.length, readings_accepted: names.length + 2 });

      const client = await TcpClient.connect(fixture.port);
      await client.send('GET __proto__\nGET constructor\nGET toString\n');
      expect(await client.next()).toMatchObject({ kind: 'val', reading: { name: '__proto__', value: 7, seq: 2 } });
      expect(await client.next()).toMatchObject({ kind: 'val', reading: { name: 'constructor', value: 8, seq: 2 } });
      expect(await client.next()).toMatchObject({ kind: 'val', reading: { name: 'toString', value: 4, seq: 1 } });
      const list = await client.request('LIST\n');
      expect(list.flatMap((r) => (r.kind === 'sensor' ? [r.summary.name] : []))).toEqual(names);
      const hist = await client.request('HIST __proto__\n');
      expect(hist.map((r) => (r.kind === 'val' ? r.reading.value : r.kind))).toEqual([1, 7, 'end']);
      await client.send('SUB __proto__* 5\n');
      expect(await client.next()).toEqual({ kind: 'ok', verb: 'SUB', detail: '__proto__*' });
      const backlog = [await client.next(), await client.next(), await client.next()];
      expect(backlog.map((r) => (r.kind === 'pub' ? r.reading.name : r.kind))).toEqual([
        '__proto__',
        '__proto__',
        '__proto__.polluted',
      ]);
      client.destroy();

      expect(Reflect.ownKeys(Object.prototype)).toEqual(prototypeKeys);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect(Object.getPrototypeOf({})).toBe(Object.prototype);
      expect(fixture.server.stats().sensors).toBe(names.length);
    } finally {
      udp.close();
    }
  });

  it('keeps memory bounded and serving through a bounded flood of random and oversized datagrams', async () => {
    const maxSensors = 500;
    const fixture = await startServer({ maxSensors, historyCapacity: 100 });
    const udp = await UdpSender.open();
    const rounds = 4;
    const perRound = 2_500;
    let seed = 1;
    // Mixed junk: random bytes of random sizes, invalid UTF-8 and NULs, oversized lines, new names.
    const junk = function* (round: number): Generator<Uint8Array | string> {
      for (let i = 0; i < perRound; i++) {
        switch (i % 5) {
          case 0:
            yield randomBytes(1 + ((seed++ * 7919) % 1400));
            break;
          case 1:
            yield Buffer.from(`${'\xff\x00'.repeat(300)} 1\n1e400\nNaN\n--1\n0x10`, 'latin1');
            break;
          case 2:
            yield Buffer.alloc(i % 50 === 2 ? 65_507 : 4_000, 0x61);
            break;
          case 3: {
            let text = '';
            for (let j = 0; j < 50; j++) text += `r${round}.n${i}.${j} ${j}\n`;
            yield text;
            break;
          }
          default:
            yield `steady ${i}`;
        }
      }
    };
    let sent = 0;
    try {
      // Round 1 warms up (sensors up to the cap, buffers); rounds 2.. must not grow.
      sent += await udp.sendPaced(fixture.port, junk(0), fixture.waitReceived, sent, 50);
      const warm = settledMemory();
      for (let round = 1; round < rounds; round++) {
        sent += await udp.sendPaced(fixture.port, junk(round), fixture.waitReceived, sent, 50);
      }
      const end = settledMemory();
      const stats = fixture.server.stats();
      expect(stats.datagrams_received).toBe(sent);
      expect(stats.sensors).toBeLessThanOrEqual(maxSensors);
      let reasons = 0;
      for (const reason of REJECT_REASONS) reasons += stats[statKey(reason)] ?? Number.NaN;
      expect(reasons).toBe(stats.readings_rejected);
      await expectServing(fixture.port, 'steady', perRound - 1);
      expect(await pollOnce(fixture.port)).toEqual(expect.any(Number));

      const heapGrowth = end.heapUsed - warm.heapUsed;
      const rssGrowth = end.rss - warm.rss;
      recordFigures('hostile-datagrams-memory', {
        datagrams: sent,
        bytesMiB: mib(stats.bytes_received),
        readingsAccepted: stats.readings_accepted,
        readingsRejected: stats.readings_rejected,
        rejectedTooManySensors: stats.rejected_too_many_sensors,
        rejectedLineTooLong: stats.rejected_line_too_long,
        sensors: stats.sensors,
        heapAfterWarmupMiB: mib(warm.heapUsed),
        heapGrowthMiB: mib(heapGrowth),
        rssGrowthMiB: mib(rssGrowth),
      });
      // Bounds: what the server may retain is fixed by its limits (500 sensors x 100 readings x 24 bytes
      // is ~1.2 MiB, all allocated in the warm-up round); 8 MiB of heap and 64 MiB of RSS leave room for
      // the test runner's own noise while a leak of even a few bytes per datagram (7,500 of them) or per
      // rejected line (~250,000) would show.
      expect(heapGrowth).toBeLessThan(8 * 2 ** 20);
      expect(rssGrowth).toBeLessThan(64 * 2 ** 20);
    } finally {
      udp.close();
    }
  });

  it('counts random bytes exactly as the protocol parser reads them', async () => {
    const fixture = await startServer();
    const udp = await UdpSender.open();
    try {
      const datagrams = Array.from({ length: 500 }, (_, i) => {
        const bytes = randomBytes(1 + (i % 300));
        // Sprinkle line feeds and digits so that some lines look like readings.
        for (let j = 0; j < bytes.length; j += 7) bytes[j] = j % 3 === 0 ? 0x0a : 0x30 + (j % 10);
        return bytes;
      });
      let accepted = 0;
      const reasons = Object.fromEntries(REJECT_REASONS.map((r) => [r, 0])) as Record<RejectReason, number>;
      for (const datagram of datagrams) {
        const parsed = parseDatagramToArray(datagram);
        accepted += parsed.readings.length;
        for (const reject of parsed.rejects) reasons[reject.reason]++;
      }
      await udp.sendPaced(fixture.port, datagrams, fixture.waitReceived, 0, 50);
      const stats = fixture.server.stats();
      // Lines with a sender-seq may repeat one: those are counted as duplicates, not stored.
      expect(stats.readings_accepted + stats.seq_duplicate).toBe(accepted);
      expect(rejected(stats)).toEqual(reasons);
      expect(await pollOnce(fixture.port)).toEqual(expect.any(Number));
    } finally {
      udp.close();
    }
  });
});
