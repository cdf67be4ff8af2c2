import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { OpcServerError } from './options.js';
import type { OpcServer } from './server.js';
import { Fixture, HOST } from './testing/fixture.js';

const fixture = new Fixture();
afterEach(() => fixture.cleanup());

/** Waits until the server has handled `count` datagrams in total. */
async function received(server: OpcServer, count: number): Promise<void> {
  await expect.poll(() => server.stats().datagrams_received, { timeout: 5000 }).toBeGreaterThanOrEqual(count);
}

describe('opc-server over loopback: UDP ingest (PROTOCOL.md "UDP ingest")', () => {
  it('stores the legacy bare number under sensor default', async () => {
    const { server, address } = await fixture.start();
    const udp = fixture.udpSender(address.udpPort);
    await udp.send('0.35');
    await received(server, 1);
    expect(server.store.get('default')?.lastValue).toBe(0.35);
  });

  it('stores a native line with the sender timestamp and counts sender-seq gaps', async () => {
    const { server, address } = await fixture.start();
    const udp = fixture.udpSender(address.udpPort);
    await udp.send('ramp 0.35 1764316800.125 42\nramp 0.5 -1 45\n');
    await received(server, 1);
    const client = await fixture.connect(address.tcpPort);
    client.send('GET ramp\nHIST ramp\n');
    expect(await client.next()).toMatch(/^VAL ramp 0\.5 \d+ 2$/);
    expect(await client.until('END')).toEqual([
      'VAL ramp 0.35 1764316800125 1',
      expect.stringMatching(/^VAL ramp 0\.5 \d+ 2$/),
      'END',
    ]);
    expect(server.store.get('ramp')?.loss.lost).toBe(2);
    expect(server.stats().seq_lost).toBe(2);
  });

  it('stores a StatsD gauge, a negative value being absolute', async () => {
    const { server, address } = await fixture.start();
    const udp = fixture.udpSender(address.udpPort);
    await udp.send('temp:-3.5|g|@0.5|#room:lab');
    await received(server, 1);
    expect(server.store.get('temp')?.lastValue).toBe(-3.5);
  });

  it('drops bad lines by reason, naming the sender, and keeps the good lines of the same datagram', async () => {
    const { server, address } = await fixture.start();
    const rejects: { reason: string; line: string; remote?: string }[] = [];
    server.on('reject', (r) => rejects.push(r));
    const udp = fixture.udpSender(address.udpPort);
    await udp.send('a 1\nb 0x10\nhits:1|c\nc 2\nbad!name 3\n');
    await received(server, 1);
    expect(server.store.get('a')?.lastValue).toBe(1);
    expect(server.store.get('c')?.lastValue).toBe(2);
    const stats = server.stats();
    expect(stats.readings_accepted).toBe(2);
    expect(stats.readings_rejected).toBe(3);
    expect(stats.rejected_bad_number).toBe(1);
    expect(stats.rejected_unsupported_type).toBe(1);
    expect(stats.rejected_bad_name).toBe(1);
    const remote = rejects[0]?.remote;
    expect(remote).toMatch(/^127\.0\.0\.1:[1-9]\d*$/);
    expect(remote).not.toBe(`127.0.0.1:${address.udpPort}`); // the sender's port, not the server's
    expect(rejects).toEqual([
      { reason: 'bad-number', line: 'b 0x10', remote },
      { reason: 'unsupported-type', line: 'hits:1|c', remote },
      { reason: 'bad-name', line: 'bad!name 3', remote },
    ]);
  });

  it('rejects new sensors past maxSensors, naming the sender', async () => {
    const { server, address } = await fixture.start({ maxSensors: 2 });
    const rejects: { reason: string; line: string; remote?: string }[] = [];
    server.on('reject', (r) => rejects.push(r));
    const udp = fixture.udpSender(address.udpPort);
    await udp.send('a 1\nb 1\nc 1\na 2\n');
    await received(server, 1);
    expect(server.stats()).toMatchObject({ sensors: 2, readings_accepted: 3, rejected_too_many_sensors: 1 });
    expect(rejects).toEqual([
      { reason: 'too-many-sensors', line: 'c', remote: expect.stringMatching(/^127\.0\.0\.1:\d+$/) as string },
    ]);
  });

  it('keeps serving after a bounded flood of malformed and random datagrams', async () => {
    const { server, address } = await fixture.start();
    const udp = fixture.udpSender(address.udpPort);
    const malformed = [
      '',
      '\n\n',
      'nan',
      'inf',
      '1e400',
      'a b c d e',
      ':|',
      'x:1',
      'x:1|',
      '\u00ff\u00fe',
      'a'.repeat(5000),
    ];
    let sent = 0;
    for (let i = 0; i < 400; i++) {
      const payload = i % 2 === 0 ? randomBytes(1 + ((i * 37) % 1400)) : malformed[i % malformed.length]!;
      await udp.send(payload);
      sent++;
    }
    await udp.send(randomBytes(60_000));
    await udp.send('ok 1\n');
    sent += 2;
    await expect.poll(() => server.store.get('ok')?.lastValue, { timeout: 5000 }).toBe(1);
    const client = await fixture.connect(address.tcpPort);
    client.send('PING\nGET ok\n');
    expect(await client.take(2)).toEqual(['PONG', expect.stringMatching(/^VAL ok 1 \d+ 1$/)]);
    expect(server.stats().readings_rejected).toBeGreaterThan(0);
    expect(server.stats().datagrams_received).toBeLessThanOrEqual(sent);
  });

  it('logs and counts a UDP socket error without crashing, and emits it only to a listener', async () => {
    const sockets: dgram.Socket[] = [];
    const realCreate = dgram.createSocket;
    const create = vi.spyOn(dgram, 'createSocket').mockImplementation((options: dgram.SocketOptions) => {
      const socket = realCreate(options);
      sockets.push(socket);
      return socket;
    });
    const logged: unknown[] = [];
    const logger = { debug() {}, info() {}, warn() {}, error: (obj: unknown) => logged.push(obj) };
    const { server, address } = await fixture.start({ logger }).finally(() => create.mockRestore());
    expect(sockets).toHaveLength(1);
    const [udpSocket] = sockets;
    udpSocket!.emit('error', new Error('simulated receive error')); // no 'error' listener on the server: must not throw
    const errors: Error[] = [];
    server.on('error', (err) => errors.push(err));
    udpSocket!.emit('error', new Error('another one'));
    expect(errors.map((e) => e.message)).toEqual(['another one']);
    expect(server.stats().udp_errors).toBe(2);
    expect(logged).toHaveLength(2);
    const udp = fixture.udpSender(address.udpPort);
    await udp.send('still 1');
    await received(server, 1);
    expect(server.store.get('still')?.lastValue).toBe(1);
  });

  it('reports the UDP receive buffer the kernel granted', async () => {
    const { address, server } = await fixture.start({ recvBufferBytes: 65_536 });
    expect(address.recvBufferBytes).toBeGreaterThan(0);
    expect(server.stats().recv_buffer_bytes).toBe(address.recvBufferBytes);
    expect(address.udpPort).toBe(address.tcpPort);
    expect(address.port).toBe(address.tcpPort);
  });
});

