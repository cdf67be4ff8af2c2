/**
 * Hostile and broken TCP clients against the real server in this process
 * (PROTOCOL.md "TCP commands and replies", PROTOCOL.md "Limits"): one misbehaving client never hurts
 * another, and the server's memory for it stays within its limits. The whole suite runs twice: without an auth
 * file, and with one (docs/SECURITY.md), every client then sending its token first, so that the same limits hold
 * with rights checked on every command and every push.
 */
import { once } from 'node:events';
import { createConnection, type Socket } from 'node:net';
import type { Reply } from '@opc-lite/protocol';
import {
  Authenticator,
  hashToken,
  parseAuthFile,
  type AuthConfig,
  type OpcServerOptions,
  type SessionCloseReason,
} from '@opc-lite/opc-server';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { recordFigures } from './testing/figures.js';
import { mib, settledMemory } from './testing/memory.js';
import { closeAllServers, startServer as startFixture, type ServerFixture } from './testing/server.js';
import { TcpClient } from './testing/tcp-client.js';
import { UdpSender } from './testing/udp.js';

const clients: TcpClient[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) client.destroy();
  for (const socket of sockets.splice(0)) socket.destroy();
  await closeAllServers();
});

const TOKEN = 'hostile-suite-token';
/** The auth file of the run with one (a token with every right); undefined in the run without. */
let authConfig: AuthConfig | undefined;

/** The suite's server: with the run's auth file, if it has one (fresh failure limits per server). */
function startServer(options: OpcServerOptions = {}): Promise<ServerFixture> {
  return startFixture(
    authConfig === undefined ? options : { ...options, auth: new Authenticator(authConfig, { failureDelayMs: 0 }) },
  );
}

/** `AUTH <token>\n` in the run with an auth file, else nothing: what a raw socket sends first. */
const authLine = (): string => (authConfig === undefined ? '' : `AUTH ${TOKEN}\n`);

/** A client; with an auth file it sends the token first, unless `anonymous` (one that never sends a command). */
async function connect(
  port: number,
  options: Parameters<typeof TcpClient.connect>[1] = {},
  anonymous = false,
): Promise<TcpClient> {
  const client = await TcpClient.connect(
    port,
    authConfig === undefined || anonymous ? options : { ...options, token: TOKEN },
  );
  clients.push(client);
  return client;
}

/** A socket that subscribes and then never reads another byte. */
async function stuckSubscriber(port: number, command: string): Promise<Socket> {
  const socket = createConnection({ host: '127.0.0.1', port });
  sockets.push(socket);
  socket.on('error', () => {});
  await once(socket, 'connect');
  socket.pause();
  socket.write(authLine() + command);
  return socket;
}

/** Fills sensor `name` with `count` readings (values 0..9), in datagrams of at most 60,000 bytes. */
async function fill(fixture: ServerFixture, name: string, count: number): Promise<void> {
  const udp = await UdpSender.open();
  try {
    const perDatagram = Math.floor(60_000 / (name.length + 3));
    const datagrams: string[] = [];
    for (let i = 0; i < count; i += perDatagram) {
      const lines = Math.min(perDatagram, count - i);
      let text = '';
      for (let j = 0; j < lines; j++) text += `${name} ${j % 10}\n`;
      datagrams.push(text);
    }
    const base = fixture.server.stats().datagrams_received;
    await udp.sendPaced(fixture.port, datagrams, fixture.waitReceived, base, 1);
    expect(fixture.server.store.get(name)?.seq).toBeGreaterThanOrEqual(count);
  } finally {
    udp.close();
  }
}

/** Lets `turns` event-loop turns pass (a bounded count, for sampling), calling `sample` after each. */
async function sampleTurns(turns: number, sample: () => void): Promise<void> {
  for (let i = 0; i < turns; i++) {
    await new Promise<void>((resolve) => setImmediate(resolve));
    sample();
  }
}

/** The reason the server gave for closing each session, by id. */
function closeReasons(fixture: ServerFixture): Map<number, SessionCloseReason> {
  const reasons = new Map<number, SessionCloseReason>();
  fixture.server.on('clientClose', ({ id, reason }) => reasons.set(id, reason));
  return reasons;
}

const MODES = [
  { name: '', auth: false },
  { name: ', with an auth file and clients sending their token', auth: true },
];

