// Faults under load: three real opc-server CLIs on a real 3-node NATS
// JetStream cluster (R3), all on 127.0.0.1 with ports picked at run time
// (docs/CLUSTER.md, "How it is tested"). Every load is paced by what the
// receiving node has taken in (its `readings_accepted`), so no datagram is
// lost to a full socket buffer, and is bounded in count and time. Every
// wait polls a condition until a deadline; nothing asserts on time.

import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createConnection, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startNatsCluster, type NatsCluster } from '@opc-lite/cluster-nats/testing';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

// The real CLI, built by turbo before this project's tests run.
const BIN = fileURLToPath(new URL('../bin/opc-server.js', import.meta.url));
/** Readings' timestamps start here: now, so that retention keeps them. */
const T0 = Math.floor(Date.now() / 1000) * 1000;
/** Generous for a loaded 2-core machine: a deadline, never a measure. */
const CONVERGE_MS = 60_000;

interface Node {
  name: string;
  dir: string;
  port: number;
  child: ChildProcessWithoutNullStreams;
  stderr: () => string;
  exit: Promise<number | null>;
}

let nats: NatsCluster;
const nodes: Node[] = [];
const dirs: string[] = [];
const sockets: Socket[] = [];

// A cluster of its own for each test: the stream starts empty.
beforeEach(async () => {
  nats = await startNatsCluster({ nodes: 3, readyTimeoutMs: 30_000 });
}, 60_000);

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  // SIGKILL ends a stopped process too.
  await Promise.all(nodes.splice(0).map((n) => kill(n)));
  await nats?.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}, 30_000);

const tempDir = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'opc-faults-'));
  dirs.push(dir);
  return dir;
};

/** The caller's shell must not change a test. */
const withoutOpcEnv = (env: NodeJS.ProcessEnv): NodeJS.ProcessEnv =>
  Object.fromEntries(Object.entries(env).filter(([key]) => !key.startsWith('OPC_')));