describe('opc-server over loopback: the original system', () => {
  it('answers the lector flow: connect, send n, read one line, close, repeat', async () => {
    const { server, address } = await fixture.start();
    const udp = fixture.udpSender(address.udpPort);
    // Medidor: bare float datagrams as Python's str(float) prints them, no newline.
    const values = ['0.0', '0.25', '1e-05', '0.9999999999999999'];
    for (const [i, text] of values.entries()) {
      await udp.send(text);
      await received(server, i + 1);
      const client = await fixture.connect(address.tcpPort);
      client.send('n');
      const line = await client.next();
      expect(Number(line)).toBe(Number(text));
      client.stream.destroy();
    }
    expect(server.stats().polls).toBe(values.length);
  });

  it('answers nnn pipelined with three lines', async () => {
    const { server, address } = await fixture.start();
    const udp = fixture.udpSender(address.udpPort);
    await udp.send('0.5');
    await received(server, 1);
    const client = await fixture.connect(address.tcpPort);
    client.send('nnn');
    expect(await client.take(3)).toEqual(['0.5', '0.5', '0.5']);
  });

  it('answers n with nan before any reading', async () => {
    const { address } = await fixture.start();
    const client = await fixture.connect(address.tcpPort);
    client.send('n');
    expect(await client.next()).toBe('nan');
  });
});

