// One real nats-server with JetStream (no cluster block), shared by the tests
// of this file; each test has its own stream and subjects.

import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { encodeBatch } from '../codec/batch.js';
import { freePorts, startNatsCluster, type NatsCluster } from '../testing/nats-cluster.js';
import { memoryLogger, recordApplied } from '../testing/recorders.js';
import type { ClusterLinkError } from './errors.js';
import { createClusterLink, type ClusterLink } from './link.js';
import type { ClusterLinkOptions } from './options.js';

let server: NatsCluster;
let testNo = 0;
let open: ClusterLink[] = [];
let admin: NatsConnection | undefined;

beforeAll(async () => {
  server = await startNatsCluster({ nodes: 1 });
});

beforeEach(() => {
  testNo++;
});

afterEach(async () => {
  await Promise.all(open.map((l) => l.close()));
  open = [];
  await admin?.close();
  admin = undefined;
});

afterAll(async () => {
  await server?.close();
});

function link(options: Partial<ClusterLinkOptions> & Pick<ClusterLinkOptions, 'nodeName' | 'apply'>): ClusterLink {
  const l = createClusterLink({
    servers: server.urls,
    stream: `S${testNo}`,
    subjectPrefix: `s${testNo}`,
    replicas: 1,
    retryMinMs: 20,
    retryMaxMs: 200,
    closeTimeoutMs: 2000,
    heartbeatMs: 1000,
    checkIntervalMs: 250,
    ...options,
  });
  open.push(l);
  return l;
}

async function adminConnection(): Promise<NatsConnection> {
  admin ??= await connect({ servers: server.urls });
  return admin;
}

const connected = (l: ClusterLink): Promise<void> =>
  vi.waitFor(() => expect(l.state).toBe('connected'), { timeout: 10_000 });

