/**
 * Hostile TCP clients against the `opc-server` CLI in its own process: the
 * slowloris attack (the load generator and the server must not share an event
 * loop for the latency figures to mean anything) and a pipelining client that
 * asks for more reply bytes than the process can hold. Both run twice: without an auth file, and with one
 * (docs/SECURITY.md): then the slowloris connections send no token, and every other client sends one (the greedy
 * client too: its requests need the read right).
 */
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashToken } from '@opc-lite/opc-server';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { latencySummary, recordFigures } from './testing/figures.js';
import { startServerCli, stopAllChildren, type ServerCli } from './testing/processes.js';
import { TcpClient, fetchStats, pollOnce, statsOf } from './testing/tcp-client.js';
import { UdpSender } from './testing/udp.js';

const sockets: Socket[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await stopAllChildren();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const TOKEN = 'hostile-cli-token';
/** The auth file's text in the run with one; undefined in the run without. */
let authText: string | undefined;

/** The CLI, with `--auth-file` in the run that has one. */
async function startCli(args: readonly string[] = []): Promise<ServerCli> {
  if (authText === undefined) return startServerCli(args);
  const dir = mkdtempSync(join(tmpdir(), 'opc-hostile-auth-'));
  dirs.push(dir);
  const file = join(dir, 'auth');
  writeFileSync(file, authText, { mode: 0o600 });
  return startServerCli([...args, '--auth-file', file]);
}

/** The token the well-behaved clients send, in the run with an auth file. */
const token = (): string | undefined => (authText === undefined ? undefined : TOKEN);

/** Sends datagrams to a CLI server, `batch` at a time, waiting for its STATS to count them. */
async function sendToCli(cli: ServerCli, datagrams: readonly string[], batch = 4): Promise<void> {
  const udp = await UdpSender.open();
  try {
    const base = (await fetchStats(cli.port, token())).datagrams_received ?? 0;
    await udp.sendPaced(
      cli.port,
      datagrams,
      async (total) => {
        await expect
          .poll(async () => (await fetchStats(cli.port, token())).datagrams_received, { timeout: 10_000 })
          .toBeGreaterThanOrEqual(total);
      },
      base,
      batch,
    );
  } finally {
    udp.close();
  }
}

async function openSocket(port: number): Promise<Socket> {
  const socket = createConnection({ host: '127.0.0.1', port });
  sockets.push(socket);
  socket.on('error', () => {});
  await once(socket, 'connect');
  return socket;
}

const MODES = [
  { name: '', auth: false },
  { name: ', with an auth file', auth: true },
];

describe.each(MODES)('hostile TCP clients against the CLI$name', ({ auth }) => {
  beforeAll(async () => {
    authText = auth ? `token suite ${await hashToken(TOKEN, { ln: 4, r: 8, p: 1 })} read=* admin\n` : undefined;
  });

  it('serves a normal client while 1,000 slowloris connections each send one byte a second', async () => {
    const cli = await startCli();
    await sendToCli(cli, ['0.5']);
    expect(await pollOnce(cli.port, token())).toBe(0.5);

    const normal = await TcpClient.connect(cli.port, auth ? { token: TOKEN } : {});
    const baseline: number[] = [];
    for (let i = 0; i < 300; i++) baseline.push((await normal.poll()).ms);

    // 1,000 connections, opened 100 at a time (the listen backlog is finite).
    const slow: Socket[] = [];
    for (let i = 0; i < 10; i++)
      slow.push(...(await Promise.all(Array.from({ length: 100 }, () => openSocket(cli.port)))));
    let closedByServer = 0;
    for (const socket of slow) socket.once('close', () => closedByServer++);

    // Each sends the next byte of a command that never ends, once a second, for three seconds.
    const drip = Buffer.from('GET slowloris-never-ends');
    let ticks = 0;
    const timer = setInterval(() => {
      for (const socket of slow) socket.write(drip.subarray(ticks, ticks + 1));
      ticks++;
    }, 1000);
    const persistent: number[] = [];
    const fresh: number[] = [];
    const values = new Set<number>();
    try {
      // The normal client polls back to back while the attack runs (bounded: 1,000,000 polls).
      for (let i = 0; ticks < 3 && i < 1_000_000; i++) {
        const { value, ms } = await normal.poll();
        values.add(value);
        persistent.push(ms);
        if (i % 50 === 0) {
          const t0 = performance.now();
          values.add(await pollOnce(cli.port, token()));
          fresh.push(performance.now() - t0);
        }
      }
    } finally {
      clearInterval(timer);
    }
    // The last poll's own connection may not be closed on the server's side yet: wait for it.
    await expect
      .poll(async () => statsOf(await normal.request('STATS\n')).clients, { timeout: 5_000 })
      .toBe(slow.length + 1);
    const stats = statsOf(await normal.request('STATS\n'));
    recordFigures('slowloris', {
      slowConnections: slow.length,
      secondsOfAttack: ticks,
      baselinePersistentPoll: latencySummary(baseline),
      underAttackPersistentPoll: latencySummary(persistent),
      underAttackPollOnNewConnection: latencySummary(fresh),
      serverClients: stats.clients,
      closedByServer,
    });
    expect([...values]).toEqual([0.5]);
    expect(persistent.length).toBeGreaterThan(0);
    expect(fresh.length).toBeGreaterThan(0);
    expect(stats.clients).toBe(slow.length + 1);
    expect(closedByServer).toBe(0);
    expect(cli.child.running).toBe(true);
    normal.destroy();
  });

  it('keeps running when one client pipelines requests whose replies would not fit in memory', async () => {
    const cli = await startCli(['--history', '100000']);
    // 100,000 readings of a 128-byte name: one HIST reply is ~17 MB, so 40 of them are ~680 MB.
    const name = 'h'.repeat(128);
    const datagram = `${name} 1\n`.repeat(450);
    await sendToCli(
      cli,
      Array.from({ length: Math.ceil(100_000 / 450) }, () => datagram),
    );

    const greedy = await openSocket(cli.port);
    greedy.pause(); // never reads
    const authLine = auth ? `AUTH ${TOKEN}\n` : '';
    await new Promise<void>((resolve) => greedy.write(authLine + `HIST ${name}\n`.repeat(40), () => resolve()));

    // The server must go on answering others once it has taken the first of those requests.
    const outcome = await Promise.race([
      cli.child.exited.then((exit) => ({
        exit,
        stderr: cli.child.stderr.split('\n').filter((l) => !l.startsWith('{')),
      })),
      (async () => {
        for (let attempt = 0; attempt < 200; attempt++) {
          const stats = await fetchStats(cli.port, token()).catch(() => undefined);
          // Its first HIST and this STATS (and, with an auth file, both AUTHs).
          const taken = auth ? 4 : 2;
          if (stats !== undefined && stats.commands !== undefined && stats.commands >= taken) return { stats };
        }
        return { stats: undefined };
      })(),
    ]);
    if ('exit' in outcome) {
      throw new Error(
        `the server exited ${JSON.stringify(outcome.exit)}:\n${outcome.stderr.join('\n').slice(0, 2000)}`,
      );
    }
    expect(outcome).toMatchObject({ stats: { clients: 2 } });
    expect(cli.child.running).toBe(true);
    await expect(pollOnce(cli.port, token())).resolves.toEqual(Number.NaN);
  });
});