describe('opc-server over loopback: TCP commands (PROTOCOL.md "TCP commands and replies")', () => {
  it('answers every command', async () => {
    const { server, address } = await fixture.start({ now: () => 1_764_316_800_000 });
    const udp = fixture.udpSender(address.udpPort);
    await udp.send('ramp 0.1\nramp 0.2\ntemp 20\n');
    await received(server, 1);
    const client = await fixture.connect(address.tcpPort);
    client.send('PING\nGET ramp\nLIST r*\nHIST ramp 1\nSUB temp\nUNSUB temp\nBOGUS\nSTATS\n');
    expect(await client.take(9)).toEqual([
      'PONG',
      'VAL ramp 0.2 1764316800000 2',
      'SENSOR ramp 2 1764316800000 0.2',
      'END',
      'VAL ramp 0.2 1764316800000 2',
      'END',
      'OK SUB temp',
      'OK UNSUB 1',
      'ERR unknown-command BOGUS',
    ]);
    const stats = await client.until('END');
    expect(stats).toContain('STAT sensors 2');
    client.send('QUIT\n');
    expect(await client.rest()).toEqual(['BYE']);
  });

  it('sends the SUB backlog, then live readings, including sensors that appear later', async () => {
    const { server, address } = await fixture.start();
    const udp = fixture.udpSender(address.udpPort);
    await udp.send('s1 1\ns1 2\ns1 3\n');
    await received(server, 1);
    const client = await fixture.connect(address.tcpPort);
    client.send('SUB s* 2\n');
    expect(await client.take(3)).toEqual([
      'OK SUB s*',
      expect.stringMatching(/^PUB s1 2 \d+ 2$/),
      expect.stringMatching(/^PUB s1 3 \d+ 3$/),
    ]);
    await udp.send('s2 7\nother 1\ns1 4\n');
    expect(await client.take(2)).toEqual([
      expect.stringMatching(/^PUB s2 7 \d+ 1$/),
      expect.stringMatching(/^PUB s1 4 \d+ 4$/),
    ]);
    const wildcard = await fixture.connect(address.tcpPort);
    wildcard.send('SUB *\n');
    expect(await wildcard.next()).toBe('OK SUB *');
    await udp.send('brand.new/sensor 5');
    expect(await wildcard.next()).toMatch(/^PUB brand\.new\/sensor 5 \d+ 1$/);
  });

  it('refuses a client past maxClients with ERR server-busy', async () => {
    const { server, address } = await fixture.start({ maxClients: 2 });
    const a = await fixture.connect(address.tcpPort);
    const b = await fixture.connect(address.tcpPort);
    a.send('PING\n');
    b.send('PING\n');
    await a.next();
    await b.next();
    const c = await fixture.connect(address.tcpPort);
    expect(await c.rest()).toEqual(['ERR server-busy at most 2 clients']);
    expect(server.stats().clients_rejected).toBe(1);
  });

  it('keeps a client that sends commands more often than idleTimeoutMs, and ends it once it stops', async () => {
    const { server, address } = await fixture.start({ idleTimeoutMs: 1000 });
    const client = await fixture.connect(address.tcpPort);
    // 15 commands 100 ms apart: 1.5 times the timeout in all, a tenth of it between two (a busy machine can stretch a
    // 100 ms timer several times over; a quarter of the timeout was not enough margin there).
    for (let i = 0; i < 15; i++) {
      client.send('PING\n');
      expect(await client.next()).toBe('PONG');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(server.stats().idle_disconnects).toBe(0);
    const lines = await client.rest();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^ERR idle-timeout no command for 1000 ms/);
    expect(server.stats().idle_disconnects).toBe(1);
  });

  it('keeps the event loop polling for busyPollUs after a read, and sleeps at once with 0', async () => {
    /** Event-loop utilisation over the `ms` after a PING was answered: 1 = never slept, 0 = always asleep. */
    const busyAfterPing = async (busyPollUs: number, ms: number): Promise<number> => {
      const { server, address } = await fixture.start({ busyPollUs });
      const client = await fixture.connect(address.tcpPort);
      client.send('PING\n');
      expect(await client.next()).toBe('PONG');
      const start = performance.eventLoopUtilization();
      await new Promise((resolve) => setTimeout(resolve, ms));
      const { utilization } = performance.eventLoopUtilization(start);
      await server.close(); // which also ends its polling
      return utilization;
    };
    expect(await busyAfterPing(1_000_000, 100)).toBeGreaterThan(0.7); // a one-second window: busy throughout
    expect(await busyAfterPing(0, 100)).toBeLessThan(0.3);
  });

  it('answers a line that is too long with ERR line-too-long and closes', async () => {
    const { address } = await fixture.start({ maxLineBytes: 64 });
    const client = await fixture.connect(address.tcpPort);
    client.send(`GET ${'x'.repeat(200)}\n`);
    const lines = await client.rest();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^ERR line-too-long/);
  });

  it('ends connected clients on close() and resolves', async () => {
    const { server, address } = await fixture.start();
    const a = await fixture.connect(address.tcpPort);
    const b = await fixture.connect(address.tcpPort);
    b.send('SUB *\n');
    await b.next();
    await server.close();
    expect(await a.rest()).toEqual(['ERR shutting-down server closing']);
    expect(await b.rest()).toEqual(['ERR shutting-down server closing']);
    expect(server.address()).toBeUndefined();
  });
});

