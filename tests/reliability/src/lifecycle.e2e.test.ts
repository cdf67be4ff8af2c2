/**
 * Server lifecycle through the CLIs: SIGTERM under full load (close():
 * "stops UDP, ends clients, destroys stragglers after a grace period"; the
 * CLI prints a summary), and a restart on the same port survived by the
 * sensor and the reader.
 */
import { once } from 'node:events';
import { createConnection, type Socket } from 'node:net';
import type { Reply } from '@opc-lite/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { recordFigures } from './testing/figures.js';
import { startReaderCli, startSensorCli, startServerCli, stopAllChildren } from './testing/processes.js';
import { TcpClient, fetchStats } from './testing/tcp-client.js';
import { UdpSender } from './testing/udp.js';

const cleanups: (() => void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) cleanup();
  await stopAllChildren();
});

/** A plain reader line: `<iso-time> <name> <value> <seq>`. */
const READING = /^\S+ (\S+) (\S+) (\d+)$/;

function readings(stdout: string, name: string): { value: number; seq: number }[] {
  const out: { value: number; seq: number }[] = [];
  for (const line of stdout.split('\n')) {
    const match = READING.exec(line);
    if (match?.[1] === name) out.push({ value: Number(match[2]), seq: Number(match[3]) });
  }
  return out;
}