/** Starts a node (in `dir`, its data directory's parent: the same one again for a restart) and waits for its port. */
async function startNode(name: string, dir = tempDir()): Promise<Node> {
  const child = spawn(
    process.execPath,
    [BIN, '--port', '0', '--http-port', '0', '--log-format', 'json', '--stats-interval-ms', '0', '--node-name', name],
    {
      cwd: dir,
      env: { ...withoutOpcEnv(process.env), OPC_NATS: nats.urls.join(','), NO_COLOR: '1' },
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout.resume();
  const exit = once(child, 'close').then(([code]) => code as number | null);
  const line = await vi.waitFor(
    () => {
      const found = stderr.split('\n').find((l) => l.includes('"tcp":"127.0.0.1:'));
      if (found === undefined) throw new Error(`${name} not listening yet; stderr: ${stderr}`);
      return JSON.parse(found) as { tcp: string };
    },
    { timeout: 30_000, interval: 25 },
  );
  const node = { name, dir, port: Number(line.tcp.split(':').pop()), child, stderr: () => stderr, exit };
  nodes.push(node);
  return node;
}

async function kill(node: Node): Promise<void> {
  if (node.child.exitCode === null && node.child.signalCode === null) node.child.kill('SIGKILL');
  await node.exit;
}

/** The process state letter of a running node from /proc (`T` while stopped by SIGSTOP). */
const processState = (node: Node): string =>
  readFileSync(`/proc/${node.child.pid}/stat`, 'utf8')
    .replace(/^.*\) /s, '')
    .charAt(0);

/** Sends one command and returns the reply's lines before END (or the one line of `GET`). */
async function ask(node: Node, command: string): Promise<string[]> {
  const socket = createConnection({ host: '127.0.0.1', port: node.port });
  try {
    await once(socket, 'connect');
    const oneLine = command.startsWith('GET ');
    socket.write(`${command}\n`);
    let text = '';
    for await (const chunk of socket) {
      text += String(chunk);
      if (oneLine ? text.includes('\n') : /(^|\n)END\n$/.test(text) || /^ERR .*\n/.test(text)) break;
    }
    // An unknown sensor is one ERR line: no readings.
    if (text.startsWith('ERR ')) return [];
    return oneLine ? [text.trim()] : text.split('\n').slice(0, -2);
  } finally {
    socket.destroy();
  }
}

async function stats(node: Node): Promise<Record<string, number>> {
  const lines = await ask(node, 'STATS');
  return Object.fromEntries(lines.map((l) => l.split(' ')).map(([, k, v]) => [k!, Number(v)]));
}

/** A subscriber: every line it was pushed. */
async function subscribe(node: Node, pattern: string): Promise<{ lines: string[]; pubs: () => string[] }> {
  const socket = createConnection({ host: '127.0.0.1', port: node.port });
  sockets.push(socket);
  await once(socket, 'connect');
  const lines: string[] = [];
  let rest = '';
  socket.on('data', (chunk: Buffer) => {
    const parts = (rest + chunk.toString()).split('\n');
    rest = parts.pop()!;
    lines.push(...parts);
  });
  // A subscriber of a node that is killed sees its connection end.
  socket.on('error', () => undefined);
  socket.write(`SUB ${pattern}\n`);
  await vi.waitFor(() => expect(lines).toContain(`OK SUB ${pattern}`), { timeout: 10_000 });
  return { lines, pubs: () => lines.filter((l) => l.startsWith('PUB ')) };
}

const udp: UdpSocket = createSocket('udp4');
udp.unref();
/** One datagram to the node's port; resolves once the kernel took it. */
const send = (node: Node, text: string): Promise<void> =>
  new Promise((resolve, reject) => udp.send(text, node.port, '127.0.0.1', (err) => (err ? reject(err) : resolve())));

/** Reading `i` of a sensor: value i, timestamp T0 + i ms, sender-seq i. */
const line = (sensor: string, i: number): string => `${sensor} ${i} ${(T0 + i) / 1000} ${i}`;

/** What every node should hold of a sensor sent readings 1..count: its own seq is the sender-seq. */
const expected = (sensor: string, count: number): string[] =>
  Array.from({ length: count }, (_, k) => `VAL ${sensor} ${k + 1} ${T0 + k + 1} ${k + 1}`);

/** One sender of a load: readings `from..to` of `sensor` to `node`. */
interface Sender {
  node: Node;
  sensor: string;
  from: number;
  to: number;
}

/**
 * Sends every sender's readings, a datagram of up to `perDatagram` lines from each sender in turn, and keeps each
 * node at most `window` readings ahead of its `readings_accepted`, so the load goes on for as long as the nodes
 * take to read it and no datagram meets a full socket buffer. `marks[r]` runs after round `r` (round 0 is the
 * first datagram of each sender). Bounded by the count and by `deadlineMs`.
 */
async function load(
  senders: Sender[],
  options: {
    perDatagram?: number;
    window?: number;
    deadlineMs?: number;
    marks?: Record<number, () => Promise<void>>;
  } = {},
): Promise<void> {
  const { perDatagram = 20, window = 400, deadlineMs = 90_000, marks = {} } = options;
  const deadline = Date.now() + deadlineMs;
  const targets = [...new Set(senders.map((s) => s.node))];
  const base = new Map<Node, number>();
  for (const node of targets) base.set(node, (await stats(node)).readings_accepted ?? 0);
  const sent = new Map<Node, number>(targets.map((n) => [n, 0]));
  const seen = new Map<Node, number>(targets.map((n) => [n, 0]));
  const next = senders.map((s) => s.from);
  for (let round = 0; next.some((i, k) => i <= senders[k]!.to); round++) {
    if (Date.now() > deadline) throw new Error(`the load did not finish within ${deadlineMs} ms (round ${round})`);
    for (const [k, s] of senders.entries()) {
      const lines: string[] = [];
      while (lines.length < perDatagram && next[k]! <= s.to) lines.push(line(s.sensor, next[k]!++));
      if (lines.length === 0) continue;
      await send(s.node, lines.join('\n'));
      sent.set(s.node, sent.get(s.node)! + lines.length);
    }
    for (const node of targets) {
      if (sent.get(node)! - seen.get(node)! <= window) continue;
      await vi.waitFor(
        async () => {
          seen.set(node, ((await stats(node)).readings_accepted ?? 0) - base.get(node)!);
          expect(sent.get(node)! - seen.get(node)!).toBeLessThanOrEqual(window);
        },
        { timeout: Math.max(1, deadline - Date.now()), interval: 5 },
      );
    }
    await marks[round]?.();
  }
  // Every datagram taken in: nothing of the load is still on its way to a node.
  for (const node of targets) {
    await vi.waitFor(
      async () => expect((await stats(node)).readings_accepted! - base.get(node)!).toBe(sent.get(node)),
      { timeout: Math.max(1, deadline - Date.now()), interval: 20 },
    );
  }
}

const connected = (node: Node): Promise<void> =>
  vi.waitFor(async () => expect((await stats(node)).cluster_state).toBe(2), { timeout: 30_000, interval: 100 });

/** `RANGE` of a sensor over all time, as lines. */
const range = (node: Node, sensor: string): Promise<string[]> => ask(node, `RANGE ${sensor} 0 now`);

/** The node's log without its info lines, for a failure message. */
const problems = (node: Node): string =>
  node
    .stderr()
    .split('\n')
    .filter((l) => l !== '' && !l.includes('"level":30'))
    .map((l) => l.slice(0, 300))
    .join('\n');

/** Waits until every node holds exactly `lines` for the sensor. */
async function converged(of: Node[], sensor: string, lines: string[], timeout = CONVERGE_MS): Promise<void> {
  for (const node of of) {
    try {
      await vi.waitFor(async () => expect(await range(node, sensor)).toEqual(lines), { timeout, interval: 200 });
    } catch (err) {
      const held = await range(node, sensor);
      const at = held.findIndex((l, i) => l !== lines[i]);
      throw new Error(
        `node ${node.name} holds ${held.length} readings of ${sensor}, not ${lines.length}, ` +
          `first differing: ${held[at]} for ${lines[at]}:\n${problems(node)}`,
        { cause: err },
      );
    }
  }
}

/** After convergence: `HIST` of the sensor is the same on every node, the newest of `lines`, as RANGE is. */
async function sameHistory(of: Node[], sensor: string, lines: string[]): Promise<void> {
  const hists = await Promise.all(of.map((n) => ask(n, `HIST ${sensor}`)));
  const ranges = await Promise.all(of.map((n) => range(n, sensor)));
  for (const [i, node] of of.entries()) {
    expect(ranges[i], `RANGE on ${node.name}`).toEqual(lines);
    expect(hists[i], `HIST on ${node.name}`).toEqual(hists[0]);
  }
  expect(hists[0]!.length).toBeGreaterThan(0);
  expect(hists[0]).toEqual(lines.slice(-hists[0]!.length));
}

/** Each node's shared counters agree, and the cluster lost, refused and failed nothing for good. */
async function healthy(of: Node[]): Promise<void> {
  const all = await Promise.all(of.map(stats));
  for (const s of all) {
    expect(s).toMatchObject({ cluster_state: 2, cluster_backlog: 0, cluster_dropped: 0, cluster_stream_lag: 0 });
    expect(s.cluster_last_applied_seq).toBe(all[0]!.cluster_last_applied_seq);
    const loss = (t: Record<string, number>): unknown[] => [t.seq_lost, t.seq_late, t.seq_duplicate, t.seq_restarts];
    expect(loss(s)).toEqual(loss(all[0]!));
  }
}

const N = 1500;

describe('opc-server cluster under faults (docs/CLUSTER.md)', () => {
  it('keeps ingesting on every node when the stream leader’s nats-server is killed mid-load, and loses nothing', async () => {
    const [a, b, c] = [await startNode('a'), await startNode('b'), await startNode('c')];
    await Promise.all([a, b, c].map(connected));
    let killed = -1;
    const senders = [
      { node: a, sensor: 'k/a', from: 1, to: N },
      { node: b, sensor: 'k/b', from: 1, to: N },
      { node: c, sensor: 'k/c', from: 1, to: N },
    ];
    await load(senders, {
      marks: {
        // A third of the way in: the readings so far are stored, the rest is still to come.
        25: async () => {
          killed = await nats.streamLeader('OPC');
          await nats.kill(killed);
        },
      },
    });
    expect(nats.nodes[killed]?.running).toBe(false);
    // With one server of three down, every node applies every reading: nothing waits for it to come back.
    for (const s of senders) await converged([a, b, c], s.sensor, expected(s.sensor, N));
    expect(nats.nodes[killed]?.running).toBe(false);
    for (const s of senders) await sameHistory([a, b, c], s.sensor, expected(s.sensor, N));
    await healthy([a, b, c]);
    expect((await stats(a)).seq_lost).toBe(0);
  }, 240_000);

  it('catches up an opc-server node killed mid-load and restarted, and keeps everything it had shown', async () => {
    const [a, b, c] = [await startNode('a'), await startNode('b'), await startNode('c')];
    await Promise.all([a, b, c].map(connected));
    const subC = await subscribe(c, 'r/*');
    // Node c's own readings first, shown on every node.
    await load([{ node: c, sensor: 'r/c', from: 1, to: 200 }]);
    await converged([a, b, c], 'r/c', expected('r/c', 200));

    let shown: string[] = [];
    let got: string[] = [];
    let again: Promise<Node> | undefined;
    const senders = [
      { node: a, sensor: 'r/a', from: 1, to: N },
      { node: b, sensor: 'r/b', from: 1, to: N },
    ];
    await load(senders, {
      marks: {
        20: async () => {
          // What c showed before it dies: its subscriber's pushes of this load, and a GET.
          await vi.waitFor(() => expect(subC.pubs().filter((l) => l.startsWith('PUB r/a '))).not.toHaveLength(0), {
            timeout: 30_000,
            interval: 20,
          });
          got = await ask(c, 'GET r/b');
          shown = subC.pubs();
          await kill(c);
        },
        // Started again while the load goes on.
        45: () => {
          again = startNode('c', c.dir);
          return Promise.resolve();
        },
      },
    });
    const c2 = await again!;
    for (const s of [...senders, { sensor: 'r/c', to: 200 }]) {
      await converged([c2, a, b], s.sensor, expected(s.sensor, s.to));
      await sameHistory([a, b, c2], s.sensor, expected(s.sensor, s.to));
    }
    await healthy([a, b, c2]);

    // Every reading c pushed or answered before the kill is on every node, with the seq c showed it with.
    expect(shown.length).toBeGreaterThan(200);
    expect(got[0]).toMatch(/^VAL r\/b /);
    const held = new Set((await Promise.all(['r/a', 'r/b', 'r/c'].map((s) => range(c2, s)))).flat());
    const missing = [...shown.map((l) => l.replace(/^PUB /, 'VAL ')), got[0]!].filter((l) => !held.has(l));
    expect(missing).toEqual([]);
    // The restart resumed from its own store: it did not apply the stream from its start.
    const restarted = await stats(c2);
    expect(restarted.cluster_applied).toBeGreaterThan(0);
    expect(restarted.cluster_applied).toBeLessThan(2 * N + 200);
  }, 240_000);

  it('lets the other nodes apply while one node is stopped, and the stopped node converges once it runs again', async () => {
    const [a, b, c] = [await startNode('a'), await startNode('b'), await startNode('c')];
    await Promise.all([a, b, c].map(connected));
    await load([{ node: c, sensor: 's/c', from: 1, to: 100 }]);
    await converged([a, b, c], 's/c', expected('s/c', 100));

    c.child.kill('SIGSTOP');
    await vi.waitFor(() => expect(processState(c)).toBe('T'), { timeout: 10_000, interval: 20 });
    // A few datagrams wait in the stopped node's socket buffer.
    for (let i = 101; i <= 150; i += 10) {
      await send(c, Array.from({ length: 10 }, (_, k) => line('s/c', i + k)).join('\n'));
    }
    const senders = [
      { node: a, sensor: 's/a', from: 1, to: N },
      { node: b, sensor: 's/b', from: 1, to: N },
    ];
    await load(senders);
    // Nodes a and b applied all of it, and c did not run meanwhile.
    for (const s of senders) await converged([a, b], s.sensor, expected(s.sensor, N));
    await healthy([a, b]);
    expect(processState(c)).toBe('T');

    c.child.kill('SIGCONT');
    for (const s of [...senders, { sensor: 's/c', to: 150 }]) {
      await converged([c, a, b], s.sensor, expected(s.sensor, s.to));
      await sameHistory([a, b, c], s.sensor, expected(s.sensor, s.to));
    }
    await vi.waitFor(() => healthy([a, b, c]), { timeout: CONVERGE_MS, interval: 200 });
  }, 240_000);

  it('has every sensor on every node when senders are spread over the nodes and one sensor goes to two of them', async () => {
    const [a, b, c] = [await startNode('a'), await startNode('b'), await startNode('c')];
    await Promise.all([a, b, c].map(connected));
    const subs = await Promise.all([a, b, c].map((n) => subscribe(n, 'm/*')));
    // A sender's first readings to one node only: a second copy of a seq from 1 to 16 that the stream orders
    // more than 16 of the sensor's readings after the first copy counts as a sender restart and is stored again
    // (docs/CLUSTER.md, "How a reading flows in a cluster").
    await load([{ node: a, sensor: 'm/ab', from: 1, to: 20 }]);
    await converged([a, b, c], 'm/ab', expected('m/ab', 20));
    const senders = [
      { node: a, sensor: 'm/a', from: 1, to: N },
      { node: b, sensor: 'm/b', from: 1, to: N },
      { node: c, sensor: 'm/c', from: 1, to: N },
      // The same readings to two nodes: every node keeps the first copy and counts the second a duplicate.
      { node: a, sensor: 'm/ab', from: 21, to: N },
      { node: b, sensor: 'm/ab', from: 21, to: N },
    ];
    await load(senders);
    for (const sensor of ['m/a', 'm/b', 'm/c', 'm/ab']) {
      await converged([a, b, c], sensor, expected(sensor, N));
      await sameHistory([a, b, c], sensor, expected(sensor, N));
    }
    await healthy([a, b, c]);
    expect(await stats(a)).toMatchObject({ seq_lost: 0, seq_late: 0, seq_restarts: 0, seq_duplicate: N - 20 });
    // Every node pushed the same readings in the same order: the stream's.
    await vi.waitFor(() => expect(subs.map((s) => s.pubs().length)).toEqual([4 * N, 4 * N, 4 * N]), {
      timeout: CONVERGE_MS,
      interval: 100,
    });
    expect(subs[1]!.pubs()).toEqual(subs[0]!.pubs());
    expect(subs[2]!.pubs()).toEqual(subs[0]!.pubs());
  }, 240_000);
});