describe('cluster link on one server', () => {
  it('waits in connecting without throwing while no server runs, logs that once, and connects when one starts', async () => {
    await server.stop(0);
    const logger = memoryLogger();
    const seen = recordApplied();
    let l: ClusterLink | undefined;
    try {
      l = link({ nodeName: 'a', apply: seen.apply, logger, replicas: 3, maxPendingReadings: 50 });
      l.start(0);
      expect(l.state).toBe('connecting');
      // Several tries fail, and only the first is a warning.
      await vi.waitFor(() => expect(logger.find('debug', /still unreachable/).length).toBeGreaterThanOrEqual(2), {
        timeout: 10_000,
      });
      expect(logger.find('warn', /cannot reach NATS/)).toHaveLength(1);
      expect(l.state).toBe('connecting');

      // The outbox holds 50 readings and refuses the rest, counting them.
      const accepted = Array.from({ length: 60 }, (_, i) => l?.publish('r', i, i) ?? false);
      expect(accepted.filter(Boolean)).toHaveLength(50);
      expect(accepted.slice(50)).toEqual(Array<boolean>(10).fill(false));
      expect(l.stats()).toMatchObject({ pendingReadings: 50, dropped: 10, publishedReadings: 0 });
    } finally {
      await server.restart(0);
    }
    await connected(l);
    await vi.waitFor(() => expect(seen.readings).toBe(50), { timeout: 10_000 });
    expect(seen.values('a')).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(l.stats()).toMatchObject({ pendingReadings: 0, dropped: 10, publishedReadings: 50, replicas: 1 });
    // Three replicas asked for on a one-server cluster: clamped to one, with a warning.
    expect(logger.find('warn', /3 replicas asked for, but the cluster has 1 servers/)).toHaveLength(1);
    const jsm = await jetstreamManager(await adminConnection());
    expect((await jsm.streams.info(`S${testNo}`)).config.num_replicas).toBe(1);
  });

  it('continues its batch seq after a restart, so a new batch is not taken for a repeat of an old one', async () => {
    const seen = recordApplied();
    const consumer = link({ nodeName: 'c', apply: seen.apply });
    consumer.start(0);
    const first = link({ nodeName: 'a', apply: () => undefined });
    await connected(first);
    first.publish('x', 1, 1);
    await vi.waitFor(() => expect(first.stats().publishedBatches).toBe(1), { timeout: 10_000 });
    await first.close();
    const second = link({ nodeName: 'a', apply: () => undefined });
    await connected(second);
    second.publish('x', 2, 2);
    await vi.waitFor(() => expect(seen.readings).toBe(2), { timeout: 10_000 });
    expect(second.stats()).toMatchObject({ publishedBatches: 1, duplicateBatches: 0 });
    expect(seen.order()).toEqual(['1:a:1', '2:a:2']);
  });

  it('resumes applying right after the stream seq it is started from', async () => {
    const writer = link({ nodeName: 'w', apply: () => undefined });
    await connected(writer);
    for (let i = 1; i <= 5; i++) {
      writer.publish('x', i, i);
      await vi.waitFor(() => expect(writer.stats().publishedBatches).toBe(i), { timeout: 10_000 });
    }
    const seen = recordApplied();
    const reader = link({ nodeName: 'r', apply: seen.apply });
    reader.start(3);
    await vi.waitFor(() => expect(seen.readings).toBe(2), { timeout: 10_000 });
    expect(seen.order()).toEqual(['4:w:4', '5:w:5']);
    expect(reader.stats()).toMatchObject({ lastAppliedSeq: 5, streamLag: 0, appliedBatches: 2 });
  });

  it('awaits an async apply before the next batch, one batch at a time', async () => {
    const order: string[] = [];
    let inside = 0;
    const reader = link({
      nodeName: 'r',
      async apply(batch, seq) {
        inside++;
        expect(inside).toBe(1);
        order.push(`start ${seq}`);
        await new Promise((resolve) => setImmediate(resolve));
        order.push(`end ${seq}:${batch.batchSeq}`);
        inside--;
      },
    });
    reader.start(0);
    await connected(reader);
    for (let i = 0; i < 3; i++) {
      reader.publish('x', i, i);
      await vi.waitFor(() => expect(reader.stats().publishedBatches).toBe(i + 1), { timeout: 10_000 });
    }
    await vi.waitFor(() => expect(reader.stats().appliedBatches).toBe(3), { timeout: 10_000 });
    expect(order).toEqual(['start 1', 'end 1:1', 'start 2', 'end 2:2', 'start 3', 'end 3:3']);
  });

  it('halts with ERR_APPLY when apply throws, and applies nothing after that batch', async () => {
    const halts: ClusterLinkError[] = [];
    const seqs: number[] = [];
    const reader = link({
      nodeName: 'r',
      apply(_batch, seq) {
        if (seq === 2) throw new Error('disk full');
        seqs.push(seq);
      },
      onHalt: (error) => halts.push(error),
    });
    reader.start(0);
    await connected(reader);
    for (let i = 0; i < 3; i++) {
      reader.publish('x', i, i);
      await vi.waitFor(() => expect(reader.stats().publishedBatches).toBe(i + 1), { timeout: 10_000 });
    }
    await vi.waitFor(() => expect(halts).toHaveLength(1), { timeout: 10_000 });
    expect(halts[0]).toMatchObject({ code: 'ERR_APPLY', cause: { message: 'disk full' } });
    expect(seqs).toEqual([1]);
    expect(reader.stats()).toMatchObject({ lastAppliedSeq: 1, appliedBatches: 1 });
  });

  it('halts with ERR_STREAM_GAP when the stream no longer holds the batch after the last one applied', async () => {
    const writer = link({ nodeName: 'w', apply: () => undefined });
    await connected(writer);
    for (let i = 1; i <= 3; i++) {
      writer.publish('x', i, i);
      await vi.waitFor(() => expect(writer.stats().publishedBatches).toBe(i), { timeout: 10_000 });
    }
    // What retention does to a node that was away too long: the first batches are gone.
    const jsm = await jetstreamManager(await adminConnection());
    await jsm.streams.purge(`S${testNo}`, { keep: 1 });
    const halts: ClusterLinkError[] = [];
    const logger = memoryLogger();
    const seen = recordApplied();
    const reader = link({ nodeName: 'r', apply: seen.apply, onHalt: (e) => halts.push(e), logger });
    reader.start(1);
    await vi.waitFor(() => expect(halts).toHaveLength(1), { timeout: 10_000 });
    expect(halts[0]?.code).toBe('ERR_STREAM_GAP');
    expect(halts[0]?.message).toMatch(/no longer holds seq 2 \(it starts at 3\)/);
    expect(logger.find('error', /stopped applying/)).toHaveLength(1);
    expect(seen.batches).toEqual([]);
  });

  it('halts with ERR_STREAM_BEHIND when started after a seq the stream never reached', async () => {
    const halts: ClusterLinkError[] = [];
    const reader = link({ nodeName: 'r', apply: () => undefined, onHalt: (e) => halts.push(e) });
    reader.start(1000);
    await vi.waitFor(() => expect(halts).toHaveLength(1), { timeout: 10_000 });
    expect(halts[0]).toMatchObject({ code: 'ERR_STREAM_BEHIND' });
  });

  it('skips and counts a stream message that is not a batch, as every node does, and applies the rest', async () => {
    const logger = memoryLogger();
    const seen = recordApplied();
    const reader = link({ nodeName: 'r', apply: seen.apply, logger });
    reader.start(0);
    await connected(reader);
    const js = jetstream(await adminConnection());
    await js.publish(`s${testNo}.x`, new TextEncoder().encode('not a batch'));
    await js.publish(`s${testNo}.x`, encodeBatch('y', 1, [])); // origin y on x's subject
    await js.publish(`s${testNo}.x`, encodeBatch('x', 1, [{ name: 'ok', value: 1, timestampMs: 1, senderSeq: -1 }]));
    await vi.waitFor(() => expect(reader.stats().lastAppliedSeq).toBe(3), { timeout: 10_000 });
    expect(seen.order()).toEqual(['3:x:1']);
    expect(reader.stats()).toMatchObject({ corruptBatches: 2, appliedBatches: 1 });
    expect(logger.find('error', /not a batch/)).toHaveLength(2);
  });

  it('flushes the outbox on close, then refuses readings and a second start', async () => {
    const seen = recordApplied();
    const reader = link({ nodeName: 'r', apply: seen.apply });
    reader.start(0);
    const writer = link({ nodeName: 'w', apply: () => undefined });
    await connected(writer);
    for (let i = 0; i < 100; i++) writer.publish('x', i, i);
    const closing = writer.close();
    expect(writer.close()).toBe(closing);
    await closing;
    expect(writer.state).toBe('closed');
    expect(writer.stats()).toMatchObject({ pendingReadings: 0, publishedReadings: 100 });
    expect(writer.publish('x', 1, 1)).toBe(false);
    expect(() => writer.start(0)).toThrow(expect.objectContaining({ code: 'ERR_CLOSED' }));
    expect(() => reader.start(0)).toThrow(expect.objectContaining({ code: 'ERR_STARTED' }));
    await vi.waitFor(() => expect(seen.readings).toBe(100), { timeout: 10_000 });
  });

  it('gives up on what it cannot publish when close times out, and says how many readings it leaves', async () => {
    const [port] = await freePorts(1);
    const logger = memoryLogger();
    const l = link({
      nodeName: 'a',
      apply: () => undefined,
      servers: [`nats://127.0.0.1:${port}`],
      logger,
      closeTimeoutMs: 50,
    });
    l.publish('x', 1, 1);
    l.publish('x', 2, 2);
    await l.close();
    expect(l.state).toBe('closed');
    expect(logger.find('warn', /closing with 2 readings not stored/)).toHaveLength(1);
  });

  it('closes when its AbortSignal aborts', async () => {
    const controller = new AbortController();
    const l = link({ nodeName: 'a', apply: () => undefined, signal: controller.signal });
    await connected(l);
    controller.abort();
    await vi.waitFor(() => expect(l.state).toBe('closed'), { timeout: 10_000 });
  });
});