describe('server lifecycle', () => {
  it('exits 0 within the grace period on SIGTERM under load, with a summary consistent with STATS', async () => {
    const closeGraceMs = 1000;
    const cli = await startServerCli(['--close-grace-ms', String(closeGraceMs)]);
    const port = cli.port;
    let connections = 0;
    let statsRequests = 0;
    const stats = (): ReturnType<typeof fetchStats> => {
      connections++;
      statsRequests++;
      return fetchStats(port);
    };

    // Load: a sensor process at 2,000 readings/s, a test-side flood, three subscribers that read,
    // one that never reads, two pollers polling back to back.
    const sensor = startSensorCli(port, 0.0005, ['--name', 'load']);
    await expect.poll(async () => (await stats()).readings_accepted, { timeout: 10_000 }).toBeGreaterThan(0);

    const subscribers = await Promise.all(
      Array.from({ length: 3 }, async () => {
        const state = { pubs: 0, maxSeq: 0, last: undefined as Reply | undefined };
        const client = await TcpClient.connect(port, {
          keepReplies: false,
          onReply: (reply) => {
            state.last = reply;
            if (reply.kind === 'pub') {
              state.pubs++;
              if (reply.reading.name === 'load') state.maxSeq = Math.max(state.maxSeq, reply.reading.seq);
            }
          },
        });
        cleanups.push(() => client.destroy());
        await client.send('SUB *\n');
        return { client, state };
      }),
    );
    connections += subscribers.length;
    const stuck: Socket = createConnection({ host: '127.0.0.1', port });
    cleanups.push(() => stuck.destroy());
    stuck.on('error', () => {});
    await once(stuck, 'connect');
    stuck.pause();
    stuck.write('SUB *\n');
    connections++;

    let pollsSent = 0;
    const pollers = await Promise.all(Array.from({ length: 2 }, () => TcpClient.connect(port)));
    connections += pollers.length;
    const polling = pollers.map(async (poller) => {
      cleanups.push(() => poller.destroy());
      for (let i = 0; i < 1_000_000; i++) {
        pollsSent++;
        const ok = await poller.poll().then(
          () => true,
          () => false,
        );
        if (!ok) return;
      }
    });
    const udp = await UdpSender.open();
    cleanups.push(() => udp.close());
    let floodDatagrams = 0;
    let flooding = true;
    const flood = (async () => {
      const datagram = Array.from({ length: 100 }, (_, i) => `burst.${i % 10} ${i}`).join('\n');
      for (let i = 0; flooding && i < 1_000_000; i++) {
        await udp.send(port, datagram);
        floodDatagrams++;
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    })();
    for (const { client, state } of subscribers) {
      await client.waitUntil(() => (state.pubs > 1000 ? true : undefined), 'a thousand pushes at a subscriber');
    }
    await pollers[0]!.waitUntil(() => (pollsSent > 100 ? true : undefined), 'a hundred polls');

    const before = await stats();
    const t0 = performance.now();
    cli.child.kill('SIGTERM');
    const exit = await cli.child.exited;
    const elapsedMs = performance.now() - t0;
    flooding = false;
    await flood;
    await Promise.all(polling);
    sensor.kill('SIGINT');
    await sensor.exited;

    const summary = cli.logs().find((line) => line.msg === 'summary');
    const sensorSent = /(\d+) readings? sent in (\d+) datagrams?/.exec(sensor.stderr);
    recordFigures('sigterm-under-load', {
      closeGraceMs,
      exitAfterMs: Math.round(elapsedMs),
      statsBefore: before,
      summary,
    });
    expect(exit).toEqual({ code: 0, signal: null });
    // The grace period, plus a margin for a loaded machine: the stuck subscriber must not hold the exit.
    expect(elapsedMs).toBeLessThan(closeGraceMs + 5000);
    expect(cli.logs().some((line) => line.msg === 'shutting down' && line.signal === 'SIGTERM')).toBe(true);
    expect(summary).toBeDefined();
    expect(sensorSent).not.toBeNull();
    const s = summary as Record<string, number>;

    // Counters only grow: the summary is at least what STATS said just before the signal ...
    const pairs: [string, string][] = [
      ['datagrams', 'datagrams_received'],
      ['readingsAccepted', 'readings_accepted'],
      ['readingsRejected', 'readings_rejected'],
      ['sensors', 'sensors'],
      ['clientsTotal', 'clients_total'],
      ['commands', 'commands'],
      ['pushesSent', 'pushes_sent'],
      ['pushesDropped', 'pushes_dropped'],
      ['slowConsumerDisconnects', 'slow_consumer_disconnects'],
      ['seqLost', 'seq_lost'],
    ];
    for (const [summaryKey, statsKey] of pairs) {
      expect(s[summaryKey], summaryKey).toBeGreaterThanOrEqual(before[statsKey]!);
    }
    // ... and at most what was sent to it.
    const sensorReadings = Number(sensorSent![1]);
    const sensorDatagrams = Number(sensorSent![2]);
    expect(s.datagrams).toBeLessThanOrEqual(sensorDatagrams + floodDatagrams + 1);
    expect(s.readingsAccepted).toBeLessThanOrEqual(sensorReadings + floodDatagrams * 100 + 1);
    expect(s.readingsRejected).toBe(0);
    expect(s.sensors).toBe(11);
    expect(s.clientsTotal).toBe(connections);
    // Polls, the four SUBs and the STATS requests.
    expect(s.commands).toBeLessThanOrEqual(pollsSent + 4 + statsRequests);
    const delivered = subscribers.reduce((sum, { state }) => sum + state.pubs, 0);
    expect(s.pushesSent).toBeGreaterThanOrEqual(delivered);

    // Every connected client was told, then closed.
    for (const { client, state } of subscribers) {
      await client.waitClosed();
      expect(state.last).toMatchObject({ kind: 'err', code: 'shutting-down' });
    }
    for (const poller of pollers) await poller.waitClosed();
  });

  it('keeps opc-sensor sending and opc-reader reading across a server restart on the same port', async () => {
    const first = await startServerCli(['--close-grace-ms', '200']);
    const port = first.port;
    const sensor = startSensorCli(port, 0.02, ['--name', 'restart']);
    const reader = startReaderCli(['--host', '127.0.0.1', '--port', String(port), '--sub', 'restart', '--plain']);
    await reader.waitFor(
      () => (readings(reader.stdout, 'restart').length >= 3 ? true : undefined),
      'three readings before the restart',
    );

    first.child.kill('SIGTERM');
    expect((await first.child.exited).code).toBe(0);
    const second = await startServerCli(['--port', String(port)]);
    expect(second.port).toBe(port);
    const printedBeforeRestart = readings(reader.stdout, 'restart').length;

    // The sensor never stopped: the new server receives its readings.
    await expect.poll(async () => (await fetchStats(port)).readings_accepted, { timeout: 10_000 }).toBeGreaterThan(5);
    expect(sensor.running).toBe(true);

    // The reader says it reconnects, then prints readings from the new server (its seqs start again at 1).
    await reader.waitFor(() => (/reconnecting/i.test(reader.stderr) ? true : undefined), '"reconnecting" on stderr');
    const after = await reader.waitFor(() => {
      const fresh = readings(reader.stdout, 'restart').slice(printedBeforeRestart);
      return fresh.length >= 3 ? fresh : undefined;
    }, 'readings after the restart');
    const latest = await TcpClient.connect(port);
    await latest.send('GET restart\n');
    const current = await latest.next();
    latest.destroy();
    expect(current.kind).toBe('val');
    const currentSeq = current.kind === 'val' ? current.reading.seq : 0;
    for (const reading of after) expect(reading.seq).toBeLessThanOrEqual(currentSeq);
    expect(reader.running).toBe(true);
    expect(sensor.running).toBe(true);
  });
});