describe.each(MODES)('hostile TCP clients$name', ({ auth }) => {
  beforeAll(async () => {
    authConfig = auth
      ? parseAuthFile(`token suite ${await hashToken(TOKEN, { ln: 4, r: 8, p: 1 })} read=* write=* admin\n`)
      : undefined;
  });
  /** The `AUTH`s of `clients` clients, counted among the commands in the run with an auth file. */
  const auths = (clients: number): number => (auth ? clients : 0);

  it('answers a line that never ends with ERR line-too-long and closes, with memory bounded', async () => {
    const fixture = await startServer({ closeGraceMs: 500 });
    const bystander = await connect(fixture.port);
    const before = settledMemory();
    const client = await connect(fixture.port);
    const chunk = Buffer.alloc(64 * 1024, 0x61); // 'a', and never a line feed
    const limit = 16 * 2 ** 20;
    let sent = 0;
    await client.send('GET ');
    while (client.replyCount === 0 && !client.ended && !client.closed && sent < limit) {
      await client.send(chunk).catch(() => undefined);
      sent += chunk.length;
    }
    expect(await client.next()).toMatchObject({ kind: 'err', code: 'line-too-long' });
    await client.waitClosed();
    const after = settledMemory();

    await bystander.send('PING\n');
    expect(await bystander.next()).toEqual({ kind: 'pong' });
    await expect.poll(() => fixture.server.stats().clients).toBe(1);
    expect(fixture.server.stats()).toMatchObject({ command_errors: 1, commands: 2 + auths(2) });
    recordFigures('never-ending-line', {
      bytesSentBeforeTheReply: sent,
      heapGrowthMiB: mib(after.heapUsed - before.heapUsed),
    });
    // The decoder keeps at most maxLineBytes of an unfinished line; the rest is discarded unread.
    expect(after.heapUsed - before.heapUsed).toBeLessThan(4 * 2 ** 20);
  });

  it('holds a subscriber that never reads to its outbound budget, counts its drops, and loses nothing for the others', async () => {
    const budget = 256 * 1024;
    const drainTimeoutMs = 2000;
    const fixture = await startServer({ outboundBudgetBytes: budget, drainTimeoutMs });
    const reasons = closeReasons(fixture);

    let received = 0;
    let lastSeq = 0;
    let gaps = 0;
    const good = await connect(fixture.port, {
      keepReplies: false,
      onReply: (reply: Reply) => {
        if (reply.kind !== 'pub') return;
        if (reply.reading.seq !== lastSeq + 1) gaps++;
        lastSeq = reply.reading.seq;
        received++;
      },
    });
    await good.send('SUB flood\n');
    await stuckSubscriber(fixture.port, 'SUB flood\n');
    await expect.poll(() => fixture.server.hub.subscriptionCount).toBe(2);
    const stuck = fixture.sessions[1]!;

    const udp = await UdpSender.open();
    const perRound = 1000;
    const datagram = 'flood 1\n'.repeat(perRound);
    let sent = 0;
    let maxPending = 0;
    let extraRounds = 0;
    try {
      // Flood until the stuck subscriber has had pushes dropped for a while (bounded: at most 1,000 rounds).
      for (let round = 0; round < 1000 && extraRounds < 50 && !stuck.closed; round++) {
        await udp.send(fixture.port, datagram);
        sent += perRound;
        // Paced by the reading subscriber, which must keep up and see every reading.
        await good.waitUntil(() => (received >= sent ? true : undefined), `${sent} readings at the good subscriber`);
        maxPending = Math.max(maxPending, stuck.pendingBytes);
        if (stuck.dropped > 0) extraRounds++;
      }
    } finally {
      udp.close();
    }
    const stats = fixture.server.stats();
    recordFigures('stuck-subscriber', {
      readings: sent,
      budgetBytes: budget,
      maxPendingBytes: maxPending,
      droppedForStuck: stuck.dropped,
      pushesSent: stats.pushes_sent,
      goodSubscriberReceived: received,
      goodSubscriberGaps: gaps,
    });
    expect(stuck.dropped).toBeGreaterThan(0);
    expect(stats.pushes_dropped).toBe(stuck.dropped);
    // Replies are never dropped, pushes are: the pending bytes never pass the budget by more than one line.
    expect(maxPending).toBeLessThanOrEqual(budget + 64);
    expect({ received, gaps, lastSeq }).toEqual({ received: sent, gaps: 0, lastSeq: sent });

    // It never drains, so it is disconnected as a slow consumer; the good subscriber stays.
    await expect.poll(() => reasons.get(stuck.id), { timeout: drainTimeoutMs + 5000 }).toBe('slow-consumer');
    expect(fixture.server.stats()).toMatchObject({ slow_consumer_disconnects: 1, clients: 1, subscriptions: 1 });
    await good.send('PING\n');
    await good.waitUntil(() => (good.replyCount >= received + 2 ? true : undefined), 'PONG');
  });

  it('holds a client that pipelines large requests without reading to its budget plus one reply', async () => {
    const budget = 64 * 1024;
    const fixture = await startServer({ outboundBudgetBytes: budget });
    await fill(fixture, 'big', 1000);
    const before = settledMemory();
    // One HIST reply is 1,000 VAL lines (~31 KB); 500 of them pipelined in one 5 KB write.
    const commands = 500;
    const socket = await stuckSubscriber(fixture.port, 'HIST big\n'.repeat(commands));
    await expect.poll(() => fixture.sessions.length).toBe(1);
    const session = fixture.sessions[0]!;
    await expect.poll(() => fixture.server.stats().commands).toBeGreaterThan(0);

    // Sample until the server has stopped taking commands for 50 turns (bounded: 5,000 turns).
    let maxPending = 0;
    let lastCommands = -1;
    let quiet = 0;
    for (let turn = 0; turn < 5000 && quiet < 50; turn++) {
      await sampleTurns(1, () => (maxPending = Math.max(maxPending, session.pendingBytes)));
      const commandsNow = fixture.server.stats().commands;
      quiet = commandsNow === lastCommands ? quiet + 1 : 0;
      lastCommands = commandsNow;
    }
    const peak = settledMemory();
    const oneReply = 1000 * 'VAL big 1 1764316800125 1000\n'.length + 4;
    recordFigures('pipelined-requests-without-reading', {
      commandsSent: commands,
      commandsProcessedWhileNotReading: lastCommands,
      budgetBytes: budget,
      oneReplyBytes: oneReply,
      maxPendingBytes: maxPending,
      heapGrowthMiB: mib(peak.heapUsed - before.heapUsed),
      rssGrowthMiB: mib(peak.rss - before.rss),
    });

    // Then it reads: every request is answered, in full.
    const replies = new EndCounter(socket);
    socket.resume();
    await expect.poll(() => replies.ends, { timeout: 15_000 }).toBe(commands);

    // The budget bounds what one client can make the server hold (Redis' client-output-buffer-limit).
    expect(maxPending).toBeLessThanOrEqual(budget + oneReply);
  });

  it('holds what all stuck clients together make it keep to maxOutboundBytes, cutting off the largest', async () => {
    const budget = 64 * 1024;
    const cap = 1024 * 1024;
    // A drain timeout longer than the test: every disconnect here is the cap's.
    const fixture = await startServer({ outboundBudgetBytes: budget, maxOutboundBytes: cap, drainTimeoutMs: 120_000 });
    const reasons = closeReasons(fixture);
    await fill(fixture, 'big', 1000);
    const oneReply = 1000 * 'VAL big 1 1764316800125 1000\n'.length + 4;

    // A client that reads: it must be served all along and never cut off.
    const bystander = await connect(fixture.port, { keepReplies: false });
    let bystanderReplies = 0;
    const askBystander = async (): Promise<void> => {
      const want = bystanderReplies + 1001; // 1,000 VAL lines and END
      await bystander.send('HIST big\n');
      await bystander.waitUntil(() => (bystander.replyCount >= want ? true : undefined), 'a full HIST reply');
      bystanderReplies = want;
    };
    await askBystander();

    // 48 clients that each pipeline 500 HIST requests (~15 MB of replies) and never read: alone, each is held to its
    // budget plus one reply (~95 KB) once the kernel's socket buffers are full; together, ~4 MB, over the cap.
    const stuckCount = 48;
    for (let i = 0; i < stuckCount; i++) await stuckSubscriber(fixture.port, 'HIST big\n'.repeat(500));
    await expect.poll(() => fixture.sessions.length).toBe(stuckCount + 1);

    // Sample at the start of each turn (timers phase: after the last write pass, before new input) until the server
    // has stopped taking commands for 50 turns (bounded: 5,000 turns): all pending bytes (with output built and not
    // yet handed over), and those of the clients that are behind, which the cap counts.
    let peak = 0;
    let peakOpen = 0;
    let peakBehind = 0;
    const sample = (): void => {
      peak = Math.max(peak, fixture.server.stats().outbound_bytes);
      let open = 0;
      let behind = 0;
      for (const session of fixture.sessions) {
        if (session.closing) continue; // cut off: its bytes go when its socket has closed
        open += session.pendingBytes;
        if (session.behind) behind += session.pendingBytes;
      }
      peakOpen = Math.max(peakOpen, open);
      peakBehind = Math.max(peakBehind, behind);
    };
    let lastCommands = -1;
    let quiet = 0;
    for (let turn = 0; turn < 5000 && quiet < 50; turn++) {
      await new Promise((resolve) => setTimeout(resolve, 0));
      sample();
      const commandsNow = fixture.server.stats().commands;
      quiet = commandsNow === lastCommands ? quiet + 1 : 0;
      lastCommands = commandsNow;
    }
    await askBystander();

    const stats = fixture.server.stats();
    const evicted = [...reasons.values()].filter((reason) => reason === 'slow-consumer').length;
    recordFigures('outbound-cap', {
      stuckClients: stuckCount,
      capBytes: cap,
      budgetBytes: budget,
      oneReplyBytes: oneReply,
      peakOutboundBytes: peak,
      peakOpenClientsBytes: peakOpen,
      peakBehindBytes: peakBehind,
      settledOutboundBytes: stats.outbound_bytes,
      evicted,
    });
    // The stuck clients held more than the cap between them: some were cut off, as slow consumers.
    expect(evicted).toBeGreaterThan(0);
    expect(evicted).toBeLessThan(stuckCount);
    expect(stats).toMatchObject({ outbound_evictions: evicted, slow_consumer_disconnects: evicted });
    expect(stats.clients).toBe(stuckCount + 1 - evicted);
    // After every write pass, the clients that were behind held no more than the cap; what is left fits.
    expect(peakBehind).toBeLessThanOrEqual(cap);
    expect(stats.outbound_bytes).toBeLessThanOrEqual(cap);
    // All open clients together: those behind, plus what one turn queued (the cap and one reply), plus what the
    // others' sockets had not yet taken (under the 16 KiB high-water mark each).
    expect(peakOpen).toBeLessThanOrEqual(2 * cap + oneReply + stuckCount * 16 * 1024);
    // The reading client was served throughout and kept.
    expect(reasons.has(fixture.sessions[0]!.id)).toBe(false);
  });

  it('survives clients that reset or destroy the connection with a large reply pending', async () => {
    const fixture = await startServer({ historyCapacity: 5000 });
    // Long lines make large replies cheap to build: one HIST is 5,000 lines of ~160 bytes (~0.8 MB).
    const name = 'b'.repeat(120);
    await fill(fixture, name, 5000);
    let errors = 0;
    fixture.server.on('error', () => errors++);
    const before = settledMemory();
    const rounds = 10;
    for (let round = 0; round < rounds; round++) {
      // ~6.5 MB of replies: more than the loopback socket buffers hold, so some stay in the server.
      const socket = await stuckSubscriber(fixture.port, `HIST ${name}\nSTATS\nLIST\n`.repeat(8));
      await expect.poll(() => fixture.sessions.length).toBe(round + 1);
      const session = fixture.sessions[round]!;
      // Wait until the server holds unsent reply bytes for it, then cut the connection.
      await expect.poll(() => session.pendingBytes).toBeGreaterThan(100_000);
      if (round % 2 === 0) socket.resetAndDestroy();
      else socket.destroy();
      await expect.poll(() => session.closed).toBe(true);
    }
    await expect.poll(() => fixture.server.stats().clients).toBe(0);
    const after = settledMemory();

    const client = await connect(fixture.port, { keepReplies: false });
    await client.send(`HIST ${name}\n`);
    await client.waitUntil(() => (client.replyCount === 5001 ? true : undefined), 'a full HIST reply');
    recordFigures('reset-mid-reply', {
      rounds,
      errorsEmitted: errors,
      heapGrowthMiB: mib(after.heapUsed - before.heapUsed),
      rssGrowthMiB: mib(after.rss - before.rss),
    });
    expect(fixture.server.stats()).toMatchObject({ clients_total: rounds + 1, clients: 1 });
    expect(after.heapUsed - before.heapUsed).toBeLessThan(8 * 2 ** 20);
  });

  it('answers everything a half-closed client sent, then closes', async () => {
    const fixture = await startServer();
    const reasons = closeReasons(fixture);
    const udp = await UdpSender.open();
    await udp.send(fixture.port, 's 1\ns 2\ns 3\n0.5');
    udp.close();
    await fixture.waitReceived(1);

    const client = await connect(fixture.port);
    client.socket.end('PING\nGET s\nnn\nHIST s 2\nSUB s\nSTATS\n');
    await client.waitClosed();
    const kinds = client.replies.map((r) => r.kind);
    expect(kinds.slice(0, 8)).toEqual(['pong', 'val', 'value', 'value', 'val', 'val', 'end', 'ok']);
    expect(kinds.slice(8, -1).every((k) => k === 'stat')).toBe(true);
    expect(kinds.at(-1)).toBe('end');
    expect(client.ended).toBe(true);
    await expect.poll(() => reasons.get(fixture.sessions[0]!.id)).toBe('peer-closed');
    expect(fixture.server.stats()).toMatchObject({ clients: 0, subscriptions: 0, commands: 7 + auths(1) });
  });

  it.each([
    ['QUIT', 'QUIT\n'],
    ['a half-close', ''],
  ])('sends a large reply in full before closing after %s, however long it takes to read', async (_, last) => {
    // closeGraceMs is how long close() lets clients finish; a reply being read is not a straggler.
    const fixture = await startServer({ historyCapacity: 40_000, closeGraceMs: 0 });
    const name = 'q'.repeat(120);
    await fill(fixture, name, 40_000); // one HIST: ~6 MB, more than the loopback buffers hold
    const socket = createConnection({ host: '127.0.0.1', port: fixture.port });
    sockets.push(socket);
    socket.on('error', () => {});
    await once(socket, 'connect');
    let vals = 0;
    let ends = 0;
    let bye = 0;
    const counter = new EndCounter(socket, (line) => {
      if (line.startsWith('VAL ')) vals++;
      else if (line === 'END') ends++;
      else if (line === 'BYE') bye++;
    });
    socket.end(`${authLine()}HIST ${name}\n${last}`);
    await once(socket, 'close');
    expect({ vals, ends, bye, partial: counter.partial }).toEqual({
      vals: 40_000,
      ends: 1,
      bye: last === '' ? 0 : 1,
      partial: '',
    });
  });

  it('reclaims the slots of connections that never complete a command after idleTimeoutMs', async () => {
    const maxClients = 5;
    const fixture = await startServer({ maxClients, idleTimeoutMs: 300 });
    const reasons = closeReasons(fixture);
    // No token either: these never complete a command.
    const slow = await Promise.all(Array.from({ length: maxClients }, () => connect(fixture.port, {}, true)));
    for (const client of slow) await client.send('GET never-ending'); // no line feed, ever
    await expect.poll(() => fixture.server.stats().clients).toBe(maxClients);
    const refused = await connect(fixture.port);
    expect(await refused.next()).toMatchObject({ kind: 'err', code: 'server-busy' });

    for (const client of slow) {
      expect(await client.next()).toMatchObject({ kind: 'err', code: 'idle-timeout' });
      await client.waitClosed();
    }
    await expect.poll(() => [...reasons.values()].filter((r) => r === 'idle-timeout').length).toBe(maxClients);
    const served = await connect(fixture.port);
    await served.send('PING\n');
    expect(await served.next()).toEqual({ kind: 'pong' });
    expect(fixture.server.stats()).toMatchObject({ idle_disconnects: maxClients, clients_rejected: 1 });
  });

  it('refuses clients past maxClients with ERR server-busy without disturbing the others', async () => {
    const maxClients = 4;
    const fixture = await startServer({ maxClients });
    const admitted = await Promise.all(Array.from({ length: maxClients }, () => connect(fixture.port)));
    for (const client of admitted) {
      await client.send('PING\n');
      expect(await client.next()).toEqual({ kind: 'pong' });
    }
    const extra = await Promise.all(Array.from({ length: 3 }, () => connect(fixture.port)));
    for (const client of extra) {
      expect(await client.next()).toMatchObject({ kind: 'err', code: 'server-busy' });
      await client.waitEnded();
    }
    for (const client of admitted) {
      await client.send('n');
      expect(await client.next()).toEqual({ kind: 'value', value: Number.NaN });
    }
    expect(fixture.server.stats()).toMatchObject({ clients: maxClients, clients_rejected: 3 });

    // A freed slot is given to the next client.
    await admitted[0]!.send('QUIT\n');
    expect(await admitted[0]!.next()).toEqual({ kind: 'bye' });
    await expect.poll(() => fixture.server.stats().clients).toBe(maxClients - 1);
    const late = await connect(fixture.port);
    await late.send('PING\n');
    expect(await late.next()).toEqual({ kind: 'pong' });
  });
});

/** Counts END lines on a raw socket (for replies too many to keep), and hands every line to `onLine`. */
class EndCounter {
  ends = 0;
  /** Bytes after the last line feed. */
  partial = '';

  constructor(socket: Socket, onLine?: (line: string) => void) {
    socket.setEncoding('latin1');
    socket.on('data', (text: string) => {
      const lines = (this.partial + text).split('\n');
      this.partial = lines.pop() ?? '';
      for (const line of lines) {
        if (line === 'END') this.ends++;
        onLine?.(line);
      }
    });
  }
}