describe('opc-server over loopback: slow consumers', () => {
  it('disconnects a subscriber that stops reading while another receives every reading in order', async () => {
    // The drain timeout is long enough for the budget to be passed (and pushes dropped) first, even when a busy
    // machine sends slowly: the timer starts when the socket stops taking writes, the budget fills after that.
    const { server, address } = await fixture.start({ outboundBudgetBytes: 64 * 1024, drainTimeoutMs: 1000 });
    const slowIds: number[] = [];
    const closed: { id: number; reason: string }[] = [];
    server.on('slowConsumer', ({ id }) => slowIds.push(id));
    server.on('clientClose', (info) => closed.push(info));
    const stuck = await fixture.connect(address.tcpPort);
    const reader = await fixture.connect(address.tcpPort);
    stuck.send('SUB flood\n');
    reader.send('SUB flood\n');
    expect(await stuck.next()).toBe('OK SUB flood');
    expect(await reader.next()).toBe('OK SUB flood');
    stuck.stream.pause();

    const udp = fixture.udpSender(address.udpPort);
    // Small datagrams, one per event-loop turn: the server keeps up, so no datagram is lost and a reading
    // subscriber never holds more than a few of them pending. The kernel's socket buffers absorb a few MB
    // for the stuck client before the server's own budget is reached.
    const lines = Array.from({ length: 10 }, (_, i) => `flood ${i}`).join('\n');
    const deadline = Date.now() + 15_000;
    let sent = 0;
    // Bounded: at most 60 000 datagrams (600 000 readings) or 15 s.
    while (server.stats().slow_consumer_disconnects === 0 && sent < 60_000 && Date.now() < deadline) {
      await udp.send(lines);
      sent++;
      await new Promise((resolve) => setImmediate(resolve));
    }
    await expect.poll(() => server.stats().slow_consumer_disconnects, { timeout: 10_000 }).toBe(1);
    expect(slowIds).toEqual([1]);
    expect(server.stats().pushes_dropped).toBeGreaterThan(0);
    await expect.poll(() => closed).toEqual([{ id: 1, reason: 'slow-consumer' }]);
    expect(server.stats().clients).toBe(1);

    // Ingest goes on, and the reading subscriber got every stored reading, in order.
    const before = server.stats().readings_accepted;
    await udp.send('flood 1\nflood 2\n');
    await expect.poll(() => server.stats().readings_accepted, { timeout: 5000 }).toBe(before + 2);
    const total = server.store.get('flood')!.seq;
    await expect.poll(() => reader.lines.length, { timeout: 10_000 }).toBe(total + 1);
    const seqs = reader.lines.slice(1).map((l) => Number(l.split(' ')[4]));
    expect(seqs).toEqual(Array.from({ length: total }, (_, i) => i + 1));
  });
});

describe('opc-server over loopback: listening', () => {
  it('rejects with EADDRINUSE when the TCP port is taken', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, HOST, resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const error = await fixture.start({ port }).catch((err: unknown) => err);
      expect(error).toBeInstanceOf(OpcServerError);
      expect(error).toMatchObject({ code: 'EADDRINUSE' });
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  it('rejects with EADDRINUSE when the UDP port is taken', async () => {
    const blocker = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => blocker.bind(0, HOST, resolve));
    const port = blocker.address().port;
    try {
      const error = await fixture.start({ port }).catch((err: unknown) => err);
      expect(error).toMatchObject({ code: 'EADDRINUSE' });
    } finally {
      await new Promise((resolve) => blocker.close(() => resolve(undefined)));
    }
  });

  it('with port 0, starts over on a new port when UDP finds the one TCP picked taken', async () => {
    // eslint-disable-next-line @typescript-eslint/unbound-method -- called below with the socket as `this`
    const bind = dgram.Socket.prototype.bind;
    let calls = 0;
    const spy = vi.spyOn(dgram.Socket.prototype, 'bind').mockImplementation(function (this: dgram.Socket, ...args) {
      calls++;
      if (calls === 1) {
        process.nextTick(() => this.emit('error', Object.assign(new Error('bind EADDRINUSE'), { code: 'EADDRINUSE' })));
        return this;
      }
      return bind.apply(this, args);
    });
    try {
      const { server, address } = await fixture.start({ port: 0 });
      expect(calls).toBe(2);
      expect(address.udpPort).toBe(address.tcpPort);
      const udp = fixture.udpSender(address.udpPort);
      await udp.send('retry 1');
      await received(server, 1);
      expect(server.store.get('retry')?.lastValue).toBe(1);
    } finally {
      spy.mockRestore();
    }
  });

  it('refuses a second listen()', async () => {
    const { server } = await fixture.start();
    await expect(server.listen()).rejects.toMatchObject({ code: 'ERR_SERVER_LISTENING' });
  });
});
