import { FaultyFileSystem } from '@opc-lite/tsdb';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { CLUSTER_STATES, noReplicationStats, type ReplicaApplier, type Replicator } from './replication.js';
import { createOpcServer, type OpcServer } from './server.js';
import { duplexPair } from './testing/duplex-pair.js';
import { LineClient } from './testing/line-client.js';

const DIR = '/data';
const NOW = 1_764_316_800_000;
const servers: OpcServer[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

interface Forwarded {
  name: string;
  value: number;
  timestampMs: number;
  senderSeq: number;
}

/** A replicator that keeps what it is given, refusing past `capacity`. */
function recorder(capacity = Infinity): Replicator & { forwarded: Forwarded[]; closed: number } {
  const r = {
    forwarded: [] as Forwarded[],
    closed: 0,
    forward(name: string, value: number, timestampMs: number, senderSeq: number): boolean {
      if (r.forwarded.length >= capacity) return false;
      r.forwarded.push({ name, value, timestampMs, senderSeq });
      return true;
    },
    stats: () => ({ ...noReplicationStats(), cluster_state: CLUSTER_STATES.connected, cluster_backlog: 7 }),
    close: (): Promise<void> => {
      r.closed++;
      return Promise.resolve();
    },
  };
  return r;
}

function server(fsys?: FaultyFileSystem, historyCapacity = 100): OpcServer {
  const s = createOpcServer({
    now: () => NOW,
    closeGraceMs: 0,
    historyCapacity,
    ...(fsys && { storage: { dir: DIR, fs: fsys } }),
  });
  servers.push(s);
  return s;
}

function client(s: OpcServer): LineClient {
  const [serverEnd, clientEnd] = duplexPair();
  s.handle(serverEnd, 'memory');
  return new LineClient(clientEnd);
}

async function ask(c: LineClient, command: string): Promise<string[]> {
  c.send(`${command}\n`);
  return (await c.until('END')).slice(0, -1);
}

function applyBatch(applier: ReplicaApplier, seq: number, batch: readonly Forwarded[]): void {
  for (const r of batch) applier.reading(r.name, r.value, r.timestampMs, r.senderSeq);
  applier.endBatch(seq);
}

/** Every sensor as `name seq: value@ts ...`, with its loss counters: what must agree on every node. */
function picture(s: OpcServer): string[] {
  return s.store.list().map(
    (sensor) =>
      `${sensor.name} ${sensor.seq} lost=${sensor.loss.lost} dup=${sensor.loss.duplicate}: ` +
      sensor
        .history()
        .map((r) => `${r.seq}=${r.value}@${r.timestampMs}`)
        .join(' '),
  );
}

const COPY = '/crashed';

/**
 * Every file as it is now, copied to {@link COPY} without the LOCK (which names this live process): what a process
 * crash leaves. `cut` shortens one file, as a write torn by the crash does.
 */
function crashImage(fsys: FaultyFileSystem, cut?: { path: string; length: number }): FaultyFileSystem {
  const files: [string, Uint8Array][] = [];
  const dirs: string[] = [];
  const walk = (dir: string): void => {
    dirs.push(COPY + dir.slice(DIR.length));
    for (const name of fsys.readdir(dir)) {
      const p = `${dir}/${name}`;
      if (p === `${DIR}/LOCK`) continue;
      try {
        const bytes = fsys.readFile(p);
        files.push([COPY + p.slice(DIR.length), cut?.path === p ? bytes.subarray(0, cut.length) : bytes]);
      } catch (err) {
        if ((err as { code?: string }).code !== 'EISDIR') throw err;
        walk(p);
      }
    }
  };
  walk(DIR);
  return new FaultyFileSystem({ files, dirs });
}

/** Path and size of every file under the data directory. */
function sizes(fsys: FaultyFileSystem): Map<string, number> {
  const out = new Map<string, number>();
  const walk = (dir: string): void => {
    for (const name of fsys.readdir(dir)) {
      const p = `${dir}/${name}`;
      try {
        out.set(p, fsys.readFile(p).length);
      } catch {
        walk(p);
      }
    }
  };
  walk(DIR);
  return out;
}

describe('replication: ingest goes to the replicator', () => {
  it('forwards readings of every path, the legacy bare number as default, instead of storing them', () => {
    const s = server();
    const r = recorder();
    s.replicate(r);
    const result = s.ingest(Buffer.from('0.35\nramp 1.5 1764316801.5 7\nbad line'));
    expect(result).toMatchObject({ accepted: 2, rejected: 1 });
    expect(r.forwarded).toEqual([
      { name: 'default', value: 0.35, timestampMs: NOW, senderSeq: -1 },
      { name: 'ramp', value: 1.5, timestampMs: 1_764_316_801_500, senderSeq: 7 },
    ]);
    expect(s.store.size).toBe(0);
    expect(s.stats()).toMatchObject({ readings_accepted: 2, cluster_state: 2, cluster_backlog: 7 });
  });

  it('reports a reading the replicator refuses as a rejected line, and stores nothing', () => {
    const s = server();
    s.replicate(recorder(1));
    const result = s.ingest(Buffer.from('a 1\nb 2'));
    expect(result).toEqual({ accepted: 1, rejected: 1, samples: [{ reason: 'backlog-full', line: 'b' }] });
    expect(s.store.size).toBe(0);
  });

  it('refuses a second replicator and one after close', async () => {
    const s = server();
    s.replicate(recorder());
    expect(() => s.replicate(recorder())).toThrow(expect.objectContaining({ code: 'ERR_REPLICATING' }));
    const t = server();
    await t.close();
    expect(() => t.replicate(recorder())).toThrow(expect.objectContaining({ code: 'ERR_SERVER_CLOSED' }));
  });

  it('reports the cluster keys as 0 without a replicator', () => {
    expect(server().stats()).toMatchObject(noReplicationStats());
  });
});

describe('replication: the applier', () => {
  it('stores applied readings, shows them to GET, HIST and subscribers, and refuses a seq that does not grow', async () => {
    const s = server();
    const applier = s.replicate(recorder());
    const c = client(s);
    c.send('SUB a\n');
    expect(await c.next()).toBe('OK SUB a');
    applyBatch(applier, 5, [
      { name: 'a', value: 1, timestampMs: NOW + 1, senderSeq: 1 },
      { name: 'a', value: 2, timestampMs: NOW + 2, senderSeq: 2 },
    ]);
    expect(await c.take(2)).toEqual(['PUB a 1 1764316800001 1', 'PUB a 2 1764316800002 2']);
    expect(await ask(c, 'HIST a')).toEqual(['VAL a 1 1764316800001 1', 'VAL a 2 1764316800002 2']);
    expect(applier.lastAppliedSeq).toBe(5);
    expect(() => applier.endBatch(5)).toThrow(RangeError);
    // readings_accepted counts what this node took in; applied readings are the replicator's to count.
    expect(s.stats().readings_accepted).toBe(0);
  });

  it('gives two nodes that apply the same batches the same seqs, histories and loss counters', () => {
    const reading = fc.record({
      name: fc.constantFrom('a', 'b', 'default'),
      value: fc.integer({ min: -5, max: 5 }),
      timestampMs: fc.integer({ min: NOW - 10, max: NOW + 10 }),
      senderSeq: fc.integer({ min: -1, max: 6 }),
    });
    fc.assert(
      fc.property(fc.array(fc.array(reading, { maxLength: 6 }), { maxLength: 8 }), (batches) => {
        const nodes = [server(undefined, 4), server(undefined, 4)];
        const appliers = nodes.map((n) => n.replicate(recorder()));
        batches.forEach((batch, i) => appliers.forEach((a) => applyBatch(a, i + 1, batch)));
        expect(picture(nodes[1]!)).toEqual(picture(nodes[0]!));
        // And as one server storing them straight away: replication changes nothing a client sees.
        const plain = server(undefined, 4);
        for (const batch of batches)
          for (const r of batch) plain.store.ingest(r.name, r.value, r.timestampMs, r.senderSeq);
        expect(picture(nodes[0]!)).toEqual(picture(plain));
      }),
      { numRuns: 50 },
    );
  });

  it('closes the replicator when the server closes', async () => {
    const s = server();
    const r = recorder();
    s.replicate(r);
    await s.close();
    expect(r.closed).toBe(1);
  });
});

describe('replication: the applied seq is kept with the readings', () => {
  const batchOf = (k: number): Forwarded[] =>
    Array.from({ length: 3 }, (_, i) => ({ name: `s${i}`, value: k * 10 + i, timestampMs: NOW + k, senderSeq: k }));

  it('is back after a restart, and its series is no sensor', async () => {
    const fsys = new FaultyFileSystem();
    const first = server(fsys);
    const applier = first.replicate(recorder());
    for (let k = 1; k <= 3; k++) applyBatch(applier, k * 2, batchOf(k));
    await first.close();
    const second = server(fsys);
    expect(second.replicate(recorder()).lastAppliedSeq).toBe(6);
    expect(second.store.list().map((x) => x.name)).toEqual(['s0', 's1', 's2']);
    expect(second.store.get('s2')?.seq).toBe(3);
    const c = client(second);
    expect(await ask(c, 'LIST')).toHaveLength(3);
  });

  it('after a crash at any byte of the last write, holds a batch and its seq together, or neither', async () => {
    const fsys = new FaultyFileSystem();
    const node = server(fsys);
    const applier = node.replicate(recorder());
    for (let k = 1; k <= 2; k++) applyBatch(applier, k, batchOf(k));
    const before = sizes(fsys);
    applyBatch(applier, 3, batchOf(3));
    const grown = [...sizes(fsys)].filter(([p, n]) => n > (before.get(p) ?? 0));
    expect(grown).toHaveLength(1);
    const [path, after] = grown[0]!;
    const from = before.get(path) ?? 0;
    const seen = new Set<number>();
    for (let length = from; length <= after; length++) {
      const image = crashImage(fsys, { path, length });
      const restarted = createOpcServer({ now: () => NOW, storage: { dir: COPY, fs: image } });
      try {
        const mark = restarted.replicate(recorder()).lastAppliedSeq;
        seen.add(mark);
        expect([2, 3]).toContain(mark);
        for (let i = 0; i < 3; i++) expect(restarted.store.get(`s${i}`)?.seq).toBe(mark);
      } finally {
        await restarted.close();
      }
    }
    expect([...seen].sort()).toEqual([2, 3]);
  });
});
